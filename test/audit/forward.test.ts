import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { after, before, test } from 'node:test';
import { AuditForwarder, createAuditForwarder } from '../../src/audit/forward.js';
import { formatSyslogMessage, frameOctetCounted, parseEndpoint } from '../../src/audit/forward-syslog.js';
import { loadConfig } from '../../src/config/load.js';
import { writeAudit } from '../../src/events/audit.js';
import { api, createUser } from '../helpers/api.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { waitFor } from '../jobs/databases.js';
import { parseRfc5424, SyslogListener } from './syslog-listener.js';

const listener = new SyslogListener();
/**
 * On PostgreSQL a record is forwarded once every transaction older than its own has ended,
 * in the whole cluster (the outbox's rule): a shared test server busy with other databases
 * (a large DROP DATABASE) holds forwarding back for a while, so the waits are long.
 */
const patience = 120_000;
before(async () => {
  await listener.start();
});
after(async () => {
  await listener.stop();
});

/** The messages whose text names this resource. */
const about = (resource: string) => listener.messages.filter((m) => m.includes(`resource:${resource},`));

async function arrived(resource: string, count = 1): Promise<string[]> {
  return waitFor(
    async () => about(resource),
    (found) => found.length >= count,
    `${count} syslog message(s) about ${resource}`,
    patience,
  );
}

function start(yaml: Record<string, unknown> = {}, dataDir?: string): Promise<TestServer> {
  return startServer({
    dataDir,
    yaml: { 'jobs.poll_interval_ms': 20, 'audit.forward_endpoint': listener.endpoint, ...yaml },
  });
}

test('format: RFC 5424 (PRI, version, timestamp, hostname, app-name, procid, msgid) with Harbor’s text, octet-counted (RFC 6587)', () => {
  const record = {
    id: 7,
    username: 'admin',
    operation: 'create',
    resourceType: 'artifact',
    resource: 'lib/ça va:1.0',
    result: 'success',
    projectId: 3,
    clientIp: '10.0.0.1',
    opTime: '2026-12-06T10:00:00.123Z',
    description: 'create artifact lib/ça va:1.0',
  };
  const message = formatSyslogMessage(record, { hostname: 'berth-1', appName: 'audit', procId: '42' });
  assert.equal(
    message,
    '<110>1 2026-12-06T10:00:00.123Z berth-1 audit 42 create_artifact - [operator="admin" resourceType="artifact" ' +
      'time="2026-12-06T10:00:00.123Z"]: action:create, resource:lib/ça va:1.0, operation_description:create artifact lib/ça va:1.0, ' +
      'result:success, id:7, project_id:3, client_ip:10.0.0.1',
  );
  const failed = parseRfc5424(formatSyslogMessage({ ...record, result: 'failure' }, { hostname: 'h', appName: 'audit', procId: '1' }));
  assert.equal(failed.pri, 13 * 8 + 4, 'facility log audit, severity warning for a failed operation');
  const frame = frameOctetCounted(message);
  const space = frame.indexOf(0x20);
  assert.equal(Number(frame.subarray(0, space).toString()), Buffer.byteLength(message), 'the count is in bytes (UTF-8), not characters');
  assert.equal(frame.subarray(space + 1).toString('utf8'), message);
  const odd = formatSyslogMessage({ ...record, username: 'a"b', resource: 'x\ny' }, { hostname: 'my host', appName: 'audit', procId: '1' });
  assert.ok(!odd.includes('\n'), 'one line');
  assert.equal(parseRfc5424(odd).hostname, 'myhost', 'header fields without spaces');
  assert.match(odd, /operator="a\\"b"/);
});

test('endpoints: host:port, [IPv6]:port, tcp://; anything else refused at start, as skip_database without an endpoint', async () => {
  assert.deepEqual(parseEndpoint('syslog.example.com:514'), { host: 'syslog.example.com', port: 514 });
  assert.deepEqual(parseEndpoint('[::1]:6514'), { host: '::1', port: 6514 });
  assert.deepEqual(parseEndpoint('tcp://10.0.0.2:1514'), { host: '10.0.0.2', port: 1514 });
  for (const bad of ['syslog.example.com', ':514', 'host:0', 'host:70000', 'udp://host:514', 'http://host:514/x']) {
    assert.throws(() => parseEndpoint(bad), /audit.forward_endpoint must be host:port/, bad);
  }
  const fakeDeps = {} as never;
  assert.equal(createAuditForwarder(fakeDeps, { forward_endpoint: '', skip_database: false }), null);
  assert.throws(
    () => createAuditForwarder(fakeDeps, { forward_endpoint: '', skip_database: true }),
    /audit.skip_database needs audit.forward_endpoint/,
  );
  // The configuration refuses both at load, naming the key (berth serve then exits with status 2).
  const load = (endpoint: string, skip: boolean) =>
    loadConfig({
      env: {},
      file: undefined,
      overrides: [
        [['audit', 'forward_endpoint'], endpoint],
        [['audit', 'skip_database'], skip],
      ],
    });
  assert.throws(() => load('not-an-endpoint', false), /audit\.forward_endpoint: must be host:port/);
  assert.throws(() => load('syslog:99999', false), /audit\.forward_endpoint: must be host:port/);
  assert.throws(() => load('', true), /audit\.skip_database: needs audit\.forward_endpoint/);
  assert.deepEqual(load('[::1]:514', true).audit, { forward_endpoint: '[::1]:514', skip_database: true });
});

test('every audit record reaches the syslog listener with its fields; the database keeps it (skip_database off)', async () => {
  const server = await start();
  try {
    await createUser(server, 'fwd-alice');
    const [message] = await arrived('fwd-alice');
    const parts = parseRfc5424(message);
    assert.equal(parts.pri, 13 * 8 + 6, 'facility 13 (log audit), severity 6 (informational)');
    assert.equal(parts.hostname, hostname().replace(/[^\x21-\x7e]/g, ''));
    assert.equal(parts.appName, 'audit', 'the tag Harbor’s forwarder uses');
    assert.equal(parts.procId, String(process.pid));
    assert.equal(parts.msgId, 'create_user');
    assert.equal(parts.sd, '-');
    const rows = await server.berth.database.db.selectFrom('audit_logs').selectAll().where('resource', '=', 'fwd-alice').execute();
    assert.equal(rows.length, 1, 'kept in the database');
    assert.equal(parts.timestamp, rows[0].op_time, 'the record’s own time');
    assert.match(
      parts.msg,
      /^\[operator="admin" resourceType="user" time="[^"]+"\]: action:create, resource:fwd-alice, operation_description:create user fwd-alice, result:success, id:\d+/,
    );
    const listed = await api(server, 'GET', '/audit-logs?q=resource=fwd-alice', { auth: server.admin.authorization });
    assert.equal((listed.body as unknown[]).length, 1);
  } finally {
    await server.stop();
  }
});

test('listener down then up: nothing lost, in order; writers are not held up meanwhile', async () => {
  const server = await start();
  try {
    await createUser(server, 'fwd-first');
    await arrived('fwd-first');
    await listener.stop();
    // Writes go on while the syslog server is away, through the API and directly.
    await createUser(server, 'fwd-while-down');
    const db = server.berth.database.db;
    const names = Array.from({ length: 450 }, (_, i) => `down/${String(i).padStart(3, '0')}`);
    for (let i = 0; i < names.length; i += 50) {
      await writeAudit(
        db,
        names.slice(i, i + 50).map((resource) => ({ username: 'ci', operation: 'push', resourceType: 'artifact', resource })),
      );
    }
    await listener.start();
    await arrived('fwd-while-down');
    await arrived(names[names.length - 1]);
    for (const name of names) assert.ok(about(name).length >= 1, `${name} arrived`);
    const order = listener.messages.filter((m) => m.includes('resource:down/')).map((m) => /resource:(down\/\d+),/.exec(m)![1]);
    const firsts = order.filter((n, i) => order.indexOf(n) === i);
    assert.deepEqual(firsts, names, 'in the order they were written');
    assert.deepEqual(listener.garbage, []);
  } finally {
    await server.stop();
  }
});

test('restart: records not yet forwarded when Berth stops are forwarded by the next start', async () => {
  await listener.stop();
  const server = await start();
  const dataDir = server.dataDir;
  await createUser(server, 'fwd-before-restart');
  await writeAudit(server.berth.database.db, { username: 'ci', operation: 'delete', resourceType: 'artifact', resource: 'restart/one' });
  await server.stop({ keepData: true });
  await listener.start();
  assert.equal(about('fwd-before-restart').length, 0, 'not sent while the listener was down');
  const again = await start({}, dataDir);
  try {
    await arrived('fwd-before-restart');
    await arrived('restart/one');
    // The cursor moves in its own transaction just after the listener took the bytes.
    await waitFor(
      () => again.berth.auditForwarder!.state(),
      (state) => (state?.forwarded ?? 0) >= 2,
      'the cursor to count the forwarded records',
      patience,
    );
  } finally {
    await again.stop();
  }
});

test('skip_database: forwarded records are deleted from the database once the listener has them', async () => {
  const server = await start({ 'audit.skip_database': true });
  try {
    await createUser(server, 'fwd-skip');
    await arrived('fwd-skip');
    const db = server.berth.database.db;
    await waitFor(
      async () => db.selectFrom('audit_logs').select('id').where('resource', '=', 'fwd-skip').execute(),
      (rows) => rows.length === 0,
      'the forwarded record to leave the database',
      patience,
    );
    const listed = await api(server, 'GET', '/audit-logs?q=resource=fwd-skip', { auth: server.admin.authorization });
    assert.deepEqual(listed.body, []);
  } finally {
    await server.stop();
  }
});

test('instances: one forwards at a time (no duplicates); a dead holder’s lease runs out, then another takes over', async () => {
  const server = await start({ 'audit.forward_endpoint': '' });
  try {
    assert.equal(server.berth.auditForwarder, null, 'off without an endpoint');
    const deps = { db: server.berth.database.db, dialect: server.berth.database.dialect };
    const a = new AuditForwarder(deps, { endpoint: listener.endpoint, skipDatabase: false, leaseMs: 60_000 });
    const b = new AuditForwarder(deps, { endpoint: listener.endpoint, skipDatabase: false, leaseMs: 60_000 });
    await a.prepare();
    await b.prepare();
    const names = Array.from({ length: 30 }, (_, i) => `pair/${i}`);
    await writeAudit(
      deps.db,
      names.map((resource) => ({ username: 'ci', operation: 'create', resourceType: 'artifact', resource })),
    );
    // Both try at once, again and again (on PostgreSQL a record waits until every older transaction in the cluster has ended).
    let sentA = 0;
    let sentB = 0;
    await waitFor(
      async () => {
        const [x, y] = await Promise.all([a.forwardNow(), b.forwardNow()]);
        sentA += x;
        sentB += y;
        return sentA + sentB;
      },
      (n) => n >= 30,
      'the 30 records to be forwarded',
      patience,
    );
    assert.equal(sentA + sentB, 30);
    assert.ok(sentA === 0 || sentB === 0, 'one instance forwarded');
    await arrived(names[29]);
    for (const name of names) assert.equal(about(name).length, 1, `${name} once`);

    // The holder dies without giving up its lease: the other waits until it runs out.
    const holderOf = sentA > 0 ? 'a' : 'b';
    const [holder, other] = holderOf === 'a' ? [a, b] : [b, a];
    await writeAudit(deps.db, { username: 'ci', operation: 'create', resourceType: 'artifact', resource: 'pair/late' });
    assert.equal(await other.forwardNow(), 0, 'the lease is held');
    await deps.db.updateTable('audit_forward_cursors').set({ held_until: 0 }).execute();
    await waitFor(
      () => other.forwardNow(),
      (n) => n === 1,
      'the other instance to take over once the lease ran out',
      patience,
    );
    await arrived('pair/late');
    await writeAudit(deps.db, { username: 'ci', operation: 'create', resourceType: 'artifact', resource: 'pair/later' });
    assert.equal(await holder.forwardNow(), 0, 'the old holder lost it');
    await waitFor(
      () => other.forwardNow(),
      (n) => n === 1,
      'the new holder to forward the next record',
      patience,
    );
    await arrived('pair/later');
    assert.equal(about('pair/late').length + about('pair/later').length, 2, 'each once');
    await a.stop();
    await b.stop();
  } finally {
    await server.stop();
  }
});

test('a purge while forwarding keeps the records not forwarded yet, and takes them once they are', async () => {
  const server = await start();
  try {
    const admin = server.admin.authorization;
    const db = server.berth.database.db;
    const purge = async () => {
      const res = await api(server, 'POST', '/system/purgeaudit/schedule', {
        auth: admin,
        body: { schedule: { type: 'Manual' }, parameters: { audit_retention_hour: 24, include_event_types: 'pull_artifact' } },
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      const id = res.headers.get('location')!.split('/').pop();
      const run = await waitFor(
        async () => (await api(server, 'GET', `/system/purgeaudit/${id}`, { auth: admin })).body as any,
        (r) => ['Success', 'Error', 'Stopped'].includes(r.job_status),
        `purge ${id}`,
        patience,
      );
      assert.equal(run.job_status, 'Success');
      return JSON.parse(run.job_parameters).purged as number;
    };
    await listener.stop();
    const old = new Date(Date.now() - 100 * 3600_000).toISOString();
    await writeAudit(db, [
      { username: 'ci', operation: 'pull', resourceType: 'artifact', resource: 'unsent/1', time: old },
      { username: 'ci', operation: 'pull', resourceType: 'artifact', resource: 'unsent/2', time: old },
    ]);
    assert.equal(await purge(), 0, 'not forwarded yet: kept');
    const left = await db.selectFrom('audit_logs').select('resource').where('resource', 'like', 'unsent/%').execute();
    assert.equal(left.length, 2);
    await listener.start();
    await arrived('unsent/2');
    await waitFor(purge, (n) => n === 2, 'the purge to take the forwarded records', patience);
    assert.deepEqual(await db.selectFrom('audit_logs').select('resource').where('resource', 'like', 'unsent/%').execute(), []);
  } finally {
    await server.stop();
  }
});
