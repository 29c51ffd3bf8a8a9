/**
 * The docker-registry adapter and the v2 client against a real CNCF Distribution
 * (Debian's docker-registry) on 127.0.0.1: pushes (streamed and in chunks), pulls, listings
 * with paging, mounts, deletes, keep-alive reuse, Basic authentication behind a gate, and
 * the failures the proxy cache and the engine rely on (unreachable, 429, 503, 401, 404).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createAdapter, RemoteConnections } from '../../../src/replication/adapters/index.js';
import { blobOf, V2Client } from '../../../src/replication/adapters/v2-client.js';
import { RemoteRegistryError, type RegistryAdapter } from '../../../src/replication/types.js';
import { startCountingProxy, type CountingProxy } from '../../helpers/counting-proxy.js';
import { startDockerRegistry, type DockerRegistry } from '../../helpers/docker-registry.js';
import { refusedPort } from '../../helpers/ports.js';
import { startRegistryGate, type RegistryGate } from '../../helpers/registry-gate.js';
import { requireTools } from '../../helpers/tools.js';
import { endpoint, makeImage, ociManifest, pushThrough, readAll, sha256 } from './content.js';

const skip = requireTools('docker-registry');

async function failureOf(promise: Promise<unknown>): Promise<RemoteRegistryError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof RemoteRegistryError, `expected a RemoteRegistryError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a failure');
}

describe('docker-registry adapter against a real docker-registry', { skip }, () => {
  let registry: DockerRegistry;
  let gate: RegistryGate;
  let connections: RemoteConnections;
  let adapter: RegistryAdapter;

  before(async () => {
    registry = await startDockerRegistry();
    gate = await startRegistryGate(registry.url);
    connections = new RemoteConnections();
    adapter = createAdapter(endpoint(gate.url), { connections });
  });

  after(async () => {
    connections?.close();
    await gate?.close();
    await registry?.close();
  });

  test('ping, and the info Harbor shows for the type', async () => {
    await adapter.ping();
    const info = adapter.info();
    assert.equal(info.type, 'docker-registry');
    assert.deepEqual(info.supportedTriggers, ['manual', 'scheduled']);
    assert.deepEqual(
      info.supportedResourceFilters.map((f) => f.type),
      ['name', 'tag', 'resource'],
    );
    assert.equal(info.supportedCopyByChunk, true);
  });

  test('an image pushed through the adapter reads back byte for byte', async () => {
    const image = makeImage([300_000, 5_000]);
    assert.equal(await adapter.blobExists('app/web', image.blobs[1].digest), false);
    const digest = await pushThrough(adapter, 'app/web', 'v1', image);
    assert.equal(digest, image.digest);

    const head = await adapter.headManifest('app/web', 'v1');
    assert.deepEqual(head, { digest: image.digest, mediaType: ociManifest, size: image.manifest.length });
    const byTag = await adapter.getManifest('app/web', 'v1');
    assert.ok(byTag);
    assert.equal(byTag.digest, image.digest);
    assert.equal(byTag.mediaType, ociManifest);
    assert.ok(byTag.bytes.equals(image.manifest));
    const byDigest = await adapter.getManifest('app/web', image.digest);
    assert.ok(byDigest?.bytes.equals(image.manifest));

    for (const blob of image.blobs) {
      assert.equal(await adapter.blobExists('app/web', blob.digest), true);
      const fetched = await adapter.getBlob('app/web', blob.digest);
      assert.equal(fetched.size, blob.data.length);
      const bytes = await readAll(fetched.stream);
      assert.equal(sha256(bytes), blob.digest);
    }
    assert.equal(await adapter.headManifest('app/web', 'nope'), null);
    assert.equal(await adapter.getManifest('app/web', 'nope'), null);
    assert.equal(await adapter.getManifest('no/such', 'v1'), null);
  });

  test('copy by chunk: one PATCH per chunk with its Content-Range, then the closing PUT', async () => {
    const image = makeImage([2_500_000]);
    const layer = image.blobs[1];
    gate.reset();
    await adapter.putBlob('app/chunked', layer.digest, blobOf(layer.data), { chunkSize: 1024 * 1024 });
    const patches = gate.requests.filter((r) => r.method === 'PATCH');
    assert.equal(patches.length, 3, 'ceil(2.5 MB / 1 MiB) chunks');
    assert.ok(patches.every((r) => r.status === 202));
    assert.equal(gate.requests.filter((r) => r.method === 'PUT' && r.url.includes('digest=')).length, 1);
    const back = await readAll((await adapter.getBlob('app/chunked', layer.digest)).stream);
    assert.ok(back.equals(layer.data));

    // A blob smaller than one chunk: one PATCH; an empty blob: none, just the PUT.
    const small = Buffer.from('small blob');
    await adapter.putBlob('app/chunked', sha256(small), blobOf(small), { chunkSize: 1024 * 1024 });
    const empty = Buffer.alloc(0);
    gate.reset();
    await adapter.putBlob('app/chunked', sha256(empty), blobOf(empty), { chunkSize: 1024 * 1024 });
    assert.equal(gate.count('PATCH', '/v2/'), 0);
    assert.equal(await adapter.blobExists('app/chunked', sha256(small)), true);
    assert.equal(await adapter.blobExists('app/chunked', sha256(empty)), true);
  });

  test('a streamed upload whose bytes do not match the digest is refused and nothing is stored', async () => {
    const data = Buffer.from('what was promised');
    const other = Buffer.from('what arrived instead');
    const err = await failureOf(adapter.putBlob('app/bad', sha256(data), blobOf(other)));
    assert.equal(err.failure, 'failed');
    assert.equal(err.status, 400);
    assert.match(err.message, /DIGEST_INVALID|digest/i);
    assert.equal(await adapter.blobExists('app/bad', sha256(data)), false);
  });

  test('requests reuse kept-alive connections', async () => {
    const fresh = new RemoteConnections();
    try {
      const a = createAdapter(endpoint(gate.url), { connections: fresh });
      gate.reset();
      for (let i = 0; i < 20; i++) await a.blobExists('app/web', sha256(Buffer.from(`absent ${i}`)));
      assert.equal(gate.requests.length, 20);
      assert.ok(gate.connections <= 2, `20 sequential requests opened ${gate.connections} connections`);
      // close() ends the idle sockets only: the connections stay usable, on a new socket.
      fresh.close();
      const before = gate.connections;
      assert.equal(await a.blobExists('app/web', sha256(Buffer.from('after close'))), false);
      assert.equal(gate.connections, before + 1);
    } finally {
      fresh.close();
    }
  });

  test('listing: catalog and tags page by page, artifacts grouped by digest, name patterns', async () => {
    const one = makeImage();
    const two = makeImage();
    await pushThrough(adapter, 'list/alpha', 'a', one);
    await adapter.putManifest('list/alpha', 'b', ociManifest, one.manifest);
    await pushThrough(adapter, 'list/alpha', 'c', two);
    await pushThrough(adapter, 'list/beta', 'x', two);
    await pushThrough(adapter, 'other/gamma', 'y', one);

    const client = new V2Client({ url: gate.url, connections });
    gate.reset();
    const catalog = await client.catalog(undefined, 2);
    assert.ok(['list/alpha', 'list/beta', 'other/gamma'].every((r) => catalog.includes(r)));
    assert.ok(gate.count('GET', '/v2/_catalog') >= 3, 'paged through Link headers');
    assert.deepEqual((await client.tags('list/alpha', undefined, 2)).sort(), ['a', 'b', 'c']);

    assert.deepEqual((await adapter.listRepositories({ repositoryPattern: 'list/**' })).sort(), ['list/alpha', 'list/beta']);
    assert.deepEqual(await adapter.listTags('list/beta'), ['x']);
    assert.deepEqual(await adapter.listTags('list/none'), []);

    gate.reset();
    // A pattern naming repositories outright needs no catalog (and a missing one lists nothing).
    const named = await adapter.listArtifacts({ repositoryPattern: 'list/{alpha,missing}' });
    assert.equal(gate.count('GET', '/v2/_catalog'), 0);
    const byDigest = new Map(named.map((a) => [a.digest, a]));
    assert.equal(named.length, 2);
    assert.deepEqual(byDigest.get(one.digest)?.tags.sort(), ['a', 'b']);
    assert.deepEqual(byDigest.get(two.digest)?.tags, ['c']);
    for (const a of named) {
      assert.equal(a.repository, 'list/alpha');
      assert.equal(a.mediaType, ociManifest);
      assert.equal(a.resourceType, 'image');
      assert.deepEqual(a.labels, []);
    }
    const all = await adapter.listArtifacts({ repositoryPattern: '**/{beta,gamma}' });
    assert.deepEqual(all.map((a) => `${a.repository}:${a.tags.join(',')}`).sort(), ['list/beta:x', 'other/gamma:y']);
  });

  test('mount: 201 mounted; a blob the registry lacks gets false and its upload session is cancelled', async () => {
    const image = makeImage([10_000]);
    await pushThrough(adapter, 'mount/src', 'v1', image);
    const layer = image.blobs[1].digest;
    assert.equal(await adapter.blobExists('mount/dst', layer), false);
    assert.equal(await adapter.mountBlob('mount/dst', layer, 'mount/src'), true);
    assert.equal(await adapter.blobExists('mount/dst', layer), true);

    gate.reset();
    const unknown = sha256(Buffer.from('not in the registry'));
    assert.equal(await adapter.mountBlob('mount/dst', unknown, 'mount/src'), false);
    assert.equal(gate.count('DELETE', '/v2/mount/dst/blobs/uploads/'), 1);
  });

  test('delete: by tag (resolved to its digest) and by digest; what is gone already is no error', async () => {
    const image = makeImage();
    await pushThrough(adapter, 'del/me', 'v1', image);
    await adapter.deleteManifest('del/me', 'v1');
    assert.equal(await adapter.headManifest('del/me', image.digest), null);
    await adapter.deleteManifest('del/me', 'v1');
    await adapter.deleteManifest('del/me', image.digest);

    const again = makeImage();
    await pushThrough(adapter, 'del/me', 'v2', again);
    await adapter.deleteManifest('del/me', again.digest);
    assert.equal(await adapter.headManifest('del/me', 'v2'), null);
  });

  test('a blob the registry lacks is not_found; an aborted call ends with the AbortError', async () => {
    const err = await failureOf(adapter.getBlob('app/web', sha256(Buffer.from('absent'))));
    assert.equal(err.failure, 'not_found');
    assert.equal(err.status, 404);
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(adapter.headManifest('app/web', 'v1', controller.signal), { name: 'AbortError' });
  });
});

describe('v2 client failures as the proxy cache and the engine see them', { skip }, () => {
  let registry: DockerRegistry;
  let proxy: CountingProxy;
  let connections: RemoteConnections;
  let adapter: RegistryAdapter;

  before(async () => {
    registry = await startDockerRegistry();
    proxy = await startCountingProxy(registry.url);
    connections = new RemoteConnections();
    adapter = createAdapter(endpoint(proxy.url), { connections, timeoutMs: 5000 });
    await pushThrough(createAdapter(endpoint(registry.url), { connections }), 'fail/app', 'v1', makeImage());
  });

  after(async () => {
    connections?.close();
    await proxy?.close();
    await registry?.close();
  });

  test('a registry that drops connections is unreachable', async () => {
    proxy.mode = 'refuse';
    try {
      for (const call of [
        adapter.ping(),
        adapter.headManifest('fail/app', 'v1'),
        adapter.listTags('fail/app'),
        adapter.listRepositories(),
      ]) {
        const err = await failureOf(call);
        assert.equal(err.failure, 'unreachable');
        assert.equal(err.status, undefined);
      }
    } finally {
      proxy.mode = 'forward';
    }
    assert.ok(await adapter.headManifest('fail/app', 'v1'), 'works again once it answers');
  });

  test('429 is rate_limited, 503 unreachable, 500 failed, each with the status', async () => {
    for (const [status, failure] of [
      [429, 'rate_limited'],
      [503, 'unreachable'],
      [500, 'failed'],
    ] as const) {
      proxy.mode = status;
      try {
        const err = await failureOf(adapter.headManifest('fail/app', 'v1'));
        assert.equal(err.failure, failure);
        assert.equal(err.status, status);
        const viaGet = await failureOf(adapter.getManifest('fail/app', 'v1'));
        assert.equal(viaGet.failure, failure);
        if (status === 429) assert.match(viaGet.message, /TOOMANYREQUESTS/);
      } finally {
        proxy.mode = 'forward';
      }
    }
  });

  test('a blob body that stops coming ends unreachable; a consumer that reads slowly is not cut off', async () => {
    // The real registry's blob, read with a 2 s idle limit by a consumer pausing 5 s before reading.
    const image = makeImage([4 * 1024 * 1024]);
    await pushThrough(createAdapter(endpoint(registry.url), { connections }), 'fail/slow', 'v1', image);
    const client = new V2Client({ url: registry.url, connections, idleTimeoutMs: 2000 });
    const blob = await client.getBlob('fail/slow', image.blobs[1].digest);
    await new Promise((r) => setTimeout(r, 5000));
    assert.equal(sha256(await readAll(blob.stream)), image.blobs[1].digest);

    // A server that sends the headers and a few bytes, then nothing (the network stalled).
    const stalled = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-length': '1000', 'content-type': 'application/octet-stream' });
      res.write(Buffer.alloc(10));
    });
    await new Promise<void>((resolve) => stalled.listen(0, '127.0.0.1', () => resolve()));
    try {
      const port = (stalled.address() as net.AddressInfo).port;
      const stalling = new V2Client({ url: `http://127.0.0.1:${port}`, connections, idleTimeoutMs: 300 });
      const partial = await stalling.getBlob('any/repo', image.blobs[1].digest);
      const err = await failureOf(readAll(partial.stream));
      assert.equal(err.failure, 'unreachable');
      assert.match(err.message, /no data for 0.3 s/);
    } finally {
      stalled.closeAllConnections();
      await new Promise<void>((resolve) => stalled.close(() => resolve()));
    }
  });

  test('nothing listening on the port is unreachable', async () => {
    const port = await refusedPort();
    const dead = createAdapter(endpoint(`http://127.0.0.1:${port}`), { connections });
    const err = await failureOf(dead.ping());
    assert.equal(err.failure, 'unreachable');
    assert.match(err.message, /ECONNREFUSED/);
  });

  test('a URL that is not a registry fails the ping with a clear message', async () => {
    const notRegistry = createAdapter(endpoint(`${registry.url}/some/path`), { connections });
    const err = await failureOf(notRegistry.ping());
    assert.equal(err.status, 404);
    assert.match(err.message, /not a registry/);
  });
});

describe('Basic authentication (a gate asking for Basic in front of a real docker-registry)', { skip }, () => {
  let registry: DockerRegistry;
  let gate: RegistryGate;
  let connections: RemoteConnections;

  before(async () => {
    registry = await startDockerRegistry();
    gate = await startRegistryGate(registry.url, { basic: { username: 'robot', password: 's3cret' } });
    connections = new RemoteConnections();
  });

  after(async () => {
    connections?.close();
    await gate?.close();
    await registry?.close();
  });

  test('the right credential pings, pushes (streamed and chunked), lists and pulls', async () => {
    const adapter = createAdapter(endpoint(gate.url, 'docker-registry', { username: 'robot', password: 's3cret' }), { connections });
    await adapter.ping();
    const image = makeImage([200_000]);
    await pushThrough(adapter, 'basic/app', 'v1', image);
    await adapter.putBlob('basic/app', sha256(Buffer.from('chunked')), blobOf(Buffer.from('chunked')), { chunkSize: 3 });
    assert.deepEqual(await adapter.listRepositories(), ['basic/app']);
    const bytes = await readAll((await adapter.getBlob('basic/app', image.blobs[1].digest)).stream);
    assert.ok(bytes.equals(image.blobs[1].data));
    const basic = `Basic ${Buffer.from('robot:s3cret').toString('base64')}`;
    assert.ok(gate.requests.filter((r) => r.status !== 401).every((r) => r.authorization === basic));
  });

  test('a wrong credential is unauthorized; without one the registry still pings but pulls are unauthorized', async () => {
    const wrong = createAdapter(endpoint(gate.url, 'docker-registry', { username: 'robot', password: 'wrong' }), { connections });
    const err = await failureOf(wrong.ping());
    assert.equal(err.failure, 'unauthorized');
    assert.match(err.message, /refused the credential of "robot"/);
    assert.equal((await failureOf(wrong.headManifest('basic/app', 'v1'))).failure, 'unauthorized');

    const anonymous = createAdapter(endpoint(gate.url), { connections });
    await anonymous.ping();
    assert.equal((await failureOf(anonymous.headManifest('basic/app', 'v1'))).failure, 'unauthorized');
    assert.equal(
      (await failureOf(anonymous.putBlob('basic/app', sha256(Buffer.from('x')), blobOf(Buffer.from('x'))))).failure,
      'unauthorized',
    );
  });
});
