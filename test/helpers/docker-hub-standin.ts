import { randomBytes } from 'node:crypto';
import { rm, stat } from 'node:fs/promises';
import http from 'node:http';
import type net from 'node:net';
import path from 'node:path';
import { startDockerRegistry, type DockerRegistry } from './docker-registry.js';

/*
 * A loopback stand-in for Docker Hub, since this machine has no network. It is NOT Docker
 * Hub: it plays the three services Berth's docker-hub adapter talks to, written from
 * Docker's published documentation, on one port:
 *  - auth.docker.io's token endpoint (`GET /token?service=registry.docker.io&scope=…`,
 *    Basic credential optional, anonymous pulls allowed, pushes only into the user's own
 *    namespaces);
 *  - registry-1.docker.io's /v2 (every request needs a Bearer token from the endpoint above
 *    with the right scope, else 401 with the challenge; content is a real docker-registry
 *    behind it; /v2 manifest DELETE answers 405 UNSUPPORTED as Docker Hub does);
 *  - hub.docker.com's API: `POST /v2/auth/token` {identifier, secret} → {access_token},
 *    `GET /v2/repositories/namespaces`, `GET /v2/repositories/{ns}/` and
 *    `GET /v2/repositories/{ns}/{repo}/tags/` (paged, `next` absolute), and
 *    `DELETE /v2/repositories/{ns}/{repo}/tags/{tag}/` (removes the tag from the storage).
 * Requests are recorded so tests can check which scopes were asked for and how often.
 */

export interface StandInRequest {
  method: string;
  url: string;
  status: number;
}

export interface DockerHubStandIn {
  /** http://127.0.0.1:<port>: the endpoint URL to give the docker-hub adapter. */
  url: string;
  /** The real docker-registry holding the content (write to it directly to seed `library/…`). */
  registry: DockerRegistry;
  requests: StandInRequest[];
  count(method: string, path: RegExp | string): number;
  reset(): void;
  /** Forgets every registry token issued so far (as if they had expired or been revoked). */
  revokeTokens(): void;
  close(): Promise<void>;
}

interface Grant {
  account: string;
  access: Map<string, Set<string>>;
}

const service = 'registry.docker.io';

function json(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

async function readJson(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
  } catch {
    return {};
  }
}

/** Starts the stand-in; `users` maps user names to passwords, `orgs` a user to the other namespaces it may push to. */
export async function startDockerHubStandIn(
  options: { users?: Record<string, string>; orgs?: Record<string, string[]> } = {},
): Promise<DockerHubStandIn> {
  const users = options.users ?? {};
  const orgs = options.orgs ?? {};
  const registry = await startDockerRegistry();
  const registryUrl = new URL(registry.url);
  const registryTokens = new Map<string, Grant>();
  const hubTokens = new Map<string, string>();
  const requests: StandInRequest[] = [];
  const sockets = new Set<net.Socket>();
  let base = '';

  const namespacesOf = (account: string) => (account ? [account, ...(orgs[account] ?? [])] : []);

  const basicUser = (header: string | undefined): string | null | undefined => {
    if (!header?.startsWith('Basic ')) return undefined;
    const [user, ...rest] = Buffer.from(header.slice(6), 'base64').toString('utf8').split(':');
    return users[user] !== undefined && users[user] === rest.join(':') ? user : null;
  };

  const hubAccount = (req: http.IncomingMessage): string | undefined => {
    const header = req.headers.authorization;
    return header?.startsWith('Bearer ') ? hubTokens.get(header.slice(7)) : undefined;
  };

  const token = (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => {
    if (url.searchParams.get('service') !== service) return json(res, 400, { details: 'unknown service' });
    const user = basicUser(req.headers.authorization);
    if (user === null) return json(res, 401, { details: 'incorrect username or password' });
    const account = user ?? '';
    const access = new Map<string, Set<string>>();
    for (const scope of url.searchParams.getAll('scope')) {
      for (const one of scope.split(' ')) {
        const m = /^repository:([^:]+):(.+)$/.exec(one);
        if (!m) continue;
        const granted = new Set<string>();
        for (const action of m[2].split(',')) {
          if (action === 'pull') granted.add('pull');
          if (action === 'push' && namespacesOf(account).includes(m[1].split('/')[0])) granted.add('push');
        }
        access.set(m[1], granted);
      }
    }
    const value = `reg-${randomBytes(12).toString('hex')}`;
    registryTokens.set(value, { account, access });
    json(res, 200, { token: value, access_token: value, expires_in: 300, issued_at: new Date().toISOString() });
  };

  const challenge = (res: http.ServerResponse, scope?: string) =>
    json(
      res,
      401,
      { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] },
      { 'www-authenticate': `Bearer realm="${base}/token",service="${service}"${scope ? `,scope="${scope}"` : ''}` },
    );

  const v2 = (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => {
    const header = req.headers.authorization;
    const grant = header?.startsWith('Bearer ') ? registryTokens.get(header.slice(7)) : undefined;
    const m = /^\/v2\/(.+?)\/(manifests|blobs|tags)\//.exec(url.pathname);
    if (url.pathname === '/v2/' || !m) {
      if (!grant) return challenge(res);
      if (url.pathname !== '/v2/') return json(res, 404, { errors: [{ code: 'UNSUPPORTED', message: 'not on Docker Hub' }] });
    } else {
      const name = m[1];
      const method = req.method ?? 'GET';
      if (method === 'DELETE' && m[2] === 'manifests') {
        req.resume();
        return json(res, 405, { errors: [{ code: 'UNSUPPORTED', message: 'The operation is unsupported.' }] });
      }
      const action = method === 'GET' || method === 'HEAD' ? 'pull' : 'push';
      const scope = `repository:${name}:${action === 'pull' ? 'pull' : 'pull,push'}`;
      if (!grant?.access.get(name)?.has(action)) return challenge(res, scope);
      const from = url.searchParams.get('from');
      if (from && !grant.access.get(from)?.has('pull')) url.searchParams.delete('mount');
    }
    const headers = { ...req.headers };
    delete headers.authorization;
    delete headers.connection;
    const upstream = http.request(
      { host: registryUrl.hostname, port: registryUrl.port, method: req.method, path: `${url.pathname}${url.search}`, headers },
      (up) => {
        const answer = { ...up.headers };
        delete answer.connection;
        res.writeHead(up.statusCode ?? 502, answer);
        up.pipe(res);
      },
    );
    upstream.on('error', () => (res.headersSent ? res.destroy() : json(res, 502, {})));
    req.pipe(upstream);
  };

  const page = <T>(res: http.ServerResponse, url: URL, items: T[]) => {
    const size = Math.max(1, Math.min(100, Number(url.searchParams.get('page_size') ?? 10)));
    const number = Math.max(1, Number(url.searchParams.get('page') ?? 1));
    const results = items.slice((number - 1) * size, number * size);
    let next: string | null = null;
    if (number * size < items.length) {
      const n = new URL(url.pathname, base);
      n.searchParams.set('page', String(number + 1));
      n.searchParams.set('page_size', String(size));
      next = n.href;
    }
    json(res, 200, { count: items.length, next, previous: null, results });
  };

  const hub = async (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => {
    const p = url.pathname;
    if (req.method === 'POST' && p === '/v2/auth/token') {
      const body = await readJson(req);
      const id = String(body.identifier ?? '');
      if (users[id] === undefined || users[id] !== body.secret) return json(res, 401, { message: 'Incorrect authentication credentials' });
      const value = `hub-${randomBytes(12).toString('hex')}`;
      hubTokens.set(value, id);
      return json(res, 200, { access_token: value });
    }
    const account = hubAccount(req);
    if (req.method === 'GET' && p === '/v2/repositories/namespaces') {
      if (!account) return json(res, 401, { detail: 'Authentication credentials were not provided.' });
      return json(res, 200, { namespaces: namespacesOf(account) });
    }
    const catalog = async () =>
      ((await (await fetch(`${registry.url}/v2/_catalog?n=1000`)).json()) as { repositories: string[] }).repositories;
    let m = /^\/v2\/repositories\/([^/]+)\/$/.exec(p);
    if (req.method === 'GET' && m) {
      const ns = m[1];
      const names = (await catalog()).filter((r) => r.split('/').length === 2 && r.startsWith(`${ns}/`));
      return page(
        res,
        url,
        names.map((r) => ({ name: r.split('/')[1], namespace: ns })),
      );
    }
    m = /^\/v2\/repositories\/([^/]+)\/([^/]+)\/tags\/$/.exec(p);
    if (req.method === 'GET' && m) {
      const name = `${m[1]}/${m[2]}`;
      const tags = ((await (await fetch(`${registry.url}/v2/${name}/tags/list`)).json()) as { tags?: string[] | null }).tags ?? [];
      const results = [];
      for (const tag of tags) {
        const head = await fetch(`${registry.url}/v2/${name}/manifests/${tag}`, {
          method: 'HEAD',
          headers: {
            accept:
              'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json',
          },
        });
        results.push({ name: tag, digest: head.headers.get('docker-content-digest'), media_type: head.headers.get('content-type') });
      }
      return page(res, url, results);
    }
    m = /^\/v2\/repositories\/([^/]+)\/([^/]+)\/tags\/([^/]+)\/$/.exec(p);
    if (req.method === 'DELETE' && m) {
      if (!account) return json(res, 401, { detail: 'Authentication credentials were not provided.' });
      if (!namespacesOf(account).includes(m[1])) return json(res, 403, { detail: 'You do not have permission to perform this action.' });
      const dir = path.join(
        registry.dir,
        'storage',
        'docker',
        'registry',
        'v2',
        'repositories',
        m[1],
        m[2],
        '_manifests',
        'tags',
        decodeURIComponent(m[3]),
      );
      const exists = await stat(dir).then(
        () => true,
        () => false,
      );
      if (!exists) return json(res, 404, { detail: 'Not found.' });
      await rm(dir, { recursive: true, force: true });
      res.writeHead(204).end();
      return;
    }
    json(res, 404, { detail: 'Not found.' });
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', base);
    const entry: StandInRequest = { method: req.method ?? 'GET', url: req.url ?? '/', status: 0 };
    requests.push(entry);
    const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => http.ServerResponse;
    (res as { writeHead: unknown }).writeHead = (status: number, ...rest: unknown[]) => {
      entry.status = status;
      return writeHead(status, ...rest);
    };
    const isHubApi = url.pathname.startsWith('/v2/repositories/') || url.pathname === '/v2/auth/token';
    if (req.method === 'GET' && url.pathname === '/token') return token(req, res, url);
    if (isHubApi) {
      hub(req, res, url).catch((err: Error) => json(res, 500, { detail: `stand-in failure: ${err.message}` }));
      return;
    }
    if (url.pathname.startsWith('/v2/')) return v2(req, res, url);
    json(res, 404, { detail: 'Not found.' });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return {
    url: base,
    registry,
    requests,
    count(method, p) {
      return requests.filter((r) => r.method === method && (typeof p === 'string' ? r.url.startsWith(p) : p.test(r.url))).length;
    },
    reset() {
      requests.length = 0;
    },
    revokeTokens() {
      registryTokens.clear();
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await registry.close();
    },
  };
}
