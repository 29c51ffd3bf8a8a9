import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { redactUrl } from '../../src/config/load.js';
import { openPostgres } from '../../src/db/index.js';
import { api } from '../helpers/api.js';
import { createDatabaseOn, defaultPostgresServer, probePostgres, testPostgresServer, type TestDatabase } from '../helpers/database.js';
import { pushImage } from '../helpers/oci.js';
import { startServer } from '../helpers/server.js';
import { environmentLimit } from '../helpers/tools.js';
import { dialectSuite } from './dialect.suite.js';

// The suite's PostgreSQL server when it runs on one, else the local one where present.
const server = testPostgresServer() ?? defaultPostgresServer;
const unreachable = await probePostgres(server);
const skip =
  unreachable === null
    ? false
    : environmentLimit(`needs PostgreSQL (set BERTH_TEST_DATABASE_URL, or run one at ${redactUrl(server)}): ${unreachable}`);

const databases: TestDatabase[] = [];
after(async () => {
  for (const database of databases) await database.drop();
});

async function freshDatabase(): Promise<TestDatabase> {
  const database = await createDatabaseOn(server);
  databases.push(database);
  return database;
}

describe('postgres', { skip }, () => {
  dialectSuite('postgres', async () => openPostgres((await freshDatabase()).url, { maxConnections: 5 }));

  test(
    'a server with a pool of one connection pushes, lists, pulls and deletes: no statement waits for a second connection inside a transaction',
    { timeout: 60_000 },
    async () => {
      const database = await freshDatabase();
      const berth = await startServer({ yaml: { 'database.url': database.url, 'database.max_connections': 1 } });
      try {
        const auth = { authorization: berth.admin.authorization };
        const pushed = await Promise.all(['a', 'b', 'c'].map((tag) => pushImage(berth.url, 'library/pool', tag, { headers: auth })));
        const [list, pulls] = await Promise.all([
          api(berth, 'GET', '/projects/library/repositories/pool/artifacts?with_tag=true', { auth: berth.admin.authorization }),
          Promise.all(pushed.map((p) => fetch(`${berth.url}/v2/library/pool/manifests/${p.digest}`, { headers: auth }))),
        ]);
        assert.equal(list.status, 200);
        assert.equal((list.body as unknown[]).length, 3);
        assert.deepEqual(
          pulls.map((r) => r.status),
          [200, 200, 200],
        );
        await berth.berth.pulls.flush();
        const deleted = await fetch(`${berth.url}/v2/library/pool/manifests/${pushed[0].digest}`, { method: 'DELETE', headers: auth });
        assert.equal(deleted.status, 202);
        const repo = await berth.berth.database.db
          .selectFrom('repositories')
          .select('pull_count')
          .where('name', '=', 'library/pool')
          .executeTakeFirstOrThrow();
        assert.equal(repo.pull_count, 3);
      } finally {
        await berth.stop();
      }
    },
  );
});
