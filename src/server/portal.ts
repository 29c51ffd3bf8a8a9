import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** Where `npm run build` puts the portal (web/dist), from src/http or dist/http alike. */
export const defaultPortalDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../web/dist');

/** Paths that belong to the protocols, never to the single-page app. */
const protocolPrefixes = ['/v2', '/api/', '/service/', '/c/'];

/**
 * Serves the portal's built files at `/`: hashed assets cached for good, index.html never,
 * and index.html for any other GET a browser makes (client-side routes such as
 * /projects/3), so a reload or a shared link opens the right page.
 */
export async function registerPortal(app: FastifyInstance, dir: string): Promise<(req: FastifyRequest, reply: FastifyReply) => boolean> {
  const index = path.join(dir, 'index.html');
  if (!existsSync(index)) {
    app.log.warn({ dir }, 'portal not built (run npm run build): / answers with a note');
    app.get('/', { schema: { hide: true } }, async (_req, reply) =>
      reply
        .type('text/html; charset=utf-8')
        .send('<!doctype html><title>Berth</title><p>The portal is not built. Run <code>npm run build</code> and restart Berth.</p>'),
    );
    return () => false;
  }
  await app.register(fastifyStatic, {
    root: dir,
    prefix: '/',
    wildcard: false,
    index: false,
    preCompressed: true,
    cacheControl: false,
    setHeaders(reply, file) {
      reply.header('cache-control', file.includes(`${path.sep}assets${path.sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
  const sendIndex = (reply: FastifyReply) => reply.sendFile('index.html');
  app.get('/', { schema: { hide: true } }, (_req, reply) => sendIndex(reply));
  return (req, reply) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const url = req.url;
    if (protocolPrefixes.some((p) => url === p.replace(/\/$/, '') || url.startsWith(p))) return false;
    if (!(req.headers.accept ?? '').includes('text/html')) return false;
    void sendIndex(reply);
    return true;
  };
}
