import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { Migrator, type Kysely, type Migration } from 'kysely';
import { openSqlite, type DatabaseHandle } from '../../src/db/index.js';
import { migrations } from '../../src/db/migrations/index.js';
import { QuotaUsage } from '../../src/quotas/usage.js';
import { createDatabaseOn, probePostgres } from '../helpers/database.js';
import { postgresHandle, postgresServer } from '../jobs/databases.js';

/**
 * 006_quotas counts what a database already holds: a Berth upgraded with pushed images
 * starts with the usage a recount gives, each digest once per project.
 */

const postgresUnavailable = (await probePostgres(postgresServer)) ?? undefined;

function migrator(handle: DatabaseHandle): Migrator {
  return new Migrator({
    db: handle.db,
    provider: {
      async getMigrations(): Promise<Record<string, Migration>> {
        return Object.fromEntries(
          Object.entries(migrations).map(([name, m]) => [name, { up: (db: Kysely<any>) => m.up(db, handle.dialect) }]),
        );
      },
    },
  });
}

async function check(handle: DatabaseHandle): Promise<void> {
  const m = migrator(handle);
  const before = await m.migrateTo('005_jobs');
  assert.equal(before.error, undefined);
  const db = handle.db as unknown as Kysely<any>;
  const now = new Date().toISOString();
  const project = async (name: string) =>
    Number(
      (
        await db
          .insertInto('projects')
          .values({ name, public: 0, created_at: now, updated_at: now })
          .returning('id')
          .executeTakeFirstOrThrow()
      ).id,
    );
  const repository = async (projectId: number, name: string) =>
    Number(
      (
        await db
          .insertInto('repositories')
          .values({ project_id: projectId, name, description: '', created_at: now, updated_at: now })
          .returning('id')
          .executeTakeFirstOrThrow()
      ).id,
    );
  const a = await project('a');
  const b = await project('b');
  const empty = await project('empty');
  const a1 = await repository(a, 'a/one');
  const a2 = await repository(a, 'a/two');
  const b1 = await repository(b, 'b/one');
  const blob = (n: number) => `sha256:${String(n).padStart(64, '0')}`;
  await db
    .insertInto('blobs')
    .values([1, 2, 3].map((n) => ({ digest: blob(n), size: n * 1000, created_at: now })))
    .execute();
  // Blob 1 in both repositories of a (counts once), 2 in a only, 1 and 3 in b.
  await db
    .insertInto('repository_blobs')
    .values([
      { repository_id: a1, digest: blob(1), created_at: now },
      { repository_id: a2, digest: blob(1), created_at: now },
      { repository_id: a1, digest: blob(2), created_at: now },
      { repository_id: b1, digest: blob(1), created_at: now },
      { repository_id: b1, digest: blob(3), created_at: now },
    ])
    .execute();
  // One manifest in two repositories of a (counts once), 250 bytes.
  const manifest = Buffer.alloc(250, 7);
  for (const repositoryId of [a1, a2]) {
    await db
      .insertInto('artifacts')
      .values({
        repository_id: repositoryId,
        digest: blob(9),
        media_type: 'application/vnd.oci.image.manifest.v1+json',
        artifact_type: null,
        size: 3250,
        manifest,
        subject_digest: null,
        annotations: null,
        push_time: now,
        pull_time: null,
      })
      .execute();
  }
  const after = await m.migrateToLatest();
  assert.equal(after.error, undefined, String(after.error));
  const quota = new QuotaUsage(handle.dialect, { warningPercent: 85 });
  assert.equal(await quota.used(handle.db, a), 1000 + 2000 + 250);
  assert.equal(await quota.used(handle.db, b), 1000 + 3000);
  assert.equal(await quota.used(handle.db, empty), 0);
  for (const id of [a, b, empty]) assert.equal(await quota.used(handle.db, id), await quota.recount(handle.db, id));
}

describe('migration 006 counts existing data', () => {
  test('SQLite', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'berth-quota-migration-'));
    const handle = openSqlite(path.join(dir, 'berth.db'));
    try {
      await check(handle);
    } finally {
      await handle.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('PostgreSQL', { skip: postgresUnavailable && process.env.CI !== 'true' ? postgresUnavailable : false }, async () => {
    const created = await createDatabaseOn(postgresServer);
    const handle = postgresHandle(created.url);
    try {
      await check(handle);
    } finally {
      await handle.close();
      await created.drop();
    }
  });
});
