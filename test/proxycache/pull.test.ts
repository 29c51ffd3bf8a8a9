import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { api } from '../helpers/api.js';
import { startCountingProxy, type CountingProxy } from '../helpers/counting-proxy.js';
import { startDockerRegistry, type DockerRegistry } from '../helpers/docker-registry.js';
import { types } from '../helpers/oci.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { requireTools } from '../helpers/tools.js';
import { digestOf, V2 } from '../helpers/v2.js';
import { createEndpoint, createProxyProject, pushUpstream, type UpstreamImage } from './fixtures.js';

const skip = requireTools('docker-registry');

/**
 * A proxy cache project in front of a real docker-registry, reached through a proxy that
 * counts what Berth asks the upstream and can play an upstream that is down or limiting.
 */
describe('proxy cache in front of docker-registry', { skip }, () => {
  let upstream: DockerRegistry;
  let counter: CountingProxy;
  let server: TestServer;
  let v2: V2;
  let registryId: number;
  let projectId: number;

  before(async () => {
    upstream = await startDockerRegistry();
    counter = await startCountingProxy(upstream.url);
    server = await startServer();
    v2 = new V2(server);
    registryId = await createEndpoint(server, 'upstream', counter.url);
    projectId = await createProxyProject(server, 'hub', registryId);
  });
  after(async () => {
    await server?.stop();
    await counter?.close();
    await upstream?.close();
  });

  const blobGets = (repo: string, digest: string) => counter.count('GET', `/v2/${repo}/blobs/${digest}`);

  async function pullAll(repo: string, reference: string, expect: UpstreamImage) {
    const m = await v2.call('GET', `/v2/${repo}/manifests/${reference}`, { headers: { accept: types.manifest } });
    assert.equal(m.status, 200, `manifest ${repo}:${reference}: ${m.status} ${m.text}`);
    assert.ok(m.bytes.equals(expect.manifest), 'the manifest is byte-identical to the upstream one');
    assert.equal(m.headers.get('docker-content-digest'), expect.digest);
    for (const b of expect.blobs) {
      const res = await v2.call('GET', `/v2/${repo}/blobs/${b.digest}`);
      assert.equal(res.status, 200, `blob ${b.digest}: ${res.status} ${res.text}`);
      assert.equal(digestOf(res.bytes), b.digest);
    }
    return m;
  }

  test('the project answers registry_id; the first pull is byte-identical to the upstream and stored as an ordinary artifact', async () => {
    const project = await api(server, 'GET', `/projects/${projectId}`, { auth: server.admin.authorization });
    assert.equal(project.body.registry_id, registryId);

    const image = await pushUpstream(upstream.url, 'team/app', 'v1', [300_000, 150_000]);
    counter.reset();
    const m = await pullAll('hub/team/app', 'v1', image);
    assert.equal(m.headers.get('berth-proxy-cache'), 'fetched');
    for (const b of image.blobs) assert.equal(blobGets('team/app', b.digest), 1, `blob ${b.digest} fetched once`);

    // Cached: the artifact is Berth's own now (Harbor's API lists it with its tag).
    const artifacts = await api<any[]>(server, 'GET', '/projects/hub/repositories/team%252Fapp/artifacts?with_tag=true', {
      auth: server.admin.authorization,
    });
    assert.equal(artifacts.status, 200, JSON.stringify(artifacts.body));
    assert.deepEqual(
      artifacts.body.map((a) => [a.digest, a.tags?.map((t: any) => t.name)]),
      [[image.digest, ['v1']]],
    );
    assert.equal(artifacts.body[0].type, 'IMAGE', 'described from its config like a pushed image');

    // A second pull asks the upstream with HEAD only, and reads no blob from it.
    counter.reset();
    const again = await pullAll('hub/team/app', 'v1', image);
    assert.equal(again.headers.get('berth-proxy-cache'), 'revalidated');
    assert.equal(counter.count('HEAD', '/v2/team/app/manifests/v1'), 1);
    assert.equal(counter.count('GET', '/v2/team/app/'), 0, 'nothing read from the upstream again');
  });

  test('a tag moved upstream is fetched again; a pull by digest of a cached manifest never asks the upstream', async () => {
    const first = await pushUpstream(upstream.url, 'team/moving', 'latest', [1000]);
    await pullAll('hub/team/moving', 'latest', first);
    const second = await pushUpstream(upstream.url, 'team/moving', 'latest', [2000]);
    const m = await pullAll('hub/team/moving', 'latest', second);
    assert.equal(m.headers.get('berth-proxy-cache'), 'fetched');
    counter.reset();
    const byDigest = await v2.call('GET', `/v2/hub/team/moving/manifests/${first.digest}`, { headers: { accept: types.manifest } });
    assert.equal(byDigest.status, 200);
    assert.equal(byDigest.headers.get('berth-proxy-cache'), 'hit');
    assert.equal(counter.requests.length, 0, 'content addressed: no upstream request');
    const tags = await v2.tags('hub/team/moving');
    assert.deepEqual(tags.json<any>().tags, ['latest']);
  });

  test('20 concurrent pulls of an uncached image fetch each blob from the upstream once, and every client gets the right bytes', async () => {
    const image = await pushUpstream(upstream.url, 'team/busy', 'v1', [2_000_000, 1_000_000, 5_000]);
    counter.reset();
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        const m = await v2.call('GET', '/v2/hub/team/busy/manifests/v1', { headers: { accept: types.manifest } });
        assert.equal(m.status, 200, m.text);
        assert.ok(m.bytes.equals(image.manifest));
        await Promise.all(
          image.blobs.map(async (b) => {
            const res = await fetch(`${server.url}/v2/hub/team/busy/blobs/${b.digest}`, { headers: server.admin });
            assert.equal(res.status, 200);
            const hash = createHash('sha256');
            for await (const chunk of res.body!) hash.update(chunk);
            assert.equal(`sha256:${hash.digest('hex')}`, b.digest);
          }),
        );
      }),
    );
    for (const b of image.blobs) assert.equal(blobGets('team/busy', b.digest), 1, `blob ${b.digest} (${b.size} bytes) fetched once`);
    assert.equal(counter.count('GET', '/v2/team/busy/manifests/'), 1, 'the manifest fetched once');
  });

  test('upstream down, limiting or stopped: cached tags still pull, marked stale; what is not cached fails clearly', async () => {
    const image = await pushUpstream(upstream.url, 'team/offline', 'v1', [4000]);
    await pullAll('hub/team/offline', 'v1', image);
    await pushUpstream(upstream.url, 'team/offline', 'never-pulled', [10]);
    try {
      counter.mode = 'refuse';
      let m = await pullAll('hub/team/offline', 'v1', image);
      assert.equal(m.headers.get('berth-proxy-cache'), 'stale; upstream=unreachable');
      const missing = await v2.call('GET', '/v2/hub/team/offline/manifests/never-pulled');
      assert.equal(missing.status, 503, missing.text);
      assert.equal(missing.json<any>().errors[0].code, 'UNAVAILABLE');

      counter.mode = 429;
      m = await pullAll('hub/team/offline', 'v1', image);
      assert.equal(m.headers.get('berth-proxy-cache'), 'stale; upstream=rate_limited');
      const limited = await v2.call('GET', '/v2/hub/team/offline/manifests/never-pulled');
      assert.equal(limited.status, 429, limited.text);

      // The upstream refusing the credential.
      counter.mode = 401;
      m = await pullAll('hub/team/offline', 'v1', image);
      assert.equal(m.headers.get('berth-proxy-cache'), 'stale; upstream=unauthorized');

      counter.mode = 'forward';
      await upstream.stop();
      m = await pullAll('hub/team/offline', 'v1', image);
      assert.match(m.headers.get('berth-proxy-cache') ?? '', /^stale; upstream=/);
    } finally {
      counter.mode = 'forward';
      await upstream.start();
    }
    const back = await pullAll('hub/team/offline', 'v1', image);
    assert.equal(back.headers.get('berth-proxy-cache'), 'revalidated');
  });

  test('a tag or digest the upstream does not have is 404', async () => {
    const tag = await v2.call('GET', '/v2/hub/team/app/manifests/nope');
    assert.equal(tag.status, 404);
    assert.equal(tag.json<any>().errors[0].code, 'MANIFEST_UNKNOWN');
    const blob = await v2.call('GET', `/v2/hub/team/app/blobs/sha256:${'0'.repeat(64)}`);
    assert.equal(blob.status, 404);
    assert.equal(blob.json<any>().errors[0].code, 'BLOB_UNKNOWN');
  });

  test('pushes into a proxy cache project are refused with Harbor’s message; nothing is stored', async () => {
    const before = await server.berth.database.db.selectFrom('blobs').select('digest').execute();
    const upload = await v2.call('POST', '/v2/hub/team/app/blobs/uploads/', { headers: { 'content-length': '0' } });
    assert.equal(upload.status, 403, upload.text);
    assert.deepEqual(upload.json<any>().errors[0], { code: 'DENIED', message: 'can not push artifact to a proxy project: hub' });
    const monolithic = await v2.call('POST', `/v2/hub/other/blobs/uploads/?digest=${digestOf('x')}`, { body: 'x' });
    assert.equal(monolithic.status, 403);
    const manifest = await v2.putManifest('hub/team/app', 'pushed', '{}', types.manifest);
    assert.equal(manifest.status, 403);
    assert.equal(manifest.json<any>().errors[0].code, 'DENIED');
    assert.deepEqual(await server.berth.database.db.selectFrom('blobs').select('digest').execute(), before);
  });

  test('the registry endpoint cannot be deleted while the project uses it', async () => {
    const res = await api(server, 'DELETE', `/registries/${registryId}`, { auth: server.admin.authorization });
    assert.equal(res.status, 412, JSON.stringify(res.body));
    assert.match(
      res.body.errors[0].message,
      new RegExp(`the registry ${registryId} is referenced by proxy cache project, cannot delete it`),
    );
  });
});
