import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { formatBytes } from '../../src/quotas/format.js';
import { api } from '../helpers/api.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { assertOciError } from '../helpers/v2.js';
import { bytes, count, createProject, digestOf, image, independentRecount, pushImage, setLimit, types, usedOf, V2 } from './fixtures.js';

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

function blobFile(digest: string): string {
  const hex = digest.slice('sha256:'.length);
  return path.join(server.dataDir, 'storage', 'blobs', 'sha256', hex.slice(0, 2), hex);
}

/** Everything a refused push must leave as it was. */
async function snapshot(projectId: number) {
  return {
    used: await usedOf(server, projectId),
    blobs: await count(server, 'blobs'),
    links: await count(server, 'repository_blobs'),
    artifacts: await count(server, 'artifacts'),
    tags: await count(server, 'tags'),
    uploads: await count(server, 'uploads'),
    projectBlobs: await count(server, 'project_blobs'),
  };
}

async function assertStoredNothing(projectId: number, before: Awaited<ReturnType<typeof snapshot>>, digest: string, repo: string) {
  assert.deepEqual(await snapshot(projectId), before, 'a refused push changes no row and no usage');
  assert.equal(existsSync(blobFile(digest)), false, 'and publishes no object');
  const head = await v2.call('HEAD', `/v2/${repo}/blobs/${digest}`);
  assert.equal(head.status, 404);
  assert.equal(await independentRecount(server, projectId), before.used);
}

const refused = (adding: string, used: string, hard: string) =>
  `adding ${adding} of storage resource, which when updated to current usage of ${used} will exceed the configured upper limit of ${hard}.`;

describe('a blob upload past the limit', () => {
  let projectId: number;
  before(async () => {
    projectId = await createProject(server, 'blobcap', 10 * KiB);
    await v2.pushBlob('blobcap/app', bytes(6 * KiB));
  });

  test('in one POST (?digest=): 403 DENIED with Harbor message, nothing stored', async () => {
    const before = await snapshot(projectId);
    assert.equal(before.used, 6 * KiB);
    const data = bytes(5 * KiB);
    const digest = digestOf(data);
    const res = await v2.call('POST', `/v2/blobcap/app/blobs/uploads/?digest=${digest}`, {
      headers: { 'content-type': 'application/octet-stream' },
      body: data,
    });
    const error = assertOciError(res, 403, 'DENIED');
    assert.equal(error.message, refused('5.0 KiB', '6.0 KiB', '10.0 KiB'));
    await assertStoredNothing(projectId, before, digest, 'blobcap/app');
  });

  test('in a session (POST, PATCH, PUT): 403 DENIED, the session is discarded, nothing stored', async () => {
    const location = await v2.startUpload('blobcap/app');
    const before = await snapshot(projectId);
    const data = bytes(4 * KiB + 1);
    const digest = digestOf(data);
    const patch = await v2.call('PATCH', location, { headers: { 'content-type': 'application/octet-stream' }, body: data });
    assert.equal(patch.status, 202, patch.text);
    const put = await v2.call('PUT', `${location}${location.includes('?') ? '&' : '?'}digest=${digest}`);
    const error = assertOciError(put, 403, 'DENIED');
    assert.equal(error.message, refused('4.0 KiB', '6.0 KiB', '10.0 KiB'));
    assert.equal(await v2.uploadOffset(location), null, 'the upload session is gone');
    await assertStoredNothing(projectId, { ...before, uploads: before.uploads - 1 }, digest, 'blobcap/app');
  });

  test('exactly up to the limit is allowed (Harbor refuses only past it)', async () => {
    await v2.pushBlob('blobcap/app', bytes(4 * KiB));
    assert.equal(await usedOf(server, projectId), 10 * KiB);
    assert.equal(await independentRecount(server, projectId), 10 * KiB);
  });
});

describe('a manifest PUT past the limit', () => {
  test('403 DENIED naming the manifest bytes; no artifact, no tag, usage unchanged', async () => {
    const img = image([bytes(3000)]);
    const blobsSize = img.config.length + 3000;
    // Room for the blobs but not for the manifest.
    const projectId = await createProject(server, 'mancap', blobsSize + img.manifest.length - 1);
    await v2.pushBlob('mancap/app', img.config);
    await v2.pushBlob('mancap/app', img.layers[0]);
    const before = await snapshot(projectId);
    const res = await v2.putManifest('mancap/app', 'v1', img.manifest, types.manifest);
    const error = assertOciError(res, 403, 'DENIED');
    assert.equal(
      error.message,
      refused(`${img.manifest.length} B`, formatBytes(blobsSize), formatBytes(blobsSize + img.manifest.length - 1)),
    );
    assert.deepEqual(await snapshot(projectId), before);
    assert.equal((await v2.call('GET', '/v2/mancap/app/manifests/v1')).status, 404);
    assert.equal((await v2.call('HEAD', `/v2/mancap/app/manifests/${img.digest}`)).status, 404);

    await setLimit(server, projectId, blobsSize + img.manifest.length);
    const again = await v2.putManifest('mancap/app', 'v1', img.manifest, types.manifest);
    assert.equal(again.status, 201, again.text);
    assert.equal(await usedOf(server, projectId), blobsSize + img.manifest.length);
  });

  test('the summary explains the refusal (the last refused push, with the message)', async () => {
    const projectId = await createProject(server, 'explained', 100);
    const data = bytes(200);
    const res = await v2.call('POST', `/v2/explained/app/blobs/uploads/?digest=${digestOf(data)}`, {
      headers: { 'content-type': 'application/octet-stream' },
      body: data,
    });
    assertOciError(res, 403, 'DENIED');
    const summary = await api<any>(server, 'GET', `/projects/${projectId}/summary`, { auth: server.admin.authorization });
    assert.equal(summary.status, 200);
    assert.deepEqual(summary.body.quota.hard, { storage: 100 });
    assert.deepEqual(summary.body.quota.used, { storage: 0 });
    assert.equal(summary.body.quota.last_refused.resource, `explained/app@${digestOf(data)}`);
    assert.equal(summary.body.quota.last_refused.message, refused('200 B', '0 B', '100 B'));
    const logs = await api<any[]>(server, 'GET', `/projects/explained/logs?page_size=100`, { auth: server.admin.authorization });
    assert.ok(
      logs.body.some((l) => l.resource_type === 'quota' && l.operation === 'push' && l.resource.includes('will exceed')),
      JSON.stringify(logs.body),
    );
  });
});

describe('what the project already holds needs no quota', () => {
  let projectId: number;
  const img = image([bytes(2000), bytes(3000)]);
  before(async () => {
    projectId = await createProject(server, 'held', -1);
    await pushImage(v2, 'held/one', 'v1', img);
  });

  test('a layer shared by two repositories of one project counts once; in another project, once more', async () => {
    const used = await usedOf(server, projectId);
    const expected = img.config.length + 5000 + img.manifest.length;
    assert.equal(used, expected);
    await pushImage(v2, 'held/two', 'v1', img);
    assert.equal(await usedOf(server, projectId), expected, 'the same image in a second repository adds nothing');
    const other = await createProject(server, 'held2', -1);
    await pushImage(v2, 'held2/one', 'v1', img);
    assert.equal(await usedOf(server, other), expected);
    assert.equal(await independentRecount(server, projectId), expected);
  });

  test('a limit lowered below usage blocks growth, deletes nothing, and lets held content be pushed again', async () => {
    const used = await usedOf(server, projectId);
    await setLimit(server, projectId, 1);
    assert.equal(await usedOf(server, projectId), used, 'lowering the limit deletes nothing');
    // The same image into a third repository: every blob and the manifest are held already.
    await pushImage(v2, 'held/three', 'v1', img);
    const mount = await v2.call('POST', `/v2/held/four/blobs/uploads/?mount=${digestOf(img.layers[0])}&from=held/one`);
    assert.equal(mount.status, 201, mount.text);
    // Anything new is refused.
    const data = bytes(10);
    const res = await v2.call('POST', `/v2/held/one/blobs/uploads/?digest=${digestOf(data)}`, {
      headers: { 'content-type': 'application/octet-stream' },
      body: data,
    });
    assertOciError(
      res,
      403,
      'DENIED',
      /^adding 10 B of storage resource, which when updated to current usage of .* will exceed the configured upper limit of 1 B\.$/,
    );
    const pulled = await v2.call('GET', '/v2/held/one/manifests/v1', { headers: { accept: types.manifest } });
    assert.equal(pulled.status, 200, 'data stays pullable');
    assert.equal(await usedOf(server, projectId), used);
  });

  test('a mount that would add bytes to a full project: 403 DENIED, not linked', async () => {
    const full = await createProject(server, 'fullmount', 100);
    const before = await snapshot(full);
    const digest = digestOf(img.layers[1]);
    const res = await v2.call('POST', `/v2/fullmount/app/blobs/uploads/?mount=${digest}&from=held/one`);
    assertOciError(res, 403, 'DENIED', /^adding 2\.9 KiB of storage resource/);
    assert.deepEqual(await snapshot(full), before);
  });

  test('an artifact copy into a full project: 403 with the message, nothing copied', async () => {
    const full = await createProject(server, 'fullcopy', 100);
    const before = await snapshot(full);
    const res = await api<any>(server, 'POST', `/projects/fullcopy/repositories/app/artifacts?from=held/one:v1`, {
      auth: server.admin.authorization,
    });
    assert.equal(res.status, 403, JSON.stringify(res.body));
    assert.equal(res.body.errors[0].code, 'FORBIDDEN');
    assert.match(res.body.errors[0].message, /will exceed the configured upper limit of 100 B\.$/);
    assert.deepEqual(await snapshot(full), before);
  });
});

describe('deleting frees at once', () => {
  test("an artifact's delete releases its blobs: usage drops, the blobs stay served until GC, a push that names them counts them again", async () => {
    const projectId = await createProject(server, 'freed', -1);
    const shared = bytes(4000);
    const own = bytes(6000);
    const kept = image([shared]);
    const gone = image([shared, own]);
    await pushImage(v2, 'freed/app', 'kept', kept);
    await pushImage(v2, 'freed/app', 'gone', gone);
    const full = await usedOf(server, projectId);
    const del = await v2.call('DELETE', `/v2/freed/app/manifests/${gone.digest}`);
    assert.equal(del.status, 202, del.text);
    // The layer only `gone` used, its config and its manifest leave the usage; the shared layer stays.
    const after = full - own.length - gone.config.length - gone.manifest.length;
    assert.equal(await usedOf(server, projectId), after);
    assert.equal(await independentRecount(server, projectId), after);
    // As in Distribution, the repository still serves the blob until GC.
    assert.equal((await v2.call('HEAD', `/v2/freed/app/blobs/${digestOf(own)}`)).status, 200);
    // A client that finds the blobs there pushes only the manifest: they count again.
    const again = await v2.putManifest('freed/app', 'again', gone.manifest, types.manifest);
    assert.equal(again.status, 201, again.text);
    assert.equal(await usedOf(server, projectId), full);
    assert.equal(await independentRecount(server, projectId), full);
    // Deleting again, then the blob itself: 202 (the link was there), and gone for good.
    assert.equal((await v2.call('DELETE', `/v2/freed/app/manifests/${gone.digest}`)).status, 202);
    const blob = await v2.call('DELETE', `/v2/freed/app/blobs/${digestOf(own)}`);
    assert.equal(blob.status, 202, blob.text);
    assert.equal((await v2.call('HEAD', `/v2/freed/app/blobs/${digestOf(own)}`)).status, 404);
    assert.equal(await usedOf(server, projectId), after);
  });

  test('a released blob pushed again into a full project is refused like any new bytes', async () => {
    const img = image([bytes(5000)]);
    const projectId = await createProject(server, 'refreed', -1);
    await pushImage(v2, 'refreed/app', 'v1', img);
    assert.equal((await v2.call('DELETE', `/v2/refreed/app/manifests/${img.digest}`)).status, 202);
    await setLimit(server, projectId, 1000);
    const res = await v2.putManifest('refreed/app', 'v1', img.manifest, types.manifest);
    assertOciError(res, 403, 'DENIED', /will exceed the configured upper limit of 1000 B\.$/);
    assert.equal(await usedOf(server, projectId), 0);
    assert.equal(await independentRecount(server, projectId), 0);
  });
});

describe('the warning at 85%', () => {
  test('written to the audit log once per crossing', async () => {
    const projectId = await createProject(server, 'warned', 100 * KiB);
    const warnings = async () => {
      const res = await api<any[]>(server, 'GET', `/projects/warned/logs?page_size=100`, { auth: server.admin.authorization });
      return res.body.filter((l) => l.resource_type === 'quota' && l.operation === 'warning');
    };
    await v2.pushBlob('warned/app', bytes(80 * KiB));
    assert.equal((await warnings()).length, 0, 'below 85%: no warning');
    const crossing = bytes(6 * KiB);
    await v2.pushBlob('warned/app', crossing);
    const first = await warnings();
    assert.equal(first.length, 1, 'the push that crosses 85% warns');
    assert.equal(first[0].resource, 'warned: quota usage reach 85%: resource storage used 86.0 KiB of 100.0 KiB');
    assert.equal(first[0].username, 'admin');
    await v2.pushBlob('warned/app', bytes(KiB));
    assert.equal((await warnings()).length, 1, 'further pushes above the threshold do not warn again');
    // Below again (the blob's link goes), then across again: a second warning.
    const del = await v2.call('DELETE', `/v2/warned/app/blobs/${digestOf(crossing)}`);
    assert.equal(del.status, 202, del.text);
    assert.equal(await usedOf(server, projectId), 81 * KiB);
    await v2.pushBlob('warned/app', bytes(5 * KiB));
    assert.equal((await warnings()).length, 2);
  });
});
