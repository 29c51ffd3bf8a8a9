import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { writeAudit } from '../../src/events/audit.js';
import { api, createUser, errorCode } from '../helpers/api.js';
import { testDialect } from '../helpers/database.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { waitFor } from '../jobs/databases.js';
import { SyslogListener } from './syslog-listener.js';

/** On PostgreSQL a record waits for every older transaction in the cluster (see forward.test.ts): long waits. */
const patience = 120_000;
const first = new SyslogListener();
const second = new SyslogListener();
let server: TestServer;
/** Another instance on the same database (PostgreSQL; SQLite is owned by one instance): it follows the settings too. */
let other: TestServer | undefined;

before(async () => {
  await first.start();
  await second.start();
  server = await startServer({ yaml: { 'jobs.poll_interval_ms': 20 } });
  if (testDialect() === 'postgres') other = await startServer({ dataDir: server.dataDir, yaml: { 'jobs.poll_interval_ms': 20 } });
});
after(async () => {
  await other?.stop({ keepData: true });
  await server?.stop();
  await first.stop();
  await second.stop();
});

const admin = () => server.admin.authorization;
const put = (body: unknown) => api<any>(server, 'PUT', '/configurations', { auth: admin(), body });
const settingOf = async (key: string) => ((await api<any>(server, 'GET', '/configurations', { auth: admin() })).body as any)[key];
const about = (listener: SyslogListener, resource: string) => listener.messages.filter((m) => m.includes(`resource:${resource},`));

function arrived(listener: SyslogListener, resource: string): Promise<string[]> {
  return waitFor(
    async () => about(listener, resource),
    (found) => found.length >= 1,
    `a syslog message about ${resource}`,
    patience,
  );
}

async function rowsAbout(resource: string) {
  return server.berth.database.db.selectFrom('audit_logs').select('id').where('resource', '=', resource).execute();
}

/** Every instance runs a forwarder (or none) for the settings just stored: the others within their re-read of the settings. */
async function everyInstance(on: boolean) {
  for (const instance of [server, other]) {
    if (!instance) continue;
    await waitFor(
      async () => instance.berth.auditForwarder !== null,
      (running) => running === on,
      `forwarding ${on ? 'on' : 'off'} on every instance`,
      patience,
    );
  }
}

test('PUT /configurations switches forwarding on, moves it to another endpoint and off, on every instance, without a restart', async () => {
  assert.deepEqual(await settingOf('audit_log_forward_endpoint'), { value: '', editable: true });
  assert.deepEqual(await settingOf('skip_audit_log_database'), { value: false, editable: true });
  assert.equal(server.berth.auditForwarder, null);
  // Written while no endpoint is set: never forwarded (Harbor forwards what happens while one is set).
  await createUser(server, 'live-before');

  assert.equal((await put({ audit_log_forward_endpoint: first.endpoint })).status, 200);
  assert.deepEqual(await settingOf('audit_log_forward_endpoint'), { value: first.endpoint, editable: true });
  await everyInstance(true);
  await createUser(server, 'live-first');
  await arrived(first, 'live-first');
  assert.deepEqual(about(first, 'live-before'), [], 'a record from before forwarding was switched on is not sent');

  // Another endpoint: the first forwarder stops, the new one goes on from the shared cursor.
  assert.equal((await put({ audit_log_forward_endpoint: second.endpoint })).status, 200);
  await waitFor(
    async () => [server, other].filter((s) => s?.berth.auditForwarder).length,
    () =>
      [server, other].every((s) => !s || (s.berth.auditForwarder !== null && s.berth.auditForwarder.target.endpoint === second.endpoint)),
    'every instance to forward to the second listener',
    patience,
  );
  await createUser(server, 'live-second');
  await arrived(second, 'live-second');
  assert.deepEqual(about(first, 'live-second'), [], 'later records go to the new endpoint only');
  assert.equal(about(second, 'live-second').length, 1, 'once');

  // Emptied: forwarding stops everywhere; records written meanwhile are kept in the database and never sent.
  assert.equal((await put({ audit_log_forward_endpoint: '' })).status, 200);
  await everyInstance(false);
  await createUser(server, 'live-off');
  assert.equal((await rowsAbout('live-off')).length, 1);
  // On again: what was written while off is skipped. The forwarder sends in order, so once the
  // later record arrived the earlier one would have arrived before it, had it been sent.
  assert.equal((await put({ audit_log_forward_endpoint: second.endpoint })).status, 200);
  await everyInstance(true);
  await createUser(server, 'live-again');
  await arrived(second, 'live-again');
  assert.deepEqual([...about(first, 'live-off'), ...about(second, 'live-off')], [], 'nothing written while off is forwarded');
  assert.equal(about(first, 'live-again').length, 0);
});

test('skip_audit_log_database on and off through PUT; refused without an endpoint (400, nothing changed)', async () => {
  assert.equal((await put({ audit_log_forward_endpoint: first.endpoint, skip_audit_log_database: true })).status, 200);
  await waitFor(
    async () => [server, other].map((s) => s?.berth.auditForwarder?.target),
    (options) => options.every((o, i) => (i === 1 && !other) || (o?.endpoint === first.endpoint && o?.skipDatabase === true)),
    'every instance to forward to the first listener and delete',
    patience,
  );
  await createUser(server, 'live-skip');
  await arrived(first, 'live-skip');
  await waitFor(
    () => rowsAbout('live-skip'),
    (rows) => rows.length === 0,
    'the forwarded record to leave the database',
    patience,
  );

  // Emptying the endpoint while skip_database is on would keep the records nowhere: 400.
  const refused = await put({ audit_log_forward_endpoint: '' });
  assert.equal(refused.status, 400);
  assert.equal(errorCode(refused), 'BAD_REQUEST');
  assert.match(refused.body.errors[0].message, /skip_audit_log_database: needs audit_log_forward_endpoint/);
  const badEndpoint = await put({ audit_log_forward_endpoint: 'syslog.example.org' });
  assert.equal(badEndpoint.status, 400);
  assert.match(badEndpoint.body.errors[0].message, /audit_log_forward_endpoint: must be host:port/);
  assert.deepEqual(await settingOf('audit_log_forward_endpoint'), { value: first.endpoint, editable: true });
  assert.deepEqual(await settingOf('skip_audit_log_database'), { value: true, editable: true });

  assert.equal((await put({ skip_audit_log_database: false })).status, 200);
  await waitFor(
    async () => [server, other].map((s) => s?.berth.auditForwarder?.target),
    (options) => options.every((o, i) => (i === 1 && !other) || o?.skipDatabase === false),
    'every instance to keep forwarded records',
    patience,
  );
  await createUser(server, 'live-keep');
  await arrived(first, 'live-keep');
  const [kept] = await rowsAbout('live-keep');
  assert.ok(kept, 'kept in the database');
  await waitFor(
    () => server.berth.auditForwarder!.state(),
    (state) => (state?.lastId ?? 0) >= Number(kept.id),
    'the cursor to pass the record',
    patience,
  );
  assert.equal((await rowsAbout('live-keep')).length, 1, 'still there once forwarded');
});

test('a purge asks at run time whether forwarding is on: it keeps unsent records only then', async () => {
  // An endpoint where nothing listens: every send is refused. (Stopping a listener the forwarder
  // is connected to would race: a record written into the closing connection counts as sent.)
  const nobody = new SyslogListener();
  await nobody.start();
  await nobody.stop();
  assert.equal((await put({ audit_log_forward_endpoint: nobody.endpoint, skip_audit_log_database: false })).status, 200);
  await waitFor(
    async () => [server, other].map((s) => s?.berth.auditForwarder?.target.endpoint),
    (endpoints) => endpoints.every((e, i) => (i === 1 && !other) || e === nobody.endpoint),
    'every instance to forward to the endpoint where nothing listens',
    patience,
  );
  const old = new Date(Date.now() - 100 * 3600_000).toISOString();
  await writeAudit(server.berth.database.db, {
    username: 'ci',
    operation: 'pull',
    resourceType: 'artifact',
    resource: 'live/unsent',
    time: old,
  });
  const purge = async () => {
    const res = await api(server, 'POST', '/system/purgeaudit/schedule', {
      auth: admin(),
      body: { schedule: { type: 'Manual' }, parameters: { audit_retention_hour: 24, include_event_types: 'pull_artifact' } },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const id = res.headers.get('location')!.split('/').pop();
    const run = await waitFor(
      async () => (await api(server, 'GET', `/system/purgeaudit/${id}`, { auth: admin() })).body as any,
      (r) => ['Success', 'Error', 'Stopped'].includes(r.job_status),
      `purge ${id}`,
      patience,
    );
    assert.equal(run.job_status, 'Success');
  };
  await purge();
  assert.equal((await rowsAbout('live/unsent')).length, 1, 'forwarding on and the record not sent: kept');
  assert.equal((await put({ audit_log_forward_endpoint: '' })).status, 200);
  // The purge may run on any instance: each asks its own settings, re-read within 2 s.
  await everyInstance(false);
  await purge();
  assert.equal((await rowsAbout('live/unsent')).length, 0, 'forwarding off: purged');
});
