import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { startFaultyProxy, type FaultyProxy } from '../helpers/faulty-proxy.js';
import { sha256 } from '../helpers/oci.js';
import { startS3, type TestS3 } from '../helpers/s3.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { assertEveryManifestWhole, assertReadable, assertRetryable, blobKey, makeImage, objectExists, tryPush } from './common.js';

// S3 misbehaving behind Berth: a fault-injecting proxy between Berth and s3rver answers
// 5xx, delays, resets connections and cuts bodies short. The AWS SDK retries a failed
// request up to 3 attempts in all (standard mode); what still fails reaches the client as
// 503 UNAVAILABLE with Retry-After. After every case, every manifest in the database has
// all its blobs in the bucket (asked of s3rver directly).

let s3: TestS3;
let proxy: FaultyProxy;
let bucket: string;
let server: TestServer;
const headers = () => server.admin;
let counter = 0;
const next = (layerSize?: number) => makeImage('library/s3faults', `t${counter++}`, layerSize);

describe('S3 faults', { timeout: 180_000 }, () => {
  before(async () => {
    s3 = await startS3();
    bucket = await s3.createBucket();
    proxy = await startFaultyProxy(s3.endpoint);
    // A short S3 timeout so that a stalled server fails requests within the test's bounds.
    server = await startServer({ yaml: s3.berthStorage(bucket, { 'storage.s3.endpoint': proxy.url, 'storage.s3.timeout_seconds': 2 }) });
  });

  beforeEach(() => {
    proxy.clear();
    proxy.resetCounts();
  });

  after(async () => {
    proxy?.clear();
    if (server) {
      const checked = await assertEveryManifestWhole(server.berth.database.db, (d) => objectExists(s3.client, bucket, blobKey(d)));
      assert.ok(checked > 0);
    }
    await server?.stop();
    await proxy?.close();
    await s3?.stop();
  });

  const whole = () => assertEveryManifestWhole(server.berth.database.db, (d) => objectExists(s3.client, bucket, blobKey(d)));

  test('writes answered 503 every other time: the SDK retries, every push completes', async () => {
    proxy.add({ method: 'PUT', fault: { kind: 'status', status: 503 }, every: 2 });
    proxy.add({ method: 'POST', fault: { kind: 'status', status: 500 }, every: 2 });
    for (let i = 0; i < 4; i++) {
      const image = next(i === 0 ? 6 * 1024 * 1024 : 4096);
      assert.equal(await tryPush(server.url, image, headers()), null);
      proxy.clear();
      await assertReadable(server.url, image, headers());
      proxy.add({ method: 'PUT', fault: { kind: 'status', status: 503 }, every: 2 });
    }
    assert.ok(proxy.counts.faulted > 0, 'faults were injected');
    await whole();
  });

  test('writes that keep failing: the client gets 503 UNAVAILABLE with Retry-After (no hang), nothing is recorded, the retry completes', async () => {
    proxy.add({ method: 'PUT', fault: { kind: 'status', status: 503 } });
    proxy.add({ method: 'POST', fault: { kind: 'status', status: 503 } });
    const image = next();
    const refused = await tryPush(server.url, image, headers());
    assert.ok(refused, 'the push was refused');
    assertRetryable(refused);
    assert.match(refused.step, /^blob/);
    // The blob the store refused is not recorded: a manifest naming it is refused.
    const manifestPut = await fetch(`${server.url}/v2/${image.repo}/manifests/${image.tag}`, {
      method: 'PUT',
      headers: { ...headers(), 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
      body: image.manifest as Uint8Array<ArrayBuffer>,
    });
    assert.equal(manifestPut.status, 404);
    assert.equal(((await manifestPut.json()) as { errors: { code: string }[] }).errors[0].code, 'MANIFEST_BLOB_UNKNOWN');
    const manifest = await fetch(`${server.url}/v2/${image.repo}/manifests/${image.tag}`, { headers: headers() });
    assert.equal(manifest.status, 404, 'no manifest was recorded');
    proxy.clear();
    assert.equal(await tryPush(server.url, image, headers()), null, 'the same push, retried, completes');
    await assertReadable(server.url, image, headers());
    await whole();
  });

  test('connections reset before an answer: retried by the SDK, the push completes', async () => {
    proxy.add({ fault: { kind: 'reset' }, every: 2 });
    const image = next(200_000);
    assert.equal(await tryPush(server.url, image, headers()), null);
    assert.ok(proxy.counts.faulted > 0);
    proxy.clear();
    await assertReadable(server.url, image, headers());
    await whole();
  });

  test('a manifest PUT while every S3 request fails: accepted from the database record of its blobs (made only once they are in the bucket) or refused with 503 and not recorded; never a manifest without its blobs', async () => {
    const image = next();
    // The blobs first, unharmed; then S3 fails everything.
    const blobsOnly = { ...image, manifest: image.manifest, tag: image.tag };
    for (const blob of blobsOnly.blobs) {
      const res = await fetch(`${server.url}/v2/${image.repo}/blobs/uploads/?digest=${blob.digest}`, {
        method: 'POST',
        headers: { ...headers(), 'content-type': 'application/octet-stream' },
        body: blob.data as Uint8Array<ArrayBuffer>,
      });
      assert.equal(res.status, 201);
    }
    proxy.add({ fault: { kind: 'status', status: 500 } });
    const res = await fetch(`${server.url}/v2/${image.repo}/manifests/${image.tag}`, {
      method: 'PUT',
      headers: { ...headers(), 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
      body: image.manifest as Uint8Array<ArrayBuffer>,
    });
    const text = await res.text();
    const asked = proxy.counts.requests;
    proxy.clear();
    if (res.status === 201) {
      // Berth checks a manifest's blobs in its database, which records a blob only once its
      // object is in the bucket; S3 is asked only for what is not needed to accept it.
      void asked;
      await assertReadable(server.url, image, headers());
    } else {
      assert.equal(res.status, 503, text);
      assert.equal((JSON.parse(text) as { errors: { code: string }[] }).errors[0].code, 'UNAVAILABLE');
      const after = await fetch(`${server.url}/v2/${image.repo}/manifests/${image.tag}`, { headers: headers() });
      assert.equal(after.status, 404, 'no manifest was recorded');
    }
    await whole();
  });

  test('a blob GET whose S3 body is cut mid-stream: the client sees a broken transfer, never a short body that ends cleanly; the retry is whole', async () => {
    const image = next(1024 * 1024);
    assert.equal(await tryPush(server.url, image, headers()), null);
    const layer = image.blobs[1];
    proxy.add({
      method: 'GET',
      path: new RegExp(blobKey(layer.digest).split('/').pop()!),
      fault: { kind: 'truncate', afterBytes: 100_000 },
    });
    const res = await fetch(`${server.url}/v2/${image.repo}/blobs/${layer.digest}`, { headers: headers() });
    if (res.status === 200) {
      await assert.rejects(res.arrayBuffer(), 'the body does not end cleanly');
    } else {
      assertRetryable({
        step: 'get',
        status: res.status,
        code: ((await res.json()) as { errors: { code: string }[] }).errors[0].code,
        retryAfter: res.headers.get('retry-after'),
        message: '',
      });
    }
    assert.ok(proxy.counts.faulted > 0);
    proxy.clear();
    const again = await fetch(`${server.url}/v2/${image.repo}/blobs/${layer.digest}`, { headers: headers() });
    assert.equal(again.status, 200);
    assert.equal(sha256(Buffer.from(await again.arrayBuffer())), layer.digest);
    // The server goes on serving.
    await assertReadable(server.url, image, headers());
  });

  test('a blob GET reset before S3 answers: retried by the SDK, the client gets the whole blob', async () => {
    const image = next(300_000);
    assert.equal(await tryPush(server.url, image, headers()), null);
    const layer = image.blobs[1];
    proxy.add({ method: 'GET', path: new RegExp(layer.digest.slice(7)), fault: { kind: 'reset' }, times: 2 });
    const res = await fetch(`${server.url}/v2/${image.repo}/blobs/${layer.digest}`, { headers: headers() });
    assert.equal(res.status, 200);
    assert.equal(sha256(Buffer.from(await res.arrayBuffer())), layer.digest);
    assert.equal(proxy.counts.faulted, 2);
  });

  test('a stalled S3: requests fail after the timeout with 503 UNAVAILABLE instead of hanging; served again once it answers', async () => {
    const image = next(50_000);
    assert.equal(await tryPush(server.url, image, headers()), null);
    const layer = image.blobs[1];
    proxy.add({ path: new RegExp(layer.digest.slice(7)), fault: { kind: 'delay', ms: 30_000 } });
    const res = await fetch(`${server.url}/v2/${image.repo}/blobs/${layer.digest}`, {
      headers: headers(),
      signal: AbortSignal.timeout(60_000),
    });
    const text = await res.text();
    assert.equal(res.status, 503, text);
    assert.equal((JSON.parse(text) as { errors: { code: string }[] }).errors[0].code, 'UNAVAILABLE');
    assert.ok(res.headers.get('retry-after'));
    proxy.clear();
    const again = await fetch(`${server.url}/v2/${image.repo}/blobs/${layer.digest}`, { headers: headers() });
    assert.equal(again.status, 200);
    assert.equal(sha256(Buffer.from(await again.arrayBuffer())), layer.digest);
  });

  test('a stalled S3 during a push: the blob upload is refused with 503 after the timeout, and the retry completes', async () => {
    proxy.add({ method: 'PUT', fault: { kind: 'delay', ms: 30_000 } });
    const image = next(10_000);
    const refused = await tryPush(server.url, image, headers());
    assert.ok(refused);
    assertRetryable(refused);
    proxy.clear();
    assert.equal(await tryPush(server.url, image, headers()), null);
    await assertReadable(server.url, image, headers());
    await whole();
  });
});
