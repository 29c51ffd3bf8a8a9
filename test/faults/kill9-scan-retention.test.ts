import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { api } from '../helpers/api.js';
import { startChildBerth, type ChildBerth } from '../helpers/child-berth.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import type { TestServer } from '../helpers/server.js';
import { artifactPath, debianImage, pushBuilt, vulnerabilityMime } from '../scanning/scans/helpers.js';
import { assertReadable, createKeepPolicy, pushKeepAndDrop, until, waitForRetention, type PushedImage } from './common.js';

// kill -9 of the instance in the middle of a vulnerability scan and of a tag retention run,
// then a new instance on the same data (the SQLite file, or the PostgreSQL database in the
// PostgreSQL pass). The killed job's lease lapses (jobs.lease_seconds), the lost attempt is
// given back (jobs/queue.ts expireLeases) and the new instance runs the job again to its end:
// what a client then sees is the run ended Success, once, with nothing lost and nothing twice.

const skipScan = existsSync('/var/lib/dpkg/status') ? false : 'scans an image of this machine’s dpkg database (/var/lib/dpkg/status)';

const dataDirs: string[] = [];
const databases: TestDatabase[] = [];
const children: ChildBerth[] = [];

interface Setup {
  dataDir: string;
  database: TestDatabase | null;
}

async function setup(): Promise<Setup> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'berth-faults-kill-'));
  dataDirs.push(dataDir);
  const database = await createTestDatabase();
  if (database) databases.push(database);
  return { dataDir, database };
}

async function start(s: Setup, extra: Record<string, unknown> = {}): Promise<ChildBerth> {
  const child = await startChildBerth(s.dataDir, {
    ...(s.database && { database: { url: s.database.url, max_connections: 5 } }),
    jobs: { concurrency: 2, poll_interval_ms: 100, lease_seconds: 3 },
    ...extra,
  });
  children.push(child);
  return child;
}

const serverOf = (child: ChildBerth) => ({ url: child.url, admin: child.admin }) as unknown as TestServer;

/** The job's log as a client reads it (GET /jobservice/jobs/{id}/log). */
async function jobLog(child: ChildBerth, jobId: number | string): Promise<string> {
  const res = await fetch(`${child.url}/api/v2.0/jobservice/jobs/${jobId}/log`, { headers: child.admin });
  assert.equal(res.status, 200, `the log of job ${jobId}`);
  return res.text();
}

const lostAttempt = /attempt \d+ was lost/;

interface ScanAllMetrics {
  total?: number;
  completed?: number;
  ongoing?: boolean;
  metrics?: Record<string, number>;
}

describe('kill -9 during a scan and a retention run', { timeout: 600_000 }, () => {
  after(async () => {
    for (const c of children) await c.kill9();
    for (const d of databases) await d.drop();
    for (const d of dataDirs) await rm(d, { recursive: true, force: true });
  });

  test(
    'scan killed mid-run: the new instance scans again to Success; each artifact has one report, stored once, and the scan-all run counts each once',
    { skip: skipScan },
    async () => {
      const s = await setup();
      // One scan at a time, so that the run lasts and the kill lands inside a scan.
      let first = await start(s, { scanning: { concurrency: 1 } });
      const repos: string[] = [];
      const pushMore = async (n: number) => {
        for (let i = 0; i < n; i++) {
          const repo = `library/scan${repos.length}`;
          await pushBuilt(serverOf(first), repo, 'v1', await debianImage({ repo }));
          repos.push(repo);
        }
      };
      await pushMore(30);
      // A scan killed mid-run shows in its log ('attempt 1 was lost'). Should every scan under
      // way have ended in the instant before the kill, the round is done again with more artifacts.
      let cut = 0;
      for (let round = 1; round <= 3 && cut === 0; round++) {
        if (round > 1) await pushMore(20);
        const started = await api(serverOf(first), 'POST', '/system/scanAll/schedule', {
          auth: first.admin.authorization,
          body: { schedule: { type: 'Manual' } },
        });
        assert.equal(started.status, 201, JSON.stringify(started.body));
        // Mid-run: some artifacts scanned, one under way (its report Running), most still to go.
        const seen = await until('the scan-all run to be under way', async () => {
          const m = (await api<ScanAllMetrics>(serverOf(first), 'GET', '/scans/all/metrics', { auth: first.admin.authorization })).body;
          if (m.ongoing === false) return m;
          const midway = (m.completed ?? 0) >= 1 && (m.completed ?? 0) < (m.total ?? 0) - 3;
          return midway && (m.metrics?.Running ?? 0) >= 1 ? m : undefined;
        });
        if (seen.ongoing === false) {
          console.log(`# round ${round}: the run ended before it was seen under way; again with more artifacts`);
          continue;
        }
        await first.kill9();

        const second = await start(s, { scanning: { concurrency: 1 } });
        const m = await until(
          'the scan-all run to end on the new instance',
          async () => {
            const body = (await api<ScanAllMetrics>(serverOf(second), 'GET', '/scans/all/metrics', { auth: second.admin.authorization }))
              .body;
            return body.ongoing === false ? body : undefined;
          },
          120_000,
        );
        console.log(`# round ${round}: killed at ${JSON.stringify(seen)}; on the new instance ${JSON.stringify(m)}`);
        // The run counts each artifact once, every scan ended Success.
        assert.equal(m.total, repos.length, JSON.stringify(m));
        assert.equal(m.completed, repos.length, JSON.stringify(m));
        assert.equal(m.metrics?.Success, repos.length, JSON.stringify(m));

        for (const repo of repos) {
          const res = await api(serverOf(second), 'GET', `${artifactPath(repo, 'v1')}?with_scan_overview=true`, {
            auth: second.admin.authorization,
          });
          assert.equal(res.status, 200);
          const overview = res.body.scan_overview as Record<string, { scan_status: string; report_id: string }>;
          assert.deepEqual(Object.keys(overview), [vulnerabilityMime], `${repo} has one vulnerability report`);
          assert.equal(overview[vulnerabilityMime].scan_status, 'Success', repo);
          const reports = await api(serverOf(second), 'GET', `${artifactPath(repo, 'v1')}/additions/vulnerabilities`, {
            auth: second.admin.authorization,
          });
          assert.equal(reports.status, 200);
          assert.deepEqual(Object.keys(reports.body as object), [vulnerabilityMime], `${repo}: one report`);
          const log = await fetch(`${second.url}/api/v2.0${artifactPath(repo, 'v1')}/scan/${overview[vulnerabilityMime].report_id}/log`, {
            headers: second.admin,
          });
          assert.equal(log.status, 200);
          const text = await log.text();
          // Stored once: by one attempt, or by the lost one just before the kill (the next attempt
          // then finds the report ended and scans nothing).
          const stored = text.match(/vulnerabilities found/g)?.length ?? 0;
          assert.ok(stored <= 1, `${repo}'s scan stored its report once:\n${text}`);
          if (stored === 0) assert.match(text, /attempt \d+ was lost[^]*ended meanwhile; nothing to do/, text);
          if (lostAttempt.test(text)) {
            cut++;
            assert.match(text, /given back/, text);
          }
        }
        console.log(`# round ${round}: ${cut} scan(s) were cut by the kill and run again to their end`);
        assert.equal(second.process.exitCode, null);
        first = second;
      }
      assert.ok(cut > 0, 'the kill landed inside a scan in one of three rounds');
    },
  );

  test('retention killed mid-run: the new instance finishes it to Success, tasks not duplicated; exactly the selected artifacts are gone, the retained ones still pullable', async () => {
    const s = await setup();
    let first = await start(s);
    const auth = first.admin.authorization;
    // Retains the tags keep-*; every other artifact (tagged drop-*) is deleted.
    const policyId = await createKeepPolicy(first.url, auth, 'retain');

    const repos = ['retain/a', 'retain/b'];
    const kept: PushedImage[] = [];
    const dropped: PushedImage[] = [];
    const pushMore = (drops: number) => pushKeepAndDrop(first.url, first.admin, repos, drops, kept, dropped);
    await pushMore(40);

    const count = async (child: ChildBerth) => {
      const res = await api(serverOf(child), 'GET', '/projects/retain/repositories?page_size=100', { auth });
      return new Map((res.body as { name: string; artifact_count: number }[]).map((r) => [r.name, r.artifact_count]));
    };
    let cut = 0;
    for (let round = 1; round <= 3 && cut === 0; round++) {
      if (round > 1) await pushMore(40 * round);
      const before = await count(first);
      const kept0 = kept.length / repos.length;
      const triggered = await api(serverOf(first), 'POST', `/retentions/${policyId}/executions`, { auth, body: { dry_run: false } });
      assert.equal(triggered.status, 201, JSON.stringify(triggered.body));
      const executionId = Number(triggered.headers.get('location')!.split('/').pop());
      // Mid-run: a repository's deletions have begun and are far from done.
      const seen = await until('the retention run to be deleting', async () => {
        const now = await count(first);
        const deleting = [...now].find(([name, n]) => n < before.get(name)! && n > kept0 + 5);
        if (deleting) return `${deleting[0]}: ${deleting[1]} of ${before.get(deleting[0])} artifacts left`;
        return [...now.values()].every((n) => n === kept0) ? 'ended' : undefined;
      });
      if (seen === 'ended') {
        console.log(`# round ${round}: the run ended before it was seen deleting; again with more artifacts`);
        continue;
      }
      await first.kill9();

      const second = await start(s);
      const { execution, tasks } = await waitForRetention(second.url, auth, policyId, executionId);
      console.log(
        `# round ${round}: killed while ${seen}; the run ended ${execution.status}; tasks ${JSON.stringify(tasks.map((t) => [t.repository, t.status, t.total, t.retained]))}`,
      );
      assert.equal(execution.status, 'Success');
      // One task per repository, each ended Success: none duplicated by the run again.
      assert.deepEqual(tasks.map((t) => t.repository).sort(), ['a', 'b']);
      for (const t of tasks) assert.equal(t.status, 'Success', JSON.stringify(t));
      for (const t of tasks) if (lostAttempt.test(await jobLog(second, t.job_id))) cut++;
      // A task run again counts what the cut attempt planned over, removals made before the kill included.
      for (const t of tasks) {
        const candidates = before.get(`retain/${t.repository}`) ?? before.get(t.repository);
        assert.equal(t.total, candidates, `every artifact of ${t.repository} was a candidate: ${JSON.stringify(t)}`);
        assert.equal(t.retained, kept0, `${t.repository} retained the keep-* artifacts: ${JSON.stringify(t)}`);
      }

      for (const image of kept) await assertReadable(second.url, image, second.admin);
      for (const image of dropped) {
        const res = await fetch(`${second.url}/v2/${image.repo}/manifests/${image.tag}`, { method: 'HEAD', headers: second.admin });
        assert.equal(res.status, 404, `${image.repo}:${image.tag} was deleted`);
      }
      const after = await count(second);
      for (const repo of repos)
        assert.equal(after.get(repo.split('/')[1]) ?? after.get(repo), kept0, `${repo} holds the retained artifacts only`);
      console.log(`# round ${round}: ${cut} task(s) were cut by the kill and run again to their end`);
      assert.equal(second.process.exitCode, null);
      first = second;
    }
    assert.ok(cut > 0, 'the kill landed inside a retention task in one of three rounds');
  });
});
