import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { api } from '../helpers/api.js';
import { startServer, type TestServer } from '../helpers/server.js';

/** The `library` project of the first start belongs to admin, its Project Admin, as in Harbor. */
let server: TestServer | undefined;
after(async () => {
  await server?.stop();
});

async function libraryOwnership(s: TestServer) {
  const admin = s.admin.authorization;
  const project = await api(s, 'GET', '/projects/library', { auth: admin });
  const members = await api<any[]>(s, 'GET', '/projects/library/members', { auth: admin });
  const me = await api(s, 'GET', '/users/current', { auth: admin });
  return {
    ownerId: project.body.owner_id,
    ownerName: project.body.owner_name,
    adminId: me.body.user_id,
    members: members.body.map((m) => ({ name: m.entity_name, type: m.entity_type, role: m.role_id })),
  };
}

test('on the first start, library is owned by admin, who is its Project Admin member', async () => {
  server = await startServer();
  const found = await libraryOwnership(server);
  assert.equal(found.ownerName, 'admin');
  assert.equal(found.ownerId, found.adminId);
  assert.deepEqual(found.members, [{ name: 'admin', type: 'u', role: 1 }]);
  const view = await api(server, 'GET', '/projects?name=library', { auth: server.admin.authorization });
  assert.equal(view.body[0].current_user_role_id, 1);
  assert.deepEqual(view.body[0].current_user_role_ids, [1]);
});

test('a library left without owner or member by an older Berth gets them at the next start, once', async () => {
  assert.ok(server);
  const db = server.berth.database.db;
  await db.deleteFrom('project_members').execute();
  await db.updateTable('projects').set({ owner_id: null }).where('name', '=', 'library').execute();
  await server.stop({ keepData: true });

  server = await startServer({ dataDir: server.dataDir });
  const fixed = await libraryOwnership(server);
  assert.equal(fixed.ownerName, 'admin');
  assert.deepEqual(fixed.members, [{ name: 'admin', type: 'u', role: 1 }]);

  await server.stop({ keepData: true });
  server = await startServer({ dataDir: server.dataDir });
  assert.deepEqual((await libraryOwnership(server)).members, [{ name: 'admin', type: 'u', role: 1 }], 'a restart adds nothing');
});
