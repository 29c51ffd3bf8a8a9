import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Copier, deleteAtDestination } from '../../../src/replication/engine/copier.js';
import { applyFilters } from '../../../src/replication/engine/filters.js';
import { LocalRegistryAdapter } from '../../../src/replication/engine/local.js';
import { throttleFor } from '../../../src/replication/engine/throttle.js';
import { RemoteRegistryError, type RegistryAdapter } from '../../../src/replication/types.js';
import { pushCosignSignature, pushMultiPlatform, cosignTag } from '../../helpers/artifacts.js';
import { pushImage, pushManifest, types } from '../../helpers/oci.js';
import { startServer, type TestServer } from '../../helpers/server.js';

// The copier between two real Berths, each seen through LocalRegistryAdapter (in process):
// what a replication task does, without the policy and job around it.

let a: TestServer;
let b: TestServer;
let src: LocalRegistryAdapter;
let dst: LocalRegistryAdapter;

const adapterOf = (s: TestServer) =>
  new LocalRegistryAdapter({
    registry: s.berth.registry,
    uploads: s.berth.uploads,
    artifacts: s.berth.artifacts,
    projects: s.berth.projects,
  });

async function manifestAt(server: TestServer, repo: string, reference: string) {
  const res = await fetch(`${server.url}/v2/${repo}/manifests/${reference}`, {
    headers: { ...server.admin, accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json' },
  });
  return { status: res.status, digest: res.headers.get('docker-content-digest'), bytes: Buffer.from(await res.arrayBuffer()) };
}

describe('copier: Berth to Berth in process', () => {
  before(async () => {
    [a, b] = await Promise.all([startServer(), startServer()]);
    src = adapterOf(a);
    dst = adapterOf(b);
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });

  test('an index with its images, an image with a cosign signature: copied byte for byte, then skipped', async () => {
    const index = await pushMultiPlatform(a, 'library/multi', 'v1');
    const image = await pushImage(a.url, 'library/app', '1.0', { headers: a.admin });
    await pushCosignSignature(a, 'library/app', image.digest);

    const listing = await src.listArtifacts({ repositoryPattern: 'library/**' });
    const app = listing.filter((x) => x.repository === 'library/app');
    assert.deepEqual(app.map((x) => x.tags).sort(), [['1.0'], [cosignTag(image.digest)]].sort());
    const signature = app.find((x) => x.accessoryOf);
    assert.equal(signature?.accessoryOf, image.digest);
    assert.deepEqual(signature?.parentTags, ['1.0']);

    const logs: string[] = [];
    const copyAll = async () => {
      const results = [];
      for (const item of listing) {
        const copier = new Copier(src, dst, { override: false, destinationKey: 'b', log: (m) => void logs.push(m) });
        results.push(
          await copier.copy({
            srcRepository: item.repository,
            digest: item.digest,
            tags: item.tags,
            dstRepository: `mirror/${item.repository.split('/').pop()}`,
          }),
        );
      }
      return results;
    };
    const first = await copyAll();
    assert.ok(first.every((r) => r.outcome === 'copied'));
    // mirror project created on the destination; index, children and tags there, same bytes.
    const copiedIndex = await manifestAt(b, 'mirror/multi', 'v1');
    assert.equal(copiedIndex.status, 200);
    assert.equal(copiedIndex.digest, index.digest);
    assert.deepEqual(copiedIndex.bytes, index.bytes);
    for (const child of index.images) assert.equal((await manifestAt(b, 'mirror/multi', child.digest)).status, 200);
    const copiedImage = await manifestAt(b, 'mirror/app', '1.0');
    assert.equal(copiedImage.digest, image.digest);
    const copiedSignature = await manifestAt(b, 'mirror/app', cosignTag(image.digest));
    assert.equal(copiedSignature.status, 200);
    const layer = await fetch(`${b.url}/v2/mirror/app/blobs/${image.layer.digest}`, { headers: b.admin });
    assert.deepEqual(Buffer.from(await layer.arrayBuffer()), image.layer.data);
    // Berth sees the signature as the image's accessory, as at the source.
    const view = await fetch(`${b.url}/api/v2.0/projects/mirror/repositories/app/artifacts/1.0?with_accessory=true`, { headers: b.admin });
    const art = (await view.json()) as { accessories: Array<{ type: string }> };
    assert.deepEqual(
      art.accessories.map((x) => x.type),
      ['signature.cosign'],
    );
    // The audit log names the replication.
    const audit = await fetch(`${b.url}/api/v2.0/audit-logs?q=resource=~mirror/app`, { headers: b.admin });
    const entries = (await audit.json()) as Array<{ username: string }>;
    assert.ok(entries.length > 0 && entries.every((e) => e.username === 'system:replication'), JSON.stringify(entries));

    // Again: everything is there; nothing is sent.
    const second = await copyAll();
    assert.ok(
      second.every((r) => r.outcome === 'skipped' && r.blobsCopied === 0),
      JSON.stringify(second),
    );
  });

  test('blobs the destination has are skipped; blobs put in another repository are mounted', async () => {
    const image = await pushImage(a.url, 'library/shared', 'x', { headers: a.admin, layer: `shared ${Math.random()}` });
    const one = await new Copier(src, dst, { override: false, destinationKey: 'b2' }).copy({
      srcRepository: 'library/shared',
      digest: image.digest,
      tags: ['x'],
      dstRepository: 'mirror/shared-one',
    });
    assert.equal(one.blobsCopied, 2);
    const two = await new Copier(src, dst, { override: false, destinationKey: 'b2' }).copy({
      srcRepository: 'library/shared',
      digest: image.digest,
      tags: ['y'],
      dstRepository: 'mirror/shared-two',
    });
    assert.equal(two.blobsCopied, 0);
    assert.equal(two.blobsMounted, 2);
    // A new tag on the same repository: the blobs are there (HEAD), only the tag is pushed.
    const three = await new Copier(src, dst, { override: false, destinationKey: 'b2' }).copy({
      srcRepository: 'library/shared',
      digest: image.digest,
      tags: ['z'],
      dstRepository: 'mirror/shared-one',
    });
    assert.equal(three.blobsSkipped, 2);
    assert.deepEqual(three.tagsPushed, ['z']);
  });

  test('an index whose images share a layer: the layer is sent once, both images and the index arrive', async () => {
    const shared = `shared base layer ${Math.random()}`;
    const amd = await pushImage(a.url, 'library/shared-base', 'amd', {
      headers: a.admin,
      layer: shared,
      platform: { architecture: 'amd64', os: 'linux' },
    });
    const arm = await pushImage(a.url, 'library/shared-base', 'arm', {
      headers: a.admin,
      layer: shared,
      platform: { architecture: 'arm64', os: 'linux' },
    });
    assert.equal(amd.layer.digest, arm.layer.digest);
    const index = await pushManifest(
      a.url,
      'library/shared-base',
      'multi',
      {
        schemaVersion: 2,
        mediaType: types.index,
        manifests: [
          { mediaType: types.manifest, digest: amd.digest, size: amd.size, platform: { architecture: 'amd64', os: 'linux' } },
          { mediaType: types.manifest, digest: arm.digest, size: arm.size, platform: { architecture: 'arm64', os: 'linux' } },
        ],
      },
      types.index,
      a.admin,
    );
    const result = await new Copier(src, dst, { override: false }).copy({
      srcRepository: 'library/shared-base',
      digest: index.digest,
      tags: ['multi'],
      dstRepository: 'mirror/shared-base',
    });
    assert.equal(result.blobsCopied, 3, 'two configs and the one shared layer');
    assert.equal(result.manifestsPushed, 3);
    assert.equal((await manifestAt(b, 'mirror/shared-base', 'multi')).digest, index.digest);
    for (const image of [amd, arm]) assert.equal((await manifestAt(b, 'mirror/shared-base', image.digest)).status, 200);
  });

  test('a blob meeting a passing failure is tried again within the task; a lasting one fails the copy', async () => {
    const image = await pushImage(a.url, 'library/hiccup', 'v1', { headers: a.admin });
    // Fault injection around the real destination: its blob HEAD fails `failures` times as an unreachable registry would.
    const flaky = (failures: number): RegistryAdapter => {
      let left = failures;
      return Object.assign(Object.create(dst) as RegistryAdapter, {
        blobExists: async (repository: string, digest: string) => {
          if (left-- > 0) throw new RemoteRegistryError('unreachable', 'connect ECONNREFUSED (injected)');
          return dst.blobExists(repository, digest);
        },
      });
    };
    const logs: string[] = [];
    const result = await new Copier(src, flaky(1), { override: false, log: (m) => void logs.push(m) }).copy({
      srcRepository: 'library/hiccup',
      digest: image.digest,
      tags: ['v1'],
      dstRepository: 'mirror/hiccup',
    });
    assert.equal(result.outcome, 'copied');
    assert.ok(
      logs.some((m) => /injected\); trying again in 1 s/.test(m)),
      logs.join('\n'),
    );
    assert.equal((await manifestAt(b, 'mirror/hiccup', 'v1')).digest, image.digest);
    await assert.rejects(
      new Copier(src, flaky(100), { override: false, parallelBlobs: 1 }).copy({
        srcRepository: 'library/hiccup',
        digest: image.digest,
        tags: ['v2'],
        dstRepository: 'mirror/hiccup-two',
      }),
      /injected/,
    );
    assert.equal((await manifestAt(b, 'mirror/hiccup-two', 'v2')).status, 404);
  });

  test('override off keeps a destination tag on another digest; override on moves it', async () => {
    const old = await pushImage(b.url, 'mirror/moving', 'stable', { headers: b.admin });
    const fresh = await pushImage(a.url, 'library/moving', 'stable', { headers: a.admin });
    const request = { srcRepository: 'library/moving', digest: fresh.digest, tags: ['stable'], dstRepository: 'mirror/moving' };
    const kept = await new Copier(src, dst, { override: false }).copy(request);
    assert.equal(kept.outcome, 'skipped');
    assert.deepEqual(kept.tagsKept, ['stable']);
    assert.equal((await manifestAt(b, 'mirror/moving', 'stable')).digest, old.digest);
    const moved = await new Copier(src, dst, { override: true }).copy(request);
    assert.equal(moved.outcome, 'copied');
    assert.equal((await manifestAt(b, 'mirror/moving', 'stable')).digest, fresh.digest);
  });

  test('a throttled copy arrives whole; a stopped copy stops', async () => {
    const big = Buffer.alloc(300 * 1024, 7);
    const image = await pushImage(a.url, 'library/slow', 's', { headers: a.admin, layer: big.toString('latin1') + Math.random() });
    const result = await new Copier(src, dst, { override: false, throttle: throttleFor(1024) }).copy({
      srcRepository: 'library/slow',
      digest: image.digest,
      tags: ['s'],
      dstRepository: 'mirror/slow',
    });
    assert.equal(result.blobsCopied, 2);
    assert.equal((await manifestAt(b, 'mirror/slow', 's')).digest, image.digest);

    const stopped = new AbortController();
    stopped.abort(new Error('stopped by the test'));
    await assert.rejects(
      new Copier(src, dst, { override: false, signal: stopped.signal }).copy({
        ...{ srcRepository: 'library/slow', digest: image.digest, tags: ['t'], dstRepository: 'mirror/slow2' },
      }),
      /stopped by the test/,
    );
    assert.equal((await manifestAt(b, 'mirror/slow2', 't')).status, 404);
  });

  test('a manifest gone from the source fails the copy and writes nothing', async () => {
    await assert.rejects(
      new Copier(src, dst, { override: false }).copy({
        srcRepository: 'library/app',
        digest: `sha256:${'0'.repeat(64)}`,
        tags: ['ghost'],
        dstRepository: 'mirror/ghost',
      }),
      /no longer on the source/,
    );
    assert.equal((await manifestAt(b, 'mirror/ghost', 'ghost')).status, 404);
  });

  test('deletion at the destination: by tag when there, skipped when not', async () => {
    const image = await pushImage(b.url, 'mirror/doomed', 'd1', { headers: b.admin });
    assert.equal(await deleteAtDestination(dst, 'mirror/doomed', image.digest, ['d1', 'nope']), 1);
    assert.equal((await manifestAt(b, 'mirror/doomed', image.digest)).status, 404);
    assert.equal(await deleteAtDestination(dst, 'mirror/doomed', image.digest, []), 0);
  });

  test('filters over a real listing', async () => {
    const listing = await src.listArtifacts();
    const picked = applyFilters(
      [
        { type: 'name', value: 'library/m*' },
        { type: 'tag', value: 'v*' },
      ],
      listing,
    );
    assert.deepEqual(
      picked.map((x) => `${x.repository}:${x.tags.join(',')}`),
      ['library/multi:v1'],
    );
  });
});
