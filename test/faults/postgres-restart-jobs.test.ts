import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { api } from '../helpers/api.js';
import { startChildBerth, type ChildBerth } from '../helpers/child-berth.js';
import { testPostgresServer } from '../helpers/database.js';
import { requirePrivatePostgres, startPrivatePostgres, type PrivatePostgres } from '../helpers/private-postgres.js';
import type { TestServer } from '../helpers/server.js';
import {
  assertReadable,
  createKeepPolicy,
  makeImage,
  pushKeepAndDrop,
  runGc,
  tryPush,
  until,
  waitForRetention,
  type PushedImage,
} from './common.js';

// PostgreSQL restarted while a long job runs (its own cluster: the machine's shared server is
// never restarted). A tag retention run deletes hundreds of artifacts one by one, each in its
// own transaction; the database goes away in the middle of it. Runs in the PostgreSQL pass of
// the suite (BERTH_TEST_DATABASE_URL set).
const skip = testPostgresServer() === undefined ? 'runs in the PostgreSQL pass (BERTH_TEST_DATABASE_URL)' : requirePrivatePostgres();

let cluster: PrivatePostgres;
let dataDir: string;
let berth: ChildBerth;

describe('PostgreSQL restarted while a job runs', { skip, timeout: 300_000 }, () => {
  before(async () => {
    cluster = await startPrivatePostgres();
    dataDir = await mkdtemp(path.join(tmpdir(), 'berth-faults-pg-jobs-'));
    berth = await startChildBerth(dataDir, {
      database: { url: cluster.url, max_connections: 5 },
      jobs: { concurrency: 2, poll_interval_ms: 100, lease_seconds: 4 },
      gc: { time_window_hours: 0 },
    });
  });

  after(async () => {
    await berth?.stop();
    await cluster?.destroy();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  test('retention run during a restart: the run ends Success with its tasks once, exactly the selected artifacts deleted, the retained ones pullable, the same process serves on', async () => {
    const auth = berth.admin.authorization;
    const server = { url: berth.url } as TestServer;
    const policyId = await createKeepPolicy(berth.url, auth, 'pgretain');
    const repos = ['pgretain/a', 'pgretain/b'];
    const kept: PushedImage[] = [];
    const dropped: PushedImage[] = [];
    const pushMore = (drops: number) => pushKeepAndDrop(berth.url, berth.admin, repos, drops, kept, dropped);
    const count = async () => {
      const res = await api(server, 'GET', '/projects/pgretain/repositories?page_size=100', { auth });
      return new Map((res.body as { name: string; artifact_count: number }[]).map((r) => [r.name, r.artifact_count]));
    };

    let restarted = false;
    for (let round = 1; round <= 3 && !restarted; round++) {
      await pushMore(60 * round);
      const before = await count();
      const keptPerRepo = kept.length / repos.length;
      const triggered = await api(server, 'POST', `/retentions/${policyId}/executions`, { auth, body: { dry_run: false } });
      assert.equal(triggered.status, 201, JSON.stringify(triggered.body));
      const executionId = Number(triggered.headers.get('location')!.split('/').pop());
      // Mid-run: a repository's deletions have begun and are far from done.
      const seen = await until('the retention run to be deleting', async () => {
        const now = await count();
        const deleting = [...now].find(([name, n]) => n < before.get(name)! && n > keptPerRepo + 10);
        if (deleting) return `${deleting[0]}: ${deleting[1]} of ${before.get(deleting[0])} artifacts left`;
        return [...now.values()].every((n) => n === keptPerRepo) ? 'ended' : undefined;
      });
      if (seen === 'ended') {
        console.log(`# round ${round}: the run ended before it was seen deleting; again with more artifacts`);
        continue;
      }
      // A crash of the database server: sessions cut mid-transaction, no checkpoint.
      await cluster.stop('immediate');
      await cluster.start();
      restarted = true;

      const { execution, tasks } = await waitForRetention(berth.url, auth, policyId, executionId);
      console.log(
        `# round ${round}: PostgreSQL restarted while ${seen}; the run ended ${execution.status}; tasks ${JSON.stringify(tasks.map((t) => [t.repository, t.status, t.total, t.retained]))}`,
      );
      assert.equal(execution.status, 'Success');
      assert.deepEqual(tasks.map((t) => t.repository).sort(), ['a', 'b'], 'one task per repository');
      for (const t of tasks) assert.equal(t.status, 'Success', JSON.stringify(t));
      for (const image of kept) await assertReadable(berth.url, image, berth.admin);
      for (const image of dropped) {
        const res = await fetch(`${berth.url}/v2/${image.repo}/manifests/${image.tag}`, { method: 'HEAD', headers: berth.admin });
        assert.equal(res.status, 404, `${image.repo}:${image.tag} was deleted`);
      }
      const after = await count();
      for (const repo of repos) assert.equal(after.get(repo), keptPerRepo, `${repo} holds the retained artifacts only`);
    }
    assert.ok(restarted, 'PostgreSQL was restarted in the middle of a run in one of three rounds');
    assert.equal(berth.process.exitCode, null, `Berth kept running:\n${berth.output.join('').slice(-4000)}`);
  });

  test('retention run whose database sessions are ended mid-run (as a restart ends them): each deletion cut is tried again, the run ends Success, exactly the selected artifacts deleted', async () => {
    const auth = berth.admin.authorization;
    const server = { url: berth.url } as TestServer;
    const policyId = await createKeepPolicy(berth.url, auth, 'pgcut');
    const kept: PushedImage[] = [];
    const dropped: PushedImage[] = [];
    for (let i = 0; i < 3; i++) {
      const image = makeImage('pgcut/a', `keep-${i}`, 256);
      assert.equal(await tryPush(berth.url, image, berth.admin), null);
      kept.push(image);
    }
    for (let i = 0; i < 80; i++) {
      const image = makeImage('pgcut/a', `drop-${i}`, 256);
      assert.equal(await tryPush(berth.url, image, berth.admin), null);
      dropped.push(image);
    }
    const count = async () =>
      ((await api(server, 'GET', '/projects/pgcut/repositories', { auth })).body as { artifact_count: number }[])[0].artifact_count;
    const triggered = await api(server, 'POST', `/retentions/${policyId}/executions`, { auth, body: { dry_run: false } });
    assert.equal(triggered.status, 201, JSON.stringify(triggered.body));
    const executionId = Number(triggered.headers.get('location')!.split('/').pop());
    const left = await until('the retention run to be deleting', async () => {
      const n = await count();
      return n < 83 && n > 20 ? n : undefined;
    });
    // The server stays up; every session Berth has open is ended under it (57P01), mid-statement or mid-transaction.
    const admin = new pg.Client({ connectionString: cluster.url });
    await admin.connect();
    const ended = await admin.query(
      "select pg_terminate_backend(pid) from pg_stat_activity where pid <> pg_backend_pid() and backend_type = 'client backend'",
    );
    await admin.end();
    const { execution, tasks } = await waitForRetention(berth.url, auth, policyId, executionId);
    const log = await (
      await fetch(`${berth.url}/api/v2.0/retentions/${policyId}/executions/${executionId}/tasks/${tasks[0].id}`, { headers: berth.admin })
    ).text();
    console.log(
      `# ${ended.rowCount} session(s) ended with ${left} artifacts left; the run ended ${execution.status}; tasks ${JSON.stringify(tasks.map((t) => [t.repository, t.status, t.total, t.retained]))}`,
    );
    assert.equal(
      execution.status,
      'Success',
      log
        .split('\n')
        .filter((l) => /FAILED/.test(l))
        .join('\n'),
    );
    assert.equal(tasks.length, 1);
    assert.equal(tasks[0].status, 'Success');
    assert.doesNotMatch(log, /FAILED/);
    for (const image of kept) await assertReadable(berth.url, image, berth.admin);
    for (const image of dropped) {
      const res = await fetch(`${berth.url}/v2/${image.repo}/manifests/${image.tag}`, { method: 'HEAD', headers: berth.admin });
      assert.equal(res.status, 404, `${image.repo}:${image.tag} was deleted`);
    }
    assert.equal(berth.process.exitCode, null);
  });

  test('GC during a restart: the run ends Success (run again if the restart cut it), the next run finds nothing more, the retained artifacts stay whole', async () => {
    const auth = berth.admin.authorization;
    const kept: PushedImage[] = [];
    for (let i = 0; i < 3; i++) {
      const image = makeImage('library/pgkept', `v${i}`);
      assert.equal(await tryPush(berth.url, image, berth.admin), null);
      kept.push(image);
    }
    const untagged: PushedImage[] = [];
    await Promise.all(
      Array.from({ length: 4 }, async (_, w) => {
        for (let i = 0; i < 40; i++) {
          const image = makeImage(`library/pguntagged${w}`, '', 512);
          image.tag = image.digest;
          assert.equal(await tryPush(berth.url, image, berth.admin), null);
          untagged.push(image);
        }
      }),
    );
    const server = { url: berth.url } as TestServer;
    const started = await api(server, 'POST', '/system/gc/schedule', {
      auth,
      body: { schedule: { type: 'Manual' }, parameters: { delete_untagged: true, workers: 1 } },
    });
    assert.equal(started.status, 201, JSON.stringify(started.body));
    const id = Number(started.headers.get('location')!.match(/(\d+)$/)![1]);
    const seen = await until('the GC run to start or end', async () => {
      const status = (await api(server, 'GET', `/system/gc/${id}`, { auth })).body?.job_status as string | undefined;
      return status === 'Running' || status === 'Success' || status === 'Error' ? status : undefined;
    });
    await cluster.stop('immediate');
    await cluster.start();
    const outcome = await until(
      'the GC run to end',
      async () => {
        const status = (await api(server, 'GET', `/system/gc/${id}`, { auth })).body?.job_status as string | undefined;
        return status === 'Success' || status === 'Error' || status === 'Stopped' ? status : undefined;
      },
      120_000,
    );
    const log = await (await fetch(`${berth.url}/api/v2.0/system/gc/${id}/log`, { headers: berth.admin })).text();
    console.log(`# GC run ${id} was ${seen} when PostgreSQL was restarted; it ended ${outcome}`);
    assert.equal(outcome, 'Success', log.slice(-3000));
    const again = await runGc(berth.url, auth);
    assert.equal(again.status, 'Success');
    for (const image of kept) await assertReadable(berth.url, image, berth.admin);
    for (const image of untagged) {
      const res = await fetch(`${berth.url}/v2/${image.repo}/manifests/${image.digest}`, { method: 'HEAD', headers: berth.admin });
      assert.equal(res.status, 404, 'the untagged artifact is gone');
    }
    assert.equal(berth.process.exitCode, null, `Berth kept running:\n${berth.output.join('').slice(-4000)}`);
  });
});
