import type { IncomingMessage, ServerResponse } from 'node:http';
import { constants as http2Constants, type ServerHttp2Stream } from 'node:http2';

/** At most this much of a refused request's body is read and thrown away to keep its connection. */
export const drainLimit = 8 * 1024 * 1024;

/** After the answer to a body that ran past the limit, how long the connection may linger half-closed. */
const lingerMs = 2000;

function expectsBody(req: IncomingMessage): boolean {
  // HTTP/2 (server.tls) frames bodies itself: a request has one unless its headers ended the stream.
  if (req.httpVersionMajor === 2) return (req as { stream?: { endAfterHeaders?: boolean } }).stream?.endAfterHeaders === false;
  const length = req.headers['content-length'];
  return (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
}

/**
 * Called as any answer is about to be sent. A request answered before its body was read to
 * the end (refused before the body, or part-way through it) would otherwise stall its
 * connection: Node's parser stops reading for a request nobody reads, so the next request on
 * that keep-alive socket is never parsed. So the rest of the body is read and discarded, at
 * most `limit` bytes, and the connection serves the next request. A body that can no longer
 * be read (its stream was destroyed) or that is declared longer than the limit is answered
 * with `Connection: close`; one that runs past the limit while it is discarded is
 * half-closed after the answer (the client sees the end of the connection, not a reset while
 * it is still sending) and closed soon after.
 */
export function settleUnreadBody(req: IncomingMessage, res: ServerResponse, limit = drainLimit): void {
  if (req.complete || !expectsBody(req)) return;
  if (req.httpVersionMajor === 2) {
    // HTTP/2 (server.tls): each request is a stream of its own; the rest of an unread body is
    // refused by ending its stream once the answer is sent (RST_STREAM NO_ERROR, RFC 9113 8.1),
    // and the connection's other streams go on.
    const stream = (req as unknown as { stream?: ServerHttp2Stream }).stream;
    res.once('finish', () => {
      if (!req.complete && stream && !stream.closed) stream.close(http2Constants.NGHTTP2_NO_ERROR);
    });
    return;
  }
  const declared = Number(req.headers['content-length']);
  if (req.destroyed || declared > limit) {
    res.setHeader('connection', 'close');
    if (!req.destroyed) req.resume();
    return;
  }
  let discarded = 0;
  let ending = false;
  const endConnection = () => {
    const socket = req.socket;
    socket.end();
    setTimeout(() => socket.destroy(), lingerMs).unref();
  };
  req.removeAllListeners('data');
  req.on('data', (chunk: Buffer) => {
    discarded += chunk.byteLength;
    if (discarded <= limit || ending) return;
    ending = true;
    if (res.writableFinished) endConnection();
    else res.once('finish', endConnection);
  });
  req.resume();
}
