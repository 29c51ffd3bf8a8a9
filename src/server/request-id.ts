import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';

/** The header a request's id is read from and answered in (Harbor's spelling). */
export const requestIdHeader = 'X-Request-Id';

/** A caller's id is kept when it is 1 to 128 visible ASCII characters (no spaces, no controls). */
const acceptable = /^[\x21-\x7e]{1,128}$/;

/**
 * Fastify's genReqId: the caller's X-Request-ID when acceptable (a proxy in front, or a client
 * tying its retries together, as Harbor keeps it), else a new UUID. It is the request's id in
 * every log line of the request.
 */
export function requestId(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && acceptable.test(given) ? given : randomUUID();
}

/** Every answer carries the request's id, errors and hijacked /v2 replies included. */
export function registerRequestIdHeader(app: FastifyInstance): void {
  app.addHook('onRequest', (req, reply, done) => {
    reply.raw.setHeader(requestIdHeader, req.id);
    done();
  });
}
