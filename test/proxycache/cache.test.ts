import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runGc } from '../gc/helpers.js';
import { api } from '../helpers/api.js';
import { startCountingProxy, type CountingProxy } from '../helpers/counting-proxy.js';
import { startDockerRegistry, type DockerRegistry } from '../helpers/docker-registry.js';
import { buildImage, buildIndex, imageBlobs, writeOciLayout } from '../helpers/layout.js';
import { types } from '../helpers/oci.js';
import { adminPassword, startServer, type TestServer } from '../helpers/server.js';
import { requireTools, runTool } from '../helpers/tools.js';
import { digestOf, V2 } from '../helpers/v2.js';
import { independentRecount, usedOf } from '../quotas/fixtures.js';
import { cachedBlobs, createEndpoint, createProxyProject, pushUpstream } from './fixtures.js';

const skip = requireTools('docker-registry', 'skopeo', 'tar');

/** Every file of a skopeo dir: copy, by name. */
async function dirContents(dir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const name of (await readdir(dir)).sort()) if (name !== 'version') out.set(name, await readFile(path.join(dir, name)));
  return out;
}

describe('proxy cache: real clients, quota, garbage collection, freshness, filters', { skip }, () => {
  let upstream: DockerRegistry;
  let counter: CountingProxy;
  let server: TestServer;
  let v2: V2;
  let registryId: number;
  let work: string;
  const skopeo = (...args: string[]) => runTool('skopeo', ['--insecure-policy', ...args], { timeoutMs: 180_000 });

  before(async () => {
    upstream = await startDockerRegistry();
    counter = await startCountingProxy(upstream.url);
    server = await startServer({ yaml: { 'gc.time_window_hours': 0 } });
    v2 = new V2(server);
    registryId = await createEndpoint(server, 'upstream', counter.url);
    work = await mkdtemp(path.join(tmpdir(), 'berth-proxy-'));
  });
  after(async () => {
    await server?.stop();
    await counter?.close();
    await upstream?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('skopeo: a multi-platform image pulled through the proxy is byte-identical to the one pulled directly', async () => {
    await createProxyProject(server, 'mirror', registryId);
    const amd = await buildImage({ architecture: 'amd64', os: 'linux' }, [{ 'etc/os': 'amd\n' }, { 'srv/blob.bin': randomBytes(400_000) }]);
    const arm = await buildImage({ architecture: 'arm64', os: 'linux' }, [{ 'etc/os': 'arm\n' }]);
    const index = buildIndex([amd, arm]);
    const layout = path.join(work, 'layout');
    await writeOciLayout(layout, { multi: index }, [index, ...imageBlobs(amd), ...imageBlobs(arm)]);
    const upstreamHost = new URL(upstream.url).host;
    await skopeo('copy', '--all', '--dest-tls-verify=false', `oci:${layout}:multi`, `docker://${upstreamHost}/tools/multi:1.0`);

    const direct = path.join(work, 'direct');
    const proxied = path.join(work, 'proxied');
    await skopeo('copy', '--all', '--src-tls-verify=false', `docker://${upstreamHost}/tools/multi:1.0`, `dir:${direct}`);
    await skopeo(
      'copy',
      '--all',
      '--src-tls-verify=false',
      '--src-creds',
      `admin:${adminPassword}`,
      `docker://${new URL(server.url).host}/mirror/tools/multi:1.0`,
      `dir:${proxied}`,
    );
    const a = await dirContents(direct);
    const b = await dirContents(proxied);
    assert.deepEqual([...b.keys()], [...a.keys()], 'the same files');
    for (const [name, bytes] of a) assert.ok(bytes.equals(b.get(name)!), `${name} is byte-identical`);
    assert.ok(a.size >= 8, 'index, two manifests, two configs, three layers');

    // The index and both platforms are artifacts of the project; the index is tagged.
    const listed = await api<any[]>(server, 'GET', '/projects/mirror/repositories/tools%252Fmulti/artifacts?with_tag=true', {
      auth: server.admin.authorization,
    });
    assert.equal(listed.status, 200);
    assert.deepEqual(
      listed.body.map((x) => [x.digest, x.tags?.map((t: any) => t.name) ?? []]),
      [[index.digest, ['1.0']]],
    );
  });

  test('quota: cached artifacts count toward the project’s usage; a pull the limit cannot hold is refused and stores nothing', async () => {
    const id = await createProxyProject(server, 'counted', registryId);
    const image = await pushUpstream(upstream.url, 'team/app', 'v1', [200_000, 50_000]);
    for (const ref of ['v1']) {
      const m = await v2.call('GET', `/v2/counted/team/app/manifests/${ref}`, { headers: { accept: types.manifest } });
      assert.equal(m.status, 200, m.text);
    }
    for (const b of image.blobs) assert.equal((await v2.call('GET', `/v2/counted/team/app/blobs/${b.digest}`)).status, 200);
    await cachedBlobs(v2, 'counted/team/app', image.blobs);
    const used = await usedOf(server, id);
    assert.equal(used, image.manifest.length + image.blobs.reduce((n, b) => n + b.size, 0));
    assert.equal(await independentRecount(server, id), used);

    const small = await createProxyProject(server, 'small', registryId, { storage_limit: 50 });
    const refused = await v2.call('GET', '/v2/small/team/app/manifests/v1', { headers: { accept: types.manifest } });
    assert.equal(refused.status, 403, refused.text);
    assert.equal(refused.json<any>().errors[0].code, 'DENIED');
    assert.match(refused.json<any>().errors[0].message, /exceed the configured upper limit/);
    assert.equal(await usedOf(server, small), 0);
    const stored = await server.berth.database.db
      .selectFrom('artifacts as a')
      .innerJoin('repositories as r', 'r.id', 'a.repository_id')
      .select('a.id')
      .where('r.project_id', '=', small)
      .execute();
    assert.equal(stored.length, 0);
  });

  test('garbage collection: an untagged cached artifact and its blobs are swept like a pushed one, and come back on the next pull', async () => {
    await createProxyProject(server, 'swept', registryId);
    const image = await pushUpstream(upstream.url, 'team/gc', 'v1', [30_000]);
    const byDigest = await v2.call('GET', `/v2/swept/team/gc/manifests/${image.digest}`, { headers: { accept: types.manifest } });
    assert.equal(byDigest.status, 200, byDigest.text);
    for (const b of image.blobs) assert.equal((await v2.call('GET', `/v2/swept/team/gc/blobs/${b.digest}`)).status, 200);
    await cachedBlobs(v2, 'swept/team/gc', image.blobs);
    const run = await runGc(server, { delete_untagged: true });
    assert.ok(run.parameters.purged_manifests >= 1, JSON.stringify(run.parameters));
    const rows = await server.berth.database.db.selectFrom('artifacts').select('digest').where('digest', '=', image.digest).execute();
    assert.equal(rows.length, 0, 'the untagged artifact is gone');
    const blobs = await server.berth.database.db.selectFrom('blobs').select('digest').where('digest', '=', image.blobs[1].digest).execute();
    assert.equal(blobs.length, 0, 'its layer, used by nothing else, is swept');
    counter.reset();
    const again = await v2.call('GET', `/v2/swept/team/gc/blobs/${image.blobs[1].digest}`);
    assert.equal(again.status, 200);
    assert.equal(digestOf(again.bytes), image.blobs[1].digest);
    assert.equal(counter.count('GET', `/v2/team/gc/blobs/${image.blobs[1].digest}`), 1, 'fetched from the upstream again');
  });

  test('freshness window, repository filter and proxy_cache_local_on_not_found', async () => {
    await createProxyProject(server, 'fresh', registryId, {
      metadata: { proxy_cache_freshness_seconds: '3600', proxy_cache_filter_kind: 'doublestar', proxy_cache_filter_pattern: 'team/**' },
    });
    const image = await pushUpstream(upstream.url, 'team/fresh', 'v1', [100]);
    assert.equal((await v2.call('GET', '/v2/fresh/team/fresh/manifests/v1', { headers: { accept: types.manifest } })).status, 200);
    counter.reset();
    const cached = await v2.call('GET', '/v2/fresh/team/fresh/manifests/v1', { headers: { accept: types.manifest } });
    assert.equal(cached.headers.get('berth-proxy-cache'), 'hit');
    assert.ok(cached.bytes.equals(image.manifest));
    assert.equal(counter.requests.length, 0, 'inside the window the upstream is not asked');
    const filtered = await v2.call('GET', '/v2/fresh/other/thing/manifests/v1');
    assert.equal(filtered.status, 404);
    assert.equal(filtered.json<any>().errors[0].code, 'NAME_UNKNOWN');
    assert.equal(counter.requests.length, 0);

    await createProxyProject(server, 'keeper', registryId, { metadata: { proxy_cache_local_on_not_found: 'true' } });
    const gone = await pushUpstream(upstream.url, 'team/gone', 'v1', [100]);
    for (const project of ['keeper', 'fresh']) {
      const res = await v2.call('GET', `/v2/${project}/team/gone/manifests/v1`, { headers: { accept: types.manifest } });
      assert.equal(res.status, 200, res.text);
    }
    const del = await fetch(`${upstream.url}/v2/team/gone/manifests/${gone.digest}`, { method: 'DELETE' });
    assert.equal(del.status, 202);
    const kept = await v2.call('GET', '/v2/keeper/team/gone/manifests/v1', { headers: { accept: types.manifest } });
    assert.equal(kept.status, 200);
    assert.equal(kept.headers.get('berth-proxy-cache'), 'stale; upstream=not_found');
    // The window of `fresh` still holds its copy; a project without either answers 404 as Harbor does.
    await createProxyProject(server, 'strict', registryId);
    const strict = await v2.call('GET', '/v2/strict/team/gone/manifests/v1');
    assert.equal(strict.status, 404);
  });
});

describe(
  'proxy cache across two instances',
  {
    skip:
      skip ||
      (process.env.BERTH_TEST_DATABASE_URL ? false : 'needs PostgreSQL (BERTH_TEST_DATABASE_URL) for two instances over one database'),
  },
  () => {
    let upstream: DockerRegistry;
    let counter: CountingProxy;
    let first: TestServer;
    let second: TestServer;

    before(async () => {
      upstream = await startDockerRegistry();
      counter = await startCountingProxy(upstream.url);
      first = await startServer();
      // The same data directory: the same PostgreSQL database and blob storage, as behind a load balancer.
      second = await startServer({ dataDir: first.dataDir });
    });
    after(async () => {
      await second?.stop({ keepData: true });
      await first?.stop();
      await counter?.close();
      await upstream?.close();
    });

    test('concurrent pulls spread over both instances fetch each blob from the upstream once', async () => {
      const registryId = await createEndpoint(first, 'upstream', counter.url);
      await createProxyProject(first, 'shared', registryId);
      const image = await pushUpstream(upstream.url, 'team/big', 'v1', [3_000_000, 1_500_000]);
      counter.reset();
      await Promise.all(
        Array.from({ length: 12 }, async (_, i) => {
          const server = i % 2 === 0 ? first : second;
          const client = new V2(server);
          const m = await client.call('GET', '/v2/shared/team/big/manifests/v1', { headers: { accept: types.manifest } });
          assert.equal(m.status, 200, m.text);
          for (const b of image.blobs) {
            const res = await client.call('GET', `/v2/shared/team/big/blobs/${b.digest}`);
            assert.equal(res.status, 200, res.text);
            assert.equal(digestOf(res.bytes), b.digest);
          }
        }),
      );
      for (const b of image.blobs) assert.equal(counter.count('GET', `/v2/team/big/blobs/${b.digest}`), 1, `blob ${b.digest} fetched once`);
    });
  },
);
