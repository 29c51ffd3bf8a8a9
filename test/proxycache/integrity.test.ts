import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startDockerRegistry, type DockerRegistry } from '../helpers/docker-registry.js';
import { types } from '../helpers/oci.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { requireTools } from '../helpers/tools.js';
import { digestOf, V2 } from '../helpers/v2.js';
import { cachedBlobs, createEndpoint, createProxyProject, pushUpstream } from './fixtures.js';

const skip = requireTools('docker-registry');

/** Where docker-registry keeps a blob's bytes (its filesystem driver's layout). */
function blobFile(upstream: DockerRegistry, digest: string): string {
  const hex = digest.slice('sha256:'.length);
  return path.join(upstream.dir, 'storage', 'docker', 'registry', 'v2', 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');
}

describe('proxy cache: what reaches clients and storage', { skip }, () => {
  let upstream: DockerRegistry;
  let server: TestServer;
  let v2: V2;

  before(async () => {
    upstream = await startDockerRegistry();
    server = await startServer();
    v2 = new V2(server);
    await createProxyProject(server, 'hub', await createEndpoint(server, 'upstream', upstream.url));
  });
  after(async () => {
    await server?.stop();
    await upstream?.close();
  });

  test('an upstream blob whose bytes are not its digest: the client’s transfer is cut short and nothing is stored', async () => {
    const image = await pushUpstream(upstream.url, 'team/corrupt', 'v1', [600_000]);
    const layer = image.blobs[1];
    // Same length, other bytes: docker-registry serves what its disk holds without checking.
    await writeFile(blobFile(upstream, layer.digest), randomBytes(layer.size));
    assert.equal((await v2.call('GET', '/v2/hub/team/corrupt/manifests/v1', { headers: { accept: types.manifest } })).status, 200);

    const res = await fetch(`${server.url}/v2/hub/team/corrupt/blobs/${layer.digest}`, { headers: server.admin });
    let received: Buffer | null = null;
    try {
      received = Buffer.from(await res.arrayBuffer());
    } catch {
      // The connection was cut: what a client must see instead of a wrong blob.
    }
    if (received !== null) {
      assert.ok(received.length < layer.size, `no complete wrong blob reaches the client (${received.length} of ${layer.size} bytes)`);
    }
    const rows = await server.berth.database.db.selectFrom('blobs').select('digest').where('digest', '=', layer.digest).execute();
    assert.equal(rows.length, 0, 'nothing published');
    const head = await v2.call('HEAD', `/v2/hub/team/corrupt/blobs/${layer.digest}`);
    assert.notEqual(head.status, 200, 'still not cached');
  });

  test('proxy_fetches: a fetch another instance holds is waited for; one whose lease ended (its instance died) is taken over', async () => {
    const db = server.berth.database.db;
    const image = await pushUpstream(upstream.url, 'team/leased', 'v1', [40_000, 30_000]);
    assert.equal((await v2.call('GET', '/v2/hub/team/leased/manifests/v1', { headers: { accept: types.manifest } })).status, 200);
    const [held, dead] = [image.blobs[1], image.blobs[2]];
    const started = new Date().toISOString();
    // Another instance is fetching `held` (its lease runs for a minute) and one that died held `dead`.
    await db
      .insertInto('proxy_fetches')
      .values([
        {
          digest: held.digest,
          owner: 'other-instance/1',
          repository: 'hub/team/leased',
          started_at: started,
          expires_at: Date.now() + 60_000,
        },
        {
          digest: dead.digest,
          owner: 'dead-instance/1',
          repository: 'hub/team/leased',
          started_at: started,
          expires_at: Date.now() - 1000,
        },
      ])
      .execute();

    const takenOver = await v2.call('GET', `/v2/hub/team/leased/blobs/${dead.digest}`);
    assert.equal(takenOver.status, 200, takenOver.text);
    assert.equal(digestOf(takenOver.bytes), dead.digest);

    let answered = false;
    const waiting = v2.call('GET', `/v2/hub/team/leased/blobs/${held.digest}`).finally(() => (answered = true));
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(answered, false, 'waits while the other instance holds the fetch');
    // The other instance ends without storing it (it failed): this one fetches it itself.
    await db.deleteFrom('proxy_fetches').where('digest', '=', held.digest).execute();
    const res = await waiting;
    assert.equal(res.status, 200, res.text);
    assert.equal(digestOf(res.bytes), held.digest);
    await cachedBlobs(v2, 'hub/team/leased', [held, dead]);
    assert.deepEqual(await db.selectFrom('proxy_fetches').selectAll().execute(), [], 'every claim released');
  });

  test('proxy_speed_kb paces the upstream transfer; the bytes arrive whole and right', async () => {
    await createProxyProject(server, 'paced', await createEndpoint(server, 'paced-upstream', upstream.url), {
      metadata: { proxy_speed_kb: '4096', max_upstream_conn: '2' },
    });
    const image = await pushUpstream(upstream.url, 'team/paced', 'v1', [300_000]);
    assert.equal((await v2.call('GET', '/v2/paced/team/paced/manifests/v1', { headers: { accept: types.manifest } })).status, 200);
    const res = await v2.call('GET', `/v2/paced/team/paced/blobs/${image.blobs[1].digest}`);
    assert.equal(res.status, 200);
    assert.ok(res.bytes.equals(image.blobs[1].data));
  });

  test('HEAD and ranged GET of an uncached blob: fetched into the cache first, then answered from it', async () => {
    const image = await pushUpstream(upstream.url, 'team/ranged', 'v1', [100_000]);
    const layer = image.blobs[1];
    assert.equal((await v2.call('GET', '/v2/hub/team/ranged/manifests/v1', { headers: { accept: types.manifest } })).status, 200);
    const head = await v2.call('HEAD', `/v2/hub/team/ranged/blobs/${layer.digest}`);
    assert.equal(head.status, 200, head.text);
    assert.equal(head.headers.get('content-length'), String(layer.size));

    const other = await pushUpstream(upstream.url, 'team/ranged', 'v2', [50_000]);
    const part = await v2.call('GET', `/v2/hub/team/ranged/blobs/${other.blobs[1].digest}`, { headers: { range: 'bytes=100-199' } });
    assert.equal(part.status, 206, part.text);
    assert.ok(part.bytes.equals(other.blobs[1].data.subarray(100, 200)));
    const whole = await v2.call('GET', `/v2/hub/team/ranged/blobs/${other.blobs[1].digest}`);
    assert.equal(digestOf(whole.bytes), other.blobs[1].digest);
  });
});
