import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { migrate, type DatabaseHandle } from '../../src/db/index.js';
import { migrations } from '../../src/db/migrations/index.js';
import { applyQuery, applySort, countRows, likeFragment } from '../../src/db/query.js';
import type { QueryTerm } from '../../src/lib/query.js';
import { RegistryStore, type NewManifest } from '../../src/registry/store.js';
import { RepositoryStore } from '../../src/repositories/store.js';

const now = '2026-01-02T03:04:05.000Z';

/** A migrated database with one project and one repository in it. */
async function seeded(open: () => Promise<DatabaseHandle>) {
  const handle = await open();
  await migrate(handle);
  const project = await handle.db
    .insertInto('projects')
    .values({ name: 'p', public: 1, owner_id: null, created_at: now, updated_at: now })
    .returning('id')
    .executeTakeFirstOrThrow();
  const store = new RegistryStore(handle.db, handle.dialect);
  const repo = await store.ensureRepository(project.id, 'p/repo', now);
  return { handle, db: handle.db, store, projectId: project.id, repositoryId: repo.id };
}

function manifest(repositoryId: number, digest: string, tags: string[], bytes = Buffer.from(`{"digest":"${digest}"}`)): NewManifest {
  return {
    repositoryId,
    digest,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    artifactType: null,
    size: bytes.length,
    bytes,
    subjectDigest: null,
    annotations: null,
    blobDigests: [],
    children: [],
    tags,
    description: { type: 'IMAGE', configMediaType: null, extraAttrs: null, icon: null, accessory: null },
    now,
    audit: { username: 'admin', operation: 'create', resourceType: 'artifact', resource: `p/repo@${digest}` },
  };
}

/** Byte order of UTF-8, which is what SQLite's BINARY collation and PostgreSQL's "C" give. */
function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/**
 * The one contract both SQL dialects pass: what migrations, stores and queries rely on. A
 * dialect's test file calls this with a factory giving a handle on a fresh, empty database
 * (closed by the suite).
 */
export function dialectSuite(name: string, open: () => Promise<DatabaseHandle>): void {
  describe(`SQL dialect contract: ${name}`, () => {
    test('every migration applies to an empty database, in order, and a second run applies none', async () => {
      const handle = await open();
      try {
        assert.deepEqual(await migrate(handle), Object.keys(migrations));
        assert.deepEqual(await migrate(handle), []);
        for (const table of [
          'projects',
          'repositories',
          'blobs',
          'artifacts',
          'tags',
          'uploads',
          'users',
          'audit_logs',
          'labels',
          'settings',
        ] as const) {
          const row = await handle.db
            .selectFrom(table)
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .executeTakeFirstOrThrow();
          assert.equal(row.n, 0, `${table} is empty`);
        }
      } finally {
        await handle.close();
      }
    });

    test('inserts return their ids as numbers, counting up', async () => {
      const { handle, db, projectId } = await seeded(open);
      try {
        assert.equal(typeof projectId, 'number');
        const second = await db
          .insertInto('projects')
          .values({ name: 'q', public: 0, owner_id: null, created_at: now, updated_at: now })
          .returningAll()
          .executeTakeFirstOrThrow();
        assert.equal(typeof second.id, 'number');
        assert.ok(second.id > projectId);
        assert.equal(second.public, 0);
        assert.equal(second.storage_limit, -1, 'column defaults come back too');
        const count = await countRows(db.selectFrom('projects'));
        assert.equal(count, 2);
      } finally {
        await handle.close();
      }
    });

    test('sizes beyond 2^32 come back whole, as numbers, and so do their sum and count', async () => {
      const { handle, db } = await seeded(open);
      try {
        const big = 5 * 2 ** 32 + 7;
        await db
          .insertInto('blobs')
          .values([
            { digest: 'sha256:big', size: big, created_at: now },
            { digest: 'sha256:bigger', size: 2 ** 52 + 1, created_at: now },
          ])
          .execute();
        const row = await db.selectFrom('blobs').select('size').where('digest', '=', 'sha256:big').executeTakeFirstOrThrow();
        assert.equal(row.size, big);
        assert.equal(typeof row.size, 'number');
        const total = await new RepositoryStore(db).storageConsumption();
        assert.equal(total, big + 2 ** 52 + 1);
        const summed = await db
          .selectFrom('blobs')
          .select((eb) => [eb.fn.sum<number>('size').as('s'), eb.fn.countAll<number>().as('n'), eb.fn.max('size').as('m')])
          .executeTakeFirstOrThrow();
        assert.deepEqual(summed, { s: big + 2 ** 52 + 1, n: 2, m: 2 ** 52 + 1 });
      } finally {
        await handle.close();
      }
    });

    test('bytes round-trip exactly, NUL and high bytes included, and length() counts bytes', async () => {
      const { handle, db, store, repositoryId } = await seeded(open);
      try {
        const bytes = Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 7) % 256));
        const id = await store.commitManifest(manifest(repositoryId, 'sha256:bytes', [], bytes));
        const stored = await store.manifestBytes(id);
        assert.ok(Buffer.isBuffer(stored), 'a Buffer comes back');
        assert.deepEqual(Buffer.from(stored!), bytes);
        await db.updateTable('artifacts').set({ subject_digest: 'sha256:subject' }).where('id', '=', id).execute();
        const [referrer] = await store.referrers('p/repo', 'sha256:subject', undefined);
        assert.equal(Number(referrer.manifest_size), 512);
      } finally {
        await handle.close();
      }
    });

    test('onConflict: do nothing leaves the row, do update changes it, and both report what they did', async () => {
      const { handle, db, repositoryId } = await seeded(open);
      try {
        const first = await db.insertInto('blobs').values({ digest: 'sha256:a', size: 1, created_at: now }).executeTakeFirst();
        assert.equal(Number(first.numInsertedOrUpdatedRows), 1);
        const again = await db
          .insertInto('blobs')
          .values({ digest: 'sha256:a', size: 2, created_at: now })
          .onConflict((oc) => oc.column('digest').doNothing())
          .executeTakeFirst();
        assert.equal(Number(again.numInsertedOrUpdatedRows ?? 0), 0);
        const none = await db
          .insertInto('blobs')
          .values({ digest: 'sha256:a', size: 3, created_at: now })
          .onConflict((oc) => oc.column('digest').doNothing())
          .returning('digest')
          .executeTakeFirst();
        assert.equal(none, undefined, 'returning gives no row when nothing was inserted');
        assert.equal((await db.selectFrom('blobs').select('size').executeTakeFirstOrThrow()).size, 1);

        const store = new RegistryStore(db, handle.dialect);
        const a = await store.commitManifest(manifest(repositoryId, 'sha256:m1', ['latest']));
        const b = await store.commitManifest(manifest(repositoryId, 'sha256:m2', ['latest']));
        const tag = await db.selectFrom('tags').select(['artifact_id']).where('name', '=', 'latest').execute();
        assert.deepEqual(tag, [{ artifact_id: b }], 'the tag moved to the second manifest');
        assert.notEqual(a, b);
      } finally {
        await handle.close();
      }
    });

    test('a unique violation is an error whose message says so (stores recognise it by that)', async () => {
      const { handle, db } = await seeded(open);
      try {
        await assert.rejects(
          db.insertInto('projects').values({ name: 'p', public: 0, owner_id: null, created_at: now, updated_at: now }).execute(),
          /unique|duplicate/i,
        );
      } finally {
        await handle.close();
      }
    });

    test('a transaction that throws leaves nothing behind; one that returns keeps everything', async () => {
      const { handle, db } = await seeded(open);
      try {
        await assert.rejects(
          db.transaction().execute(async (tx) => {
            await tx.insertInto('blobs').values({ digest: 'sha256:rolled-back', size: 1, created_at: now }).execute();
            await tx
              .insertInto('labels')
              .values({ name: 'l', description: '', color: '', scope: 'g', project_id: 0, creation_time: now, update_time: now })
              .execute();
            throw new Error('changed my mind');
          }),
          /changed my mind/,
        );
        assert.equal(await countRows(db.selectFrom('blobs')), 0);
        assert.equal(await countRows(db.selectFrom('labels')), 0);
        const kept = await db.transaction().execute(async (tx) => {
          await tx.insertInto('blobs').values({ digest: 'sha256:kept', size: 1, created_at: now }).execute();
          return tx.selectFrom('blobs').select('digest').execute();
        });
        assert.deepEqual(kept, [{ digest: 'sha256:kept' }], 'a transaction reads its own writes');
        assert.equal(await countRows(db.selectFrom('blobs')), 1);
      } finally {
        await handle.close();
      }
    });

    test('name listings are in byte order, compact JSON, and page with last= in the same order', async () => {
      const { handle, store, repositoryId } = await seeded(open);
      try {
        assert.deepEqual(await store.listTags(repositoryId, undefined, undefined), { json: '[]', next: null });
        const names = ['b', 'a', 'B', 'a_b', 'a-b', 'a.b', 'A', '10', '9', 'Z', '_x', 'zz'];
        await store.commitManifest(manifest(repositoryId, 'sha256:tags', names));
        const sorted = [...names].sort(byteOrder);
        assert.deepEqual(sorted.slice(0, 4), ['10', '9', 'A', 'B'], 'digits, then upper case, then _, then lower case');
        const all = await store.listTags(repositoryId, undefined, undefined);
        assert.equal(all.json, JSON.stringify(sorted), 'JSON text exactly as JSON.stringify writes it');
        const pages: string[] = [];
        let last: string | undefined;
        for (;;) {
          const page = await store.listTags(repositoryId, 5, last);
          pages.push(...(JSON.parse(page.json) as string[]));
          if (page.next === null) break;
          last = page.next;
        }
        assert.deepEqual(pages, sorted);
        const after = await store.listTags(repositoryId, 100, 'a');
        assert.deepEqual(
          JSON.parse(after.json),
          sorted.filter((n) => byteOrder(n, 'a') > 0),
        );
        const catalog = await store.listRepositories(undefined, undefined);
        assert.equal(catalog.json, '["p/repo"]');
        const quoted = await store.listTags(repositoryId, undefined, 'zz');
        assert.equal(quoted.json, '[]');
      } finally {
        await handle.close();
      }
    });

    test('likeFragment: %, _ and \\ are literal; ASCII case folds by default and not when case-sensitive', async () => {
      const { handle, db } = await seeded(open);
      try {
        const names = ['100%', '100x', 'a_b', 'axb', 'back\\slash', 'MixedCase', 'mixedcase', 'ÉCOLE', 'école'];
        await db
          .insertInto('labels')
          .values(
            names.map((name) => ({ name, description: '', color: '', scope: 'g', project_id: 0, creation_time: now, update_time: now })),
          )
          .execute();
        const match = async (fragment: string, caseSensitive = false) =>
          (
            await db
              .selectFrom('labels')
              .select('name')
              .where(likeFragment('name', fragment, { caseSensitive }))
              .execute()
          )
            .map((r) => r.name)
            .sort(byteOrder);
        assert.deepEqual(await match('%'), ['100%']);
        assert.deepEqual(await match('_'), ['a_b']);
        assert.deepEqual(await match('\\'), ['back\\slash']);
        assert.deepEqual(await match('MIXED'), ['MixedCase', 'mixedcase']);
        assert.deepEqual(await match('xedc'), ['MixedCase', 'mixedcase']);
        assert.deepEqual(await match('É'), ['ÉCOLE'], 'only ASCII letters fold');
        assert.deepEqual(await match(''), [...names].sort(byteOrder));
        assert.deepEqual(await match('Mixed', true), ['MixedCase']);
        assert.deepEqual(await match('%', true), ['100%']);
        assert.deepEqual(await match('_b', true), ['a_b']);
        assert.deepEqual(await match('', true), [...names].sort(byteOrder));
        const numeric = await db
          .selectFrom('labels')
          .select('name')
          .where(likeFragment(sql`cast(${sql.ref('project_id')} as text)`, '0'))
          .execute();
        assert.equal(numeric.length, names.length, 'a number column matches by its decimal text');
      } finally {
        await handle.close();
      }
    });

    test("q terms: numbers beyond a column type's range match nothing, fuzzy terms read numbers as text, bad numbers are refused", async () => {
      const { handle, db, projectId } = await seeded(open);
      try {
        await db
          .insertInto('robots')
          .values({
            name: 'r1',
            description: '',
            level: 'project',
            project_id: projectId,
            secret_hash: 'x',
            permissions: '[]',
            duration: 30,
            expires_at: 2 ** 40,
            disabled: 0,
            creator_type: 'local',
            creator_ref: 1,
            creation_time: now,
            update_time: now,
          })
          .execute();
        const fields = {
          duration: { column: 'duration', type: 'number' as const },
          expires_at: { column: 'expires_at', type: 'number' as const },
          name: { column: 'name', type: 'string' as const },
        };
        const names = async (terms: QueryTerm[]) =>
          (await applyQuery(db.selectFrom('robots').select('name'), terms, fields).execute()).map((r) => r.name);
        assert.deepEqual(await names([{ key: 'duration', op: 'exact', value: '30' }]), ['r1']);
        assert.deepEqual(
          await names([{ key: 'duration', op: 'exact', value: String(2 ** 40) }]),
          [],
          'beyond a 32-bit column: no match, no error',
        );
        assert.deepEqual(await names([{ key: 'expires_at', op: 'range', min: String(2 ** 40), max: null }]), ['r1']);
        assert.deepEqual(await names([{ key: 'duration', op: 'or', values: ['1', '30', String(2 ** 50)] }]), ['r1']);
        assert.deepEqual(await names([{ key: 'duration', op: 'fuzzy', value: '3' }]), ['r1']);
        assert.deepEqual(await names([{ key: 'name', op: 'fuzzy', value: 'R' }]), ['r1']);
        for (const bad of ['1.5', '1e30', 'x', '']) {
          await assert.rejects(names([{ key: 'duration', op: 'exact', value: bad }]), /must be an integer/);
        }
      } finally {
        await handle.close();
      }
    });

    test('sorting puts NULL lowest in both directions, and strings in byte order', async () => {
      const { handle, db, store, repositoryId } = await seeded(open);
      try {
        const ids: number[] = [];
        for (const d of ['sha256:n1', 'sha256:n2', 'sha256:n3']) ids.push(await store.commitManifest(manifest(repositoryId, d, [])));
        await db
          .updateTable('artifacts')
          .set({ pull_time: '2026-02-01T00:00:00.000Z', artifact_type: 'b' })
          .where('id', '=', ids[0])
          .execute();
        await db
          .updateTable('artifacts')
          .set({ pull_time: '2026-03-01T00:00:00.000Z', artifact_type: 'B' })
          .where('id', '=', ids[2])
          .execute();
        const fields = {
          pull_time: { column: 'pull_time', type: 'time' as const },
          artifact_type: { column: 'artifact_type', type: 'string' as const },
        };
        const order = async (sort: string) =>
          (await applySort(db.selectFrom('artifacts').select('id'), sort, fields, { column: 'id', direction: 'asc' }).execute()).map(
            (r) => r.id,
          );
        assert.deepEqual(await order('pull_time'), [ids[1], ids[0], ids[2]]);
        assert.deepEqual(await order('-pull_time'), [ids[2], ids[0], ids[1]]);
        assert.deepEqual(await order('artifact_type'), [ids[1], ids[2], ids[0]], 'NULL, then B, then b');
      } finally {
        await handle.close();
      }
    });

    test('two pushes of one manifest at once both succeed and leave one artifact', async () => {
      const { handle, db, store, repositoryId } = await seeded(open);
      try {
        // Open connections first (where there is a pool), so that the pushes really overlap.
        await Promise.all(
          [0, 1, 2, 3].map(() =>
            db.transaction().execute(async (tx) => {
              await tx.selectFrom('projects').select('id').execute();
              await sleep(20);
            }),
          ),
        );
        for (const round of [1, 2, 3]) {
          const digest = `sha256:same-${round}`;
          const results = await Promise.all([
            store.commitManifest(manifest(repositoryId, digest, [`one-${round}`, `two-${round}`])),
            store.commitManifest(manifest(repositoryId, digest, [`two-${round}`, `one-${round}`])),
            store.commitManifest(manifest(repositoryId, digest, [`three-${round}`])),
            store.commitManifest(manifest(repositoryId, digest, [])),
          ]);
          assert.equal(new Set(results).size, 1, 'every push names the same artifact');
          assert.deepEqual(await store.tagNamesOf(results[0]), [`one-${round}`, `three-${round}`, `two-${round}`]);
        }
        assert.equal(await countRows(db.selectFrom('artifacts')), 3);
      } finally {
        await handle.close();
      }
    });

    test('an upload advances by compare-and-set: of two concurrent writers from one offset, one wins', async () => {
      const { handle, store, repositoryId } = await seeded(open);
      try {
        await store.insertUpload('u1', repositoryId, 'sha256', now);
        const outcomes = await Promise.all([store.advanceUpload('u1', 0, 10, now), store.advanceUpload('u1', 0, 20, now)]);
        assert.deepEqual([...outcomes].sort(), [false, true]);
        const row = await store.findUpload('u1', 'p/repo');
        assert.equal(row?.size, outcomes[0] ? 10 : 20);
        assert.equal(await store.advanceUpload('u1', row!.size, 30, now), true);
      } finally {
        await handle.close();
      }
    });
  });
}
