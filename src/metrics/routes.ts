import { timingSafeEqual } from 'node:crypto';
import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { BerthMetrics } from './registry.js';

/**
 * The route pattern of a /v2 URL (the registry answers /v2 from one catch-all route, since
 * repository names hold slashes): a few label values, never the repository or the digest.
 */
export function registryRoute(url: string): string {
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  if (path === '/v2' || path === '/v2/') return '/v2/';
  if (path === '/v2/_catalog') return '/v2/_catalog';
  if (path.endsWith('/blobs/uploads/') || path.endsWith('/blobs/uploads')) return '/v2/:name/blobs/uploads/';
  const tail = /\/(manifests|blobs|tags|referrers)\/([^/]*)$/.exec(path);
  if (tail) {
    if (tail[1] === 'manifests') return '/v2/:name/manifests/:reference';
    if (tail[1] === 'referrers') return '/v2/:name/referrers/:digest';
    if (tail[1] === 'tags') return tail[2] === 'list' ? '/v2/:name/tags/list' : '/v2/*';
    return tail[2] === 'uploads' || tail[2] === '' ? '/v2/:name/blobs/uploads/' : '/v2/:name/blobs/:digest';
  }
  if (/\/blobs\/uploads\/[^/]+$/.test(path)) return '/v2/:name/blobs/uploads/:uuid';
  return '/v2/*';
}

/** Where the metrics are served and who may read them (config `metrics`). */
export interface MetricsAccess {
  path: string;
  /** A Bearer token that opens them. */
  token?: string;
  /** Anyone may read them (a port of their own without a token; `metrics.public` on the main port). */
  open: boolean;
  /** Whether Basic credentials are a system administrator's (main port only). */
  isSysadmin?: (authorization: string) => Promise<boolean>;
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Whether a request's Authorization header opens the metrics. */
export async function mayRead(access: MetricsAccess, authorization: string | undefined): Promise<boolean> {
  if (access.open) return true;
  if (!authorization) return false;
  if (access.token && /^bearer /i.test(authorization) && sameSecret(authorization.slice(7).trim(), access.token)) return true;
  if (access.isSysadmin && /^basic /i.test(authorization)) {
    try {
      return await access.isSysadmin(authorization);
    } catch {
      return false;
    }
  }
  return false;
}

/** The challenge of a refused scrape: Basic when an administrator may sign in, else Bearer. */
export function challenge(access: MetricsAccess): string {
  return access.isSysadmin ? 'Basic realm="berth metrics"' : 'Bearer realm="berth metrics"';
}

interface Mark {
  start: bigint;
  read: number;
}

const marks = new WeakMap<FastifyRequest, Mark>();

/**
 * Counts every request (route pattern, method, status, duration) and the bytes of /v2; when
 * `serve` is given, answers GET `serve.path` on this server (the main port), before
 * authentication, which would refuse a Bearer token outside /v2.
 */
export function registerMetricsHooks(app: FastifyInstance, metrics: BerthMetrics, serve?: MetricsAccess): void {
  app.addHook('onRequest', (req, reply, done) => {
    const socket: Socket | undefined = req.raw.socket;
    marks.set(req, { start: process.hrtime.bigint(), read: socket?.bytesRead ?? 0 });
    if (serve && (req.method === 'GET' || req.method === 'HEAD') && pathOf(req.url) === serve.path) {
      void answer(req, reply, metrics, serve);
      return;
    }
    done();
  });
  app.addHook('onResponse', (req, reply, done) => {
    const mark = marks.get(req);
    if (mark) {
      const seconds = Number(process.hrtime.bigint() - mark.start) / 1e9;
      const onRegistry = req.url.startsWith('/v2');
      const route = onRegistry ? registryRoute(req.url) : routeOf(req, serve);
      let received: number | undefined;
      let sent: number | undefined;
      if (onRegistry) {
        // Body bytes: by Content-Length, or for a chunked upload what the connection read after the headers.
        const length = req.headers['content-length'];
        received = length !== undefined ? Number(length) : (req.raw.socket?.bytesRead ?? mark.read) - mark.read;
        const answered = reply.raw.getHeader('content-length');
        sent = req.method === 'HEAD' || answered === undefined ? 0 : Number(answered);
      }
      metrics.observeRequest(req.method, route, reply.statusCode, seconds, received, sent);
    }
    done();
  });
}

function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

function routeOf(req: FastifyRequest, serve: MetricsAccess | undefined): string {
  if (serve && pathOf(req.url) === serve.path) return serve.path;
  const url = req.routeOptions.url;
  // Answers no route claimed (404s, the portal's client-side routes) share one label.
  return url === undefined || url === '*' || url === '/*' ? 'unmatched' : url;
}

async function answer(req: FastifyRequest, reply: FastifyReply, metrics: BerthMetrics, access: MetricsAccess): Promise<void> {
  try {
    if (!(await mayRead(access, req.headers.authorization))) {
      await reply
        .code(401)
        .header('www-authenticate', challenge(access))
        .send({ errors: [{ code: 'UNAUTHORIZED', message: 'metrics need a system administrator or the metrics token' }] });
      return;
    }
    const text = await metrics.text();
    await reply.code(200).header('content-type', metrics.contentType).header('cache-control', 'no-store').send(text);
  } catch (err) {
    req.log.warn({ err }, 'collecting metrics failed');
    await reply.code(500).send({ errors: [{ code: 'UNKNOWN', message: 'collecting the metrics failed' }] });
  }
}
