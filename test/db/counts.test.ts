import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sql } from 'kysely';
import { readCounts } from '../../src/db/counts.js';
import { countCap } from '../../src/audit/store.js';
import { api, createUser } from '../helpers/api.js';
import { pushBlob, pushImage } from '../helpers/oci.js';
import { basicAuth, startServer, type TestServer } from '../helpers/server.js';
import { runGc } from '../gc/helpers.js';

/**
 * The counts the database keeps (migration 025_counts, db/counts.ts) against a count of
 * the rows themselves, after every kind of change: pushes (concurrent too), artifact,
 * repository and project deletion, a project turned public and back, garbage collection
 * and audit record removal. Run on SQLite and on PostgreSQL (BERTH_TEST_DATABASE_URL).
 */

let server: TestServer;
let admin: string;

before(async () => {
  server = await startServer({ yaml: { 'gc.time_window_hours': 0, 'jobs.poll_interval_ms': 20 } });
  admin = server.admin.authorization;
});
after(async () => {
  await server.stop();
});

async function truth() {
  const db = server.berth.database.db;
  const one = async (query: string) => Number((await sql<{ n: number }>`${sql.raw(query)}`.execute(db)).rows[0]!.n);
  return {
    projects: await one('select count(*) as n from projects'),
    'projects.public': await one('select count(*) as n from projects where public = 1'),
    repositories: await one(`select count(*) as n from repositories where updated_at <> ''`),
    'repositories.public': await one(
      `select count(*) as n from repositories r join projects p on p.id = r.project_id where r.updated_at <> '' and p.public = 1`,
    ),
    'blobs.size': await one('select coalesce(sum(size), 0) as n from blobs'),
    audit_logs: await one('select count(*) as n from audit_logs'),
  };
}

async function assertCountsTrue(when: string) {
  const expected = await truth();
  const kept = await readCounts(server.berth.database.db, Object.keys(expected) as Array<keyof typeof expected>);
  assert.deepEqual(kept, expected, when);
  return kept;
}

async function call(method: string, path: string, body?: unknown, status?: number) {
  const res = await api(server, method, path, { auth: admin, body });
  if (status !== undefined) assert.equal(res.status, status, `${method} ${path}: ${JSON.stringify(res.body)}`);
  return res;
}

test('kept counts equal the rows after every change, and the listings answer them', async () => {
  await assertCountsTrue('at start (backfilled by the migration)');
  await call('POST', '/projects', { project_name: 'count-pub', metadata: { public: 'true' } }, 201);
  await call('POST', '/projects', { project_name: 'count-priv', metadata: { public: 'false' } }, 201);
  await call('POST', '/projects', { project_name: 'count-empty', metadata: { public: 'false' } }, 201);
  await assertCountsTrue('after creating projects');

  // Concurrent pushes into both projects; an upload alone does not make a repository.
  await Promise.all(
    Array.from({ length: 12 }, (_, i) =>
      pushImage(server.url, `count-${i % 2 ? 'pub' : 'priv'}/app${i % 4}`, `v${i}`, { layer: `layer ${i}`, headers: server.admin }),
    ),
  );
  await pushBlob(server.url, 'count-priv/uploads-only', 'just a blob', server.admin);
  const pushed = await assertCountsTrue('after concurrent pushes');
  assert.equal(pushed.repositories, 4);
  assert.equal(pushed['repositories.public'], 2);

  const repos = await call('GET', '/repositories?page_size=1', undefined, 200);
  assert.equal(repos.headers.get('x-total-count'), '4');
  const stats = await call('GET', '/statistics', undefined, 200);
  assert.deepEqual(
    {
      total_project_count: stats.body.total_project_count,
      public_project_count: stats.body.public_project_count,
      total_repo_count: stats.body.total_repo_count,
      public_repo_count: stats.body.public_repo_count,
      private_repo_count: stats.body.private_repo_count,
      total_storage_consumption: stats.body.total_storage_consumption,
    },
    {
      total_project_count: pushed.projects,
      public_project_count: pushed['projects.public'],
      total_repo_count: 4,
      public_repo_count: 2,
      private_repo_count: 2,
      total_storage_consumption: pushed['blobs.size'],
    },
  );
  await createUser(server, 'count-user');
  const user = await api(server, 'GET', '/statistics', { auth: basicAuth('count-user', 'Passw0rd1') });
  assert.equal(user.status, 200);
  assert.deepEqual([user.body.public_repo_count, user.body.private_repo_count, user.body.private_project_count], [2, 0, 0]);
  const audit = await call('GET', '/audit-logs?page_size=1', undefined, 200);
  assert.equal(audit.headers.get('x-total-count'), String((await truth()).audit_logs));
  const projects = await call('GET', '/projects?page_size=1', undefined, 200);
  assert.equal(projects.headers.get('x-total-count'), String(pushed.projects));

  // A private project turned public and back carries its repositories along.
  await call('PUT', '/projects/count-priv', { metadata: { public: 'true' } }, 200);
  assert.equal((await assertCountsTrue('after making a project public'))['repositories.public'], 4);
  await call('PUT', '/projects/count-priv', { metadata: { public: 'false' } }, 200);
  await assertCountsTrue('after making it private again');

  // Artifact, repository and project deletion.
  await call('DELETE', '/projects/count-pub/repositories/app1/artifacts/v1', undefined, 200);
  await assertCountsTrue('after deleting an artifact');
  await call('DELETE', '/projects/count-pub/repositories/app3', undefined, 200);
  await assertCountsTrue('after deleting a repository');
  await call('DELETE', '/projects/count-empty', undefined, 200);
  await assertCountsTrue('after deleting an empty project');

  // Garbage collection deletes the blobs nothing holds any more.
  await runGc(server, { delete_untagged: true });
  const collected = await assertCountsTrue('after garbage collection');
  assert.ok(collected['blobs.size'] < pushed['blobs.size'], 'GC removed blobs');

  // Audit records removed in bulk (as a purge does).
  await server.berth.database.db.deleteFrom('audit_logs').where('operation', '=', 'create').execute();
  await assertCountsTrue('after removing audit records');
});

test('a filtered audit log count stops at its cap; an unfiltered one is exact', async () => {
  const db = server.berth.database.db;
  const row = { project_id: null, username: 'seed', operation: 'pull', resource_type: 'artifact', result: 'success', client_ip: '' };
  for (let i = 0; i < 11; i++) {
    const batch = Array.from({ length: 1000 }, (_, j) => ({ ...row, resource: `r${i * 1000 + j}`, op_time: new Date().toISOString() }));
    await db.insertInto('audit_logs').values(batch).execute();
  }
  const kept = await assertCountsTrue('after inserting records in bulk');
  const all = await call('GET', '/audit-logs?page_size=1', undefined, 200);
  assert.equal(all.headers.get('x-total-count'), String(kept.audit_logs));
  const pulls = await call('GET', `/audit-logs?page_size=1&q=${encodeURIComponent('operation=pull')}`, undefined, 200);
  assert.equal(pulls.headers.get('x-total-count'), String(countCap));
  const few = await call('GET', `/audit-logs?page_size=1&q=${encodeURIComponent('resource=r42')}`, undefined, 200);
  assert.equal(few.headers.get('x-total-count'), '1');
});
