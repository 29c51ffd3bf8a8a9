import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';

/** One request a receiver took, as it arrived. */
export interface ReceivedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface WebhookReceiver {
  url: string;
  port: number;
  received: ReceivedRequest[];
  /** The status each request is answered with (default 200). */
  status: number;
  /** The body each answer carries. */
  answer: string;
  /** When set, each answer waits this long (a slow receiver). */
  delayMs: number;
  /** When true, requests are read and kept but never answered until `release()` (a hung receiver). */
  hold: boolean;
  /** Answers every held request now. */
  release(): void;
  /** Resolves once `count` requests matching `match` have arrived (checked as they come). */
  waitFor(count: number, match?: (r: ReceivedRequest) => boolean, limitMs?: number): Promise<ReceivedRequest[]>;
  /** Stops listening and drops every connection: the receiver is down. */
  close(): Promise<void>;
}

/**
 * A real HTTP (or HTTPS, given a key and certificate) server on 127.0.0.1 that records what
 * webhook deliveries bring. Start it on a given port to bring a receiver "back up" where an
 * earlier one was closed.
 */
export async function startWebhookReceiver(options: { port?: number; tls?: { key: Buffer; cert: Buffer } } = {}): Promise<WebhookReceiver> {
  const waiters = new Set<() => void>();
  const held: Array<() => void> = [];
  const handler: http.RequestListener = (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      receiver.received.push({
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      for (const wake of waiters) wake();
      const respond = () => {
        if (res.destroyed) return;
        res.writeHead(receiver.status, { 'content-type': 'text/plain' });
        res.end(receiver.answer);
      };
      if (receiver.hold) held.push(respond);
      else if (receiver.delayMs > 0) setTimeout(respond, receiver.delayMs);
      else respond();
    });
  };
  const server = options.tls ? https.createServer({ key: options.tls.key, cert: options.tls.cert }, handler) : http.createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const receiver: WebhookReceiver = {
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    received: [],
    status: 200,
    answer: 'ok',
    delayMs: 0,
    hold: false,
    release() {
      for (const respond of held.splice(0)) respond();
    },
    waitFor(count, match = () => true, limitMs = 60_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = receiver.received.filter(match);
          if (found.length < count) return;
          done();
          resolve(found);
        };
        const timer = setTimeout(() => {
          done();
          const seen = receiver.received.map((r) => `${r.method} ${r.path} ${r.body.slice(0, 200)}`).join('\n');
          reject(new Error(`timed out waiting for ${count} webhook request(s); received ${receiver.received.length}:\n${seen}`));
        }, limitMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    async close() {
      receiver.release();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return receiver;
}
