import http from 'node:http';
import type net from 'node:net';

/** Headers of one hop (each side keeps its own connections alive). */
function withoutHopByHop(headers: http.IncomingHttpHeaders): http.IncomingHttpHeaders {
  const copy = { ...headers };
  for (const name of ['connection', 'keep-alive', 'proxy-connection', 'upgrade']) delete copy[name];
  return copy;
}

export interface GateRequest {
  method: string;
  /** Path and query as the client sent them. */
  url: string;
  status: number;
  authorization: string | undefined;
}

export interface RegistryGate {
  /** http://127.0.0.1:<port>: point clients here instead of at the target. */
  url: string;
  requests: GateRequest[];
  /** TCP connections clients opened to the gate so far (keep-alive reuse keeps this low). */
  connections: number;
  count(method: string, path: RegExp | string): number;
  reset(): void;
  close(): Promise<void>;
}

/**
 * A forwarding gate on 127.0.0.1 in front of a registry, as a reverse proxy in front of a
 * real registry would be: with `basic`, /v2 requests must carry that Basic credential or get
 * `401 WWW-Authenticate: Basic realm=…` (how nginx in front of Distribution asks for one).
 * The Host header is passed unchanged, so the registry names the gate in its Location
 * headers and Bearer realms and clients keep coming back through it. Counts requests and
 * connections.
 */
export async function startRegistryGate(
  target: string,
  options: { basic?: { username: string; password: string } } = {},
): Promise<RegistryGate> {
  const targetUrl = new URL(target);
  const sockets = new Set<net.Socket>();
  const requests: GateRequest[] = [];
  const expected = options.basic
    ? `Basic ${Buffer.from(`${options.basic.username}:${options.basic.password}`).toString('base64')}`
    : undefined;
  const server = http.createServer({ keepAliveTimeout: 30_000 }, (req, res) => {
    const entry: GateRequest = { method: req.method ?? 'GET', url: req.url ?? '/', status: 0, authorization: req.headers.authorization };
    requests.push(entry);
    if (expected && (req.url ?? '').startsWith('/v2') && req.headers.authorization !== expected) {
      entry.status = 401;
      req.resume();
      res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Basic realm="registry gate"' });
      res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
      return;
    }
    const headers = withoutHopByHop(req.headers);
    if (expected) delete headers.authorization;
    const upstream = http.request({ host: targetUrl.hostname, port: targetUrl.port, method: req.method, path: req.url, headers }, (up) => {
      entry.status = up.statusCode ?? 0;
      res.writeHead(up.statusCode ?? 502, withoutHopByHop(up.headers));
      up.pipe(res);
    });
    upstream.on('error', () => {
      entry.status = 502;
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
    req.pipe(upstream);
  });
  const gate: RegistryGate = {
    url: '',
    requests,
    connections: 0,
    count(method, path) {
      return requests.filter((r) => r.method === method && (typeof path === 'string' ? r.url.startsWith(path) : path.test(r.url))).length;
    },
    reset() {
      requests.length = 0;
      gate.connections = 0;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  server.on('connection', (socket) => {
    gate.connections++;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  gate.url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return gate;
}
