import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { after, before, test } from 'node:test';
import type { Berth } from '../../src/app.js';
import { checkShape } from '../compat/harbor-shapes.js';
import { api, createUser, errorCode } from '../helpers/api.js';
import { basicAuth, startServer, type TestServer } from '../helpers/server.js';
import { waitFor } from './databases.js';

let server: TestServer;
let admin: string;
let user: string;
let jobs: Berth['jobs'];
before(async () => {
  server = await startServer({ yaml: { 'jobs.poll_interval_ms': 20 } });
  admin = server.admin.authorization;
  jobs = server.berth.jobs;
  await createUser(server, 'jobwatcher');
  user = basicAuth('jobwatcher', 'Passw0rd1');
});
after(async () => {
  await server.stop();
});

function shapeOf(body: unknown, definition: string) {
  const problems = Array.isArray(body) ? body.flatMap((item, i) => checkShape(item, definition, `[${i}]`)) : checkShape(body, definition);
  assert.deepEqual(problems, [], `not Harbor's ${definition}`);
}

const ended = (id: number) =>
  waitFor(
    () => jobs.queue.get(id),
    (job) => job !== undefined && ['success', 'error', 'stopped'].includes(job.status),
    `job ${id} to end`,
  );

test('every dashboard endpoint wants a system administrator: 401 anonymous, 403 others', async () => {
  const endpoints: Array<[string, string, unknown?]> = [
    ['GET', '/jobservice/pools'],
    ['GET', '/jobservice/pools/all/workers'],
    ['PUT', '/jobservice/jobs/1'],
    ['GET', '/jobservice/jobs/1/log'],
    ['GET', '/jobservice/queues'],
    ['PUT', '/jobservice/queues/all', { action: 'pause' }],
    ['GET', '/schedules'],
    ['GET', '/schedules/all/paused'],
  ];
  for (const [method, path, body] of endpoints) {
    const anonymous = await api(server, method, path, { body });
    assert.equal(anonymous.status, 401, `${method} ${path} anonymous`);
    assert.equal(errorCode(anonymous), 'UNAUTHORIZED');
    const other = await api(server, method, path, { auth: user, body });
    assert.equal(other.status, 403, `${method} ${path} as a user`);
    assert.equal(errorCode(other), 'FORBIDDEN');
  }
  assert.equal(await jobs.queue.isPaused('all'), false, 'the refused pause changed nothing');
});

test('/jobservice/pools lists this instance with its pid, host and concurrency', async () => {
  const res = await api(server, 'GET', '/jobservice/pools', { auth: admin });
  assert.equal(res.status, 200);
  shapeOf(res.body, 'WorkerPool');
  const mine = res.body.find((p: { worker_pool_id: string }) => p.worker_pool_id === jobs.runner.poolId);
  assert.ok(mine, JSON.stringify(res.body));
  assert.equal(mine.pid, process.pid);
  assert.equal(mine.host, hostname());
  assert.equal(mine.concurrency, 4);
  assert.ok(Date.parse(mine.start_at) <= Date.parse(mine.heartbeat_at));
});

test('workers show what each slot runs; a running job is stopped with PUT /jobservice/jobs/{id}', async () => {
  let started!: () => void;
  const running = new Promise<void>((resolve) => (started = resolve));
  jobs.runner.register('API_STOPPABLE', async (ctx) => {
    await ctx.log('waiting to be stopped');
    started();
    await new Promise<void>((_, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('stopped from the API'))));
  });
  const id = await jobs.queue.enqueue('API_STOPPABLE', { n: 1 });
  await running;

  const idle = await api(server, 'GET', `/jobservice/pools/${encodeURIComponent(jobs.runner.poolId)}/workers`, { auth: admin });
  assert.equal(idle.status, 200);
  shapeOf(idle.body, 'Worker');
  assert.equal(idle.body.length, 4);
  const busy = idle.body.find((w: { job_id: string }) => w.job_id === String(id));
  assert.ok(busy, JSON.stringify(idle.body));
  assert.equal(busy.job_name, 'API_STOPPABLE');
  assert.equal(busy.pool_id, jobs.runner.poolId);
  assert.equal(busy.check_in, 'waiting to be stopped');
  assert.ok(busy.start_at && busy.checkin_at);
  const free = idle.body.filter((w: { job_id: string }) => w.job_id === '');
  assert.equal(free.length, 3);
  for (const w of free) assert.deepEqual(Object.keys(w).sort(), ['check_in', 'id', 'job_id', 'job_name', 'pool_id']);
  const all = await api(server, 'GET', '/jobservice/pools/all/workers', { auth: admin });
  assert.ok(all.body.some((w: { job_id: string }) => w.job_id === String(id)));
  const missing = await api(server, 'GET', '/jobservice/pools/no-such-pool/workers', { auth: admin });
  assert.equal(missing.status, 404);

  const stop = await api(server, 'PUT', `/jobservice/jobs/${id}`, { auth: admin });
  assert.equal(stop.status, 200);
  assert.equal((await ended(id))!.status, 'stopped');
  assert.equal((await api(server, 'PUT', '/jobservice/jobs/99999999', { auth: admin })).status, 404);
  assert.equal((await api(server, 'PUT', '/jobservice/jobs/not-a-job', { auth: admin })).status, 404);

  const log = await fetch(`${server.url}/api/v2.0/jobservice/jobs/${id}/log`, { headers: { authorization: admin } });
  assert.equal(log.status, 200);
  assert.match(log.headers.get('content-type')!, /^text\/plain/);
  const text = await log.text();
  assert.match(text, /^\S+Z \[INFO\] attempt 1 of 3 started on pool /m);
  assert.match(text, /\[INFO\] waiting to be stopped\n/);
  assert.match(text, /\[INFO\] stop requested\n/);
  assert.match(text, /\[INFO\] stopped: stopped from the API\n$/);
  assert.equal((await api(server, 'GET', '/jobservice/jobs/99999999/log', { auth: admin })).status, 404);
});

test('queues: listed with counts and paused state; pause, resume and stop through PUT', async () => {
  const ran: number[] = [];
  jobs.runner.register('API_QUEUE', (ctx) => void ran.push(ctx.id));
  const put = (type: string, body: unknown) => api(server, 'PUT', `/jobservice/queues/${type}`, { auth: admin, body });

  assert.equal((await put('API_QUEUE', { action: 'pause' })).status, 200);
  const held = await jobs.queue.enqueue('API_QUEUE', {});
  const listed = await api(server, 'GET', '/jobservice/queues', { auth: admin });
  assert.equal(listed.status, 200);
  shapeOf(listed.body, 'JobQueue');
  const queue = listed.body.find((q: { job_type: string }) => q.job_type === 'API_QUEUE');
  assert.deepEqual({ ...queue, latency: 0 }, { job_type: 'API_QUEUE', count: 1, latency: 0, paused: true });
  assert.ok(listed.body.some((q: { job_type: string; paused: boolean }) => q.job_type === 'API_STOPPABLE' && q.paused === false));
  assert.deepEqual((await api(server, 'GET', '/schedules/API_QUEUE/paused', { auth: admin })).body, { paused: true });
  assert.deepEqual((await api(server, 'GET', '/schedules/all/paused', { auth: admin })).body, { paused: false });

  assert.equal((await put('API_QUEUE', { action: 'resume' })).status, 200);
  assert.equal((await ended(held))!.status, 'success');
  assert.deepEqual(ran, [held]);

  assert.equal((await put('all', { action: 'pause' })).status, 200);
  const status = await api(server, 'GET', '/schedules/all/paused', { auth: admin });
  assert.equal(status.status, 200);
  shapeOf(status.body, 'SchedulerStatus');
  assert.deepEqual(status.body, { paused: true });
  const first = await jobs.queue.enqueue('API_QUEUE', {});
  const second = await jobs.queue.enqueue('API_QUEUE', {});
  assert.equal((await put('API_QUEUE', { action: 'stop' })).status, 200);
  assert.equal((await jobs.queue.get(first))!.status, 'stopped');
  assert.equal((await jobs.queue.get(second))!.status, 'stopped');
  assert.equal((await put('all', { action: 'resume' })).status, 200);
  assert.deepEqual((await api(server, 'GET', '/schedules/all/paused', { auth: admin })).body, { paused: false });
  assert.deepEqual(ran, [held]);

  const bad = await put('API_QUEUE', { action: 'explode' });
  assert.equal(bad.status, 400);
  assert.match(bad.body.errors[0].message, /stop, pause or resume/);
  assert.equal((await put('API_QUEUE', {})).status, 400);
});

test("/schedules lists the schedules a page at a time, in Harbor's shape", async () => {
  await jobs.scheduler.define({ name: 'api-hourly', jobType: 'API_SCHEDULED', cron: '0 0 * * * *', vendorId: 7 });
  await jobs.scheduler.define({ name: 'api-daily', jobType: 'API_SCHEDULED', cron: '0 0 3 * * *' });
  const res = await api(server, 'GET', '/schedules', { auth: admin });
  assert.equal(res.status, 200);
  shapeOf(res.body, 'ScheduleTask');
  // Berth's own at start (the stale-upload purge, the login-counter and session purge, scanning's hourly prune of
  // adapter scans and of old CVE exports, the daily sweep of old webhook executions), and the two above.
  assert.equal(res.headers.get('x-total-count'), '7');
  assert.ok(res.body.some((s: { vendor_type: string }) => s.vendor_type === 'webhook.sweep'));
  assert.ok(res.body.some((s: { vendor_type: string }) => s.vendor_type === 'SCANNER_ADAPTER_PRUNE'));
  assert.ok(res.body.some((s: { vendor_type: string }) => s.vendor_type === 'CVE_EXPORT_PURGE'));
  assert.ok(res.body.some((s: { vendor_type: string }) => s.vendor_type === 'upload.purge_stale'));
  assert.ok(res.body.some((s: { vendor_type: string }) => s.vendor_type === 'auth.purge_stale'));
  const hourly = res.body.find((s: { cron: string }) => s.cron === '0 0 * * * *');
  assert.equal(hourly.vendor_type, 'API_SCHEDULED');
  assert.equal(hourly.vendor_id, 7);
  assert.ok(Number.isInteger(hourly.id));
  const paged = await api(server, 'GET', '/schedules?page=1&page_size=1', { auth: admin });
  assert.equal(paged.body.length, 1);
  assert.match(paged.headers.get('link')!, /rel="next"/);
  assert.equal((await api(server, 'GET', '/schedules?page_size=500', { auth: admin })).status, 400);
});
