import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { brotliCompressSync } from 'node:zlib';
import Fastify, { type FastifyInstance } from 'fastify';
import { registerPortal } from '../../src/server/portal.js';

/** A Fastify app with only the portal and a JSON 404, as the server assembles them. */
async function appServing(dir: string): Promise<FastifyInstance> {
  const app = Fastify();
  const portalRoute = await registerPortal(app, dir);
  app.get('/api/v2.0/ping', async () => 'Pong');
  app.setNotFoundHandler((req, reply) => {
    if (portalRoute(req, reply)) return;
    reply.code(404).send({ errors: [{ code: 'NOT_FOUND', message: 'nothing' }] });
  });
  return app;
}

describe('portal files', () => {
  let dir: string;
  let app: FastifyInstance;
  const script = 'console.log("portal");'.repeat(50);
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'berth-portal-'));
    await mkdir(path.join(dir, 'assets'));
    await writeFile(path.join(dir, 'index.html'), '<!doctype html><title>Berth</title><div id="root"></div>');
    await writeFile(path.join(dir, 'assets', 'index-abc.js'), script);
    await writeFile(path.join(dir, 'assets', 'index-abc.js.br'), brotliCompressSync(script));
    app = await appServing(dir);
  });
  after(async () => {
    await app.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('/ is the app, never cached', async () => {
    const res = await app.inject({ url: '/' });
    assert.equal(res.statusCode, 200);
    assert.match(res.headers['content-type'] as string, /^text\/html/);
    assert.equal(res.headers['cache-control'], 'no-cache');
    assert.match(res.body, /<div id="root">/);
  });

  test('a client-side route a browser opens gets the app', async () => {
    for (const url of ['/projects', '/projects/library/members', '/projects/library/repositories/a/b/-/artifacts/sha256%3Aab']) {
      const res = await app.inject({ url, headers: { accept: 'text/html,application/xhtml+xml' } });
      assert.equal(res.statusCode, 200, url);
      assert.match(res.body, /<div id="root">/, url);
    }
  });

  test('protocol paths and non-browser requests keep their JSON 404', async () => {
    for (const url of ['/v2/nothing/manifests/x', '/api/v2.0/nothing', '/service/nothing', '/c/nothing', '/v2']) {
      const res = await app.inject({ url, headers: { accept: 'text/html' } });
      assert.equal(res.statusCode, 404, url);
      assert.equal(res.json().errors[0].code, 'NOT_FOUND', url);
    }
    const res = await app.inject({ url: '/projects', headers: { accept: 'application/json' } });
    assert.equal(res.statusCode, 404);
    const post = await app.inject({ method: 'POST', url: '/projects', headers: { accept: 'text/html' } });
    assert.equal(post.statusCode, 404);
  });

  test('hashed assets are cached for good and sent compressed to browsers that accept it', async () => {
    const plain = await app.inject({ url: '/assets/index-abc.js' });
    assert.equal(plain.statusCode, 200);
    assert.equal(plain.body, script);
    assert.equal(plain.headers['cache-control'], 'public, max-age=31536000, immutable');
    const compressed = await app.inject({ url: '/assets/index-abc.js', headers: { 'accept-encoding': 'br, gzip' } });
    assert.equal(compressed.headers['content-encoding'], 'br');
    assert.match(String(compressed.headers.vary), /accept-encoding/i);
    assert.ok(compressed.rawPayload.length < script.length);
  });

  test('a missing asset is a 404, not the app', async () => {
    const res = await app.inject({ url: '/assets/missing.js', headers: { accept: '*/*' } });
    assert.equal(res.statusCode, 404);
  });
});

test('an unbuilt portal answers / with how to build it', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'berth-portal-empty-'));
  const app = await appServing(dir);
  try {
    const res = await app.inject({ url: '/' });
    assert.equal(res.statusCode, 200);
    assert.match(res.body, /npm run build/);
    const api = await app.inject({ url: '/api/v2.0/ping' });
    assert.equal(api.body, 'Pong');
  } finally {
    await app.close();
    await rm(dir, { recursive: true, force: true });
  }
});
