import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { isAppError, storageFullCause, unavailableCause } from '../lib/errors.js';
import { bearerChallenge } from '../registry/challenge.js';

/** Maps any thrown error to the error body of the protocol the request spoke. */
export const errorHandler = (externalUrl: string | undefined) =>
  function handleError(err: FastifyError | Error, req: FastifyRequest, reply: FastifyReply): FastifyReply {
    const onRegistry = req.url.startsWith('/v2');
    if (isAppError(err)) {
      if (err.headers) reply.headers(err.headers);
      // A registry client that is refused for want of credentials is told where to get a token.
      if (onRegistry && err.status === 401 && !reply.hasHeader('www-authenticate')) {
        reply.header('www-authenticate', bearerChallenge(req, externalUrl));
      }
      if (err.status >= 500) req.log.error({ err }, err.message);
      const body =
        !onRegistry && err.onApi
          ? { ...err.onApi }
          : { code: err.code, message: err.message, ...(onRegistry && err.detail !== undefined && { detail: err.detail }) };
      return reply
        .code(err.status)
        .header('content-type', 'application/json; charset=utf-8')
        .send({ errors: [body] });
    }
    const status = (err as FastifyError).statusCode;
    if (status !== undefined && status >= 400 && status < 500) {
      const code = onRegistry ? (status === 413 ? 'SIZE_INVALID' : 'UNSUPPORTED') : status === 404 ? 'NOT_FOUND' : 'BAD_REQUEST';
      return reply.code(status).send({ errors: [{ code, message: err.message }] });
    }
    // The database or the blob storage cannot answer now (PostgreSQL restarting, S3 failing
    // after the SDK's retries): 503 with Retry-After, which clients treat as retryable, and
    // nothing was committed. Checked first, since an S3 connection reset is ECONNRESET too.
    // A reset connection is the client's only when its own socket went with it: a socket
    // reset under a request whose client is still there is the database's (PostgreSQL
    // restarting cuts pg's socket with ECONNRESET, like a client leaving mid-body).
    const reset = (err as NodeJS.ErrnoException).code === 'ECONNRESET' || err.message === 'aborted';
    const clientGone = reset && (err.message === 'aborted' || req.raw.socket?.destroyed !== false);
    const unavailable = unavailableCause(err) ?? (reset && !clientGone ? 'database' : null);
    if (unavailable) {
      req.log.error({ err }, `the ${unavailable} is unavailable`);
      const message = `the registry's ${unavailable} is unavailable right now; retry shortly`;
      return reply
        .code(503)
        .header('retry-after', '2')
        .send({ errors: [{ code: onRegistry ? 'UNAVAILABLE' : 'SERVICE_UNAVAILABLE', message }] });
    }
    // A client that went away mid-body is not a server fault.
    if (clientGone) {
      req.log.info({ url: req.url }, 'client closed the connection before the request body ended');
      return reply
        .code(400)
        .send({ errors: [{ code: onRegistry ? 'BLOB_UPLOAD_INVALID' : 'BAD_REQUEST', message: 'request body ended early' }] });
    }
    const full = storageFullCause(err);
    if (full) {
      // 507 Insufficient Storage: the request was fine, and may be retried once space is freed.
      req.log.error({ err }, `storage is full: the ${full} refused a write`);
      const message = `storage is full: the registry's ${full} has no space left; nothing was stored, retry once space is freed`;
      return reply.code(507).send({ errors: [{ code: onRegistry ? 'UNKNOWN' : 'INSUFFICIENT_STORAGE', message }] });
    }
    req.log.error({ err }, 'unhandled error');
    return reply.code(500).send({ errors: [{ code: onRegistry ? 'UNKNOWN' : 'INTERNAL_SERVER_ERROR', message: 'internal server error' }] });
  };

/** Connections whose current request is on /v2, so that a request refused mid-body is answered with an OCI code. */
const registrySockets = new WeakSet<object>();

export function noteRequestProtocol(req: IncomingMessage): void {
  if (req.url?.startsWith('/v2')) registrySockets.add(req.socket);
  else registrySockets.delete(req.socket);
}

/**
 * Answers a request that Node's HTTP parser refused (a body that ends before its
 * Content-Length, broken chunk framing, oversized headers) with the error body clients
 * parse, instead of Fastify's default one; then drops the connection, whose framing is lost.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const onRegistry = registrySockets.has(socket);
  let status = 400;
  let reason = 'Bad Request';
  let code = onRegistry ? 'SIZE_INVALID' : 'BAD_REQUEST';
  let message = `malformed HTTP request (${err.code ?? err.message})`;
  if (err.code === 'HPE_INVALID_EOF_STATE') message = 'the request ended before the body its headers declared';
  if (err.code === 'HPE_HEADER_OVERFLOW') [status, reason] = [431, 'Request Header Fields Too Large'];
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    // server.headers_timeout_seconds or server.request_timeout_seconds ran out.
    [status, reason, message] = [408, 'Request Timeout', 'the request did not arrive in time'];
    code = onRegistry ? 'UNKNOWN' : 'REQUEST_TIMEOUT';
  }
  const body = JSON.stringify({ errors: [{ code, message }] });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${reason}\r\n` +
        `Content-Type: application/json; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}
