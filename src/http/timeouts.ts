import type { IncomingMessage, ServerOptions } from 'node:http';
import type { FastifyInstance } from 'fastify';

/** The server's limits on slow clients, in milliseconds; 0 is no limit (see `server.*_seconds` in docs/CONFIGURATION.md). */
export interface ServerTimeouts {
  headersMs: number;
  idleMs: number;
  requestMs: number;
  keepAliveMs: number;
}

/**
 * Fastify's options for these timeouts. Node checks the headers and request limits on a
 * timer (every 30 s by default); a shorter check keeps a trickling client's hold close to
 * the configured limit.
 */
export function timeoutOptions(t: ServerTimeouts): {
  connectionTimeout: number;
  requestTimeout: number;
  keepAliveTimeout: number;
  http: ServerOptions;
} {
  const shortest = Math.min(...[t.headersMs, t.requestMs].filter((ms) => ms > 0), 30_000);
  return {
    connectionTimeout: t.idleMs,
    requestTimeout: t.requestMs,
    keepAliveTimeout: t.keepAliveMs,
    http: { headersTimeout: t.headersMs, connectionsCheckingInterval: Math.max(100, Math.floor(shortest / 4)) },
  };
}

function expectsBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
}

/**
 * The idle timeout (Node's socket timeout) watches the client, not Berth: it runs while a
 * request arrives and while its answer is sent, and is paused between the two, once the whole
 * request is in, so that work that sends nothing for a while (publishing a large blob, joining
 * S3 parts) is not cut off.
 */
export function registerIdleTimeout(app: FastifyInstance, idleMs: number): void {
  if (idleMs <= 0) return;
  app.addHook('onRequest', (req, reply, done) => {
    const raw = req.raw;
    const pause = () => {
      if (!reply.raw.headersSent) raw.socket?.setTimeout(0);
    };
    if (raw.complete || !expectsBody(raw)) pause();
    else raw.once('end', pause);
    done();
  });
  app.addHook('onSend', (req, _reply, payload, done) => {
    req.raw.socket?.setTimeout(idleMs);
    done(null, payload);
  });
}
