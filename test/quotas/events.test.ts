import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { formatBytes } from '../../src/quotas/format.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { bytes, createProject, digestOf, image, pushImage, setLimit, types, usedOf, V2 } from './fixtures.js';

let server: TestServer;
let v2: V2;
const KiB = 1024;

before(async () => {
  server = await startServer();
  v2 = new V2(server);
});
after(async () => {
  await server.stop();
});

/** The outbox's quota events of a project, oldest first. */
async function quotaEvents(projectId: number, type: 'QUOTA_EXCEED' | 'QUOTA_WARNING') {
  const rows = await server.berth.database.db
    .selectFrom('events')
    .select(['type', 'payload'])
    .where('type', '=', type)
    .orderBy('id')
    .execute();
  return rows.map((r) => JSON.parse(r.payload)).filter((p) => p.project_id === projectId);
}

describe('QUOTA_EXCEED', () => {
  test('a manifest push refused for quota: one event naming the artifact, the tag and Harbor message; nothing else written', async () => {
    const projectId = await createProject(server, 'qe-manifest', 10 * KiB);
    const img = image([bytes(8 * KiB)]);
    await v2.pushBlob('qe-manifest/app', img.config);
    await v2.pushBlob('qe-manifest/app', img.layers[0]);
    // Lowered below usage: the manifest's own bytes are refused.
    const used = await usedOf(server, projectId);
    await setLimit(server, projectId, used);
    const res = await v2.putManifest('qe-manifest/app', 'v1', img.manifest, types.manifest);
    assert.equal(res.status, 403, res.text);
    const events = await quotaEvents(projectId, 'QUOTA_EXCEED');
    assert.equal(events.length, 1);
    const e = events[0];
    assert.equal(e.repository, 'qe-manifest/app');
    assert.equal(e.digest, img.digest);
    assert.equal(e.tag, 'v1');
    assert.equal(e.media_type, types.manifest);
    assert.equal(e.operator, 'admin');
    assert.equal(e.hard_bytes, used);
    assert.equal(e.used_bytes, used);
    assert.equal(
      e.message,
      `adding ${formatBytes(img.manifest.length)} of storage resource, which when updated to current usage of ${formatBytes(used)} will exceed the configured upper limit of ${formatBytes(used)}.`,
    );
    assert.match(e.occurred_at, /^\d{4}-\d\d-\d\dT/);
    // The refused push is not an artifact, and warns nobody.
    assert.equal((await quotaEvents(projectId, 'QUOTA_WARNING')).length, 0);
    assert.equal((await v2.call('HEAD', `/v2/qe-manifest/app/manifests/${img.digest}`)).status, 404);
  });

  test('a blob push refused for quota: the event names the repository and no artifact (Harbor: no resources)', async () => {
    const projectId = await createProject(server, 'qe-blob', 4 * KiB);
    const blob = bytes(6 * KiB);
    const res = await v2.call('POST', `/v2/qe-blob/app/blobs/uploads/?digest=${digestOf(blob)}`, {
      headers: { 'content-type': 'application/octet-stream' },
      body: blob,
    });
    assert.equal(res.status, 403, res.text);
    const events = await quotaEvents(projectId, 'QUOTA_EXCEED');
    assert.equal(events.length, 1);
    assert.equal(events[0].repository, 'qe-blob/app');
    assert.equal('digest' in events[0], false);
    assert.equal(events[0].hard_bytes, 4 * KiB);
    assert.equal(events[0].used_bytes, 0);
    assert.match(events[0].message, /^adding 6\.0 KiB of storage resource, which when updated to current usage of 0 B will exceed/);
  });

  test('pushes within the limit write no QUOTA_EXCEED', async () => {
    const projectId = await createProject(server, 'qe-none', 100 * KiB);
    await pushImage(v2, 'qe-none/app', 'v1', image([bytes(2 * KiB)]));
    assert.equal((await quotaEvents(projectId, 'QUOTA_EXCEED')).length, 0);
  });
});

describe('QUOTA_WARNING (Harbor: 85 % of the limit)', () => {
  test('below the threshold: none; every push that adds bytes at or above it: one each, in its own transaction', async () => {
    const projectId = await createProject(server, 'qw', 100 * KiB);
    // 50 KiB and a little: below 85 %.
    await pushImage(v2, 'qw/app', 'v1', image([bytes(50 * KiB)]));
    assert.equal((await quotaEvents(projectId, 'QUOTA_WARNING')).length, 0);
    // A layer taking usage past 85 KiB: the blob push that crosses warns (without an artifact) …
    const img = image([bytes(36 * KiB)]);
    await v2.pushBlob('qw/app', img.config);
    const beforeLayer = (await quotaEvents(projectId, 'QUOTA_WARNING')).length;
    await v2.pushBlob('qw/app', img.layers[0]);
    const afterLayer = await quotaEvents(projectId, 'QUOTA_WARNING');
    assert.equal(beforeLayer, 0);
    assert.equal(afterLayer.length, 1);
    assert.equal(afterLayer[0].repository, 'qw/app');
    assert.equal('digest' in afterLayer[0], false);
    const used = await usedOf(server, projectId);
    assert.equal(afterLayer[0].used_bytes, used);
    assert.equal(afterLayer[0].hard_bytes, 100 * KiB);
    assert.equal(afterLayer[0].message, `quota usage reach 85%: resource storage used ${formatBytes(used)} of ${formatBytes(100 * KiB)}`);
    assert.equal(afterLayer[0].operator, 'admin');
    // … and so does the manifest push, naming the artifact and its tag.
    const res = await v2.putManifest('qw/app', 'v2', img.manifest, types.manifest);
    assert.equal(res.status, 201, res.text);
    const all = await quotaEvents(projectId, 'QUOTA_WARNING');
    assert.equal(all.length, 2);
    assert.equal(all[1].digest, img.digest);
    assert.equal(all[1].tag, 'v2');
    assert.equal(all[1].used_bytes, await usedOf(server, projectId));
    // A push that adds nothing (the same manifest again) warns nobody.
    assert.equal((await v2.putManifest('qw/app', 'v2', img.manifest, types.manifest)).status, 201);
    assert.equal((await quotaEvents(projectId, 'QUOTA_WARNING')).length, 2);
  });

  test('a project without a limit never warns', async () => {
    const projectId = await createProject(server, 'qw-unlimited', -1);
    await pushImage(v2, 'qw-unlimited/app', 'v1', image([bytes(20 * KiB)]));
    assert.equal((await quotaEvents(projectId, 'QUOTA_WARNING')).length, 0);
  });

  test('a refused push does not warn (its transaction rolled back)', async () => {
    const projectId = await createProject(server, 'qw-refused', 10 * KiB);
    await pushImage(v2, 'qw-refused/app', 'v1', image([bytes(2 * KiB)]));
    const blob = bytes(20 * KiB);
    const res = await v2.call('POST', `/v2/qw-refused/app/blobs/uploads/?digest=${digestOf(blob)}`, {
      headers: { 'content-type': 'application/octet-stream' },
      body: blob,
    });
    assert.equal(res.status, 403);
    assert.equal((await quotaEvents(projectId, 'QUOTA_WARNING')).length, 0);
    assert.equal((await quotaEvents(projectId, 'QUOTA_EXCEED')).length, 1);
  });
});
