import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { api } from '../helpers/api.js';
import { testDialect } from '../helpers/database.js';
import { startServer, type TestServer } from '../helpers/server.js';

// Two instances share one database only on PostgreSQL (a SQLite file belongs to one process).
const skip = testDialect() !== 'postgres' ? 'needs PostgreSQL: set BERTH_TEST_DATABASE_URL' : false;

let first: TestServer;
let second: TestServer;
before(async () => {
  if (skip) return;
  first = await startServer();
  second = await startServer({ dataDir: first.dataDir });
});
after(async () => {
  if (skip) return;
  await second?.stop({ keepData: true });
  await first?.stop();
});

/** Polls until `check` holds; the bound is only there so that a broken build fails rather than hangs. */
async function eventually(what: string, check: () => Promise<boolean>, limitMs = 30_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`never happened: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test('a PUT on one instance is seen by the other within seconds', { skip }, async () => {
  const banner = JSON.stringify({ message: 'from the first instance', type: 'info', closable: true });
  const res = await api(first, 'PUT', '/configurations', {
    auth: first.admin.authorization,
    body: { banner_message: banner, project_creation_restriction: 'adminonly', token_expiration: 7, ldap_search_password: 'shared-secret' },
  });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  await eventually('the second instance shows the banner', async () => {
    const info = await api(second, 'GET', '/systeminfo', { auth: second.admin.authorization });
    return info.body.banner_message === banner && info.body.project_creation_restriction === 'adminonly';
  });
  const got = await api(second, 'GET', '/configurations', { auth: second.admin.authorization });
  assert.equal(got.body.token_expiration.value, 7);
  // The secret was sealed by one instance and is opened by the other.
  assert.equal(second.berth.settings.current().ldap_search_password, 'shared-secret');
});

test('read-only mode switched on one instance refuses writes on the other; switched off there, both write', { skip }, async () => {
  assert.equal((await api(first, 'PUT', '/configurations', { auth: first.admin.authorization, body: { read_only: true } })).status, 200);
  const create = (server: TestServer, name: string) =>
    api(server, 'POST', '/projects', { auth: server.admin.authorization, body: { project_name: name, metadata: { public: 'false' } } });
  await eventually('the second instance is read-only', async () => {
    const info = await api(second, 'GET', '/systeminfo', { auth: second.admin.authorization });
    return info.body.read_only === true;
  });
  const refused = await create(second, 'mi-refused');
  assert.equal(refused.status, 403);
  assert.equal(refused.body.errors[0].code, 'DENIED');
  // Switched off on the second instance this time.
  assert.equal((await api(second, 'PUT', '/configurations', { auth: second.admin.authorization, body: { read_only: false } })).status, 200);
  await eventually('the first instance is writable again', async () => {
    const info = await api(first, 'GET', '/systeminfo', { auth: first.admin.authorization });
    return info.body.read_only === false;
  });
  assert.equal((await create(first, 'mi-allowed')).status, 201);
  assert.equal((await create(second, 'mi-allowed-too')).status, 201);
  assert.equal((await api(first, 'GET', '/projects?name=mi-refused', { auth: first.admin.authorization })).body.length, 0);
});
