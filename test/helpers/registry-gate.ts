import http from 'node:http';
import https from 'node:https';
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
 * connections. With `tls` it serves HTTPS (a TLS-terminating front, as nginx often is).
 */
export async function startRegistryGate(
  target: string,
  options: { basic?: { username: string; password: string }; tls?: { key: string; cert: string } } = {},
): Promise<RegistryGate> {
  const targetUrl = new URL(target);
  const sockets = new Set<net.Socket>();
  const requests: GateRequest[] = [];
  const expected = options.basic
    ? `Basic ${Buffer.from(`${options.basic.username}:${options.basic.password}`).toString('base64')}`
    : undefined;
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
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
    // As a TLS front tells the registry, so that its Location headers say https.
    if (options.tls) headers['x-forwarded-proto'] = 'https';
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
  };
  const server = options.tls
    ? https.createServer({ key: options.tls.key, cert: options.tls.cert, keepAliveTimeout: 30_000 }, handler)
    : http.createServer({ keepAliveTimeout: 30_000 }, handler);
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
  server.on(options.tls ? 'secureConnection' : 'connection', (socket: net.Socket) => {
    gate.connections++;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  gate.url = `${options.tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return gate;
}
