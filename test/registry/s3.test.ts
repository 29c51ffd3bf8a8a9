import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { api } from '../helpers/api.js';
import { types } from '../helpers/oci.js';
import { startS3, type TestS3 } from '../helpers/s3.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { V2, digestOf } from '../helpers/v2.js';

// Two Berth instances over one database and one bucket, as behind a load balancer, and a
// third with redirects on: the whole /v2 data path with blobs in S3 (s3rver).
let s3: TestS3;
let bucket: string;
let a: TestServer;
let b: TestServer;
let redirecting: TestServer | undefined;

before(async () => {
  s3 = await startS3();
  bucket = await s3.createBucket();
  a = await startServer({ yaml: s3.berthStorage(bucket, { 'storage.s3.prefix': 'berth' }) });
  b = await startServer({ dataDir: a.dataDir, yaml: s3.berthStorage(bucket, { 'storage.s3.prefix': 'berth' }) });
});
after(async () => {
  // The others first: the last one removes the shared data directory (and database).
  await redirecting?.stop({ keepData: true });
  await b?.stop({ keepData: true });
  await a?.stop();
  await s3?.stop();
});

const repo = 'library/s3-image';
const MiB = 1024 * 1024;
const layer = Buffer.concat([randomBytes(700 * 1024), randomBytes(6 * MiB), randomBytes(123_457), randomBytes(2 * MiB)]);
const chunkSizes = [700 * 1024, 6 * MiB, 123_457, 2 * MiB];
const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
let manifestDigest: string;

async function patch(server: TestServer, location: string, chunk: Buffer, start: number): Promise<string> {
  const res = await new V2(server).call('PATCH', location, {
    headers: { 'content-type': 'application/octet-stream', 'content-range': `${start}-${start + chunk.length - 1}` },
    body: chunk,
  });
  assert.equal(res.status, 202, res.text);
  assert.equal(res.headers.get('range'), `0-${start + chunk.length - 1}`);
  const next = res.headers.get('location')!;
  return new URL(next, server.url).pathname + new URL(next, server.url).search;
}

test('an image pushed in chunks that land on alternating instances pulls back byte-identical from either', async () => {
  let location = await new V2(a).startUpload(repo);
  const servers = [a, b, a, b];
  let offset = 0;
  // Every chunk but the last by PATCH, each on the other instance than the one before.
  for (let i = 0; i < chunkSizes.length - 1; i++) {
    location = await patch(servers[i], location, layer.subarray(offset, offset + chunkSizes[i]), offset);
    offset += chunkSizes[i];
  }
  const layerDigest = digestOf(layer);
  const put = await new V2(servers[3]).call('PUT', `${location}${location.includes('?') ? '&' : '?'}digest=${layerDigest}`, {
    headers: { 'content-type': 'application/octet-stream' },
    body: layer.subarray(offset),
  });
  assert.equal(put.status, 201, put.text);
  assert.equal(put.headers.get('docker-content-digest'), layerDigest);

  await new V2(b).pushBlob(repo, config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: types.manifest,
      config: { mediaType: types.config, digest: digestOf(config), size: config.length },
      layers: [{ mediaType: types.layer, digest: layerDigest, size: layer.length }],
    }),
  );
  const pushed = await new V2(a).putManifest(repo, 'v1', manifest, types.manifest);
  assert.equal(pushed.status, 201, pushed.text);
  manifestDigest = digestOf(manifest);

  for (const server of [a, b]) {
    const v2 = new V2(server);
    const got = await v2.call('GET', `/v2/${repo}/manifests/v1`, { headers: { accept: types.manifest } });
    assert.equal(got.status, 200);
    assert.deepEqual(got.bytes, manifest);
    const blob = await v2.call('GET', `/v2/${repo}/blobs/${layerDigest}`);
    assert.equal(blob.status, 200);
    assert.equal(blob.headers.get('content-length'), String(layer.length));
    assert.ok(blob.bytes.equals(layer), 'the layer reads back byte for byte');
    const cfg = await v2.call('GET', `/v2/${repo}/blobs/${digestOf(config)}`);
    assert.deepEqual(cfg.bytes, config);
  }
});

test('blob range GETs are served from the bucket', async () => {
  const v2 = new V2(b);
  const layerDigest = digestOf(layer);
  for (const [header, start, end] of [
    ['bytes=0-0', 0, 0],
    ['bytes=716790-716810', 716790, 716810],
    [`bytes=-5`, layer.length - 5, layer.length - 1],
  ] as const) {
    const res = await v2.call('GET', `/v2/${repo}/blobs/${layerDigest}`, { headers: { range: header } });
    assert.equal(res.status, 206, header);
    assert.equal(res.headers.get('content-range'), `bytes ${start}-${end}/${layer.length}`);
    assert.ok(res.bytes.equals(layer.subarray(start, end + 1)), header);
  }
});

test('health, system info and volumes say what an S3 store is', async () => {
  const health = await api(a, 'GET', '/health');
  assert.equal(health.body.components.find((c: { name: string }) => c.name === 'storage').status, 'healthy');
  const info = await api(a, 'GET', '/systeminfo', { auth: a.admin.authorization });
  assert.equal(info.body.registry_storage_provider_name, 's3');
  const volumes = await api(a, 'GET', '/systeminfo/volumes', { auth: a.admin.authorization });
  assert.equal(volumes.status, 200);
  assert.deepEqual(volumes.body, { storage: [] });
});

test('with redirects on, a blob GET answers 307 to a URL that serves the bytes; HEAD and manifests are served', async () => {
  redirecting = await startServer({
    dataDir: a.dataDir,
    yaml: s3.berthStorage(bucket, {
      'storage.s3.prefix': 'berth',
      'storage.s3.redirect.enabled': true,
      'storage.s3.redirect.expiry_seconds': 600,
    }),
  });
  const v2 = new V2(redirecting);
  const layerDigest = digestOf(layer);
  const res = await v2.call('GET', `/v2/${repo}/blobs/${layerDigest}`);
  assert.equal(res.status, 307);
  assert.equal(res.headers.get('cache-control'), 'no-store');
  assert.equal(res.headers.get('docker-content-digest'), layerDigest);
  const location = new URL(res.headers.get('location')!);
  assert.equal(location.origin, s3.endpoint);
  assert.equal(location.searchParams.get('X-Amz-Expires'), '600');
  const direct = await fetch(location);
  assert.equal(direct.status, 200);
  assert.ok(Buffer.from(await direct.arrayBuffer()).equals(layer), 'the presigned URL serves the layer');
  const ranged = await fetch(location, { headers: { range: 'bytes=10-19' } });
  assert.equal(ranged.status, 206);
  assert.ok(Buffer.from(await ranged.arrayBuffer()).equals(layer.subarray(10, 20)));

  const head = await v2.call('HEAD', `/v2/${repo}/blobs/${layerDigest}`);
  assert.equal(head.status, 200);
  assert.equal(head.headers.get('content-length'), String(layer.length));
  // A manifest read through the blob endpoint lives in the database, not the bucket.
  const manifest = await v2.call('GET', `/v2/${repo}/blobs/${manifestDigest}`);
  assert.equal(manifest.status, 200);
  // Without redirects, the same blob is served.
  assert.equal((await new V2(a).call('GET', `/v2/${repo}/blobs/${layerDigest}`)).status, 200);
  // A blob another repository holds is still refused, not redirected.
  const other = await v2.call('GET', `/v2/library/other/blobs/${layerDigest}`);
  assert.equal(other.status, 404);
});
