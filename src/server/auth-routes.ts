import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Authenticator } from '../auth/authenticator.js';
import { displayName, isSysadmin, type AccessClaim, type Identity } from '../auth/identity.js';
import type { RegistryAccess } from '../auth/registry-access.js';
import { registryService } from '../auth/tokens.js';
import type { Db } from '../db/index.js';
import { writeAudit } from '../events/audit.js';
import { apiError, isAppError } from '../lib/errors.js';
import { repositoryNameProblem } from '../oci/names.js';
import { sessionCookie } from '../http/request.js';
import { arrayOf, dateTime, empty, int, object, ok, operation, str } from '../http/schema-helpers.js';

export interface AuthRouteDeps {
  authenticator: Authenticator;
  registryAccess: RegistryAccess;
  db: Db;
  secureCookies: boolean;
  /** The session_timeout setting, read per sign-in. */
  sessionTimeoutMinutes: () => number;
  /**
   * oidc_auth with oidc_logout on: the provider's end-session URL for a user signing out (null
   * when none), given this request's base URL; the portal sends the browser there.
   */
  oidcLogoutLocation?: (userId: number, requestBaseUrl: string) => Promise<string | null>;
}

/** Splits `type:name:actions`; the name may itself hold colons (a host:port prefix). */
export function parseScope(scope: string): AccessClaim | null {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first <= 0 || last <= first) return null;
  return {
    type: scope.slice(0, first),
    name: scope.slice(first + 1, last),
    actions: scope
      .slice(last + 1)
      .split(',')
      .map((a) => a.trim())
      .filter((a) => a !== ''),
  };
}

function requestedScopes(raw: string | string[] | undefined): AccessClaim[] {
  const values = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  return values
    .flatMap((v) => v.split(' '))
    .filter((v) => v !== '')
    .map((v) => {
      const claim = parseScope(v);
      if (!claim) throw apiError('BAD_REQUEST', `scope "${v}" is not type:name:actions`);
      return claim;
    });
}

/** The token service, portal login and logout. */
export async function registerAuthRoutes(app: FastifyInstance, deps: AuthRouteDeps): Promise<void> {
  const { authenticator, registryAccess } = deps;

  /** What of a requested scope this identity gets: asking for more is not an error, the token just carries less. */
  async function grant(identity: Identity, claim: AccessClaim): Promise<AccessClaim | null> {
    if (claim.type === 'repository') {
      // Only names the registry could hold: no "..", no empty path segment, nothing outside the grammar.
      if (repositoryNameProblem(claim.name) !== null) return null;
      const allowed = await registryAccess.allowed(identity, claim.name);
      const wanted = claim.actions.includes('*') ? ['pull', 'push', 'delete'] : claim.actions;
      const actions = wanted.filter((a) => allowed.has(a as 'pull' | 'push' | 'delete'));
      return actions.length > 0 ? { ...claim, actions } : null;
    }
    if (claim.type === 'registry' && claim.name === 'catalog' && isSysadmin(identity)) {
      return { ...claim, actions: ['*'] };
    }
    return null;
  }

  // Documented for readers of this file; outside /api/v2.0, so not in Berth's OpenAPI document.
  const getToken = operation({
    tags: ['auth'],
    summary: 'Issue a registry token (Docker token authentication)',
    querystring: object({
      service: str('Must name this registry when given'),
      scope: {
        ...arrayOf(str('type:name:actions, such as repository:library/nginx:pull,push')),
        description: 'Requested access; repeatable',
      },
    }),
    response: {
      200: ok(
        object({
          token: str('The bearer token for /v2'),
          access_token: str('The same token (OAuth2 name)'),
          expires_in: int('Lifetime in seconds'),
          issued_at: dateTime('When the token was issued'),
        }),
        'A token carrying what of the requested access the caller holds',
      ),
    },
    errors: [400, 401],
  });
  app.get('/service/token', { schema: getToken }, async (req, reply) => {
    const query = req.query as Record<string, string | string[] | undefined>;
    const service = Array.isArray(query.service) ? query.service[0] : query.service;
    if (service !== undefined && service !== registryService) {
      throw apiError('BAD_REQUEST', `unknown service "${service}"; this registry is "${registryService}"`);
    }
    const scopes = requestedScopes(query.scope);
    const identity = req.identity;
    if (identity.kind === 'anonymous' && scopes.length === 0) {
      reply.header('www-authenticate', `Basic realm="${registryService}"`);
      throw apiError('UNAUTHORIZED', 'credentials are required to log in');
    }
    const access: AccessClaim[] = [];
    for (const scope of scopes) {
      const granted = await grant(identity, scope);
      if (granted) access.push(granted);
    }
    // An anonymous caller's token names nobody, as Harbor's does.
    const issued = await authenticator.tokens.issue(identity.kind === 'anonymous' ? '' : displayName(identity), access);
    return reply.header('cache-control', 'no-store').send({ ...issued, access_token: issued.token });
  });

  await app.register(async (scope) => {
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    });

    const login = operation({
      tags: ['auth'],
      summary: 'Sign in to the portal',
      consumes: ['application/x-www-form-urlencoded'],
      body: object({ principal: str('Username'), password: str('Password') }, ['principal', 'password']),
      response: { 200: empty('Signed in: the session cookie is set') },
      errors: [401],
    });
    scope.post('/c/login', { schema: login }, async (req: FastifyRequest, reply) => {
      const body = (req.body ?? {}) as Record<string, unknown>;
      const principal = typeof body.principal === 'string' ? body.principal : '';
      const password = typeof body.password === 'string' ? body.password : '';
      let identity: Identity;
      try {
        if (principal === '' || password === '') throw apiError('UNAUTHORIZED', 'principal and password are required');
        identity = await authenticator.login(principal, password);
        if (identity.kind !== 'user') throw apiError('UNAUTHORIZED', 'robot accounts cannot sign in to the portal');
        if (identity.via === 'cli_secret')
          throw apiError('UNAUTHORIZED', 'a CLI secret does not sign in to the portal: sign in through OIDC');
      } catch (err) {
        if (isAppError(err) && err.status === 401) {
          await writeAudit(deps.db, {
            username: principal || 'anonymous',
            operation: 'login',
            resourceType: 'user',
            resource: principal,
            result: 'failure',
            clientIp: req.ip,
          });
        }
        throw err;
      }
      const session = await authenticator.sessions.create(identity.userId);
      await writeAudit(deps.db, {
        username: identity.username,
        operation: 'login',
        resourceType: 'user',
        resource: identity.username,
        clientIp: req.ip,
      });
      req.csrfToken = session.csrfToken;
      reply.setCookie(sessionCookie, session.id, {
        path: '/',
        httpOnly: true,
        sameSite: 'lax',
        secure: deps.secureCookies || req.protocol === 'https',
        maxAge: deps.sessionTimeoutMinutes() * 60,
      });
      return reply.code(200).send();
    });

    const logOut = operation({
      tags: ['auth'],
      summary: 'Sign out of the portal',
      description:
        "With OIDC sign-out on (oidc_logout), the body's redirect_location is the provider's end-session URL to send the browser to.",
      response: {
        200: {
          description: 'Signed out: the session is gone and its cookie cleared',
          type: ['object', 'null'],
          properties: { redirect_location: str("The OIDC provider's end-session URL") },
        },
      },
    });
    scope.get('/c/log_out', { schema: logOut }, async (req, reply) => {
      let redirectLocation: string | null = null;
      if (req.sessionId) {
        if (deps.oidcLogoutLocation && req.identity.kind === 'user') {
          redirectLocation = await deps.oidcLogoutLocation(req.identity.userId, `${req.protocol}://${req.host}`);
        }
        await authenticator.sessions.delete(req.sessionId);
        await writeAudit(deps.db, {
          username: displayName(req.identity),
          operation: 'logout',
          resourceType: 'user',
          resource: displayName(req.identity),
          clientIp: req.ip,
        });
      }
      req.csrfToken = null;
      reply.clearCookie(sessionCookie, { path: '/' });
      return redirectLocation ? reply.code(200).send({ redirect_location: redirectLocation }) : reply.code(200).send();
    });
  });
}
