import type { IncomingMessage, ServerResponse } from 'node:http';

/** At most this much of a refused request's body is read and thrown away to keep its connection. */
export const drainLimit = 8 * 1024 * 1024;

/** After the answer to a body that ran past the limit, how long the connection may linger half-closed. */
const lingerMs = 2000;

function expectsBody(req: IncomingMessage): boolean {
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
