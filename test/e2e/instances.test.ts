import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openPostgres, type DatabaseHandle } from '../../src/db/index.js';
import { JobQueue } from '../../src/jobs/queue.js';
import { createDatabaseOn, defaultPostgresServer, probePostgres, testPostgresServer, type TestDatabase } from '../helpers/database.js';
import { pushImage, sha256 } from '../helpers/oci.js';
import { startChildBerth, type ChildBerth } from '../helpers/child-berth.js';
import { startS3, type TestS3 } from '../helpers/s3.js';
import { adminPassword, basicAuth } from '../helpers/server.js';
import { inCI } from '../helpers/tools.js';

// Two Berth processes on different ports over one PostgreSQL database and one S3 bucket,
// as behind a load balancer: what one does, the other sees; an upload survives the death
// of the instance it started on; jobs and schedule ticks run once across both.

const admin = { authorization: basicAuth('admin', adminPassword) };
const postgres = testPostgresServer() ?? defaultPostgresServer;
const unreachable = await probePostgres(postgres);
if (unreachable && inCI()) throw new Error(`the two-instance tests need PostgreSQL: ${unreachable}`);
const skip = unreachable ? `needs PostgreSQL (${unreachable})` : false;

type Instance = ChildBerth;

let s3: TestS3;
let database: TestDatabase;
let dataRoot: string;
let direct: DatabaseHandle;
const instances: Instance[] = [];

/** Starts `berth serve` as its own process over the shared database and waits until it answers. */
async function startInstance(name: string, storage: Record<string, unknown>): Promise<Instance> {
  const dataDir = path.join(dataRoot, name);
  await mkdir(dataDir, { recursive: true });
  const instance = await startChildBerth(
    dataDir,
    {
      database: { url: database.url, max_connections: 5 },
      storage,
      registry: { upload_purge_cron: '* * * * * *' },
      jobs: { concurrency: 4, poll_interval_ms: 100 },
    },
    name,
  );
  instances.push(instance);
  return instance;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

let a: Instance;
let b: Instance;
let sharedStorage: Record<string, unknown>;

describe('two Berth processes over one PostgreSQL database and one bucket', { skip }, () => {
  before(async () => {
    s3 = await startS3();
    const bucket = await s3.createBucket();
    database = await createDatabaseOn(postgres);
    dataRoot = await mkdtemp(path.join(tmpdir(), 'berth-instances-'));
    sharedStorage = {
      driver: 's3',
      s3: { bucket, endpoint: s3.endpoint, force_path_style: true, access_key: 'S3RVER', secret_key: 'S3RVER', prefix: 'shared/' },
    };
    // Started together on an empty database: both race to create library and admin.
    [a, b] = await Promise.all([startInstance('a', sharedStorage), startInstance('b', sharedStorage)]);
    direct = openPostgres(database.url, { maxConnections: 2 });
  });

  after(async () => {
    for (const i of instances) if (i.process.exitCode === null) i.process.kill('SIGTERM');
    await Promise.all(instances.map((i) => i.exited));
    await direct?.close();
    await database?.drop();
    await s3?.stop();
    if (dataRoot) await rm(dataRoot, { recursive: true, force: true });
  });

  test('an image pushed through one instance is pulled through the other, with a token the first issued', async () => {
    const pushed = await pushImage(a.url, 'library/shared', 'v1', { headers: admin, layer: `layer ${randomBytes(8).toString('hex')}` });
    const token = await fetch(`${a.url}/service/token?service=harbor-registry&scope=repository:library/shared:pull`, { headers: admin });
    assert.equal(token.status, 200);
    const bearer = { authorization: `Bearer ${((await token.json()) as { token: string }).token}` };
    const manifest = await fetch(`${b.url}/v2/library/shared/manifests/v1`, {
      headers: { ...bearer, accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    assert.equal(manifest.status, 200);
    assert.equal(manifest.headers.get('docker-content-digest'), pushed.digest);
    const layer = await fetch(`${b.url}/v2/library/shared/blobs/${pushed.layer.digest}`, { headers: bearer });
    assert.equal(layer.status, 200);
    assert.equal(sha256(Buffer.from(await layer.arrayBuffer())), pushed.layer.digest);
  });

  test('a chunked upload whose PATCHes alternate between the instances completes with the right digest', async () => {
    const chunks = [randomBytes(300_000), randomBytes(5 * 1024 * 1024 + 17), randomBytes(123_456), randomBytes(1000)];
    const whole = Buffer.concat(chunks);
    const digest = sha256(whole);
    const started = await fetch(`${a.url}/v2/library/chunked/blobs/uploads/`, { method: 'POST', headers: admin });
    assert.equal(started.status, 202);
    let location = started.headers.get('location')!;
    let offset = 0;
    for (const [i, chunk] of chunks.entries()) {
      const target = i % 2 === 0 ? b : a;
      const res = await fetch(new URL(location, target.url), {
        method: 'PATCH',
        headers: { ...admin, 'content-type': 'application/octet-stream', 'content-range': `${offset}-${offset + chunk.length - 1}` },
        body: chunk,
      });
      assert.equal(res.status, 202, await res.text());
      offset += chunk.length;
      assert.equal(res.headers.get('range'), `0-${offset - 1}`);
      location = res.headers.get('location')!;
    }
    const done = await fetch(new URL(`${location}${location.includes('?') ? '&' : '?'}digest=${digest}`, b.url), {
      method: 'PUT',
      headers: admin,
    });
    assert.equal(done.status, 201, await done.text());
    const read = await fetch(`${a.url}/v2/library/chunked/blobs/${digest}`, { headers: admin });
    assert.equal(sha256(Buffer.from(await read.arrayBuffer())), digest);
  });

  test('an instance killed mid-upload: the other tells the committed offset and the upload finishes there', async () => {
    const doomed = await startInstance('doomed', sharedStorage);
    const first = randomBytes(2 * 1024 * 1024);
    const rest = randomBytes(3 * 1024 * 1024);
    const digest = sha256(Buffer.concat([first, rest]));
    const started = await fetch(`${doomed.url}/v2/library/survivor/blobs/uploads/`, { method: 'POST', headers: admin });
    const location = started.headers.get('location')!;
    const committed = await fetch(new URL(location, doomed.url), {
      method: 'PATCH',
      headers: { ...admin, 'content-type': 'application/octet-stream', 'content-range': `0-${first.length - 1}` },
      body: first,
    });
    assert.equal(committed.status, 202);
    // A second PATCH that stalls halfway: the instance dies while it streams.
    let sent = 0;
    let release = () => {};
    const stall = new Promise<void>((resolve) => (release = resolve));
    const stalled = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (sent < 1024 * 1024) {
          const piece = rest.subarray(sent, sent + 256 * 1024);
          sent += piece.length;
          controller.enqueue(piece);
        } else {
          await stall;
          controller.close();
        }
      },
    });
    const inFlight = fetch(new URL(location, doomed.url), {
      method: 'PATCH',
      headers: { ...admin, 'content-type': 'application/octet-stream' },
      body: stalled,
      duplex: 'half',
    } as RequestInit).catch((err: Error) => err);
    await until('the stalled PATCH to be under way', async () => (sent >= 1024 * 1024 ? true : undefined));
    await new Promise((r) => setTimeout(r, 300));
    doomed.process.kill('SIGKILL');
    await doomed.exited;
    assert.ok((await inFlight) instanceof Error, 'the client saw the connection die');
    release();

    const status = await fetch(new URL(location, b.url), { headers: admin });
    assert.equal(status.status, 204);
    assert.equal(status.headers.get('range'), `0-${first.length - 1}`, 'only the finished chunk counts');
    const resumed = await fetch(new URL(location, b.url), {
      method: 'PATCH',
      headers: {
        ...admin,
        'content-type': 'application/octet-stream',
        'content-range': `${first.length}-${first.length + rest.length - 1}`,
      },
      body: rest,
    });
    assert.equal(resumed.status, 202, await resumed.text());
    const put = await fetch(new URL(`${resumed.headers.get('location')!}${location.includes('?') ? '&' : '?'}digest=${digest}`, b.url), {
      method: 'PUT',
      headers: admin,
    });
    assert.equal(put.status, 201, await put.text());
    const read = await fetch(`${a.url}/v2/library/survivor/blobs/${digest}`, { headers: admin });
    assert.equal(sha256(Buffer.from(await read.arrayBuffer())), digest);
  });

  test('100 jobs enqueued run exactly once each, and both instances run some', async () => {
    const queue = new JobQueue(direct.db, direct.dialect);
    const ids: number[] = [];
    for (let n = 0; n < 100; n += 1) ids.push(await queue.enqueue('upload.purge_stale', { batch: n }));
    const jobs = await until('the 100 jobs to finish', async () => {
      const rows = await direct.db.selectFrom('jobs').selectAll().where('id', 'in', ids).execute();
      return rows.every((r) => r.status === 'success') ? rows : undefined;
    });
    assert.equal(jobs.length, 100);
    for (const job of jobs) assert.equal(Number(job.attempts), 1, `job ${job.id} ran once`);
    const lines = await direct.db
      .selectFrom('job_logs')
      .select(['job_id', 'message'])
      .where('job_id', 'in', ids)
      .where('message', 'like', 'removed %')
      .execute();
    assert.equal(lines.length, 100, 'one "removed" line per job: no job ran twice');
    const pools = new Set(lines.map((l) => l.message.split(' on ').pop()));
    assert.equal(pools.size, 2, `both instances ran jobs: ${[...pools].join(', ')}`);
  });

  test('the per-second purge schedule fires once per tick, not once per instance', async () => {
    const since = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 5000));
    const fired = await direct.db
      .selectFrom('jobs')
      .select(['run_at', 'payload'])
      .where('type', '=', 'upload.purge_stale')
      .where('created_at', '>=', since)
      .where('payload', '=', 'null')
      .execute();
    assert.ok(fired.length >= 3, `a tick fired about every second (${fired.length} in 5 s)`);
    const perTick = new Map<string, number>();
    for (const job of fired) perTick.set(job.run_at, (perTick.get(job.run_at) ?? 0) + 1);
    assert.deepEqual(
      [...perTick.values()].filter((n) => n > 1),
      [],
      'no tick fired twice',
    );
    assert.ok(fired.length <= 7, `not once per instance: ${fired.length} jobs in 5 s`);
  });
});
