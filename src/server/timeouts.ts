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
  http2SessionTimeout: number;
  http: ServerOptions;
} {
  return {
    connectionTimeout: t.idleMs,
    requestTimeout: t.requestMs,
    keepAliveTimeout: t.keepAliveMs,
    // HTTP/2 (server.tls): an idle session is closed after the keep-alive time.
    http2SessionTimeout: t.keepAliveMs,
    http: { headersTimeout: t.headersMs, connectionsCheckingInterval: checkingInterval(t) },
  };
}

function checkingInterval(t: ServerTimeouts): number {
  const shortest = Math.min(...[t.headersMs, t.requestMs].filter((ms) => ms > 0), 30_000);
  return Math.max(100, Math.floor(shortest / 4));
}

/**
 * The HTTPS server (server.tls) answers HTTP/1.1 clients through Node's HTTP/1 code, but
 * neither Node nor Fastify gives it the options above: it would keep Node's own limits (a
 * whole request in 5 minutes, which would cut off a large blob upload). Set before listening.
 */
export function applyHttp1Timeouts(
  server: { headersTimeout?: number; requestTimeout?: number; keepAliveTimeout?: number; connectionsCheckingInterval?: number },
  t: ServerTimeouts,
): void {
  server.headersTimeout = t.headersMs;
  server.requestTimeout = t.requestMs;
  server.keepAliveTimeout = t.keepAliveMs;
  server.connectionsCheckingInterval = checkingInterval(t);
}

function expectsBody(req: IncomingMessage): boolean {
  // HTTP/2 (server.tls) frames bodies itself: a request has one unless its headers ended the stream.
  if (req.httpVersionMajor === 2) return (req as { stream?: { endAfterHeaders?: boolean } }).stream?.endAfterHeaders === false;
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
