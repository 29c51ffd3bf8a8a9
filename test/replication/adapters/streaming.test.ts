/**
 * Blobs as the copier moves them: a 24 MB layer streamed from one real docker-registry into
 * another through the adapters (one streamed PUT, and PATCH chunks), and a blob read from a
 * Berth whose storage redirects (S3 presigned URLs): the redirect is followed and the
 * registry's credential is not sent to the storage.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createAdapter, RemoteConnections } from '../../../src/replication/adapters/index.js';
import { startDockerRegistry, type DockerRegistry } from '../../helpers/docker-registry.js';
import { startRegistryGate, type RegistryGate } from '../../helpers/registry-gate.js';
import { startS3, type TestS3 } from '../../helpers/s3.js';
import { adminPassword, startServer, type TestServer } from '../../helpers/server.js';
import { requireTools } from '../../helpers/tools.js';
import { endpoint, makeImage, pushThrough, readAll, sha256 } from './content.js';
import { blobOf } from '../../../src/replication/adapters/v2-client.js';

describe('a large layer streamed between two real docker-registries', { skip: requireTools('docker-registry') }, () => {
  let source: DockerRegistry;
  let destination: DockerRegistry;
  let gate: RegistryGate;
  let connections: RemoteConnections;
  const layer = randomBytes(24 * 1024 * 1024);
  const digest = sha256(layer);

  before(async () => {
    source = await startDockerRegistry();
    destination = await startDockerRegistry();
    gate = await startRegistryGate(destination.url);
    connections = new RemoteConnections();
    await createAdapter(endpoint(source.url), { connections }).putBlob('big/src', digest, blobOf(layer));
  });

  after(async () => {
    connections?.close();
    await gate?.close();
    await source?.close();
    await destination?.close();
  });

  for (const chunkSize of [undefined, 5 * 1024 * 1024]) {
    test(chunkSize ? 'in 5 MiB PATCH chunks' : 'in one streamed PUT', async () => {
      const src = createAdapter(endpoint(source.url), { connections });
      const dst = createAdapter(endpoint(gate.url), { connections });
      const repository = chunkSize ? 'big/chunked' : 'big/streamed';
      gate.reset();
      const blob = await src.getBlob('big/src', digest);
      assert.equal(blob.size, layer.length);
      await dst.putBlob(repository, digest, blob, { chunkSize });
      assert.equal(gate.count('PATCH', '/v2/'), chunkSize ? 5 : 0);
      assert.equal(gate.count('PUT', '/v2/'), 1);
      const back = await readAll((await dst.getBlob(repository, digest)).stream);
      assert.equal(sha256(back), digest);
    });
  }
});

describe('a blob behind a storage redirect (Berth on S3 with presigned redirects)', () => {
  let s3: TestS3;
  let s3gate: RegistryGate;
  let server: TestServer;
  let connections: RemoteConnections;

  before(async () => {
    s3 = await startS3();
    s3gate = await startRegistryGate(s3.endpoint);
    const bucket = await s3.createBucket();
    server = await startServer({
      yaml: s3.berthStorage(bucket, { 'storage.s3.endpoint': s3gate.url, 'storage.s3.redirect.enabled': true }),
    });
    connections = new RemoteConnections();
  });

  after(async () => {
    connections?.close();
    await server?.stop();
    await s3gate?.close();
    await s3?.stop();
  });

  test('is read through the 307 without the credential reaching the storage', async () => {
    const adapter = createAdapter(endpoint(server.url, 'harbor', { username: 'admin', password: adminPassword }), { connections });
    const image = makeImage([300_000]);
    await pushThrough(adapter, 'redirected/app', 'v1', image);
    const layer = image.blobs[1];

    const res = await fetch(`${server.url}/v2/redirected/app/blobs/${layer.digest}`, {
      headers: { authorization: `Basic ${Buffer.from(`admin:${adminPassword}`).toString('base64')}` },
      redirect: 'manual',
    });
    await res.arrayBuffer();
    assert.equal(res.status, 307, 'Berth redirects this blob to the storage');

    s3gate.reset();
    const fetched = await adapter.getBlob('redirected/app', layer.digest);
    const bytes = await readAll(fetched.stream);
    assert.ok(bytes.equals(layer.data));
    const storageReads = s3gate.requests.filter((r) => r.method === 'GET');
    assert.equal(storageReads.length, 1);
    assert.equal(storageReads[0].status, 200);
    assert.equal(storageReads[0].authorization, undefined, 'the registry token stays with the registry');
    assert.equal(await adapter.blobExists('redirected/app', layer.digest), true);
  });
});
