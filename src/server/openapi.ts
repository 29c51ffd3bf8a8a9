import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { version } from '../version.js';
import { Errors } from '../http/schema-helpers.js';

/**
 * Route schemas are documentation only: every handler checks its own input and refuses it
 * with Harbor's error body, and answers exactly what it builds. So no schema may validate or
 * coerce a request (ajv) or filter a response (fast-json-stringify). This is set as the
 * server's compilers factory rather than with setValidatorCompiler, because Fastify rebuilds
 * a context's compilers from the factory whenever that context adds shared schemas.
 */
export const documentationOnlySchemas = {
  compilersFactory: {
    // Fastify types a validator as ajv's function; any function answering true accepts everything.
    buildValidator: (() => () => () => true) as unknown as CompilersFactory['buildValidator'],
    buildSerializer: () => () => (data: unknown) => JSON.stringify(data),
  },
} satisfies FastifyServerOptions['schemaController'];

type CompilersFactory = NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>;

/**
 * Berth's own OpenAPI document, built from the route schemas of every `prefix` route:
 * GET {prefix}/openapi.json, and the rendered page at {prefix}/docs. Register before the
 * routes: the document sees only routes added after it.
 */
export async function registerOpenApi(app: FastifyInstance, options: { prefix: string }): Promise<void> {
  const { prefix } = options;
  app.addSchema(Errors);
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Berth',
        version,
        description:
          "Berth's Harbor-compatible REST API: the paths, parameters, JSON fields, status codes and paging headers " +
          "of Harbor's API v2.0. Lists answer one page with X-Total-Count and Link headers; errors answer " +
          '{"errors":[{"code","message"}]}.',
      },
      servers: [{ url: prefix }],
      components: {
        securitySchemes: {
          basic: { type: 'http', scheme: 'basic', description: 'A user or robot account name and its password or secret' },
        },
      },
      // Many reads are open to anonymous callers (public projects, /ping, /systeminfo).
      security: [{ basic: [] }, {}],
    },
    // Fastify adds no HEAD routes of its own here: the HEAD routes are Harbor operations.
    exposeHeadRoutes: true,
    // Shared schemas keep their $id as their name in components.schemas.
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`),
    },
    // Only the Harbor API is documented here: not /v2, /service/token or the portal's /c/ routes.
    transform: ({ schema, url }) => ({
      schema: url === prefix || url.startsWith(`${prefix}/`) ? schema : { ...schema, hide: true },
      url,
    }),
  });
  await app.register(swaggerUi, {
    routePrefix: `${prefix}/docs`,
    // No validator badge: it would hand the document's URL to validator.swagger.io.
    uiConfig: { docExpansion: 'list', deepLinking: true, tryItOutEnabled: false, validatorUrl: null },
  });
  app.get(`${prefix}/openapi.json`, { schema: { hide: true } }, async () => app.swagger());
}
