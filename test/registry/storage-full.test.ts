// A full disk (ENOSPC under the blob store, SQLITE_FULL in the database): the client gets
// 507 with an OCI errors[] body saying storage is full; no upload file is left behind;
// nothing half-stored becomes visible; reads keep working; and once there is room again,
// pushes succeed without a restart. The blob store's faults are injected around the real
// filesystem store (FaultyBlobStore); the database is filled with SQLite's page limit.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { RawConnection } from '../helpers/connection.js';
import { FaultyBlobStore } from '../helpers/faulty-blobstore.js';
import { pushImage, types } from '../helpers/oci.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { assertOciError, digestOf, V2, type V2Reply } from '../helpers/v2.js';

let server: TestServer;
let v2: V2;
let blobs: FaultyBlobStore;
let good: Awaited<ReturnType<typeof pushImage>>;
const repo = 'library/full';

before(async () => {
  server = await startServer({ seams: { wrapBlobStore: (store) => (blobs = new FaultyBlobStore(store)) } });
  v2 = new V2(server);
  good = await pushImage(server.url, repo, 'good', { headers: server.admin });
});
after(async () => {
  await server.stop();
});

function assertStorageFull(res: V2Reply, what: RegExp = /blob storage/): void {
  assertOciError(res, 507, 'UNKNOWN', /storage is full/);
  assert.match(res.json().errors[0].message, what);
}

/** Upload files left under the blob store's uploads area (sessions still open included). */
async function uploadFiles(): Promise<string[]> {
  const ids: string[] = [];
  for await (const upload of blobs.inner.listUploads()) ids.push(upload.id);
  return ids;
}

async function tags(): Promise<string[]> {
  return (await v2.tags(repo)).json().tags;
}

/** What a client sees of the repository does not change: its tags are `before`, and the good image pulls whole. */
async function readsStillWork(before: string[]): Promise<void> {
  assert.deepEqual(await tags(), before);
  const manifest = await v2.call('GET', `/v2/${repo}/manifests/good`);
  assert.equal(manifest.status, 200);
  assert.equal(manifest.headers.get('docker-content-digest'), good.digest);
  const layer = await v2.call('GET', `/v2/${repo}/blobs/${good.layer.digest}`);
  assert.equal(layer.status, 200);
  assert.ok(layer.bytes.equals(good.layer.data));
}

async function blobAbsent(digest: string): Promise<void> {
  assert.equal((await v2.call('HEAD', `/v2/${repo}/blobs/${digest}`)).status, 404, `${digest} must not be visible`);
}

describe('the blob store is full', () => {
  before(() => {
    blobs.full = true;
    blobs.fullAfterBytes = 64 * 1024;
  });
  after(() => {
    blobs.full = false;
  });

  test('a monolithic push (POST ?digest=): 507 storage is full, no upload file left, nothing visible', async () => {
    const [files, tagsBefore] = [await uploadFiles(), await tags()];
    const data = randomBytes(1024 * 1024);
    const res = await v2.call('POST', `/v2/${repo}/blobs/uploads/?digest=${digestOf(data)}`, {
      headers: { 'content-type': 'application/octet-stream' },
      body: data,
    });
    assertStorageFull(res);
    assert.ok(blobs.failedAppends > 0, 'the write really failed part-way');
    assert.deepEqual(await uploadFiles(), files, 'no partial or empty upload file is left');
    await blobAbsent(digestOf(data));
    await readsStillWork(tagsBefore);
  });

  test('a chunk of an open session: 507, and the session and its file are gone (the client starts over)', async () => {
    const tagsBefore = await tags();
    const location = await v2.startUpload(repo);
    const data = randomBytes(512 * 1024);
    const res = await v2.call('PATCH', location, {
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(data.length) },
      body: data,
    });
    assertStorageFull(res);
    assertOciError(await v2.call('GET', location), 404, 'BLOB_UPLOAD_UNKNOWN');
    assert.deepEqual(await uploadFiles(), [], 'no partial or empty upload file is left');
    await readsStillWork(tagsBefore);
  });

  test('a streamed (chunked) push: 507, and the next request on the same connection is answered', async () => {
    const location = await v2.startUpload(repo);
    const conn = await RawConnection.open(server);
    try {
      conn.head('PATCH', location, {
        Authorization: server.admin.authorization,
        'Content-Type': 'application/octet-stream',
        'Transfer-Encoding': 'chunked',
      });
      for (let i = 0; i < 16; i++) conn.chunk(randomBytes(64 * 1024));
      conn.chunk(Buffer.alloc(0));
      const res = await conn.answer();
      assert.equal(res?.status, 507);
      assert.match(res!.json().errors[0].message, /storage is full/);
      conn.head('GET', `/v2/${repo}/manifests/good`, { Authorization: server.admin.authorization });
      const next = await conn.answer();
      assert.equal(next?.status, 200);
      assert.equal(next?.headers['docker-content-digest'], good.digest);
    } finally {
      conn.destroy();
    }
    assert.deepEqual(await uploadFiles(), []);
  });

  test('publishing the finished upload fails for want of space: 507, no upload file, nothing visible', async () => {
    blobs.full = false;
    blobs.publishFails = true;
    const tagsBefore = await tags();
    try {
      const data = randomBytes(100 * 1024);
      const res = await v2.call('POST', `/v2/${repo}/blobs/uploads/?digest=${digestOf(data)}`, {
        headers: { 'content-type': 'application/octet-stream' },
        body: data,
      });
      assertStorageFull(res);
      assert.deepEqual(await uploadFiles(), []);
      await blobAbsent(digestOf(data));
      await readsStillWork(tagsBefore);
    } finally {
      blobs.publishFails = false;
      blobs.full = true;
    }
  });
});

describe('once space is freed', () => {
  test('pushes succeed again without a restart, one after another', async () => {
    assert.equal(blobs.full, false);
    for (const tag of ['after-1', 'after-2', 'after-3']) {
      const image = await pushImage(server.url, repo, tag, { headers: server.admin, layer: randomBytes(256 * 1024).toString('hex') });
      const pulled = await v2.call('GET', `/v2/${repo}/manifests/${tag}`);
      assert.equal(pulled.headers.get('docker-content-digest'), image.digest);
    }
    assert.deepEqual(await uploadFiles(), []);
  });
});

const onPostgres = process.env.BERTH_TEST_DATABASE_URL
  ? 'SQLite only: the page limit is how a test fills a SQLite database (PostgreSQL disk_full, 53100, is mapped to 507 the same way)'
  : false;

describe('the database is full', { skip: onPostgres }, () => {
  const limitPages = async (pages: number | null) => {
    const db = server.berth.database.db;
    const { rows } = await sql<{ page_count: number }>`pragma page_count`.execute(db);
    await sql.raw(`pragma max_page_count = ${pages ?? rows[0].page_count}`).execute(db);
  };
  /** A manifest of the good image's blobs with a large annotation, so that storing it needs new pages. */
  const bigManifest = (tag: string) =>
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: types.manifest,
        config: { mediaType: types.config, digest: good.config.digest, size: good.config.size },
        layers: [{ mediaType: types.layer, digest: good.layer.digest, size: good.layer.size }],
        annotations: { 'org.example.padding': `${tag}:${'x'.repeat(1024 * 1024)}` },
      }),
    );

  test('a manifest push: 507 storage is full naming the database, nothing committed, reads keep working', async () => {
    const tagsBefore = await tags();
    await limitPages(null);
    try {
      for (const tag of ['db-full-1', 'db-full-2']) {
        const bytes = bigManifest(tag);
        const res = await v2.putManifest(repo, tag, bytes, types.manifest);
        assertStorageFull(res, /database/);
        assertOciError(await v2.call('GET', `/v2/${repo}/manifests/${tag}`), 404, 'MANIFEST_UNKNOWN');
        assertOciError(await v2.call('GET', `/v2/${repo}/manifests/${digestOf(bytes)}`), 404, 'MANIFEST_UNKNOWN');
        await readsStillWork(tagsBefore);
      }
    } finally {
      await limitPages(1073741823);
    }
  });

  test('with room again, the same pushes succeed at once, and so do the ones after', async () => {
    for (const tag of ['db-full-1', 'db-full-2', 'db-full-3']) {
      const bytes = bigManifest(tag);
      const res = await v2.putManifest(repo, tag, bytes, types.manifest);
      assert.equal(res.status, 201, res.text);
      assert.equal((await v2.call('GET', `/v2/${repo}/manifests/${tag}`)).headers.get('docker-content-digest'), digestOf(bytes));
    }
    await pushImage(server.url, repo, 'db-after', { headers: server.admin });
  });
});
