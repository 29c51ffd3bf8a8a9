import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { checkShape } from '../compat/harbor-shapes.js';
import { api, createUser, errorCode } from '../helpers/api.js';
import { basicAuth, startServer, type TestServer } from '../helpers/server.js';
import { V2 } from '../helpers/v2.js';
import { blobRows, filesystemObjects, getRun, pushImage, runGc, startGc, waitForRun } from './helpers.js';

// The default time window (2 hours): nothing pushed by this test is old enough to collect.
let server: TestServer;
let admin: string;
let user: string;
before(async () => {
  server = await startServer({ yaml: { 'jobs.poll_interval_ms': 20 } });
  admin = server.admin.authorization;
  await createUser(server, 'gcwatcher');
  user = basicAuth('gcwatcher', 'Passw0rd1');
});
after(async () => {
  await server.stop();
});

function shapeOf(body: unknown, definition: string) {
  const problems = Array.isArray(body) ? body.flatMap((item, i) => checkShape(item, definition, `[${i}]`)) : checkShape(body, definition);
  assert.deepEqual(problems, [], `not Harbor's ${definition}`);
}

const manual = (parameters: unknown) => ({ schedule: { type: 'Manual' }, parameters });

test('every GC endpoint wants a system administrator: 401 anonymous, 403 a signed-in user, and nothing starts', async () => {
  const endpoints: Array<[string, string, unknown?]> = [
    ['GET', '/system/gc'],
    ['GET', '/system/gc/1'],
    ['PUT', '/system/gc/1'],
    ['GET', '/system/gc/1/log'],
    ['GET', '/system/gc/schedule'],
    ['POST', '/system/gc/schedule', manual({})],
    ['PUT', '/system/gc/schedule', { schedule: { type: 'Daily', cron: '0 0 0 * * *' } }],
  ];
  for (const [method, path, body] of endpoints) {
    const anonymous = await api(server, method, path, { body });
    assert.equal(anonymous.status, 401, `${method} ${path} anonymous`);
    assert.equal(errorCode(anonymous), 'UNAUTHORIZED');
    const other = await api(server, method, path, { auth: user, body });
    assert.equal(other.status, 403, `${method} ${path} as a user`);
    assert.equal(errorCode(other), 'FORBIDDEN');
  }
  const history = await api(server, 'GET', '/system/gc', { auth: admin });
  assert.deepEqual(history.body, [], 'no run was started');
  assert.equal((await api(server, 'GET', '/system/gc/schedule', { auth: admin })).body, undefined, 'no schedule was set');
});

test('bad bodies and parameters are 400 with a message saying what is wrong, and start nothing', async () => {
  const bad: Array<[unknown, RegExp]> = [
    [[], /object/],
    [{}, /schedule is required/],
    [{ schedule: 'Manual' }, /schedule is required/],
    [{ schedule: { type: 'Sometimes' } }, /schedule\.type must be one of/],
    [{ schedule: { type: 'Daily' } }, /empty cron/],
    [{ schedule: { type: 'Custom', cron: 'every day' } }, /not a valid cron/],
    [{ schedule: { type: 'Custom', cron: 5 } }, /cron must be a string/],
    [manual('dry'), /parameters must be an object/],
    [manual({ dry_run: 'yes' }), /parameters\.dry_run must be true or false/],
    [manual({ delete_untagged: 1 }), /parameters\.delete_untagged must be true or false/],
    [manual({ remove_empty_repositories: 'true' }), /parameters\.remove_empty_repositories/],
    [manual({ scan_orphans: 'yes' }), /parameters\.scan_orphans/],
    [manual({ workers: 0 }), /workers must be a whole number from 1 to 10/],
    [manual({ workers: 11 }), /workers/],
    [manual({ workers: 1.5 }), /workers/],
    [manual({ workers: '2' }), /workers/],
  ];
  for (const [body, message] of bad) {
    for (const method of ['POST', 'PUT']) {
      const res = await api(server, method, '/system/gc/schedule', { auth: admin, body });
      assert.equal(res.status, 400, `${method} ${JSON.stringify(body)}: ${JSON.stringify(res.body)}`);
      assert.equal(errorCode(res), 'BAD_REQUEST');
      assert.match(res.body.errors[0].message, message, JSON.stringify(body));
    }
  }
  const notJson = await api(server, 'POST', '/system/gc/schedule', { auth: admin, rawBody: '{"schedule":' });
  assert.equal(notJson.status, 400);
  assert.deepEqual((await api(server, 'GET', '/system/gc', { auth: admin })).body, [], 'nothing started');
  assert.equal((await api(server, 'GET', '/system/gc/schedule', { auth: admin })).body, undefined, 'no schedule set');
});

test('unknown or malformed run ids: 404 for GET, stop and log; 400 for an id that is not a number', async () => {
  for (const [method, path] of [
    ['GET', '/system/gc/987654'],
    ['PUT', '/system/gc/987654'],
    ['GET', '/system/gc/987654/log'],
  ]) {
    const res = await api(server, method, path, { auth: admin });
    assert.equal(res.status, 404, `${method} ${path}`);
    assert.equal(errorCode(res), 'NOT_FOUND');
    assert.match(res.body.errors[0].message, /garbage collection 987654/);
  }
  const other = await server.berth.jobs.queue.enqueue('some.other.job', {});
  assert.equal((await api(server, 'GET', `/system/gc/${other}`, { auth: admin })).status, 404, 'a job that is no GC run');
  await server.berth.jobs.queue.cancel(other);
  const res = await api(server, 'GET', '/system/gc/abc', { auth: admin });
  assert.equal(res.status, 400);
  assert.match(res.body.errors[0].message, /gc_id/);
});

test('a manual run: 201 with its Location, Harbor’s GCHistory in the list and alone, its log as text', async () => {
  const started = await api(server, 'POST', '/system/gc/schedule', { auth: admin, body: manual({ delete_untagged: false, workers: 2 }) });
  assert.equal(started.status, 201);
  const id = Number(started.headers.get('location')!.match(/^\/api\/v2\.0\/system\/gc\/(\d+)$/)![1]);
  const run = await waitForRun(server, id);
  assert.equal(run.status, 'Success');
  shapeOf(run.body, 'GCHistory');
  assert.equal(run.body.job_name, 'GARBAGE_COLLECTION');
  assert.equal(run.body.job_kind, 'MANUAL');
  assert.equal(run.body.schedule.type, 'Manual');
  assert.equal(run.body.deleted, false);
  assert.deepEqual(Object.keys(run.parameters).sort(), [
    'delete_untagged',
    'dry_run',
    'failed_blobs',
    'freed_space',
    'kept_artifacts',
    'kept_blobs',
    'mark_ms',
    'purged_blobs',
    'purged_links',
    'purged_manifests',
    'purged_orphans',
    'remove_empty_repositories',
    'removed_repositories',
    'scan_orphans',
    'store_listed',
    'sweep_ms',
    'time_window',
    'workers',
  ]);
  assert.equal(run.parameters.workers, 2);
  assert.equal(run.parameters.time_window, 2);

  const list = await api(server, 'GET', '/system/gc', { auth: admin });
  assert.equal(list.status, 200);
  assert.equal(list.headers.get('x-total-count'), '1');
  shapeOf(list.body, 'GCHistory');
  assert.equal(list.body[0].id, id);

  const log = await fetch(`${server.url}/api/v2.0/system/gc/${id}/log`, { headers: { authorization: admin } });
  assert.equal(log.status, 200);
  assert.match(log.headers.get('content-type') ?? '', /^text\/plain/);
  const text = await log.text();
  assert.match(text, /parameters: delete_untagged=false dry_run=false workers=2/);
  assert.match(text, /swept 0 blob\(s\), freed 0 bytes/);
});

test('the time window keeps what was just deleted: a run inside it frees nothing', async () => {
  const image = await pushImage(server, 'library/gc-window', 'v1', [randomBytes(3000)]);
  assert.equal((await new V2(server).call('DELETE', `/v2/library/gc-window/manifests/${image.digest}`)).status, 202);
  const run = await runGc(server, {});
  assert.equal(run.parameters.purged_blobs, 0);
  assert.equal(run.parameters.purged_links, 0);
  const rows = await blobRows(server);
  for (const b of image.blobs) {
    assert.ok(rows.has(b.digest));
    assert.ok(await filesystemObjects(server).exists(b.digest), 'younger than the window: kept');
  }
});

test('one run at a time: a second manual run while one is pending is 409; stopping the pending one ends it Stopped', async () => {
  const queue = server.berth.jobs.queue;
  await queue.setPaused('GARBAGE_COLLECTION', true);
  try {
    const id = await startGc(server, { dry_run: true });
    assert.equal((await getRun(server, id)).status, 'Pending');
    const second = await api(server, 'POST', '/system/gc/schedule', { auth: admin, body: manual({}) });
    assert.equal(second.status, 409, JSON.stringify(second.body));
    assert.equal(errorCode(second), 'CONFLICT');
    assert.match(second.body.errors[0].message, new RegExp(`garbage collection ${id} is still pending or running`));
    const viaPut = await api(server, 'PUT', '/system/gc/schedule', { auth: admin, body: manual({}) });
    assert.equal(viaPut.status, 409);
    const stop = await api(server, 'PUT', `/system/gc/${id}`, { auth: admin });
    assert.equal(stop.status, 200);
    assert.equal((await getRun(server, id)).status, 'Stopped');
    const pending = await api(server, 'GET', '/system/gc?q=job_status%3DPending', { auth: admin });
    assert.deepEqual(pending.body, []);
    const stopped = await api(server, 'GET', '/system/gc?q=job_status%3DStopped', { auth: admin });
    assert.deepEqual(
      stopped.body.map((r: { id: number }) => r.id),
      [id],
    );
  } finally {
    await queue.setPaused('GARBAGE_COLLECTION', false);
  }
});

test('the schedule: set with a cron, read back in Harbor’s shape, changed, and removed with None', async () => {
  const set = await api(server, 'POST', '/system/gc/schedule', {
    auth: admin,
    body: { schedule: { type: 'Custom', cron: '0 30 2 * * *' }, parameters: { delete_untagged: true, workers: 3 } },
  });
  assert.equal(set.status, 201);
  const got = await api(server, 'GET', '/system/gc/schedule', { auth: admin });
  assert.equal(got.status, 200);
  shapeOf(got.body, 'GCHistory');
  assert.equal(got.body.schedule.type, 'Custom');
  assert.equal(got.body.schedule.cron, '0 30 2 * * *');
  assert.match(got.body.schedule.next_scheduled_time, /T02:30:00/);
  assert.deepEqual(JSON.parse(got.body.job_parameters), {
    delete_untagged: true,
    dry_run: false,
    workers: 3,
    remove_empty_repositories: false,
    scan_orphans: false,
    time_window: 2,
  });
  const daily = await api(server, 'PUT', '/system/gc/schedule', {
    auth: admin,
    body: { schedule: { type: 'Daily', cron: '0 0 0 * * *' } },
  });
  assert.equal(daily.status, 200);
  assert.equal((await api(server, 'GET', '/system/gc/schedule', { auth: admin })).body.schedule.type, 'Daily');
  const schedules = await api(server, 'GET', '/schedules', { auth: admin });
  assert.ok(
    schedules.body.some((s: { vendor_type: string }) => s.vendor_type === 'GARBAGE_COLLECTION'),
    'listed among the schedules',
  );
  const none = await api(server, 'PUT', '/system/gc/schedule', { auth: admin, body: { schedule: { type: 'None' } } });
  assert.equal(none.status, 200);
  const gone = await api(server, 'GET', '/system/gc/schedule', { auth: admin });
  assert.equal(gone.status, 200);
  assert.equal(gone.body, undefined, 'an empty answer, as Harbor gives');
});

test('a scheduled tick starts a run of kind SCHEDULE with the schedule’s parameters', async () => {
  await api(server, 'PUT', '/system/gc/schedule', {
    auth: admin,
    body: { schedule: { type: 'Custom', cron: '* * * * * *' }, parameters: { dry_run: true } },
  });
  try {
    const ticked = await waitForList(() => api(server, 'GET', '/system/gc?q=job_kind%3DSCHEDULE', { auth: admin }));
    const run = await waitForRun(server, ticked);
    assert.equal(run.kind, 'SCHEDULE');
    assert.equal(run.body.schedule.type, 'Schedule');
    assert.equal(run.parameters.dry_run, true);
  } finally {
    await api(server, 'PUT', '/system/gc/schedule', { auth: admin, body: { schedule: { type: 'None' } } });
  }
});

async function waitForList(read: () => Promise<{ body: Array<{ id: number }> }>): Promise<number> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const res = await read();
    if (res.body.length > 0) return res.body[0].id;
    if (Date.now() > deadline) throw new Error('no scheduled run appeared');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test('the history pages and sorts as Harbor’s lists do', async () => {
  const all = await api(server, 'GET', '/system/gc?page_size=100', { auth: admin });
  const ids = all.body.map((r: { id: number }) => r.id);
  assert.ok(ids.length >= 3);
  assert.deepEqual(
    ids,
    [...ids].sort((x: number, y: number) => y - x),
    'newest first',
  );
  const first = await api(server, 'GET', '/system/gc?page=1&page_size=1', { auth: admin });
  assert.equal(first.headers.get('x-total-count'), String(ids.length));
  assert.match(first.headers.get('link') ?? '', /rel="next"/);
  assert.deepEqual(
    first.body.map((r: { id: number }) => r.id),
    [ids[0]],
  );
  const oldest = await api(server, 'GET', '/system/gc?sort=creation_time&page_size=1', { auth: admin });
  assert.equal(oldest.body[0].id, ids[ids.length - 1]);
  for (const q of ['sort=size', 'q=digest%3Dx', 'q=job_status%3D~Succ']) {
    const res = await api(server, 'GET', `/system/gc?${q}`, { auth: admin });
    assert.equal(res.status, 400, q);
  }
});
