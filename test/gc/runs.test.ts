import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { blobLocksFor } from '../../src/db/blob-locks.js';
import { gcJobType } from '../../src/gc/service.js';
import { api } from '../helpers/api.js';
import type { TestServer } from '../helpers/server.js';
import { V2 } from '../helpers/v2.js';
import { waitFor } from '../jobs/databases.js';
import { blobRows, eachBackend, getRun, startGc, waitForRun } from './helpers.js';

/**
 * Pushes `count` blobs and deletes them from the repository again (DELETE /v2/…/blobs/…): no
 * link and no artifact holds them, so with the window at 0 they are garbage for the sweep
 * straight away. Returns their digests, sorted.
 */
async function garbage(server: TestServer, repo: string, count: number): Promise<string[]> {
  const v2 = new V2(server);
  const digests: string[] = [];
  for (let i = 0; i < count; i++) {
    const digest = await v2.pushBlob(repo, randomBytes(64));
    const del = await v2.call('DELETE', `/v2/${repo}/blobs/${digest}`);
    assert.equal(del.status, 202, del.text);
    digests.push(digest);
  }
  return digests.sort();
}

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * Holds a shared lock on a digest, as an upload completing would, until released: the
 * sweep's batch that holds the digest waits for it.
 */
function holdShared(server: TestServer, digest: string) {
  const release = deferred();
  const held = deferred();
  const locks = blobLocksFor(server.berth.database.db, server.berth.database.dialect);
  const done = locks.run('shared', [digest], async () => undefined, {
    before: async () => {
      held.resolve();
      await release.promise;
    },
  });
  return { held: held.promise, release: () => release.resolve(), done };
}

const logOf = async (server: TestServer, id: number) =>
  String((await api(server, 'GET', `/system/gc/${id}/log`, { auth: server.admin.authorization })).body);

eachBackend(
  'garbage collection runs',
  { 'gc.time_window_hours': 0, 'jobs.poll_interval_ms': 20 },
  (backend) => {
    test('a running GC stops when asked: it ends Stopped with what it removed so far, the rest stays for the next run', async () => {
      const { server } = backend();
      // Two sweep batches (250 each): the first waits on the lock below.
      const digests = await garbage(server, 'library/gc-stop', 300);
      // The first sweep batch (the lowest digests) waits on this lock: the run is mid-sweep.
      const hold = holdShared(server, digests[0]);
      await hold.held;
      const id = await startGc(server, { workers: 1 });
      try {
        await waitFor(
          () => logOf(server, id),
          (log) => /eligible for deletion/.test(log),
          'the sweep to start',
        );
        assert.equal((await getRun(server, id)).status, 'Running');
        const stop = await api(server, 'PUT', `/system/gc/${id}`, { auth: server.admin.authorization });
        assert.equal(stop.status, 200);
        // On PostgreSQL the run may be on the other instance, which hears of the stop at its next heartbeat.
        await waitFor(
          () => logOf(server, id),
          (log) => /stop received/.test(log),
          'the run to hear of the stop',
        );
      } finally {
        hold.release();
        await hold.done;
      }
      const run = await waitForRun(server, id);
      assert.equal(run.status, 'Stopped');
      assert.ok(run.parameters.purged_blobs < digests.length, `it stopped before the end: ${JSON.stringify(run.parameters)}`);
      const rows = await blobRows(server);
      const left = digests.filter((d) => rows.has(d)).length;
      assert.equal(left, digests.length - run.parameters.purged_blobs, 'what it reports is what it removed');
      assert.match(await logOf(server, id), /stop requested[\s\S]*stopped; results so far/);

      const next = await waitForRun(server, await startGc(server, {}));
      assert.equal(next.status, 'Success');
      assert.equal(next.parameters.purged_blobs, left, 'the next run sweeps the rest');
      for (const d of digests) assert.equal((await blobRows(server)).has(d), false);
    });

    test('at most one run collects at a time, across instances: a second run started beside it ends Error and removes nothing', async () => {
      const { server, second } = backend();
      const other = second ?? server;
      const digests = await garbage(server, 'library/gc-one-at-a-time', 20);
      const hold = holdShared(server, digests[0]);
      await hold.held;
      const first = await startGc(server, {});
      await waitFor(
        () => logOf(server, first),
        (log) => /eligible for deletion/.test(log),
        'the first run to sweep',
      );
      // Straight onto the queue, past the API's 409, and onto the other instance if there is one.
      const queue = other.berth.jobs.queue;
      const rival = await queue.enqueue(gcJobType, { trigger: 'MANUAL', operator: 'test', parameters: { workers: 4 } }, { maxAttempts: 1 });
      try {
        // Its history row appears when its handler starts (it went straight onto the queue).
        await waitFor(
          () => api(server, 'GET', `/system/gc/${rival}`, { auth: server.admin.authorization }),
          (res) => res.status === 200 && res.body.job_status === 'Error',
          'the second run to end',
        );
        const rivalRun = await getRun(server, rival);
        assert.match(await logOf(server, rival), new RegExp(`garbage collection ${first} is running; at most one runs at a time`));
        assert.equal(rivalRun.parameters.purged_blobs, 0);
      } finally {
        hold.release();
        await hold.done;
      }
      const run = await waitForRun(server, first);
      assert.equal(run.status, 'Success');
      assert.equal(run.parameters.purged_blobs, digests.length, 'the first run swept everything itself');
    });

    test('a run whose instance died gives way: the next run collects', async () => {
      const { server } = backend();
      const digests = await garbage(server, 'library/gc-died', 5);
      // A run marked as collecting whose job is not running (its instance died, its lease ended).
      const db = server.berth.database.db;
      const ghost = await server.berth.jobs.queue.enqueue('gc.ghost', {});
      await server.berth.jobs.queue.cancel(ghost);
      const now = new Date().toISOString();
      await db
        .insertInto('gc_runs')
        .values({
          job_id: ghost,
          trigger: 'MANUAL',
          operator: 'test',
          parameters: '{}',
          results: null,
          status: 'Running',
          active: 1,
          created_at: now,
          updated_at: now,
        })
        .execute();
      const run = await waitForRun(server, await startGc(server, {}));
      assert.equal(run.status, 'Success');
      assert.equal(run.parameters.purged_blobs, digests.length);
      await db.deleteFrom('gc_runs').where('job_id', '=', ghost).execute();
    });
  },
  { secondInstance: true },
);
