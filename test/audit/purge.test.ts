import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import { AuditPurgeService, type PurgeJobPayload } from '../../src/audit/purge-service.js';
import { AuditPurgeStore } from '../../src/audit/purge-store.js';
import { writeAudit, type AuditEntry } from '../../src/events/audit.js';
import type { JobContext } from '../../src/jobs/runner.js';
import { checkShape } from '../compat/harbor-shapes.js';
import { api, createUser, errorCode } from '../helpers/api.js';
import { basicAuth, startServer, type TestServer } from '../helpers/server.js';
import { waitFor } from '../jobs/databases.js';

let server: TestServer;
let admin: string;
let user: string;
before(async () => {
  server = await startServer({ yaml: { 'jobs.poll_interval_ms': 20 } });
  admin = server.admin.authorization;
  await createUser(server, 'purgewatcher');
  user = basicAuth('purgewatcher', 'Passw0rd1');
});
after(async () => {
  await server.stop();
});

const hoursAgo = (h: number) => new Date(Date.now() - h * 3600_000).toISOString();
const db = () => server.berth.database.db;

/** Replaces every audit record with these (the records' time set as given). */
async function seed(entries: AuditEntry[]): Promise<void> {
  await db().deleteFrom('audit_logs').execute();
  await writeAudit(db(), entries);
}

async function records(): Promise<string[]> {
  const rows = await db().selectFrom('audit_logs').select(['operation', 'resource_type', 'resource']).orderBy('id').execute();
  return rows.map((r) => `${r.operation}_${r.resource_type}:${r.resource}`);
}

const old = (operation: AuditEntry['operation'], resourceType: string, resource: string, hours = 100): AuditEntry => ({
  username: 'admin',
  operation,
  resourceType,
  resource,
  time: hoursAgo(hours),
});

const standardSeed = () =>
  seed([
    old('create', 'artifact', 'lib/a:old'),
    old('pull', 'artifact', 'lib/a:old'),
    old('delete', 'artifact', 'lib/b:old'),
    old('create', 'project', 'lib'),
    old('login', 'user', 'admin'),
    old('create', 'artifact', 'lib/a:new', 1),
    old('pull', 'artifact', 'lib/a:new', 1),
  ]);

const schedule = (type: string, parameters: unknown, cron?: string) => ({ schedule: { type, ...(cron && { cron }) }, parameters });

async function history(): Promise<any[]> {
  const res = await api(server, 'GET', '/system/purgeaudit', { auth: admin });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body;
}

async function runPurge(parameters: Record<string, unknown>): Promise<{ id: number; run: any; log: string }> {
  const res = await api(server, 'POST', '/system/purgeaudit/schedule', { auth: admin, body: schedule('Manual', parameters) });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const location = res.headers.get('location') ?? '';
  const id = Number(/\/api\/v2\.0\/system\/purgeaudit\/(\d+)$/.exec(location)?.[1]);
  assert.ok(id > 0, `Location names the run: ${location}`);
  const run = await waitFor(
    async () => (await api(server, 'GET', `/system/purgeaudit/${id}`, { auth: admin })).body,
    (r: any) => ['Success', 'Error', 'Stopped'].includes(r.job_status),
    `purge ${id} to end`,
    30_000,
  );
  const log = await api(server, 'GET', `/system/purgeaudit/${id}/log`, { auth: admin });
  assert.equal(log.status, 200);
  assert.match(log.headers.get('content-type') ?? '', /^text\/plain/);
  return { id, run, log: String(log.body) };
}

beforeEach(async () => {
  await server.berth.jobs.scheduler.remove('PURGE_AUDIT_LOG');
});

test('every purge endpoint wants a system administrator: 401 anonymous, 403 a signed-in user, and nothing starts', async () => {
  const body = schedule('Manual', { audit_retention_hour: 1, include_event_types: 'create_artifact' });
  const endpoints: Array<[string, string, unknown?]> = [
    ['GET', '/system/purgeaudit'],
    ['GET', '/system/purgeaudit/1'],
    ['PUT', '/system/purgeaudit/1'],
    ['GET', '/system/purgeaudit/1/log'],
    ['GET', '/system/purgeaudit/schedule'],
    ['POST', '/system/purgeaudit/schedule', body],
    ['PUT', '/system/purgeaudit/schedule', body],
  ];
  const before = (await history()).length;
  for (const [method, path, b] of endpoints) {
    const anonymous = await api(server, method, path, { body: b });
    assert.equal(anonymous.status, 401, `${method} ${path} anonymous`);
    assert.equal(errorCode(anonymous), 'UNAUTHORIZED');
    const other = await api(server, method, path, { auth: user, body: b });
    assert.equal(other.status, 403, `${method} ${path} as a user`);
    assert.equal(errorCode(other), 'FORBIDDEN');
  }
  assert.equal((await history()).length, before, 'no run was started');
});

test('bad bodies are refused with 400 and Harbor’s messages; nothing starts and no schedule is set', async () => {
  const cases: Array<[unknown, RegExp]> = [
    [{ parameters: { audit_retention_hour: 1, include_event_types: '' } }, /^schedule cann't be empty$/],
    [{ schedule: { type: 'Manual' } }, /^schedule parameter cann't be empty$/],
    [schedule('Manual', {}), /^schedule parameter cann't be empty$/],
    [schedule('Manual', { include_event_types: 'create_artifact' }), /^audit_retention_hour should provide$/],
    [schedule('Manual', { audit_retention_hour: 1 }), /^include_event_types should provide$/],
    [schedule('Manual', { audit_retention_hour: '24', include_event_types: '' }), /^audit_retention_hour should be integer format$/],
    [schedule('Manual', { audit_retention_hour: 1.5, include_event_types: '' }), /^audit_retention_hour should be integer format$/],
    [schedule('Manual', { audit_retention_hour: 240001, include_event_types: '' }), /^audit_retention_hour should be less than 240000$/],
    [schedule('Manual', { audit_retention_hour: -2, include_event_types: '' }), /audit_retention_hour must be -1, 0/],
    [
      schedule('Manual', { audit_retention_hour: 1, include_event_types: ['create_artifact'] }),
      /include_event_types must be a comma separated string/,
    ],
    [
      schedule('Manual', { audit_retention_hour: 1, include_event_types: 'create_artifact,explode_artifact' }),
      /unknown event type "explode_artifact"/,
    ],
    [schedule('Manual', { audit_retention_hour: 1, include_event_types: '', dry_run: 'yes' }), /^dry_run must be true or false/],
    [schedule('Sometimes', { audit_retention_hour: 1, include_event_types: '' }), /^schedule.type must be one of/],
    [
      schedule('Daily', { audit_retention_hour: 1, include_event_types: '' }),
      /^invalid cron string for scheduled log rotation purge: null/,
    ],
    [
      schedule('Custom', { audit_retention_hour: 1, include_event_types: '' }, 'every day'),
      /^invalid cron string for scheduled log rotation purge: every day, error: /,
    ],
  ];
  const runs = (await history()).length;
  for (const method of ['POST', 'PUT']) {
    for (const [body, message] of cases) {
      const res = await api(server, method, '/system/purgeaudit/schedule', { auth: admin, body });
      assert.equal(res.status, 400, `${method} ${JSON.stringify(body)}: ${JSON.stringify(res.body)}`);
      assert.equal(errorCode(res), 'BAD_REQUEST');
      assert.match((res.body as any).errors[0].message, message, JSON.stringify(body));
    }
  }
  const raw = await api(server, 'POST', '/system/purgeaudit/schedule', { auth: admin, rawBody: '{"schedule":' });
  assert.equal(raw.status, 400);
  assert.equal((await history()).length, runs, 'nothing started');
  const s = await api(server, 'GET', '/system/purgeaudit/schedule', { auth: admin });
  assert.equal(s.status, 200);
  assert.equal(s.body, undefined, 'no schedule');
});

test('ids: 400 for what is not one, 404 for no such run (get, stop, log)', async () => {
  for (const [method, path] of [
    ['GET', '/system/purgeaudit/abc'],
    ['PUT', '/system/purgeaudit/0'],
    ['GET', '/system/purgeaudit/-1/log'],
  ]) {
    const res = await api(server, method, path, { auth: admin });
    assert.equal(res.status, 400, `${method} ${path}`);
  }
  for (const [method, path] of [
    ['GET', '/system/purgeaudit/999999'],
    ['PUT', '/system/purgeaudit/999999'],
    ['GET', '/system/purgeaudit/999999/log'],
  ]) {
    const res = await api(server, method, path, { auth: admin });
    assert.equal(res.status, 404, `${method} ${path}`);
    assert.equal(errorCode(res), 'NOT_FOUND');
  }
});

test('a dry run counts the records a purge would take and deletes nothing', async () => {
  await standardSeed();
  const beforeRecords = await records();
  const { run, log } = await runPurge({ audit_retention_hour: 24, include_event_types: 'create_artifact,pull_artifact', dry_run: true });
  assert.equal(run.job_status, 'Success');
  assert.deepEqual(checkShape(run, 'ExecHistory'), []);
  assert.equal(run.job_name, 'PURGE_AUDIT_LOG');
  assert.equal(run.job_kind, 'MANUAL');
  assert.deepEqual(run.schedule, { type: 'Manual' });
  assert.deepEqual(JSON.parse(run.job_parameters), {
    audit_retention_hour: 24,
    include_event_types: 'create_artifact,pull_artifact',
    dry_run: true,
    purged: 2,
  });
  assert.match(log, /Purge audit job start/);
  assert.match(log, /\[DRYRUN\]Purged 2 rows of audit logs/);
  assert.deepEqual(await records(), beforeRecords);
});

test('a run deletes the records older than the retention of the chosen event types, and only those', async () => {
  await standardSeed();
  const { run, log } = await runPurge({ audit_retention_hour: 24, include_event_types: 'Create_Artifact, pull_artifact' });
  assert.equal(run.job_status, 'Success');
  assert.equal(JSON.parse(run.job_parameters).purged, 2);
  assert.match(log, /Purged 2 rows of audit logs/);
  assert.deepEqual(await records(), [
    'delete_artifact:lib/b:old',
    'create_project:lib',
    'login_user:admin',
    'create_artifact:lib/a:new',
    'pull_artifact:lib/a:new',
  ]);
});

test('"other" takes every event type but create, delete and pull of artifacts; plain operations take that operation', async () => {
  await standardSeed();
  await runPurge({ audit_retention_hour: 24, include_event_types: 'other' });
  assert.deepEqual(await records(), [
    'create_artifact:lib/a:old',
    'pull_artifact:lib/a:old',
    'delete_artifact:lib/b:old',
    'create_artifact:lib/a:new',
    'pull_artifact:lib/a:new',
  ]);
  await runPurge({ audit_retention_hour: 24, include_event_types: 'pull' });
  assert.deepEqual(await records(), [
    'create_artifact:lib/a:old',
    'delete_artifact:lib/b:old',
    'create_artifact:lib/a:new',
    'pull_artifact:lib/a:new',
  ]);
});

test('an empty include_event_types, or a retention of 0 or -1, purges nothing (as Harbor)', async () => {
  await standardSeed();
  const all = await records();
  const empty = await runPurge({ audit_retention_hour: 24, include_event_types: '' });
  assert.equal(empty.run.job_status, 'Success');
  assert.match(empty.log, /no operation selected, skip to purge audit log/);
  for (const hours of [0, -1]) {
    const r = await runPurge({ audit_retention_hour: hours, include_event_types: 'create_artifact,other' });
    assert.equal(r.run.job_status, 'Success');
    assert.match(r.log, new RegExp(`quit purge job, retentionHour:${hours}`));
  }
  assert.deepEqual(await records(), all);
});

test('history lists runs newest first with paging, q and sort; bad q or sort is 400', async () => {
  const all = await history();
  assert.ok(all.length >= 2, 'the runs of the tests before');
  for (const item of all) assert.deepEqual(checkShape(item, 'ExecHistory'), []);
  const ids = all.map((r) => r.id);
  assert.deepEqual(
    ids,
    [...ids].sort((a, b) => b - a),
  );
  const page = await api(server, 'GET', '/system/purgeaudit?page=1&page_size=1', { auth: admin });
  assert.equal(page.headers.get('x-total-count'), String(all.length));
  assert.equal((page.body as any[]).length, 1);
  assert.match(page.headers.get('link') ?? '', /rel="next"/);
  const asc = await api(server, 'GET', '/system/purgeaudit?sort=id', { auth: admin });
  assert.deepEqual(
    (asc.body as any[]).map((r) => r.id),
    [...ids].reverse(),
  );
  const ok = await api(server, 'GET', '/system/purgeaudit?q=job_status=Success,job_kind=manual', { auth: admin });
  assert.equal((ok.body as any[]).length, all.filter((r) => r.job_status === 'Success').length);
  const sched = await api(server, 'GET', '/system/purgeaudit?q=job_kind=SCHEDULE', { auth: admin });
  assert.deepEqual(sched.body, []);
  for (const q of ['q=color=red', 'q=job_status=~Succ', 'sort=name', 'sort=id,-creation_time']) {
    const res = await api(server, 'GET', `/system/purgeaudit?${q}`, { auth: admin });
    assert.equal(res.status, 400, q);
  }
});

test('the schedule: set (Harbor’s shape back), changed, fires as SCHEDULE runs, removed with None', async () => {
  const params = { audit_retention_hour: 24, include_event_types: 'create_artifact', dry_run: true };
  const set = await api(server, 'POST', '/system/purgeaudit/schedule', { auth: admin, body: schedule('Daily', params, '0 0 0 * * *') });
  assert.equal(set.status, 201, JSON.stringify(set.body));
  let s = await api(server, 'GET', '/system/purgeaudit/schedule', { auth: admin });
  assert.equal(s.status, 200);
  assert.deepEqual(checkShape(s.body, 'ExecHistory'), []);
  assert.equal((s.body as any).job_kind, '0 0 0 * * *');
  assert.equal((s.body as any).schedule.type, 'Daily');
  assert.equal((s.body as any).schedule.cron, '0 0 0 * * *');
  assert.ok((s.body as any).schedule.next_scheduled_time, 'next_scheduled_time is given');
  assert.deepEqual(JSON.parse((s.body as any).job_parameters), params);

  const every = await api(server, 'PUT', '/system/purgeaudit/schedule', { auth: admin, body: schedule('Custom', params, '* * * * * *') });
  assert.equal(every.status, 200, JSON.stringify(every.body));
  s = await api(server, 'GET', '/system/purgeaudit/schedule', { auth: admin });
  assert.equal((s.body as any).schedule.type, 'Custom');
  const scheduled = await waitFor(
    async () => (await api(server, 'GET', '/system/purgeaudit?q=job_kind=SCHEDULE', { auth: admin })).body as any[],
    (runs) => runs.some((r) => r.job_status === 'Success'),
    'a scheduled run',
    30_000,
  );
  const ran = scheduled.find((r) => r.job_status === 'Success');
  assert.equal(ran.job_kind, 'SCHEDULE');
  assert.deepEqual(ran.schedule, { type: 'Schedule' });
  assert.equal(JSON.parse(ran.job_parameters).dry_run, true);

  const none = await api(server, 'PUT', '/system/purgeaudit/schedule', {
    auth: admin,
    body: schedule('None', { audit_retention_hour: 24, include_event_types: '' }),
  });
  assert.equal(none.status, 200);
  s = await api(server, 'GET', '/system/purgeaudit/schedule', { auth: admin });
  assert.equal(s.body, undefined);
});

test('a second manual run while one is pending is 409; stopping the pending one ends it Stopped with nothing deleted', async () => {
  await standardSeed();
  const all = await records();
  const queue = server.berth.jobs.queue;
  await queue.setPaused('PURGE_AUDIT_LOG', true);
  try {
    const body = schedule('Manual', { audit_retention_hour: 24, include_event_types: 'other' });
    const first = await api(server, 'POST', '/system/purgeaudit/schedule', { auth: admin, body });
    assert.equal(first.status, 201);
    const id = Number(first.headers.get('location')?.split('/').pop());
    const pending = await api(server, 'GET', `/system/purgeaudit/${id}`, { auth: admin });
    assert.equal((pending.body as any).job_status, 'Pending');
    const second = await api(server, 'POST', '/system/purgeaudit/schedule', { auth: admin, body });
    assert.equal(second.status, 409);
    assert.equal(errorCode(second), 'CONFLICT');
    const stop = await api(server, 'PUT', `/system/purgeaudit/${id}`, { auth: admin });
    assert.equal(stop.status, 200);
    const stopped = await api(server, 'GET', `/system/purgeaudit/${id}`, { auth: admin });
    assert.equal((stopped.body as any).job_status, 'Stopped');
  } finally {
    await queue.setPaused('PURGE_AUDIT_LOG', false);
  }
  assert.deepEqual(await records(), all);
});

test('a stop between two batches keeps what was deleted and ends the run Stopped (the handler, on the real database)', async () => {
  const many: AuditEntry[] = [];
  for (let i = 0; i < 2500; i++) many.push(old('pull', 'artifact', `lib/a@${i}`));
  await seed(many);
  const controller = new AbortController();
  class StopAfterOneBatch extends AuditPurgeStore {
    override async deleteBatch(...args: Parameters<AuditPurgeStore['deleteBatch']>) {
      const n = await super.deleteBatch(...args);
      controller.abort(new Error('stop requested'));
      return n;
    }
  }
  const service = new AuditPurgeService(new StopAfterOneBatch(db()), server.berth.jobs.queue, server.berth.jobs.scheduler);
  const lines: string[] = [];
  const ctx: JobContext<PurgeJobPayload> = {
    id: 990001,
    type: 'PURGE_AUDIT_LOG',
    payload: {
      trigger: 'MANUAL',
      operator: 'admin',
      parameters: { audit_retention_hour: 24, include_event_types: 'pull_artifact', dry_run: false },
    },
    attempt: 1,
    maxAttempts: 1,
    signal: controller.signal,
    log: async (message) => void lines.push(message),
  };
  await assert.rejects(service.handle(ctx), /stopped/);
  const remaining = await db()
    .selectFrom('audit_logs')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  assert.equal(Number(remaining.n), 1500, 'one batch of 1000 went, the rest stayed');
  const run = await service.get(990001);
  assert.equal(run?.status, 'Stopped');
  assert.equal(run?.jobParameters.purged, 1000);
  assert.ok(
    lines.some((l) => /stopped; purged 1000 rows/.test(l)),
    lines.join('\n'),
  );
});

test('a robot given purge-audit read and list sees the history and the schedule, and may not start a purge', async () => {
  const res = await api(server, 'POST', '/robots', {
    auth: admin,
    body: {
      name: 'purge-reader',
      level: 'system',
      duration: -1,
      permissions: [
        {
          kind: 'system',
          namespace: '/',
          access: [
            { resource: 'purge-audit', action: 'list' },
            { resource: 'purge-audit', action: 'read' },
          ],
        },
      ],
    },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const robot = basicAuth((res.body as any).name, (res.body as any).secret);
  assert.equal((await api(server, 'GET', '/system/purgeaudit', { auth: robot })).status, 200);
  assert.equal((await api(server, 'GET', '/system/purgeaudit/schedule', { auth: robot })).status, 200);
  const runs = (await history()).length;
  const start = await api(server, 'POST', '/system/purgeaudit/schedule', {
    auth: robot,
    body: schedule('Manual', { audit_retention_hour: 1, include_event_types: '' }),
  });
  assert.equal(start.status, 403);
  assert.equal(errorCode(start), 'FORBIDDEN');
  assert.equal((await history()).length, runs, 'nothing started');
});
