import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * What the proxy does to a request a rule matches:
 *  - status: answers this status itself (S3's XML error body), the request never reaches the server;
 *  - delay: waits this long, then forwards;
 *  - reset: destroys the client's connection before answering;
 *  - truncate: forwards, sends the server's status, headers and the first `afterBytes` of its
 *    body, then destroys the connection (a reset mid-body).
 */
export type Fault =
  { kind: 'status'; status: number } | { kind: 'delay'; ms: number } | { kind: 'reset' } | { kind: 'truncate'; afterBytes: number };

export interface FaultRule {
  fault: Fault;
  /** Only requests with this method (GET, PUT, HEAD, …). */
  method?: string;
  /** Only requests whose path and query match. */
  path?: RegExp;
  /** The share of matching requests it hits (default all). */
  fraction?: number;
  /** It hits at most this many requests, then stops matching. */
  times?: number;
  /** It hits every n-th matching request only (the first, the n+1-th, …): faults that come and go, without chance. */
  every?: number;
}

export interface FaultyProxy {
  /** http://127.0.0.1:<port>: point the client here instead of at the server. */
  url: string;
  /** Adds a rule (rules are tried in order; the first that matches and hits applies). */
  add(rule: FaultRule): void;
  /** Removes every rule: from now on requests pass untouched. */
  clear(): void;
  /** Requests seen, and requests a fault hit, since the start (or the last resetCounts). */
  counts: { requests: number; faulted: number };
  /** Requests seen, by method and path (newest last), for assertions about what was tried. */
  seen: { method: string; path: string; fault?: Fault['kind'] }[];
  resetCounts(): void;
  close(): Promise<void>;
}

/**
 * A fault-injecting HTTP proxy on 127.0.0.1 in front of `target` (an S3 server), told at
 * run time what to break: 5xx answers, delays, connection resets, truncated bodies, for a
 * share of the requests or for those of one operation.
 */
export async function startFaultyProxy(target: string): Promise<FaultyProxy> {
  const upstream = new URL(target);
  const agent = new http.Agent({ keepAlive: true });
  let rules: (FaultRule & { hits: number; matched: number })[] = [];
  const sockets = new Set<Socket>();
  const counts = { requests: 0, faulted: 0 };
  const seen: FaultyProxy['seen'] = [];

  function pick(req: http.IncomingMessage): Fault | undefined {
    for (const rule of rules) {
      if (rule.method && rule.method !== req.method) continue;
      if (rule.path && !rule.path.test(req.url ?? '')) continue;
      if (rule.times !== undefined && rule.hits >= rule.times) continue;
      if (rule.every !== undefined && rule.matched++ % rule.every !== 0) continue;
      if (rule.fraction !== undefined && Math.random() >= rule.fraction) continue;
      rule.hits++;
      return rule.fault;
    }
    return undefined;
  }

  const server = http.createServer((req, res) => {
    counts.requests++;
    const fault = pick(req);
    seen.push({ method: req.method ?? '', path: req.url ?? '', fault: fault?.kind });
    if (seen.length > 5000) seen.splice(0, 1000);
    if (fault) counts.faulted++;
    if (fault?.kind === 'reset') {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'status') {
      req.resume();
      req.on('end', () => {
        const code = fault.status === 503 ? 'SlowDown' : 'InternalError';
        const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>injected fault</Message></Error>`;
        res.writeHead(fault.status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      });
      return;
    }
    const forward = () => {
      const out = http.request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
          agent,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          if (fault?.kind !== 'truncate') {
            answer.pipe(res);
            return;
          }
          let sent = 0;
          answer.on('data', (chunk: Buffer) => {
            if (sent >= fault.afterBytes) return;
            const part = chunk.subarray(0, fault.afterBytes - sent);
            sent += part.length;
            res.write(part);
            if (sent >= fault.afterBytes) {
              answer.destroy();
              // Let the bytes written so far leave, then break the connection.
              setTimeout(() => req.socket.destroy(), 20);
            }
          });
          answer.on('end', () => res.end());
        },
      );
      out.on('error', () => req.socket.destroy());
      req.pipe(out);
    };
    if (fault?.kind === 'delay') setTimeout(forward, fault.ms);
    else forward();
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    add(rule) {
      rules.push({ ...rule, hits: 0, matched: 0 });
    },
    clear() {
      rules = [];
    },
    counts,
    seen,
    resetCounts() {
      counts.requests = 0;
      counts.faulted = 0;
      seen.length = 0;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      agent.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
