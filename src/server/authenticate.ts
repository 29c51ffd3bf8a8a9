import '@fastify/cookie';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Authenticator, parseBasic } from '../auth/authenticator.js';
import { anonymous, type Identity } from '../auth/identity.js';
import { apiError } from '../lib/errors.js';
import { csrfHeader, safeMethods, sessionCookie } from '../http/request.js';

/**
 * Resolves every request's identity before any handler runs: Basic credentials (users and
 * robots), registry Bearer tokens on /v2, portal session cookies on the API (with a CSRF
 * check on writes). No credentials means anonymous; bad credentials are a 401.
 */
export function registerAuthentication(app: FastifyInstance, authenticator: Authenticator): void {
  app.decorateRequest('identity', null as never);
  app.decorateRequest('sessionId', null);
  app.decorateRequest('csrfToken', null);
  app.addHook('onRequest', async (req: FastifyRequest) => {
    req.identity = anonymous;
    // The Pluggable Scanner API Berth serves checks its own credentials (scanning/scanners/adapter-auth.ts).
    if (req.url.startsWith('/scanner/')) return;
    const header = req.headers.authorization;
    const onRegistry = req.url.startsWith('/v2');
    if (header) {
      const basic = parseBasic(header);
      if (basic) {
        req.identity = await authenticator.login(basic.username, basic.password);
        // An OIDC user's CLI secret opens the registry and the token service only (Harbor's rule).
        if (req.identity.kind === 'user' && req.identity.via === 'cli_secret' && !onRegistry && !req.url.startsWith('/service/token')) {
          throw apiError(
            'UNAUTHORIZED',
            'a CLI secret is accepted only by the registry (/v2) and the token service; sign in to the portal through OIDC',
          );
        }
        return;
      }
      if (/^bearer /i.test(header)) {
        if (!onRegistry) throw apiError('UNAUTHORIZED', 'registry tokens are accepted only on /v2; use Basic credentials or a session');
        req.identity = await authenticator.bearer(header.slice(7).trim());
        return;
      }
      throw apiError('UNAUTHORIZED', 'unsupported Authorization scheme; use Basic or Bearer');
    }
    const sid = onRegistry ? undefined : req.cookies?.[sessionCookie];
    if (!sid) return;
    const session = await authenticator.session(sid);
    if (!session) return;
    if (!safeMethods.has(req.method) && req.headers[csrfHeader] !== session.csrfToken) {
      throw apiError('FORBIDDEN', `CSRF token missing or invalid: send the ${csrfHeader} header from the last response`);
    }
    req.identity = session.identity;
    req.sessionId = sid;
    req.csrfToken = session.csrfToken;
  });
  // Every answer to a session carries the token its next write must send back.
  app.addHook('onSend', async (req, reply, payload) => {
    if (req.csrfToken) reply.header(csrfHeader, req.csrfToken);
    return payload;
  });
}
