import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ArtifactGone, RegistryStore } from '../../src/registry/store.js';
import type { BlobStore, ByteRange } from '../../src/storage/blobstore.js';
import { api } from '../helpers/api.js';
import { pushImage, pushManifest, types } from '../helpers/oci.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { FaultyBlobStore } from '../helpers/faulty-blobstore.js';

/** Counts the blob reads a push makes (describing an image reads its config). */
class CountingBlobStore extends FaultyBlobStore {
  reads: string[] = [];
  override read(digest: string, range?: ByteRange) {
    this.reads.push(digest);
    return super.read(digest, range);
  }
}

let server: TestServer;
let blobs: CountingBlobStore;

before(async () => {
  server = await startServer({ seams: { wrapBlobStore: (store: BlobStore) => (blobs = new CountingBlobStore(store)) } });
});
after(() => server.stop());

const artifact = async (ref: string) =>
  (await api<any>(server, 'GET', `/projects/library/repositories/app/artifacts/${ref}?with_tag=true`, { auth: server.admin.authorization }))
    .body;

describe('a manifest pushed again under another tag', () => {
  test('adds the tag without reading its content again; the artifact keeps its description', async () => {
    const image = await pushImage(server.url, 'library/app', 'v1', { headers: server.admin });
    const first = await artifact(image.digest);
    assert.equal(first.extra_attrs.architecture, 'amd64', 'described from its config when first pushed');
    assert.ok(blobs.reads.includes(image.config.digest));

    blobs.reads = [];
    const again = await pushManifest(server.url, 'library/app', 'v2', image.manifest, types.manifest, server.admin);
    assert.equal(again.digest, image.digest);
    assert.deepEqual(blobs.reads, [], 'nothing read from the blob store');
    const tagged = await artifact(image.digest);
    assert.deepEqual(tagged.tags.map((t: { name: string }) => t.name).sort(), ['v1', 'v2']);
    assert.deepEqual(tagged.extra_attrs, first.extra_attrs);
    assert.equal(tagged.type, 'IMAGE');
    assert.ok(tagged.push_time >= first.push_time);
    const audits = await server.berth.database.db
      .selectFrom('audit_logs')
      .select('resource')
      .where('operation', '=', 'create')
      .where('resource_type', '=', 'artifact')
      .execute();
    assert.ok(audits.some((a) => a.resource === 'library/app:v2'));
  });

  test('once deleted, the same manifest pushed again is a new artifact, described in full', async () => {
    const image = await pushImage(server.url, 'library/app', 'gone', { headers: server.admin, layer: 'a layer pushed, deleted, pushed' });
    const deleted = await fetch(`${server.url}/v2/library/app/manifests/${image.digest}`, { method: 'DELETE', headers: server.admin });
    assert.equal(deleted.status, 202);
    blobs.reads = [];
    await pushManifest(server.url, 'library/app', 'back', image.manifest, types.manifest, server.admin);
    assert.ok(blobs.reads.includes(image.config.digest), 'its config is read again');
    const back = await artifact(image.digest);
    assert.equal(back.extra_attrs.architecture, 'amd64');
    assert.deepEqual(
      back.tags.map((t: { name: string }) => t.name),
      ['back'],
    );
  });

  test('a commit described as a stored artifact that is gone is refused with ArtifactGone and writes nothing', async () => {
    const db = server.berth.database.db;
    const count = async (table: 'artifacts' | 'tags' | 'audit_logs') =>
      Number(
        (
          await db
            .selectFrom(table)
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    await server.berth.pulls.flush();
    const before = [await count('artifacts'), await count('tags'), await count('audit_logs')];
    const repo = await db.selectFrom('repositories').select('id').where('name', '=', 'library/app').executeTakeFirstOrThrow();
    const digest = `sha256:${'0'.repeat(64)}`;
    await assert.rejects(
      new RegistryStore(db, server.berth.database.dialect).commitManifest({
        repositoryId: Number(repo.id),
        digest,
        mediaType: types.manifest,
        artifactType: null,
        size: 2,
        bytes: new TextEncoder().encode('{}'),
        subjectDigest: null,
        annotations: null,
        blobDigests: [],
        children: [],
        tags: ['never'],
        description: { type: 'IMAGE', configMediaType: null, extraAttrs: null, icon: null, accessory: null },
        described: 'tags',
        now: new Date().toISOString(),
        audit: { username: 'admin', operation: 'create', resourceType: 'artifact', resource: 'library/app:never' },
      }),
      ArtifactGone,
    );
    assert.deepEqual([await count('artifacts'), await count('tags'), await count('audit_logs')], before);
  });
});
