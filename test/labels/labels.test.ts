import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { api, createUser, errorCode } from '../helpers/api.js';
import { pushImage } from '../helpers/oci.js';
import { basicAuth, startServer, type TestServer } from '../helpers/server.js';
import { assertError, auditLines, createProject } from '../projects/fixtures.js';

let server: TestServer;
let admin: string;
let teamId: number;
let libraryId: number;
const maintainer = basicAuth('mia', 'Passw0rd1');
const developer = basicAuth('dev', 'Passw0rd1');
const guest = basicAuth('gina', 'Passw0rd1');
const outsider = basicAuth('otto', 'Passw0rd1');

const labelKeys = ['color', 'creation_time', 'description', 'id', 'name', 'project_id', 'scope', 'update_time'];

/** Every row a labels request could change, to prove that a refusal changed nothing. */
async function dbState() {
  await server.berth.pulls.flush(); // pull audit records are written in batches
  const db = server.berth.database.db;
  const audits = await db
    .selectFrom('audit_logs')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return {
    labels: await db.selectFrom('labels').selectAll().orderBy('id').execute(),
    artifactLabels: await db.selectFrom('artifact_labels').selectAll().orderBy('artifact_id').orderBy('label_id').execute(),
    audits: Number(audits.n),
  };
}

/** POST /labels; asserts 201 and returns the new label's id. */
async function createLabel(body: Record<string, unknown>, auth = admin): Promise<number> {
  const res = await api(server, 'POST', '/labels', { auth, body });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const location = res.headers.get('location')!;
  assert.match(location, /^\/api\/v2\.0\/labels\/\d+$/);
  return Number(location.split('/').pop());
}

async function addMember(project: string, username: string, role: number) {
  const res = await api(server, 'POST', `/projects/${project}/members`, {
    auth: admin,
    body: { role_id: role, member_user: { username } },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
}

before(async () => {
  server = await startServer();
  admin = server.admin.authorization;
  for (const name of ['mia', 'dev', 'gina', 'otto']) await createUser(server, name);
  teamId = await createProject(server, { project_name: 'team' });
  libraryId = Number((await server.berth.projects.findByName('library'))!.id);
  await addMember('team', 'mia', 4);
  await addMember('team', 'dev', 2);
  await addMember('team', 'gina', 3);
});
after(async () => {
  await server.stop();
});

describe('labels API: create and read', () => {
  test('an admin creates a global label: 201 with Location, read back as a Label, audited', async () => {
    const id = await createLabel({ name: 'stable', description: 'ready for production', color: '#00FF00', scope: 'g', project_id: 42 });
    const got = await api(server, 'GET', `/labels/${id}`, { auth: admin });
    assert.equal(got.status, 200);
    assert.deepEqual(Object.keys(got.body).sort(), labelKeys);
    assert.deepEqual(
      { ...got.body, creation_time: '', update_time: '' },
      {
        id,
        name: 'stable',
        description: 'ready for production',
        color: '#00FF00',
        scope: 'g',
        project_id: 0,
        creation_time: '',
        update_time: '',
      },
    );
    assert.ok(!Number.isNaN(Date.parse(got.body.creation_time)));
    assert.equal(got.body.creation_time, got.body.update_time);
    assert.ok((await auditLines(server, 'resource_type=label')).includes('admin create label stable'));
  });

  test('any signed-in user reads a global label; anonymous callers are 401', async () => {
    const id = await createLabel({ name: 'global-read', scope: 'g' });
    const got = await api(server, 'GET', `/labels/${id}`, { auth: outsider });
    assert.equal(got.status, 200);
    assert.equal(got.body.description, '');
    assert.equal(got.body.color, '');
    assertError(await api(server, 'GET', `/labels/${id}`), 401, 'UNAUTHORIZED');
  });

  test('a maintainer creates a project label; members read it, outsiders and anonymous callers do not', async () => {
    const id = await createLabel({ name: 'team-only', color: '#123456', scope: 'p', project_id: teamId }, maintainer);
    const got = await api(server, 'GET', `/labels/${id}`, { auth: guest });
    assert.equal(got.status, 200);
    assert.equal(got.body.scope, 'p');
    assert.equal(got.body.project_id, teamId);
    assertError(await api(server, 'GET', `/labels/${id}`, { auth: outsider }), 403, 'FORBIDDEN');
    assertError(await api(server, 'GET', `/labels/${id}`), 401, 'UNAUTHORIZED');
    const audit = await api<any[]>(server, 'GET', `/projects/team/logs?q=${encodeURIComponent('resource_type=label')}`, { auth: admin });
    assert.equal(audit.status, 200);
    assert.ok(audit.body.some((l) => l.username === 'mia' && l.operation === 'create' && l.resource === 'team-only'));
  });

  test('a label of a public project is readable by anyone, anonymous callers included', async () => {
    const id = await createLabel({ name: 'lib-label', scope: 'p', project_id: libraryId });
    assert.equal((await api(server, 'GET', `/labels/${id}`, { auth: outsider })).status, 200);
    assert.equal((await api(server, 'GET', `/labels/${id}`)).status, 200);
  });

  test('unknown ids are 404, ids that are not positive integers 400', async () => {
    assertError(await api(server, 'GET', '/labels/999999', { auth: admin }), 404, 'NOT_FOUND');
    assertError(await api(server, 'GET', '/labels/abc', { auth: admin }), 400, 'BAD_REQUEST');
    assertError(await api(server, 'GET', '/labels/0', { auth: admin }), 400, 'BAD_REQUEST');
  });

  test('the name is trimmed; the same name may live in each scope and each project once', async () => {
    const id = await createLabel({ name: '  shared  ', scope: 'g' });
    assert.equal((await api(server, 'GET', `/labels/${id}`, { auth: admin })).body.name, 'shared');
    await createLabel({ name: 'shared', scope: 'p', project_id: teamId });
    await createLabel({ name: 'shared', scope: 'p', project_id: libraryId });
    await createLabel({ name: 'Shared', scope: 'g' });
  });

  test('a duplicate name in the same scope and project is 409 CONFLICT, and nothing changes', async () => {
    const before = await dbState();
    for (const body of [
      { name: 'shared', scope: 'g' },
      { name: ' shared', scope: 'g' },
      { name: 'shared', scope: 'p', project_id: teamId },
    ]) {
      assertError(await api(server, 'POST', '/labels', { auth: admin, body }), 409, 'CONFLICT', JSON.stringify(body));
    }
    assertError(
      await api(server, 'POST', '/labels', { auth: maintainer, body: { name: 'shared', scope: 'p', project_id: teamId } }),
      409,
      'CONFLICT',
    );
    assert.deepEqual(await dbState(), before);
  });

  test('every bad body is 400 BAD_REQUEST with a message, and nothing changes', async () => {
    const before = await dbState();
    const bad: unknown[] = [
      {},
      { scope: 'g' },
      { name: '', scope: 'g' },
      { name: '   ', scope: 'g' },
      { name: null, scope: 'g' },
      { name: 7, scope: 'g' },
      { name: 'x'.repeat(129), scope: 'g' },
      { name: 'no-scope' },
      { name: 'bad-scope', scope: 'x' },
      { name: 'bad-scope', scope: 'G' },
      { name: 'bad-scope', scope: 1 },
      { name: 'no-project', scope: 'p' },
      { name: 'bad-project', scope: 'p', project_id: 0 },
      { name: 'bad-project', scope: 'p', project_id: -1 },
      { name: 'bad-project', scope: 'p', project_id: 1.5 },
      { name: 'bad-project', scope: 'p', project_id: String(teamId) },
      { name: 'bad-color', scope: 'g', color: 'x'.repeat(17) },
      { name: 'bad-color', scope: 'g', color: 255 },
      { name: 'bad-description', scope: 'g', description: ['a'] },
    ];
    for (const body of bad) {
      const res = await api(server, 'POST', '/labels', { auth: admin, body });
      assertError(res, 400, 'BAD_REQUEST', JSON.stringify(body));
      assert.ok((res.body as any).errors[0].message.length > 0);
    }
    assertError(await api(server, 'POST', '/labels', { auth: admin, body: [{ name: 'a', scope: 'g' }] }), 400, 'BAD_REQUEST');
    assertError(await api(server, 'POST', '/labels', { auth: admin, rawBody: '{"name": "broken", "scope": ' }), 400, 'BAD_REQUEST');
    assertError(await api(server, 'POST', '/labels', { auth: admin, rawBody: '' }), 400, 'BAD_REQUEST');
    assertError(
      await api(server, 'POST', '/labels', { auth: admin, body: { name: 'ghost', scope: 'p', project_id: 999999 } }),
      404,
      'NOT_FOUND',
    );
    assert.deepEqual(await dbState(), before);
  });

  test('a name of exactly 128 characters is accepted', async () => {
    const name = 'n'.repeat(128);
    const id = await createLabel({ name, scope: 'g' });
    assert.equal((await api(server, 'GET', `/labels/${id}`, { auth: admin })).body.name, name);
  });

  test('only system admins create global labels; only label:create holders create project labels; nothing changes', async () => {
    const before = await dbState();
    const global = { name: 'not-yours', scope: 'g' };
    const project = { name: 'not-yours', scope: 'p', project_id: teamId };
    for (const auth of [maintainer, developer, guest, outsider]) {
      assertError(await api(server, 'POST', '/labels', { auth, body: global }), 403, 'FORBIDDEN');
    }
    assertError(await api(server, 'POST', '/labels', { auth: guest, body: project }), 403, 'FORBIDDEN', 'guest');
    assertError(await api(server, 'POST', '/labels', { auth: developer, body: project }), 403, 'FORBIDDEN', 'developer');
    assertError(await api(server, 'POST', '/labels', { auth: outsider, body: project }), 403, 'FORBIDDEN', 'outsider');
    assertError(
      await api(server, 'POST', '/labels', { auth: outsider, body: { ...project, project_id: libraryId } }),
      403,
      'FORBIDDEN',
      'public',
    );
    assertError(await api(server, 'POST', '/labels', { body: global }), 401, 'UNAUTHORIZED');
    assertError(await api(server, 'POST', '/labels', { body: project }), 401, 'UNAUTHORIZED');
    assertError(await api(server, 'POST', '/labels', { auth: basicAuth('mia', 'wrong'), body: project }), 401, 'UNAUTHORIZED');
    assert.deepEqual(await dbState(), before);
  });
});

describe('labels API: list', () => {
  before(async () => {
    for (const name of ['list-a', 'list-b', 'list-c', 'list_d', 'list%e']) await createLabel({ name, scope: 'g' });
    for (const name of ['p-one', 'p-two']) await createLabel({ name, scope: 'p', project_id: teamId });
  });

  test('scope=g lists global labels only, sorted by name, for any signed-in user', async () => {
    const all = await api<any[]>(server, 'GET', '/labels?scope=g&page_size=100', { auth: outsider });
    assert.equal(all.status, 200);
    assert.ok(all.body.length > 0);
    assert.ok(all.body.every((l) => l.scope === 'g' && l.project_id === 0));
    assert.equal(all.headers.get('x-total-count'), String(all.body.length));
    const names = all.body.map((l) => l.name);
    assert.deepEqual(names, [...names].sort());
    assert.ok(!names.includes('p-one'));
    assertError(await api(server, 'GET', '/labels?scope=g'), 401, 'UNAUTHORIZED');
  });

  test('paging: X-Total-Count and Link with prev and next', async () => {
    const page = await api<any[]>(server, 'GET', '/labels?scope=g&name=list&page=2&page_size=2', { auth: admin });
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('x-total-count'), '5');
    // Sorted by name in code-point order: list%e, list-a, list-b, list-c, list_d.
    assert.deepEqual(
      page.body.map((l) => l.name),
      ['list-b', 'list-c'],
    );
    const link = page.headers.get('link')!;
    assert.match(link, /<\/api\/v2\.0\/labels\?[^>]*page=1&page_size=2>; rel="prev"/);
    assert.match(link, /<\/api\/v2\.0\/labels\?[^>]*page=3&page_size=2>; rel="next"/);
    assert.match(link, /scope=g/);
    const last = await api<any[]>(server, 'GET', '/labels?scope=g&name=list&page=3&page_size=2', { auth: admin });
    assert.deepEqual(
      last.body.map((l) => l.name),
      ['list_d'],
    );
    assert.doesNotMatch(last.headers.get('link')!, /rel="next"/);
    const first = await api<any[]>(server, 'GET', '/labels?scope=g&name=list&page_size=10', { auth: admin });
    assert.equal(first.headers.get('link'), null);
  });

  test('name matches fuzzily, with % and _ taken literally', async () => {
    const b = await api<any[]>(server, 'GET', '/labels?scope=g&name=st-b', { auth: admin });
    assert.deepEqual(
      b.body.map((l) => l.name),
      ['list-b'],
    );
    assert.equal(b.headers.get('x-total-count'), '1');
    const pct = await api<any[]>(server, 'GET', `/labels?scope=g&name=${encodeURIComponent('%')}`, { auth: admin });
    assert.deepEqual(
      pct.body.map((l) => l.name),
      ['list%e'],
    );
    const under = await api<any[]>(server, 'GET', '/labels?scope=g&name=_', { auth: admin });
    assert.deepEqual(
      under.body.map((l) => l.name),
      ['list_d'],
    );
    const none = await api<any[]>(server, 'GET', '/labels?scope=g&name=nothing-like-this', { auth: admin });
    assert.deepEqual(none.body, []);
    assert.equal(none.headers.get('x-total-count'), '0');
  });

  test('q and sort', async () => {
    const q = await api<any[]>(server, 'GET', `/labels?scope=g&q=${encodeURIComponent('name=~list-')}&sort=-name`, { auth: admin });
    assert.equal(q.status, 200);
    assert.deepEqual(
      q.body.map((l) => l.name),
      ['list-c', 'list-b', 'list-a'],
    );
    const exact = await api<any[]>(server, 'GET', `/labels?scope=g&q=${encodeURIComponent('name=list-b')}`, { auth: admin });
    assert.deepEqual(
      exact.body.map((l) => l.name),
      ['list-b'],
    );
    assertError(await api(server, 'GET', `/labels?scope=g&q=${encodeURIComponent('nosuchkey=1')}`, { auth: admin }), 400, 'BAD_REQUEST');
    assertError(await api(server, 'GET', '/labels?scope=g&sort=nosuchkey', { auth: admin }), 400, 'BAD_REQUEST');
  });

  test("scope=p lists one project's labels for whoever holds label:list there", async () => {
    for (const auth of [admin, maintainer, developer, guest]) {
      const res = await api<any[]>(server, 'GET', `/labels?scope=p&project_id=${teamId}&page_size=100`, { auth });
      assert.equal(res.status, 200);
      assert.ok(res.body.every((l) => l.scope === 'p' && l.project_id === teamId));
      assert.ok(['p-one', 'p-two', 'shared', 'team-only'].every((n) => res.body.some((l) => l.name === n)));
    }
    const filtered = await api<any[]>(server, 'GET', `/labels?scope=p&project_id=${teamId}&name=p-`, { auth: guest });
    assert.deepEqual(
      filtered.body.map((l) => l.name),
      ['p-one', 'p-two'],
    );
    assertError(await api(server, 'GET', `/labels?scope=p&project_id=${teamId}`, { auth: outsider }), 403, 'FORBIDDEN');
    assertError(await api(server, 'GET', `/labels?scope=p&project_id=${teamId}`), 401, 'UNAUTHORIZED');
    const lib = await api<any[]>(server, 'GET', `/labels?scope=p&project_id=${libraryId}`);
    assert.equal(lib.status, 200, 'a public project lists its labels to anyone');
    assert.ok(lib.body.some((l) => l.name === 'lib-label'));
  });

  test("a missing or bad scope or project_id is 400 with Harbor's error body; an unknown project 404", async () => {
    for (const query of [
      '',
      '?scope=',
      '?scope=x',
      '?scope=global',
      '?scope=p',
      `?scope=p&project_id=abc`,
      '?scope=p&project_id=0',
      '?scope=p&project_id=-1',
    ]) {
      const res = await api(server, 'GET', `/labels${query}`, { auth: admin });
      assertError(res, 400, 'BAD_REQUEST', query);
    }
    assert.match(((await api(server, 'GET', '/labels?scope=x', { auth: admin })) as any).body.errors[0].message, /scope/);
    assertError(await api(server, 'GET', '/labels?scope=p&project_id=999999', { auth: admin }), 404, 'NOT_FOUND');
    assertError(await api(server, 'GET', '/labels?scope=g&page_size=500', { auth: admin }), 400, 'BAD_REQUEST');
    assertError(await api(server, 'GET', '/labels?scope=g&page=0', { auth: admin }), 400, 'BAD_REQUEST');
  });
});

describe('labels API: update', () => {
  test('a maintainer renames and recolours a project label; fields left out keep their value', async () => {
    const id = await createLabel(
      { name: 'to-rename', description: 'keep me', color: '#111111', scope: 'p', project_id: teamId },
      maintainer,
    );
    const before = (await api(server, 'GET', `/labels/${id}`, { auth: admin })).body;
    await new Promise((r) => setTimeout(r, 5));
    const res = await api(server, 'PUT', `/labels/${id}`, { auth: maintainer, body: { name: 'renamed', color: '#222222' } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const after = (await api(server, 'GET', `/labels/${id}`, { auth: admin })).body;
    assert.equal(after.name, 'renamed');
    assert.equal(after.color, '#222222');
    assert.equal(after.description, 'keep me');
    assert.equal(after.creation_time, before.creation_time);
    assert.ok(after.update_time > before.update_time);
    // A full Label body, as Harbor's portal sends it, with the same scope and project.
    const full = { ...after, description: '', scope: 'p', project_id: teamId };
    assert.equal((await api(server, 'PUT', `/labels/${id}`, { auth: maintainer, body: full })).status, 200);
    assert.equal((await api(server, 'GET', `/labels/${id}`, { auth: admin })).body.description, '');
    assert.ok((await auditLines(server, 'operation=update')).includes('mia update label renamed'));
  });

  test('an admin updates a global label; a name clash is 409 and bad input 400; nothing changes', async () => {
    const id = await createLabel({ name: 'g-update', scope: 'g' });
    await createLabel({ name: 'g-taken', scope: 'g' });
    assert.equal(
      (await api(server, 'PUT', `/labels/${id}`, { auth: admin, body: { name: 'g-update', description: 'same name is fine' } })).status,
      200,
    );
    assert.equal(
      (await api(server, 'PUT', `/labels/${id}`, { auth: admin, body: { name: 'p-one' } })).status,
      200,
      'p-one exists only as a project label',
    );
    const before = await dbState();
    assertError(await api(server, 'PUT', `/labels/${id}`, { auth: admin, body: { name: 'g-taken' } }), 409, 'CONFLICT');
    for (const body of [
      { name: '' },
      { name: '  ' },
      { name: 12 },
      { name: 'y'.repeat(129) },
      { color: 'z'.repeat(17) },
      { description: 5 },
      { scope: 'p' },
      { project_id: teamId },
    ]) {
      assertError(await api(server, 'PUT', `/labels/${id}`, { auth: admin, body }), 400, 'BAD_REQUEST', JSON.stringify(body));
    }
    assertError(await api(server, 'PUT', `/labels/${id}`, { auth: admin, rawBody: '{"name":' }), 400, 'BAD_REQUEST');
    assertError(await api(server, 'PUT', `/labels/${id}`, { auth: admin, body: 'text' }), 400, 'BAD_REQUEST');
    assertError(await api(server, 'PUT', '/labels/999999', { auth: admin, body: { name: 'x' } }), 404, 'NOT_FOUND');
    assertError(await api(server, 'PUT', '/labels/abc', { auth: admin, body: { name: 'x' } }), 400, 'BAD_REQUEST');
    assert.deepEqual(await dbState(), before);
  });

  test('a project label clashes only within its project', async () => {
    const id = await createLabel({ name: 'p-three', scope: 'p', project_id: teamId });
    const before = await dbState();
    assertError(await api(server, 'PUT', `/labels/${id}`, { auth: maintainer, body: { name: 'p-one' } }), 409, 'CONFLICT');
    assert.deepEqual(await dbState(), before);
    assert.equal(
      (await api(server, 'PUT', `/labels/${id}`, { auth: maintainer, body: { name: 'stable' } })).status,
      200,
      'stable is a global label',
    );
  });

  test('who may update: label:update in the project, system admins for global labels; nothing changes', async () => {
    const projectLabel = await createLabel({ name: 'guarded', scope: 'p', project_id: teamId });
    const globalLabel = await createLabel({ name: 'guarded-global', scope: 'g' });
    const before = await dbState();
    for (const [auth, who] of [
      [developer, 'developer'],
      [guest, 'guest'],
    ] as const) {
      assertError(await api(server, 'PUT', `/labels/${projectLabel}`, { auth, body: { name: 'hijacked' } }), 403, 'FORBIDDEN', who);
    }
    assertError(await api(server, 'PUT', `/labels/${projectLabel}`, { auth: outsider, body: { name: 'hijacked' } }), 403, 'FORBIDDEN');
    assertError(await api(server, 'PUT', `/labels/${projectLabel}`, { body: { name: 'hijacked' } }), 401, 'UNAUTHORIZED');
    for (const auth of [maintainer, developer, outsider]) {
      assertError(await api(server, 'PUT', `/labels/${globalLabel}`, { auth, body: { name: 'hijacked' } }), 403, 'FORBIDDEN');
    }
    assertError(await api(server, 'PUT', `/labels/${globalLabel}`, { body: { name: 'hijacked' } }), 401, 'UNAUTHORIZED');
    assert.deepEqual(await dbState(), before);
  });
});

describe('labels API: delete', () => {
  test('who may delete: refusals are 401/403/404 and change nothing', async () => {
    const projectLabel = await createLabel({ name: 'del-guarded', scope: 'p', project_id: teamId });
    const globalLabel = await createLabel({ name: 'del-guarded-global', scope: 'g' });
    const before = await dbState();
    for (const auth of [developer, guest, outsider]) {
      assertError(await api(server, 'DELETE', `/labels/${projectLabel}`, { auth }), 403, 'FORBIDDEN');
    }
    for (const auth of [maintainer, developer, guest, outsider]) {
      assertError(await api(server, 'DELETE', `/labels/${globalLabel}`, { auth }), 403, 'FORBIDDEN');
    }
    assertError(await api(server, 'DELETE', `/labels/${projectLabel}`), 401, 'UNAUTHORIZED');
    assertError(await api(server, 'DELETE', `/labels/${globalLabel}`), 401, 'UNAUTHORIZED');
    assertError(await api(server, 'DELETE', '/labels/999999', { auth: admin }), 404, 'NOT_FOUND');
    assertError(await api(server, 'DELETE', '/labels/abc', { auth: admin }), 400, 'BAD_REQUEST');
    assert.deepEqual(await dbState(), before);
  });

  test('a maintainer deletes a project label, an admin a global one; gone afterwards, audited', async () => {
    const projectLabel = await createLabel({ name: 'del-me', scope: 'p', project_id: teamId });
    const globalLabel = await createLabel({ name: 'del-me-global', scope: 'g' });
    assert.equal((await api(server, 'DELETE', `/labels/${projectLabel}`, { auth: maintainer })).status, 200);
    assert.equal((await api(server, 'DELETE', `/labels/${globalLabel}`, { auth: admin })).status, 200);
    assertError(await api(server, 'GET', `/labels/${projectLabel}`, { auth: admin }), 404, 'NOT_FOUND');
    assertError(await api(server, 'DELETE', `/labels/${globalLabel}`, { auth: admin }), 404, 'NOT_FOUND');
    const lines = await auditLines(server, 'operation=delete');
    assert.ok(lines.includes('mia delete label del-me'));
    assert.ok(lines.includes('admin delete label del-me-global'));
    // The name is free again.
    await createLabel({ name: 'del-me-global', scope: 'g' });
  });

  test('deleting a label takes it off the artifacts that carried it', async () => {
    await pushImage(server.url, 'team/app', 'v1', { headers: server.admin });
    const db = server.berth.database.db;
    const artifact = await db.selectFrom('artifacts').select('id').orderBy('id', 'desc').executeTakeFirstOrThrow();
    const doomed = await createLabel({ name: 'on-artifact', scope: 'p', project_id: teamId });
    const kept = await createLabel({ name: 'stays-on-artifact', scope: 'g' });
    await db
      .insertInto('artifact_labels')
      .values([
        { artifact_id: artifact.id, label_id: doomed, creation_time: new Date().toISOString() },
        { artifact_id: artifact.id, label_id: kept, creation_time: new Date().toISOString() },
      ])
      .execute();
    assert.equal((await api(server, 'DELETE', `/labels/${doomed}`, { auth: admin })).status, 200);
    const left = await db.selectFrom('artifact_labels').select('label_id').where('artifact_id', '=', artifact.id).execute();
    assert.deepEqual(
      left.map((r) => Number(r.label_id)),
      [kept],
    );
  });
});

describe('LabelService for other features', () => {
  test('byId and byIds give Label views; unknown ids are left out', async () => {
    const a = await createLabel({ name: 'svc-a', color: '#abcdef', scope: 'g' });
    const b = await createLabel({ name: 'svc-b', scope: 'p', project_id: teamId });
    const labels = server.berth.labels;
    const one = await labels.byId(a);
    assert.deepEqual(Object.keys(one!).sort(), labelKeys);
    assert.equal(one!.color, '#abcdef');
    assert.equal(await labels.byId(999999), undefined);
    const many = await labels.byIds([a, b, a, 999999]);
    assert.deepEqual(
      [...many.keys()].sort((x, y) => x - y),
      [a, b],
    );
    assert.equal(many.get(b)!.project_id, teamId);
    assert.equal((await labels.byIds([])).size, 0);
  });

  test("deleteForProject removes a project's labels (and only those), with audit records", async () => {
    const doomedId = await createProject(server, { project_name: 'doomed' });
    const x = await createLabel({ name: 'doomed-x', scope: 'p', project_id: doomedId });
    const y = await createLabel({ name: 'doomed-y', scope: 'p', project_id: doomedId });
    const before = await dbState();
    assert.equal(await server.berth.labels.deleteForProject(doomedId, 'admin'), 2);
    const after = await dbState();
    assert.deepEqual(
      after.labels,
      before.labels.filter((l) => Number(l.id) !== x && Number(l.id) !== y),
    );
    assert.equal(after.audits, before.audits + 2);
    assert.ok((await auditLines(server, 'resource_type=label')).includes('admin delete label doomed-y'));
    assert.equal(await server.berth.labels.deleteForProject(doomedId, 'admin'), 0);
    assert.equal(errorCode(await api(server, 'GET', `/labels/${x}`, { auth: admin })), 'NOT_FOUND');
  });

  test('a label whose project is gone is not found', async () => {
    const goneId = await createProject(server, { project_name: 'gone' });
    const id = await createLabel({ name: 'orphan', scope: 'p', project_id: goneId });
    assert.equal((await api(server, 'DELETE', '/projects/gone', { auth: admin })).status, 200);
    assertError(await api(server, 'GET', `/labels/${id}`, { auth: admin }), 404, 'NOT_FOUND');
    assertError(await api(server, 'GET', `/labels?scope=p&project_id=${goneId}`, { auth: admin }), 404, 'NOT_FOUND');
  });
});
