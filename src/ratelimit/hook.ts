import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { parseBasic } from '../auth/authenticator.js';
import { displayName } from '../auth/identity.js';
import type { RateLimits, Refusal, Scope } from './limits.js';

/** Which limit a request falls under, by path; null for what is not limited (the portal's files, /health, …). */
function scopeOf(url: string): Scope | null {
  if (url.startsWith('/service/token')) return 'token';
  if (url.startsWith('/api/')) return 'api';
  if (url.startsWith('/v2/') || url === '/v2' || url.startsWith('/v2?')) return 'registry';
  return null;
}

const isLogin = (req: FastifyRequest) => req.method === 'POST' && (req.url === '/c/login' || req.url.startsWith('/c/login?'));

function basicUser(req: FastifyRequest): string | undefined {
  const header = req.headers.authorization;
  return header ? parseBasic(header)?.username : undefined;
}

/**
 * 429 with Retry-After, in the protocol's format: the OCI error TOOMANYREQUESTS on /v2 and the
 * token service (Docker's token specification answers in the registry's format), Harbor's
 * code TOO_MANY_REQUEST elsewhere.
 */
function refuse(req: FastifyRequest, reply: FastifyReply, refusal: Refusal): FastifyReply {
  const oci = req.url.startsWith('/v2') || req.url.startsWith('/service/token');
  const message = `too many requests: the limit is ${refusal.limit}; retry after ${refusal.retryAfterSeconds} s`;
  return reply
    .code(429)
    .header('retry-after', String(refusal.retryAfterSeconds))
    .header('content-type', 'application/json; charset=utf-8')
    .send({ errors: [{ code: oci ? 'TOOMANYREQUESTS' : 'TOO_MANY_REQUEST', message }] });
}

/**
 * Rate limits (config rate_limits). Registered before authentication: a client or a name
 * blocked for failed sign-ins is refused before its password is checked. The other limits
 * count after authentication, by user when the request has one and by client address.
 */
export function registerRateLimits(app: FastifyInstance, limits: RateLimits): void {
  const loginLimited = limits.limits('login');
  if (loginLimited) {
    app.addHook('onRequest', async (req, reply) => {
      const user = basicUser(req);
      if (user === undefined && !isLogin(req)) return;
      const refusal = await limits.blocked('login', { ip: req.ip, user });
      if (refusal) return refuse(req, reply, refusal);
    });
    // Counted before the 401 is sent (onSend, not onResponse), so that a client's next
    // attempt, even on another instance, finds the failure already counted.
    app.addHook('onSend', async (req, reply, payload) => {
      // A failed sign-in: refused credentials leave the request anonymous.
      if (reply.statusCode !== 401 || req.identity?.kind !== 'anonymous') return payload;
      let user = basicUser(req);
      if (user === undefined) {
        if (!isLogin(req)) return payload;
        const principal = (req.body as Record<string, unknown> | undefined)?.principal;
        user = typeof principal === 'string' && principal !== '' ? principal : undefined;
      }
      await limits.consume('login', { ip: req.ip, user });
      return payload;
    });
  }
  app.addHook('preHandler', async (req, reply) => {
    if (loginLimited && isLogin(req)) {
      const principal = (req.body as Record<string, unknown> | undefined)?.principal;
      if (typeof principal === 'string' && principal !== '') {
        const refusal = await limits.blocked('login', { ip: req.ip, user: principal });
        if (refusal) return refuse(req, reply, refusal);
      }
      return;
    }
    const scope = scopeOf(req.url);
    if (scope === null || !limits.limits(scope)) return;
    const identity = req.identity;
    const user = identity && identity.kind !== 'anonymous' ? displayName(identity) : undefined;
    const refusal = await limits.consume(scope, { ip: req.ip, user });
    if (refusal) return refuse(req, reply, refusal);
  });
}
