import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { api, createUser } from '../helpers/api.js';
import { basicAuth, startServer, type TestServer } from '../helpers/server.js';
import { assertError, createProject } from './fixtures.js';

let server: TestServer;
let admin: string;
let privateId: number;
let libraryId: number;
const owner = basicAuth('owner', 'Passw0rd1');
const guest = basicAuth('guest', 'Passw0rd1');
const stranger = basicAuth('stranger', 'Passw0rd1');

type Permission = { resource: string; action: string };
const has = (list: Permission[], resource: string, action: string) => list.some((p) => p.resource === resource && p.action === action);

before(async () => {
  server = await startServer();
  admin = server.admin.authorization;
  await createUser(server, 'owner');
  const guestId = await createUser(server, 'guest');
  await createUser(server, 'stranger');
  privateId = await createProject(server, { project_name: 'perms' }, owner);
  assert.equal((await api(server, 'POST', '/projects/perms/members', { auth: owner, body: { role_id: 3, member_user: { user_id: guestId } } })).status, 201);
  libraryId = (await api(server, 'GET', '/projects/library', { auth: admin })).body.project_id;
});
after(async () => {
  await server.stop();
});

test('project scope: the caller\'s own permissions, relative or prefixed with the scope', async () => {
  const relative = await api<Permission[]>(server, 'GET', `/users/current/permissions?scope=/project/${privateId}&relative=true`, { auth: owner });
  assert.equal(relative.status, 200);
  assert.deepEqual(Object.keys(relative.body[0]).sort(), ['action', 'resource']);
  assert.ok(has(relative.body, 'member', 'create'));
  assert.ok(has(relative.body, 'repository', 'push'));
  const absolute = await api<Permission[]>(server, 'GET', `/users/current/permissions?scope=/project/${privateId}&relative=false`, { auth: owner });
  assert.ok(has(absolute.body, `/project/${privateId}/member`, 'create'));
  assert.ok(absolute.body.every((p) => p.resource.startsWith(`/project/${privateId}/`)));
  assert.equal(absolute.body.length, relative.body.length);

  const asGuest = (await api<Permission[]>(server, 'GET', `/users/current/permissions?scope=/project/${privateId}&relative=true`, { auth: guest })).body;
  assert.ok(has(asGuest, 'repository', 'pull'));
  assert.ok(!has(asGuest, 'repository', 'push'));
  assert.ok(!has(asGuest, 'member', 'create'));

  const outsider = await api<Permission[]>(server, 'GET', `/users/current/permissions?scope=/project/${privateId}&relative=true`, { auth: stranger });
  assert.deepEqual(outsider.body, []);
  const onPublic = (await api<Permission[]>(server, 'GET', `/users/current/permissions?scope=/project/${libraryId}&relative=true`, { auth: stranger })).body;
  assert.ok(has(onPublic, 'repository', 'pull'));
  assert.ok(!has(onPublic, 'repository', 'push'));
  const asAdmin = (await api<Permission[]>(server, 'GET', `/users/current/permissions?scope=/project/${privateId}&relative=true`, { auth: admin })).body;
  assert.ok(has(asAdmin, 'project', 'delete'));
  assert.deepEqual((await api(server, 'GET', '/users/current/permissions?scope=/project/999999', { auth: admin })).body, []);
});

test('system scope: everything for admins, project list and create for users', async () => {
  const adminList = (await api<Permission[]>(server, 'GET', '/users/current/permissions', { auth: admin })).body;
  assert.ok(has(adminList, '/system/project', 'create'));
  assert.ok(has(adminList, '/system/user', 'list'));
  const userList = (await api<Permission[]>(server, 'GET', '/users/current/permissions?scope=/system&relative=true', { auth: stranger })).body;
  assert.deepEqual(userList, [
    { resource: 'project', action: 'list' },
    { resource: 'project', action: 'create' },
  ]);
});

test('anonymous callers get 401; bad scopes and flags get 400', async () => {
  assertError(await api(server, 'GET', '/users/current/permissions'), 401, 'UNAUTHORIZED');
  assertError(await api(server, 'GET', '/users/current/permissions?scope=/project/perms', { auth: owner }), 400, 'BAD_REQUEST');
  assertError(await api(server, 'GET', `/users/current/permissions?scope=/project/${privateId}&relative=sure`, { auth: owner }), 400, 'BAD_REQUEST');
});
