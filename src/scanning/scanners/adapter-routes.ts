import type { FastifyInstance, FastifyReply } from 'fastify';
import type { AdapterAuth } from './adapter-auth.js';
import { AdapterProblem, refreshAfterSeconds, type AdapterService } from './adapter.js';
import type { BuiltinScanner } from './engine.js';
import { adapterMimeTypes } from './spec.js';

export interface AdapterRouteDeps {
  adapter: AdapterService;
  engine: BuiltinScanner;
  auth: AdapterAuth;
}

/** Where Berth serves the Pluggable Scanner API; the registration URL is this without /api/v1. */
export const adapterBasePath = '/scanner';

// Bodies go as Buffers: Fastify would rewrite a string body's MIME type (quoting `version`, adding a charset).
function sendError(reply: FastifyReply, status: number, message: string) {
  return reply
    .code(status)
    .header('content-type', adapterMimeTypes.error)
    .send(Buffer.from(JSON.stringify({ error: { message } })));
}

/**
 * Berth's built-in scanner as a Pluggable Scanner API adapter (spec v1.2): /metadata, /scan,
 * /scan/{id}/report with the spec's MIME types, 302 + Refresh-After (and Retry-After, which the
 * spec's README names) while a scan runs, and every error as the adapter error body.
 * The routes live in their own Fastify context: their own body parser, error and not-found
 * answers, and authentication (the API key, or a system administrator's Basic credentials).
 */
export async function registerAdapterRoutes(app: FastifyInstance, deps: AdapterRouteDeps): Promise<void> {
  await app.register(
    async (api) => {
      api.removeAllContentTypeParsers();
      // The body is read as text whatever its type: Harbor sends the spec's scan request MIME type.
      api.addContentTypeParser('*', { parseAs: 'string', bodyLimit: 1024 * 1024 }, (_req, body, done) => done(null, body));
      api.setErrorHandler((err, req, reply) => {
        if (err instanceof AdapterProblem) return sendError(reply, err.status, err.message);
        const status = (err as { statusCode?: number }).statusCode;
        if (status !== undefined && status >= 400 && status < 500) return sendError(reply, status, (err as Error).message);
        req.log.error({ err }, 'scanner adapter request failed');
        return sendError(reply, 500, err instanceof Error ? err.message : 'internal error');
      });
      api.setNotFoundHandler((req, reply) => sendError(reply, 404, `nothing at ${req.method} ${req.url}`));
      api.addHook('onRequest', async (req, reply) => {
        const problem = await deps.auth.check(req.headers);
        if (problem) return sendError(reply, 401, problem);
      });

      api.get('/metadata', { schema: { hide: true } }, async (_req, reply) => {
        const meta = await deps.engine.metadata();
        return reply
          .code(200)
          .header('content-type', adapterMimeTypes.metadata)
          .send(Buffer.from(JSON.stringify(meta)));
      });

      api.post('/scan', { schema: { hide: true } }, async (req, reply) => {
        let body: unknown;
        try {
          body = JSON.parse(typeof req.body === 'string' ? req.body : '');
        } catch (err) {
          throw new AdapterProblem(400, `the scan request is not valid JSON: ${(err as Error).message}`);
        }
        const { id } = await deps.adapter.accept(body);
        return reply
          .code(202)
          .header('content-type', adapterMimeTypes.scanResponse)
          .send(Buffer.from(JSON.stringify({ id })));
      });

      api.get('/scan/:scan_request_id/report', { schema: { hide: true } }, async (req, reply) => {
        const { scan_request_id: id } = req.params as { scan_request_id: string };
        const query = req.query as Record<string, string | undefined>;
        const answer = await deps.adapter.report(id, req.headers.accept, query.sbom_media_type);
        if (answer.kind === 'pending') {
          const after = String(answer.refreshAfterSeconds ?? refreshAfterSeconds);
          return reply.code(302).header('refresh-after', after).header('retry-after', after).send();
        }
        return reply.code(200).header('content-type', answer.mimeType).send(Buffer.from(answer.body));
      });
    },
    { prefix: `${adapterBasePath}/api/v1` },
  );
}
