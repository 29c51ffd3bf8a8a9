import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { api, createUser, errorCode } from '../helpers/api.js';
import { pushBlob, pushImage } from '../helpers/oci.js';
import { basicAuth, startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let admin: string;
const rita = basicAuth('rita', 'Passw0rd1');
const otto = basicAuth('otto', 'Passw0rd1');

const searchRepositoryKeys = ['artifact_count', 'project_id', 'project_name', 'project_public', 'pull_count', 'repository_name'];

async function search(q: string, auth?: string) {
  const res = await api<{ project: any[]; repository: any[] }>(server, 'GET', `/search?q=${encodeURIComponent(q)}`, { auth });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body;
}

async function createProject(name: string, isPublic: boolean) {
  const res = await api(server, 'POST', '/projects', { auth: admin, body: { project_name: name, metadata: { public: String(isPublic) } } });
  assert.equal(res.status, 201, JSON.stringify(res.body));
}

before(async () => {
  server = await startServer();
  admin = server.admin.authorization;
  await createUser(server, 'rita');
  await createUser(server, 'otto');
  await createProject('searchable', true);
  await createProject('hidden', false);
  await createProject('vault', false);
  assert.equal(
    (await api(server, 'POST', '/projects/hidden/members', { auth: admin, body: { role_id: 3, member_user: { username: 'rita' } } }))
      .status,
    201,
  );
  await pushImage(server.url, 'library/searchme-web', 'v1', { headers: server.admin });
  await pushImage(server.url, 'library/searchme-web', 'v2', { headers: server.admin });
  await pushImage(server.url, 'searchable/tool', 'v1', { headers: server.admin });
  await pushImage(server.url, 'hidden/searchme-db', 'v1', { headers: server.admin });
  await pushImage(server.url, 'vault/searchme-gold', 'v1', { headers: server.admin });
  // Known to the registry, but without an artifact: not a repository yet.
  await pushBlob(server.url, 'library/searchme-empty', 'only a blob', server.admin);
});
after(async () => {
  await server.stop();
});

describe('GET /search', () => {
  test('anonymous callers find public repositories only, as Harbor’s SearchRepository', async () => {
    const found = await search('searchme');
    assert.deepEqual(found.project, []);
    assert.deepEqual(
      found.repository.map((r) => r.repository_name),
      ['library/searchme-web'],
    );
    const web = found.repository[0];
    assert.deepEqual(Object.keys(web).sort(), searchRepositoryKeys);
    assert.equal(web.project_name, 'library');
    assert.equal(web.project_public, true);
    assert.equal(web.artifact_count, 2);
    assert.equal(web.pull_count, 0);
    const library = await api(server, 'GET', '/projects/library');
    assert.equal(web.project_id, library.body.project_id);
  });

  test('a private project’s repositories are hidden from a non-member, shown to a member and to an admin', async () => {
    assert.deepEqual(
      (await search('searchme', otto)).repository.map((r) => r.repository_name),
      ['library/searchme-web'],
    );
    const member = await search('searchme', rita);
    assert.deepEqual(
      member.repository.map((r) => r.repository_name),
      ['hidden/searchme-db', 'library/searchme-web'],
    );
    assert.equal(member.repository[0].project_public, false);
    assert.equal(member.repository[0].project_name, 'hidden');
    assert.deepEqual(
      (await search('searchme', admin)).repository.map((r) => r.repository_name),
      ['hidden/searchme-db', 'library/searchme-web', 'vault/searchme-gold'],
    );
  });

  test('projects match by name, with the caller’s role, among those the caller may see', async () => {
    assert.deepEqual((await search('hidden')).project, []);
    assert.deepEqual((await search('hidden', otto)).project, []);
    const member = await search('hidden', rita);
    assert.deepEqual(
      member.project.map((p) => p.name),
      ['hidden'],
    );
    assert.equal(member.project[0].current_user_role_id, 3);
    assert.equal(member.project[0].repo_count, 1);
    assert.equal(member.project[0].metadata.public, 'false');
    // A repository matches on its full name, project included.
    assert.deepEqual(
      member.repository.map((r) => r.repository_name),
      ['hidden/searchme-db'],
    );
    const everything = await search('a', admin);
    assert.deepEqual(
      everything.project.map((p) => p.name),
      ['library', 'searchable', 'vault'],
    );
    const anonymous = await search('able');
    assert.deepEqual(
      anonymous.project.map((p) => p.name),
      ['searchable'],
    );
    assert.deepEqual(
      anonymous.repository.map((r) => r.repository_name),
      ['searchable/tool'],
    );
  });

  test('matches literally: % and _ are not wildcards', async () => {
    assert.deepEqual(await search('%'), { project: [], repository: [] });
    assert.deepEqual(await search('search_e', admin), { project: [], repository: [] });
  });

  test('q is required: 400 when missing or blank', async () => {
    for (const path of ['/search', '/search?q=', '/search?q=%20%20']) {
      const res = await api(server, 'GET', path, { auth: admin });
      assert.equal(res.status, 400, path);
      assert.equal(errorCode(res), 'BAD_REQUEST');
    }
  });
});

describe('GET /statistics', () => {
  async function statistics(auth?: string) {
    const res = await api(server, 'GET', '/statistics', { auth });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  }

  test('401 for anonymous callers', async () => {
    const res = await api(server, 'GET', '/statistics');
    assert.equal(res.status, 401);
    assert.equal(errorCode(res), 'UNAUTHORIZED');
  });

  test('a system administrator sees every count and the storage used', async () => {
    const db = server.berth.database.db;
    const blobs = await db.selectFrom('blobs').select('size').execute();
    const stored = blobs.reduce((n, b) => n + Number(b.size), 0);
    assert.ok(stored > 0);
    assert.deepEqual(await statistics(admin), {
      private_project_count: 2,
      private_repo_count: 2,
      public_project_count: 2,
      public_repo_count: 2,
      total_project_count: 4,
      total_repo_count: 4,
      total_storage_consumption: stored,
    });
  });

  test('others see public counts and the private projects they are members of, without totals', async () => {
    assert.deepEqual(await statistics(rita), {
      private_project_count: 1,
      private_repo_count: 1,
      public_project_count: 2,
      public_repo_count: 2,
      total_project_count: 0,
      total_repo_count: 0,
      total_storage_consumption: 0,
    });
    assert.deepEqual(await statistics(otto), {
      private_project_count: 0,
      private_repo_count: 0,
      public_project_count: 2,
      public_repo_count: 2,
      total_project_count: 0,
      total_repo_count: 0,
      total_storage_consumption: 0,
    });
  });
});
