import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql, type Transaction } from 'kysely';
import type { Database } from '../../src/db/types.js';
import { QuotaExceeded, QuotaUsage } from '../../src/quotas/usage.js';
import { createTestDatabase, waitFor, type TestDatabase } from '../jobs/databases.js';
import { probePostgres } from '../helpers/database.js';
import { postgresServer } from '../jobs/databases.js';

/**
 * Concurrency on PostgreSQL (READ COMMITTED), where transactions run side by side: the
 * admission rule near the limit, no shared row far from it, and a linker and an unlinker of
 * the same digest. (SQLite runs one write transaction at a time: nothing to race.) Every
 * test holds transactions open on purpose and waits, through pg_stat_activity, until the
 * other one is blocked, so that the outcome proves the ordering without timing anything.
 */

const unavailable = (await probePostgres(postgresServer)) ?? undefined;
const skip = unavailable !== undefined && process.env.CI !== 'true' ? unavailable : false;

type Tx = Transaction<Database>;

describe('quota usage under concurrent transactions (postgres)', { skip }, () => {
  let database: TestDatabase;
  let quota: QuotaUsage;
  let next = 0;

  before(async () => {
    database = await createTestDatabase('postgres');
    quota = new QuotaUsage(database.handle.dialect, { warningPercent: 85 });
  });
  after(async () => {
    await database?.drop();
  });

  const db = () => database.handle.db;

  async function project(limit: number): Promise<{ projectId: number; repositories: number[] }> {
    next += 1;
    const now = new Date().toISOString();
    const p = await db()
      .insertInto('projects')
      .values({ name: `p${next}`, public: 0, owner_id: null, storage_limit: limit, created_at: now, updated_at: now })
      .returning('id')
      .executeTakeFirstOrThrow();
    const repositories: number[] = [];
    for (const r of ['a', 'b']) {
      const row = await db()
        .insertInto('repositories')
        .values({ project_id: Number(p.id), name: `p${next}/${r}`, description: '', created_at: now, updated_at: now })
        .returning('id')
        .executeTakeFirstOrThrow();
      repositories.push(Number(row.id));
    }
    return { projectId: Number(p.id), repositories };
  }

  const digest = (n: number) => `sha256:${n.toString(16).padStart(64, '0')}`;

  /** Inserts the blob row and the repository's link, then tells the quota, as the registry does. */
  async function link(tx: Tx, repositoryId: number, d: string, size: number): Promise<void> {
    const now = new Date().toISOString();
    await tx
      .insertInto('blobs')
      .values({ digest: d, size, created_at: now })
      .onConflict((oc) => oc.column('digest').doNothing())
      .execute();
    await tx.insertInto('repository_blobs').values({ repository_id: repositoryId, digest: d, created_at: now }).execute();
    await quota.linked(tx, repositoryId, [{ digest: d, size }]);
  }

  /** Runs `work` in a transaction kept open until `commit()`; `done` settles with the transaction. */
  function open(work: (tx: Tx) => Promise<void>) {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let worked!: () => void;
    const ready = new Promise<void>((resolve) => (worked = resolve));
    const done = db()
      .transaction()
      .execute(async (tx) => {
        await work(tx);
        worked();
        await gate;
      });
    // A failure before `ready` must still surface.
    done.catch(() => worked());
    return { ready, done, commit: release };
  }

  /** Waits until some session of this database waits for a lock of the given kind. */
  async function blockedOn(kind: 'advisory' | 'transactionid' | 'tuple'): Promise<void> {
    await waitFor(
      async () => {
        const { rows } = await sql<{ n: number }>`
          select count(*) as n from pg_stat_activity
           where datname = current_database() and wait_event_type = 'Lock' and wait_event = ${kind}`.execute(db());
        return Number(rows[0].n);
      },
      (n) => n > 0,
      `a session waiting on a ${kind} lock`,
    );
  }

  async function used(projectId: number): Promise<number> {
    return quota.used(db(), projectId);
  }

  test('far from the limit, two pushes do not wait for each other: each adds to a usage row the other does not hold', async () => {
    for (const limit of [-1, 1024 ** 4]) {
      const { projectId, repositories } = await project(limit);
      const first = open((tx) => link(tx, repositories[0], digest(++next), 1000));
      await first.ready;
      // While the first transaction is open (holding its usage row and, if limited, a slot),
      // a second one into the same project completes.
      await db()
        .transaction()
        .execute((tx) => link(tx, repositories[1], digest(++next), 2000));
      first.commit();
      await first.done;
      assert.equal(await used(projectId), 3000);
      assert.equal(await quota.recount(db(), projectId), 3000);
      const rows = await db().selectFrom('quota_usage').select('shard').where('project_id', '=', projectId).execute();
      assert.equal(rows.length, 2, 'the second push took a row of its own instead of waiting for the first');
    }
  });

  test('near the limit, a second push waits for the first and is then refused: both cannot pass', async () => {
    const { projectId, repositories } = await project(1500);
    const first = open((tx) => link(tx, repositories[0], digest(++next), 1000));
    await first.ready;
    const second = db()
      .transaction()
      .execute((tx) => link(tx, repositories[1], digest(++next), 1000));
    second.catch(() => undefined);
    await blockedOn('advisory');
    first.commit();
    await first.done;
    await assert.rejects(second, (err: unknown) => {
      assert.ok(err instanceof QuotaExceeded);
      assert.equal(
        (err as Error).message,
        'adding 1000 B of storage resource, which when updated to current usage of 1000 B will exceed the configured upper limit of 1.5 KiB.',
      );
      return true;
    });
    assert.equal(await used(projectId), 1000);
    assert.equal(await quota.recount(db(), projectId), 1000);
  });

  test('a limit change waits for the pushes admitted under the old limit', async () => {
    const { projectId, repositories } = await project(10_000);
    const push = open((tx) => link(tx, repositories[0], digest(++next), 9000));
    await push.ready;
    const change = db()
      .transaction()
      .execute((tx) => quota.setLimit(tx, projectId, 5000, new Date().toISOString()));
    await blockedOn('advisory');
    push.commit();
    await Promise.all([push.done, change]);
    assert.equal(await used(projectId), 9000, 'a lowered limit deletes nothing');
    await assert.rejects(
      db()
        .transaction()
        .execute((tx) => link(tx, repositories[1], digest(++next), 1)),
      QuotaExceeded,
    );
  });

  for (const slots of [16, 2]) {
    test(`200 concurrent pushes of 1000 bytes under a 128000-byte limit (${slots} slots): exactly 128 pass, usage exact`, async () => {
      const q = new QuotaUsage(database.handle.dialect, { warningPercent: 85, slots });
      const { projectId, repositories } = await project(128_000);
      const other = database.connect();
      const outcomes = await Promise.allSettled(
        Array.from({ length: 200 }, (_, i) =>
          (i % 2 === 0 ? db() : other.db).transaction().execute(async (tx) => {
            const d = digest(++next);
            const now = new Date().toISOString();
            await tx.insertInto('blobs').values({ digest: d, size: 1000, created_at: now }).execute();
            await tx
              .insertInto('repository_blobs')
              .values({ repository_id: repositories[i % 2], digest: d, created_at: now })
              .execute();
            await q.linked(tx, repositories[i % 2], [{ digest: d, size: 1000 }]);
          }),
        ),
      );
      const refused = outcomes.filter((o) => o.status === 'rejected');
      for (const r of refused)
        assert.ok((r as PromiseRejectedResult).reason instanceof QuotaExceeded, String((r as PromiseRejectedResult).reason));
      assert.equal(outcomes.length - refused.length, 128);
      assert.equal(await q.used(db(), projectId), 128_000);
      assert.equal(await q.recount(db(), projectId), 128_000);
    });
  }

  test('an unlinker and a linker of one digest in one project: the row goes only if no repository holds the digest', async () => {
    // The unlinker first: it removes the row; the linker, blocked on it, then inserts it again.
    {
      const { projectId, repositories } = await project(-1);
      const d = digest(++next);
      await db()
        .transaction()
        .execute((tx) => link(tx, repositories[0], d, 700));
      const unlink = open(async (tx) => {
        await tx.deleteFrom('repository_blobs').where('repository_id', '=', repositories[0]).where('digest', '=', d).execute();
        await quota.unlinked(tx, repositories[0], [d]);
      });
      await unlink.ready;
      const relink = db()
        .transaction()
        .execute((tx) => link(tx, repositories[1], d, 700));
      await blockedOn('transactionid');
      unlink.commit();
      await Promise.all([unlink.done, relink]);
      assert.equal(await used(projectId), 700);
      assert.equal(await quota.recount(db(), projectId), 700);
    }
    // The linker first (its link not yet committed): the unlinker waits for it, then finds the link and keeps the row.
    {
      const { projectId, repositories } = await project(-1);
      const d = digest(++next);
      await db()
        .transaction()
        .execute((tx) => link(tx, repositories[0], d, 700));
      const relink = open((tx) => link(tx, repositories[1], d, 700));
      await relink.ready;
      const unlink = db()
        .transaction()
        .execute(async (tx) => {
          await tx.deleteFrom('repository_blobs').where('repository_id', '=', repositories[0]).where('digest', '=', d).execute();
          await quota.unlinked(tx, repositories[0], [d]);
        });
      await blockedOn('transactionid');
      relink.commit();
      await Promise.all([relink.done, unlink]);
      assert.equal(await used(projectId), 700);
      assert.equal(await quota.recount(db(), projectId), 700);
    }
  });
});
