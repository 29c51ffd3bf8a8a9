import http from 'node:http';
import type net from 'node:net';

export interface ProxiedRequest {
  method: string;
  /** Path and query, as the client sent them. */
  url: string;
  status: number;
}

export interface CountingProxy {
  /** http://127.0.0.1:<port>: point clients here instead of at the target. */
  url: string;
  /** Every request answered so far, in order. */
  requests: ProxiedRequest[];
  /** How many requests matched (method and a path test). */
  count(method: string, path: RegExp | string): number;
  /** Forgets the requests seen so far. */
  reset(): void;
  /**
   * 'forward' (default) passes requests on; 'refuse' drops every connection at once (an
   * unreachable upstream); a number answers that status itself (429, 503, …).
   */
  mode: 'forward' | 'refuse' | number;
  /**
   * One-shot answers, asked before `mode`: the first request matching an entry's method and
   * path gets its status from the proxy itself, and the entry is used up (a registry failing
   * one request, e.g. docker-registry's 500 to a blob HEAD during another upload of the blob).
   */
  once: Array<{ method: string; path: RegExp; status: number }>;
  close(): Promise<void>;
}

/**
 * A small HTTP proxy on 127.0.0.1 in front of `target` (http://host:port) that counts the
 * requests it forwards and can play an upstream that is down or refusing. Bodies are
 * streamed both ways; Host is rewritten to the target's, so Bearer realms and Location
 * headers the target sends still name the target (rewrite them in tests if needed).
 */
export async function startCountingProxy(target: string): Promise<CountingProxy> {
  const targetUrl = new URL(target);
  const sockets = new Set<net.Socket>();
  const requests: ProxiedRequest[] = [];
  const state: CountingProxy = {
    url: '',
    requests,
    mode: 'forward',
    once: [],
    count(method, path) {
      return requests.filter((r) => r.method === method && (typeof path === 'string' ? r.url.startsWith(path) : path.test(r.url))).length;
    },
    reset() {
      requests.length = 0;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = http.createServer((req, res) => {
    const shot = state.once.findIndex((o) => o.method === req.method && o.path.test(req.url ?? '/'));
    const mode = shot >= 0 ? state.once.splice(shot, 1)[0].status : state.mode;
    if (mode === 'refuse') {
      req.socket.destroy();
      return;
    }
    if (typeof mode === 'number') {
      requests.push({ method: req.method ?? 'GET', url: req.url ?? '/', status: mode });
      req.resume();
      res.writeHead(mode, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: mode === 429 ? 'TOOMANYREQUESTS' : 'UNAVAILABLE', message: `proxy answers ${mode}` }] }));
      return;
    }
    const headers = { ...req.headers, host: targetUrl.host };
    const upstream = http.request(
      { host: targetUrl.hostname, port: targetUrl.port, method: req.method, path: req.url, headers },
      (up) => {
        requests.push({ method: req.method ?? 'GET', url: req.url ?? '/', status: up.statusCode ?? 0 });
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => {
      requests.push({ method: req.method ?? 'GET', url: req.url ?? '/', status: 502 });
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
    req.pipe(upstream);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  state.url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return state;
}
