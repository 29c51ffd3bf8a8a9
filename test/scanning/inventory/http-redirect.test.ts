import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { HttpImageSource, RegistryFetchError } from '../../../src/scanning/inventory/http-source.js';
import { inventoryOf } from '../../../src/scanning/inventory/index.js';
import { LocalImageSource } from '../../../src/scanning/inventory/local-source.js';
import { pushBlob, pushManifest, types } from '../../helpers/oci.js';
import { startS3, type TestS3 } from '../../helpers/s3.js';
import { startServer, type TestServer } from '../../helpers/server.js';
import { MemoryImage, layerOf } from './helpers.js';

// A Berth with blobs in S3 (s3rver) and redirects on: blob GETs answer 307 to a presigned URL.
let s3: TestS3;
let server: TestServer;
const repo = 'scanredirect/app';
let digest: string;
let image: MemoryImage;

before(async () => {
  s3 = await startS3();
  const bucket = await s3.createBucket();
  server = await startServer({
    yaml: s3.berthStorage(bucket, { 'storage.s3.redirect.enabled': true, 'storage.s3.redirect.expiry_seconds': 600 }),
  });
  await server.berth.projects.create('scanredirect', false);
  image = new MemoryImage();
  digest = image.addImage([
    await layerOf([
      { path: 'etc/os-release', content: 'ID=debian\nVERSION_ID="12"\n' },
      { path: 'var/lib/dpkg/status', content: 'Package: zlib1g\nStatus: install ok installed\nSource: zlib\nVersion: 1:1.2.13.dfsg-1\n' },
    ]),
  ]);
  for (const [, data] of image.blobs) await pushBlob(server.url, repo, data, server.admin);
  const manifest = image.manifests.get(digest)!;
  await pushManifest(server.url, repo, 'v1', JSON.parse(manifest.bytes.toString()), types.manifest, server.admin);
});
after(async () => {
  await server?.stop();
  await s3?.stop();
});

test('blobs behind a 307 to presigned S3 URLs are followed (without the registry credential) and stream into the inventory', async () => {
  const layer = JSON.parse(image.manifests.get(digest)!.bytes.toString()).layers[0].digest as string;
  const direct = await fetch(`${server.url}/v2/${repo}/blobs/${layer}`, { headers: server.admin, redirect: 'manual' });
  assert.equal(direct.status, 307, 'the Berth under test redirects blob reads');
  assert.equal(new URL(direct.headers.get('location')!).origin, s3.endpoint);

  const source = new HttpImageSource({ registryUrl: server.url, repository: repo, authorization: server.admin.authorization });
  const inventory = await inventoryOf(source, digest, { cache: null });
  assert.deepEqual(
    inventory.packages.map((p) => [p.name, p.version, p.sourceName, p.ecosystem]),
    [['zlib1g', '1:1.2.13.dfsg-1', 'zlib', 'Debian:12']],
  );
  assert.deepEqual(inventory, await inventoryOf(new LocalImageSource(server.berth.registry, repo), digest, { cache: null }));
});

test('a registry that serves other bytes than the digest names, or redirects forever, fails with a clear error', async () => {
  const seen: (string | undefined)[] = [];
  const storageSaw: (string | undefined)[] = [];
  const storage = http.createServer((req, res) => {
    storageSaw.push(req.headers.authorization);
    res.end('bytes from storage');
  });
  await new Promise<void>((resolve) => storage.listen(0, '127.0.0.1', resolve));
  const storageUrl = `http://127.0.0.1:${(storage.address() as AddressInfo).port}`;
  const liar = http.createServer((req, res) => {
    seen.push(req.headers.authorization);
    if (req.url?.endsWith(`/blobs/sha256:${'2'.repeat(64)}`)) {
      res.writeHead(307, { location: `${storageUrl}/bucket/object?X-Amz-Signature=x` });
      res.end();
      return;
    }
    if (req.url?.endsWith(`/blobs/sha256:${'3'.repeat(64)}`)) {
      // Headers and a few bytes, then nothing more.
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.write('partial');
      return;
    }
    if (req.url?.endsWith(`/blobs/sha256:${'1'.repeat(64)}`)) {
      res.writeHead(302, { location: req.url });
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    res.end('not what you asked for');
  });
  await new Promise<void>((resolve) => liar.listen(0, '127.0.0.1', resolve));
  try {
    const url = `http://127.0.0.1:${(liar.address() as AddressInfo).port}`;
    const source = new HttpImageSource({ registryUrl: url, repository: 'x/y', authorization: 'Bearer abc' });
    await assert.rejects(source.manifest(digest), /manifest sha256:[0-9a-f]{64} arrived with different content/);
    const body = await source.blob(digest);
    await assert.rejects(
      (async () => {
        for await (const _ of body) void _;
      })(),
      (err: Error) => err instanceof RegistryFetchError && /arrived with different content/.test(err.message),
    );
    await assert.rejects(source.blob(`sha256:${'1'.repeat(64)}`), /more than 5 redirects/);
    // Same origin: the credential goes along on every hop; another origin (storage) never sees it.
    const elsewhere = await source.blob(`sha256:${'2'.repeat(64)}`);
    await assert.rejects(
      (async () => {
        for await (const _ of elsewhere) void _;
      })(),
      /arrived with different content/,
    );
    assert.deepEqual(storageSaw, [undefined]);
    assert.ok(seen.every((a) => a === 'Bearer abc'));
    const impatient = new HttpImageSource({ registryUrl: url, repository: 'x/y', timeoutMs: 300 });
    const stalled = await impatient.blob(`sha256:${'3'.repeat(64)}`);
    await assert.rejects(
      (async () => {
        for await (const _ of stalled) void _;
      })(),
      /blob sha256:3{64}: no data from http:\/\/127\.0\.0\.1:\d+ for 300 ms/,
    );
  } finally {
    await new Promise((resolve) => liar.close(resolve));
    await new Promise((resolve) => storage.close(resolve));
  }
});
