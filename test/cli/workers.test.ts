import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { api } from '../helpers/api.js';
import { startChildBerth, type ChildBerth } from '../helpers/child-berth.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import type { TestServer } from '../helpers/server.js';
import { V2 } from '../helpers/v2.js';
import { assertPullable, pushImage, runGc, type PushedImage } from '../gc/helpers.js';

// `berth serve` with server.workers: 2 on the embedded defaults (one SQLite file, one storage
// directory; in the PostgreSQL pass, one PostgreSQL database and the storage directory): a
// primary and two workers serving one port. What they share is the database and, for SQLite's
// blob locks, the primary's lock table: pushes on both workers while a GC sweeps land whole, a
// worker killed is replaced, and the processes end together.

const dataDirs: string[] = [];
const children: ChildBerth[] = [];
const databases = new Map<string, TestDatabase>();

after(async () => {
  for (const child of children) await child.kill9();
  for (const dir of dataDirs) await rm(dir, { recursive: true, force: true });
  for (const database of databases.values()) await database.drop();
});

/** A Berth with two workers, once both serve (the primary says so when the last one listens). */
async function start(config: Record<string, unknown> = {}, dataDir?: string): Promise<ChildBerth> {
  const child = await launch(config, dataDir);
  await until('both workers to serve', () => child.output.join('').includes('berth runs 2 workers'));
  return child;
}

/** A Berth with two workers, as soon as one answers (the other may still be starting). */
async function launch(config: Record<string, unknown> = {}, dataDir?: string): Promise<ChildBerth> {
  if (!dataDir) {
    dataDir = await mkdtemp(path.join(tmpdir(), 'berth-workers-'));
    dataDirs.push(dataDir);
    const database = await createTestDatabase();
    if (database) databases.set(dataDir, database);
  }
  const database = databases.get(dataDir);
  const child = await startChildBerth(dataDir, {
    // A worker that served pushes and a GC may need more than the helper's 2 s to stop on a loaded machine.
    server: { workers: 2, shutdown_grace_seconds: 10 },
    log: { level: 'info' },
    ...(database && { database: { url: database.url, max_connections: 5 } }),
    ...config,
  });
  children.push(child);
  return child;
}

/** SIGTERM to the primary: it exits 0 and no worker is left. */
async function assertStopsCleanly(berth: ChildBerth): Promise<void> {
  const workers = workersOf(berth.process.pid!);
  await berth.stop();
  assert.equal(await berth.exited, 0, berth.output.join(''));
  for (const pid of workers) assert.equal(alive(pid), false, `worker ${pid} ended`);
}

const serverOf = (child: ChildBerth) => ({ url: child.url, admin: child.admin }) as unknown as TestServer;

function workersOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** User + system CPU seconds of a process, from /proc. */
function cpuOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('berth serve with two workers over one database', { skip: process.platform !== 'linux' && 'reads /proc' }, () => {
  let berth: ChildBerth;
  before(async () => {
    berth = await start({
      jobs: { poll_interval_ms: 100 },
      // 7.2 s: a layer pushed while the GC runs is not yet named by its manifest, and would be garbage without it.
      gc: { time_window_hours: 0.002 },
    });
  });

  test('pushes from many clients on both workers while a GC sweeps: every image pulls whole, and only garbage went', async () => {
    const server = serverOf(berth);
    const v2 = new V2(server);
    const shared = randomBytes(64 * 1024);
    const kept: PushedImage[] = [];
    for (let i = 0; i < 4; i++) kept.push(await pushImage(server, `library/keep-${i}`, 'v1', [shared, randomBytes(4096)]));
    // Garbage: images whose own layers nothing else names, their manifests deleted.
    const dropped: PushedImage[] = [];
    for (let i = 0; i < 4; i++) {
      const image = await pushImage(server, `library/drop-${i}`, null, [randomBytes(4096)]);
      assert.equal((await v2.call('DELETE', `/v2/${image.repo}/manifests/${image.digest}`)).status, 202);
      dropped.push(image);
    }
    // Older than the time window, so the GC may take them.
    await new Promise((r) => setTimeout(r, 7500));
    const workers = workersOf(berth.process.pid!);
    const cpuBefore = workers.map(cpuOf);
    // Eight clients pushing images that name the shared layer, while the GC runs.
    const pushing = Promise.all(
      Array.from({ length: 8 }, async (_, c) => {
        const images: PushedImage[] = [];
        for (let i = 0; i < 5; i++) images.push(await pushImage(server, `library/busy-${c}`, `t${i}`, [shared, randomBytes(2048)]));
        return images;
      }),
    );
    const run = await runGc(server, { delete_untagged: true });
    const pushed = (await pushing).flat();
    assert.equal(run.status, 'Success');
    for (const image of [...kept, ...pushed]) await assertPullable(server, image);
    for (const image of dropped) {
      const own = image.blobs[1].digest;
      assert.equal((await v2.call('HEAD', `/v2/${image.repo}/blobs/${own}`)).status, 404, `the dropped layer ${own} was swept`);
    }
    // Both workers served: each used CPU for the pushes (the cluster hands connections round robin).
    const used = workers.map((pid, i) => cpuOf(pid) - cpuBefore[i]);
    for (const [i, seconds] of used.entries()) assert.ok(seconds > 0.05, `worker ${workers[i]} used ${seconds} s of CPU: ${used}`);
  });

  test('a worker killed with SIGKILL is replaced, and the port keeps answering', async () => {
    const [victim, survivor] = workersOf(berth.process.pid!);
    process.kill(victim, 'SIGKILL');
    await until('a new worker', () => {
      const now = workersOf(berth.process.pid!);
      return now.length === 2 && !now.includes(victim) && now.includes(survivor);
    });
    // The survivor serves while the new worker starts.
    for (let i = 0; i < 20; i++) assert.equal((await fetch(`${berth.url}/api/v2.0/ping`)).status, 200);
    const image = await pushImage(serverOf(berth), 'library/after-kill', 'v1', [randomBytes(1024)]);
    await assertPullable(serverOf(berth), image);
    assert.match(berth.output.join(''), new RegExp(`worker ${victim} ended \\(SIGKILL\\); starting another`));
    await until('the new worker to serve', () => new RegExp(`worker \\d+ serves in place of ${victim}`).test(berth.output.join('')));
  });

  test('SIGTERM: every worker finishes and the primary exits 0', async () => {
    await assertStopsCleanly(berth);
  });
});

describe('SIGTERM while workers start', { skip: process.platform !== 'linux' && 'reads /proc' }, () => {
  test('the primary stops what has started and exits 0', async () => {
    // Answers once the first worker listens; the second is starting then.
    const berth = await launch();
    await assertStopsCleanly(berth);
  });
});

describe('the primary killed with SIGKILL', { skip: process.platform !== 'linux' && 'reads /proc' }, () => {
  test('its workers end by themselves, and the data serves again from a new start', async () => {
    const berth = await start();
    const workers = workersOf(berth.process.pid!);
    const image = await pushImage(serverOf(berth), 'library/survives', 'v1', [randomBytes(1024)]);
    await berth.kill9();
    await until('the workers to end', () => workers.every((pid) => !alive(pid)), 15_000);
    const again = await start({}, dataDirs[dataDirs.length - 1]);
    await assertPullable(serverOf(again), image);
    const repos = await api(serverOf(again), 'GET', '/projects/library/repositories', { auth: again.admin.authorization });
    assert.deepEqual(
      repos.body.map((r: { name: string }) => r.name),
      ['library/survives'],
    );
    await again.stop();
  });
});

/** The value of every sample of `name` whose labels include `labels`, added up, in a Prometheus text exposition. */
function sampleSum(text: string, name: string, labels: Record<string, string>): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

describe('two workers with metrics and rate limits', { skip: process.platform !== 'linux' && 'reads /proc' }, () => {
  test("a limit counts both workers' requests, and every scrape answers for both workers", async () => {
    const berth = await start({
      metrics: { enabled: true, public: true },
      rate_limits: { enabled: true, api: { per_ip: 1000, per_user: 30, window_seconds: 300 } },
    });

    // 40 requests of one user, on fresh connections so that both workers take some: 30 pass.
    const statuses: number[] = [];
    for (let i = 0; i < 40; i++) {
      const res = await fetch(`${berth.url}/api/v2.0/systeminfo`, { headers: { ...berth.admin, connection: 'close' } });
      statuses.push(res.status);
      if (res.status === 429) assert.equal((await res.json()).errors[0].code, 'TOO_MANY_REQUEST');
      else await res.arrayBuffer();
    }
    assert.equal(statuses.filter((s) => s === 200).length, 30, `statuses: ${statuses}`);
    assert.equal(statuses.filter((s) => s === 429).length, 10);

    // Each scrape, whichever worker takes it, counts all 40 and the one public project once.
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${berth.url}/metrics`, { headers: { connection: 'close' } });
      const text = await res.text();
      assert.equal(res.status, 200, `${text}\n${berth.output.join('')}`);
      const route = { route: '/api/v2.0/systeminfo' };
      assert.equal(sampleSum(text, 'berth_http_requests_total', route), 40, 'every request, on either worker');
      assert.equal(sampleSum(text, 'berth_http_requests_total', { ...route, status: '429' }), 10);
      assert.equal(sampleSum(text, 'harbor_project_total', { public: 'true' }), 1, 'a database-wide gauge is not added up per worker');
      assert.equal(sampleSum(text, 'harbor_up', { component: 'database' }), 1);
    }
    await berth.stop();
    assert.equal(await berth.exited, 0, berth.output.join(''));
  });
});
