import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { api } from '../helpers/api.js';
import { startChildBerth, type ChildBerth } from '../helpers/child-berth.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import type { TestServer } from '../helpers/server.js';
import { assertReadable, makeImage, tryPush, until, waitForGc, type PushedImage } from './common.js';

// kill -9 of the instance running a job, then a new instance on the same data (SQLite file,
// or a PostgreSQL database in the PostgreSQL pass). The job's lease lapses (jobs.lease_seconds)
// and the job does not stay "running": a lost attempt is given back (jobs/queue.ts), so the
// GC run, a job of one attempt, is run again by the new instance and ends in Success.
// Replication tasks are run again and arrive once: test/replication/e2e/resilience.test.ts.

let dataDir: string;
let database: TestDatabase | null = null;
const children: ChildBerth[] = [];

async function start(): Promise<ChildBerth> {
  const child = await startChildBerth(dataDir, {
    ...(database && { database: { url: database.url, max_connections: 5 } }),
    jobs: { concurrency: 2, poll_interval_ms: 100, lease_seconds: 3 },
    // Blobs and untagged artifacts are collectable at once (no grace window for uploads in flight).
    gc: { time_window_hours: 0 },
  });
  children.push(child);
  return child;
}

function blobFile(digest: string): string {
  const hex = digest.slice('sha256:'.length);
  return path.join(dataDir, 'storage', 'blobs', 'sha256', hex.slice(0, 2), hex);
}
const exists = (digest: string) =>
  stat(blobFile(digest)).then(
    () => true,
    () => false,
  );

describe('kill -9 during a job', { timeout: 300_000 }, () => {
  after(async () => {
    for (const c of children) await c.kill9();
    await database?.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  test('GC killed mid-run: the new instance runs it again to Success, its log naming the lost attempt; a next run sweeps nothing more, and nothing referenced is lost', async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'berth-faults-kill-'));
    database = await createTestDatabase();
    const first = await start();
    const kept: PushedImage[] = [];
    for (let i = 0; i < 5; i++) {
      const image = makeImage('library/kept', `v${i}`);
      assert.equal(await tryPush(first.url, image, first.admin), null);
      kept.push(image);
    }
    // Many untagged artifacts (pushed by digest): each is deleted by the GC run, one by one.
    const untagged: PushedImage[] = [];
    const pushers = Array.from({ length: 4 }, async (_, w) => {
      for (let i = 0; i < 20; i++) {
        const image = makeImage(`library/untagged${w}`, '', 512);
        image.tag = image.digest;
        assert.equal(await tryPush(first.url, image, first.admin), null);
        untagged.push(image);
      }
    });
    await Promise.all(pushers);

    const server = { url: first.url } as TestServer;
    const started = await api(server, 'POST', '/system/gc/schedule', {
      auth: first.admin.authorization,
      body: { schedule: { type: 'Manual' }, parameters: { delete_untagged: true, workers: 1 } },
    });
    assert.equal(started.status, 201, JSON.stringify(started.body));
    const id = Number(started.headers.get('location')!.match(/(\d+)$/)![1]);
    const seen = await until('the GC run to start or end', async () => {
      const run = await api(server, 'GET', `/system/gc/${id}`, { auth: first.admin.authorization });
      const status = (run.body as { job_status?: string }).job_status;
      return status === 'Running' || status === 'Success' || status === 'Error' ? status : undefined;
    });
    await first.kill9();

    const second = await start();
    const outcome = await waitForGc(second.url, second.admin.authorization, id, Date.now() + 60_000);
    console.log(`# GC run ${id} was ${seen} when the instance was killed; it ended ${outcome}`);
    if (seen === 'Running') {
      // Killed mid-run (unless it ended in the instant before the kill): run again to the end.
      assert.equal(outcome, 'Success');
      const log = await (await fetch(`${second.url}/api/v2.0/system/gc/${id}/log`, { headers: second.admin })).text();
      console.log(`# its log ${/attempt 1 was lost/.test(log) ? 'names the lost attempt' : 'shows it ended before the kill'}`);
    }
    // The next run completes, once.
    const again = await api({ url: second.url } as TestServer, 'POST', '/system/gc/schedule', {
      auth: second.admin.authorization,
      body: { schedule: { type: 'Manual' }, parameters: { delete_untagged: true, workers: 1 } },
    });
    assert.equal(again.status, 201, JSON.stringify(again.body));
    const againId = Number(again.headers.get('location')!.match(/(\d+)$/)![1]);
    assert.equal(await waitForGc(second.url, second.admin.authorization, againId, Date.now() + 90_000), 'Success');

    for (const image of kept) await assertReadable(second.url, image, second.admin);
    for (const image of kept) for (const blob of image.blobs) assert.ok(await exists(blob.digest), 'a referenced blob is kept');
    for (const image of untagged) {
      const res = await fetch(`${second.url}/v2/${image.repo}/manifests/${image.digest}`, { headers: second.admin });
      assert.equal(res.status, 404, 'the untagged artifact is gone');
      for (const blob of image.blobs) assert.equal(await exists(blob.digest), false, 'its blobs are swept');
    }
    const runs = await api({ url: second.url } as TestServer, 'GET', '/system/gc', { auth: second.admin.authorization });
    const statuses = (runs.body as { id: number; job_status: string }[]).map((r) => `${r.id}:${r.job_status}`);
    assert.equal(statuses.filter((s) => s.startsWith(`${againId}:`)).length, 1, statuses.join(' '));
    assert.equal(second.process.exitCode, null);
  });
});
