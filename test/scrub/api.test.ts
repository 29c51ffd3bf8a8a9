import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { api, createUser, errorCode } from '../helpers/api.js';
import { pushImage } from '../helpers/oci.js';
import { basicAuth, startServer, type TestServer } from '../helpers/server.js';
import { waitFor } from '../jobs/databases.js';
import { ended, runOf, scrub, startScrub, type Run } from './helpers.js';

const addFormats = addFormatsModule.default;

let server: TestServer;
let admin: string;
let user: string;
let ajv: Ajv;
before(async () => {
  server = await startServer({ yaml: { 'jobs.poll_interval_ms': 20 } });
  admin = server.admin.authorization;
  await createUser(server, 'scrubwatcher');
  user = basicAuth('scrubwatcher', 'Passw0rd1');
  await pushImage(server.url, 'library/scrub-api', 'v1', { headers: server.admin });
  const doc = (await (await fetch(`${server.url}/api/v2.0/openapi.json`)).json()) as object;
  ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema(closeObjects(doc), 'openapi');
});
after(async () => {
  await server.stop();
});

/** Object schemas refuse undocumented fields, so an answer's field the document leaves out fails. */
function closeObjects(node: unknown): any {
  if (Array.isArray(node)) node.forEach(closeObjects);
  else if (typeof node === 'object' && node !== null) {
    const schema = node as Record<string, unknown>;
    if (schema.properties !== undefined && schema.additionalProperties === undefined) schema.additionalProperties = false;
    Object.values(schema).forEach(closeObjects);
  }
  return node;
}

function assertDocumented(path: string, body: unknown, status = 200) {
  const pointer = ['paths', path, 'get', 'responses', String(status), 'content', 'application/json', 'schema']
    .map((t) => encodeURIComponent(t.replace(/~/g, '~0').replace(/\//g, '~1')))
    .join('/');
  const validate = ajv.getSchema(`openapi#/${pointer}`);
  assert.ok(validate, `no schema for GET ${path} ${status}`);
  assert.ok(validate(body), `GET ${path}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body)}`);
}

const runCount = async () => Number((await api(server, 'GET', '/system/scrub', { auth: admin })).headers.get('x-total-count'));
const noSchedule = async () => {
  const res = await api(server, 'GET', '/system/scrub/schedule', { auth: admin });
  assert.equal(res.status, 200);
  assert.equal(res.body, undefined, 'no schedule: an empty answer, as Harbor gives for GC');
};

test('every scrub endpoint is for system administrators: 401 anonymous, 403 for a user', async () => {
  const endpoints: Array<[string, string, unknown?]> = [
    ['GET', '/system/scrub'],
    ['GET', '/system/scrub/1'],
    ['PUT', '/system/scrub/1'],
    ['GET', '/system/scrub/1/log'],
    ['GET', '/system/scrub/1/findings'],
    ['GET', '/system/scrub/schedule'],
    ['POST', '/system/scrub/schedule', { schedule: { type: 'Manual' } }],
    ['PUT', '/system/scrub/schedule', { schedule: { type: 'Daily', cron: '0 0 0 * * *' } }],
  ];
  const before = await runCount();
  for (const [method, path, body] of endpoints) {
    const anonymous = await api(server, method, path, { body });
    assert.equal(anonymous.status, 401, `${method} ${path} anonymous`);
    assert.equal(errorCode(anonymous), 'UNAUTHORIZED');
    const other = await api(server, method, path, { auth: user, body });
    assert.equal(other.status, 403, `${method} ${path} as a user`);
    assert.equal(errorCode(other), 'FORBIDDEN');
  }
  assert.equal(await runCount(), before, 'no run was started');
  await noSchedule();
});

test('a manual run: 201 with its Location, then its history entry, findings and log in the documented shapes', async () => {
  const id = await startScrub(server);
  const run = await ended(server, id);
  assert.equal(run.job_status, 'Success');
  assert.equal(run.job_name, 'SCRUB');
  assert.equal(run.job_kind, 'MANUAL');
  assert.deepEqual(run.schedule, { type: 'Manual', cron: '' });
  const parameters = JSON.parse(run.job_parameters);
  assert.equal(parameters.workers, 4, 'scrub.workers by default');
  assert.equal(parameters.quarantine, true);
  assert.equal(parameters.blobs_checked, 2, 'the counts are in job_parameters too, as Harbor reports GC results');
  assert.equal(run.results.blobs_checked, 2);
  assert.equal(run.results.manifests_checked, 1);
  assert.ok(run.results.start_time && run.results.end_time);
  assertDocumented('/system/scrub/{scrub_id}', run);

  const list = await api<Run[]>(server, 'GET', '/system/scrub', { auth: admin });
  assert.equal(list.status, 200);
  assert.ok(Number(list.headers.get('x-total-count')) >= 1);
  assert.equal(list.body[0].id, id, 'newest first');
  assertDocumented('/system/scrub', list.body);
  const kinds = await api<Run[]>(server, 'GET', '/system/scrub?q=job_kind=CLI', { auth: admin });
  assert.deepEqual(kinds.body, []);

  const findings = await api(server, 'GET', `/system/scrub/${id}/findings`, { auth: admin });
  assert.equal(findings.status, 200);
  assert.deepEqual(findings.body, []);
  assert.equal(findings.headers.get('x-total-count'), '0');
  assertDocumented('/system/scrub/{scrub_id}/findings', findings.body);

  const log = await fetch(`${server.url}/api/v2.0/system/scrub/${id}/log`, { headers: { authorization: admin } });
  assert.equal(log.status, 200);
  assert.match(log.headers.get('content-type') ?? '', /^text\/plain/);
  const text = await log.text();
  assert.match(text, /scrubbing 2 blob\(s\) and 1 manifest\(s\), 4 blob\(s\) at a time/);
  assert.match(text, /done: no problems found/);
});

test('parameters: workers and quarantine are taken; anything else is a 400 that starts nothing', async () => {
  const { run } = await scrub(server, { workers: 1, quarantine: false });
  assert.deepEqual((({ workers, quarantine }) => ({ workers, quarantine }))(JSON.parse(run.job_parameters)), {
    workers: 1,
    quarantine: false,
  });
  const before = await runCount();
  const bad: Array<[unknown, RegExp]> = [
    [{ schedule: { type: 'Manual' }, parameters: { workers: 0 } }, /workers must be an integer from 1 to 32/],
    [{ schedule: { type: 'Manual' }, parameters: { workers: 'many' } }, /workers must be an integer/],
    [{ schedule: { type: 'Manual' }, parameters: { quarantine: 'yes' } }, /quarantine must be true or false/],
    [{ schedule: { type: 'Manual' }, parameters: { dry_run: true } }, /unknown scrub parameter "dry_run"/],
    [{ schedule: { type: 'Manual' }, parameters: [] }, /parameters must be an object/],
    [{ schedule: { type: 'Sometimes' } }, /schedule.type must be one of/],
    [{ schedule: 'Manual' }, /schedule must be an object/],
    [{}, /schedule must be an object/],
  ];
  for (const [body, message] of bad) {
    const res = await api(server, 'POST', '/system/scrub/schedule', { auth: admin, body });
    assert.equal(res.status, 400, JSON.stringify(body));
    assert.equal(errorCode(res), 'BAD_REQUEST');
    assert.match((res.body as any).errors[0].message, message);
  }
  const notJson = await api(server, 'POST', '/system/scrub/schedule', { auth: admin, rawBody: '[1,2]' });
  assert.equal(notJson.status, 400);
  assert.equal(await runCount(), before, 'nothing was started');
});

test('unknown and malformed run ids: 404 and 400', async () => {
  for (const path of ['/system/scrub/999999', '/system/scrub/999999/log', '/system/scrub/999999/findings']) {
    const res = await api(server, 'GET', path, { auth: admin });
    assert.equal(res.status, 404, path);
    assert.equal(errorCode(res), 'NOT_FOUND');
  }
  assert.equal((await api(server, 'PUT', '/system/scrub/999999', { auth: admin })).status, 404);
  for (const path of ['/system/scrub/abc', '/system/scrub/0', '/system/scrub/-1/log']) {
    const res = await api(server, 'GET', path, { auth: admin });
    assert.equal(res.status, 400, path);
    assert.equal(errorCode(res), 'BAD_REQUEST');
  }
  const paging = await api(server, 'GET', '/system/scrub?page_size=1000', { auth: admin });
  assert.equal(paging.status, 400);
  const sort = await api(server, 'GET', '/system/scrub?sort=size', { auth: admin });
  assert.equal(sort.status, 400);
});

test('the schedule: set, read, changed, refused when wrong (nothing changes), removed', async () => {
  await noSchedule();
  const wrong: Array<[unknown, RegExp]> = [
    [{ schedule: { type: 'Daily' } }, /needs a cron expression/],
    [{ schedule: { type: 'Custom', cron: '' } }, /needs a cron expression/],
    [{ schedule: { type: 'Custom', cron: 'every day' } }, /not a valid cron expression/],
    [{ schedule: { type: 'Weekly', cron: '0 0 0 * * 0' }, parameters: { workers: 99 } }, /workers/],
  ];
  for (const [body, message] of wrong) {
    const res = await api(server, 'POST', '/system/scrub/schedule', { auth: admin, body });
    assert.equal(res.status, 400, JSON.stringify(body));
    assert.match((res.body as any).errors[0].message, message);
  }
  await noSchedule();

  const created = await api(server, 'POST', '/system/scrub/schedule', {
    auth: admin,
    body: { schedule: { type: 'Daily', cron: '0 0 3 * * *' }, parameters: { workers: 2 } },
  });
  assert.equal(created.status, 201);
  assert.equal(created.headers.get('location'), null, 'a schedule is not a run');
  const schedule = await api(server, 'GET', '/system/scrub/schedule', { auth: admin });
  assert.equal(schedule.status, 200);
  assert.equal(schedule.body.schedule.type, 'Daily');
  assert.equal(schedule.body.schedule.cron, '0 0 3 * * *');
  assert.match(schedule.body.schedule.next_scheduled_time, /T03:00:00\.000Z$/);
  assert.deepEqual(JSON.parse(schedule.body.job_parameters), { workers: 2, quarantine: true });
  assertDocumented('/system/scrub/schedule', schedule.body);

  const bad = await api(server, 'PUT', '/system/scrub/schedule', {
    auth: admin,
    body: { schedule: { type: 'Custom', cron: '61 * * * *' } },
  });
  assert.equal(bad.status, 400);
  assert.equal((await api(server, 'GET', '/system/scrub/schedule', { auth: admin })).body.schedule.cron, '0 0 3 * * *', 'unchanged');

  const updated = await api(server, 'PUT', '/system/scrub/schedule', {
    auth: admin,
    body: { schedule: { type: 'Weekly', cron: '0 0 4 * * 0' } },
  });
  assert.equal(updated.status, 200);
  const weekly = await api(server, 'GET', '/system/scrub/schedule', { auth: admin });
  assert.equal(weekly.body.schedule.type, 'Weekly');
  assert.equal(weekly.body.schedule.cron, '0 0 4 * * 0');

  const removed = await api(server, 'PUT', '/system/scrub/schedule', { auth: admin, body: { schedule: { type: 'None' } } });
  assert.equal(removed.status, 200);
  await noSchedule();
});

test('a schedule fires runs (job_kind SCHEDULE)', async () => {
  const res = await api(server, 'POST', '/system/scrub/schedule', {
    auth: admin,
    body: { schedule: { type: 'Custom', cron: '* * * * * *' } },
  });
  assert.equal(res.status, 201);
  try {
    const runs = await waitFor(
      async () => (await api<Run[]>(server, 'GET', '/system/scrub?q=job_kind=SCHEDULE', { auth: admin })).body,
      (list) => list.length > 0,
      'a scheduled run',
    );
    const run = await ended(server, runs[runs.length - 1].id);
    assert.ok(['Success', 'Stopped'].includes(run.job_status), run.job_status);
    assert.deepEqual(run.schedule, { type: 'Schedule', cron: '' });
  } finally {
    await api(server, 'PUT', '/system/scrub/schedule', { auth: admin, body: { schedule: { type: 'None' } } });
    // Let a run the last tick started end before the next test.
    const last = (await api<Run[]>(server, 'GET', '/system/scrub', { auth: admin })).body[0];
    await ended(server, last.id);
  }
});

test('one run at a time: a second start is refused with 409 while one is pending; a pending run stops at once', async () => {
  const queue = server.berth.jobs.queue;
  await queue.setPaused('SCRUB', true);
  try {
    const id = await startScrub(server);
    assert.equal((await runOf(server, id)).job_status, 'Pending');
    const again = await api(server, 'POST', '/system/scrub/schedule', { auth: admin, body: { schedule: { type: 'Manual' } } });
    assert.equal(again.status, 409);
    assert.equal(errorCode(again), 'CONFLICT');
    assert.match((again.body as any).errors[0].message, new RegExp(`scrub ${id} is already pending`));
    const stop = await api(server, 'PUT', `/system/scrub/${id}`, { auth: admin });
    assert.equal(stop.status, 200);
    assert.equal((await runOf(server, id)).job_status, 'Stopped');
    // Stopping an ended run changes nothing.
    assert.equal((await api(server, 'PUT', `/system/scrub/${id}`, { auth: admin })).status, 200);
    assert.equal((await runOf(server, id)).job_status, 'Stopped');
  } finally {
    await queue.setPaused('SCRUB', false);
  }
  // The slot is free again.
  const { run } = await scrub(server);
  assert.equal(run.job_status, 'Success');
});
