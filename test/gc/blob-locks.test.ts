import assert from 'node:assert/strict';
import { test } from 'node:test';
import { blobLocksFor, lockKey } from '../../src/db/blob-locks.js';
import { KeyedRwLock } from '../../src/db/rw-lock.js';
import { eachDatabase } from '../jobs/databases.js';

const d1 = `sha256:${'1'.repeat(64)}`;
const d2 = `sha256:${'2'.repeat(64)}`;
const tick = () => new Promise((resolve) => setTimeout(resolve, 20));

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

test('readers share a key; a writer waits for them, and readers that come after a waiting writer wait behind it', async () => {
  const lock = new KeyedRwLock();
  const events: string[] = [];
  const r1 = await lock.acquire(['a'], 'shared');
  const r2 = await lock.acquire(['a'], 'shared');
  const writer = lock.acquire(['a'], 'exclusive').then((release) => {
    events.push('writer');
    return release;
  });
  const lateReader = lock.acquire(['a'], 'shared').then((release) => {
    events.push('late reader');
    return release;
  });
  await tick();
  assert.deepEqual(events, [], 'the writer waits for both readers, the late reader for the writer');
  r1();
  await tick();
  assert.deepEqual(events, []);
  r2();
  const releaseWriter = await writer;
  await tick();
  assert.deepEqual(events, ['writer']);
  releaseWriter();
  (await lateReader)();
  assert.deepEqual(events, ['writer', 'late reader']);
  assert.equal(lock.size, 0, 'nothing is left behind');
});

test('keys are taken in sorted order, so two holders of overlapping sets never deadlock', async () => {
  const lock = new KeyedRwLock();
  const done: string[] = [];
  await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      lock.acquire(i % 2 === 0 ? ['x', 'y', 'z'] : ['z', 'y', 'x'], 'exclusive').then(async (release) => {
        await tick();
        done.push(String(i));
        release();
      }),
    ),
  );
  assert.equal(done.length, 20);
  assert.equal(lock.size, 0);
});

test('a lock key is the first 64 bits of the digest, signed, and the same for the same digest', () => {
  assert.equal(lockKey(`sha256:${'0'.repeat(15)}1${'f'.repeat(48)}`), 1n);
  assert.equal(lockKey(`sha256:ffffffffffffffff${'0'.repeat(48)}`), -1n);
  assert.equal(lockKey(d1), lockKey(d1));
  assert.throws(() => lockKey('sha256:xyz'), /not a digest/);
});

eachDatabase('blob locks', (db) => {
  test('an exclusive holder keeps shared ones out until its storage work after the writes is done', async () => {
    const a = blobLocksFor(db().handle.db, db().handle.dialect);
    const other = db().connect();
    // Another instance: its own pool on PostgreSQL; the same process (and locks) on SQLite.
    const b = blobLocksFor(other.db, other.dialect);
    const release = deferred();
    const events: string[] = [];
    const sweeping = a.run(
      'exclusive',
      [d1, d2],
      async () => {
        events.push('sweep writes');
        return 'swept';
      },
      {
        after: async () => {
          await release.promise;
          events.push('sweep storage');
        },
      },
    );
    await tick();
    const pushing = b.run(
      'shared',
      [d2],
      async () => {
        events.push('push writes');
      },
      { before: async () => void events.push('push publish') },
    );
    const unrelated = b.run('shared', [`sha256:${'3'.repeat(64)}`], async () => void events.push('other blob'));
    await unrelated;
    await tick();
    assert.deepEqual(events, ['sweep writes', 'other blob'], 'the push waits; another blob does not');
    release.resolve();
    assert.equal(await sweeping, 'swept');
    await pushing;
    assert.deepEqual(events, ['sweep writes', 'other blob', 'sweep storage', 'push publish', 'push writes']);
  });

  test('shared holders run side by side, and a failure in the storage work rolls the writes back on PostgreSQL', async () => {
    const locks = blobLocksFor(db().handle.db, db().handle.dialect);
    const both = deferred();
    let inside = 0;
    // Held in the storage work before the writes (on SQLite the transactions themselves take turns).
    const holder = () =>
      locks.run('shared', [d1], async () => undefined, {
        before: async () => {
          inside += 1;
          if (inside === 2) both.resolve();
          await both.promise;
        },
      });
    await Promise.all([holder(), holder()]);
    assert.equal(inside, 2, 'both held the shared lock at once');

    const now = new Date().toISOString();
    await assert.rejects(
      locks.run(
        'exclusive',
        [d1],
        async (tx) => {
          await tx.insertInto('blobs').values({ digest: d1, size: 1, created_at: now }).execute();
        },
        {
          after: async () => {
            throw new Error('storage failed');
          },
        },
      ),
      /storage failed/,
    );
    const row = await db().handle.db.selectFrom('blobs').select('digest').where('digest', '=', d1).executeTakeFirst();
    // PostgreSQL: the storage work is inside the transaction. SQLite: after the commit.
    assert.equal(row !== undefined, db().dialect === 'sqlite');
    await db().handle.db.deleteFrom('blobs').where('digest', '=', d1).execute();
  });
});
