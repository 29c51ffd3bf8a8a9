import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, cpSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { migrate, openPostgres, openSqlite, type DatabaseHandle } from '../../src/db/index.js';
import { migrations } from '../../src/db/migrations/index.js';
import { createTestDatabase, testDialect } from '../helpers/database.js';
import { pushImage } from '../helpers/oci.js';
import { listings } from '../helpers/populate.js';
import { startServer } from '../helpers/server.js';
import { requireTools } from '../helpers/tools.js';

/**
 * test/fixtures/upgrade/ holds a database and blob store the previous release wrote
 * (scripts/upgrade-fixture.ts makes them; release.json says which commit). Upgrading it to
 * this version's schema must keep everything, and the result must work.
 */
const fixtures = path.resolve('test/fixtures/upgrade');
const release = JSON.parse(readFileSync(path.join(fixtures, 'release.json'), 'utf8')) as { commit: string; last_migration: string };
const listed = JSON.parse(readFileSync(path.join(fixtures, 'listings.json'), 'utf8')) as Record<
  'sqlite' | 'postgres',
  Record<string, unknown>
>;

async function appliedMigrations(handle: DatabaseHandle): Promise<string[]> {
  const rows = await handle.db
    .selectFrom('kysely_migration' as never)
    .select('name' as never)
    .orderBy('name' as never)
    .execute();
  return (rows as Array<{ name: string }>).map((r) => r.name);
}

test(
  `a database of the previous release (migrations up to ${release.last_migration}) upgrades to this version and keeps working`,
  { skip: testDialect() === 'postgres' ? requireTools('psql') : false },
  async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'berth-upgrade-'));
    const database = await createTestDatabase();
    let server: Awaited<ReturnType<typeof startServer>> | undefined;
    try {
      cpSync(path.join(fixtures, 'blobs'), path.join(dataDir, 'storage', 'blobs'), { recursive: true });
      let handle: DatabaseHandle;
      if (database) {
        const load = spawnSync(
          'psql',
          ['--quiet', '--no-psqlrc', '-v', 'ON_ERROR_STOP=1', '--file', path.join(fixtures, 'postgres.sql'), database.url],
          {
            encoding: 'utf8',
          },
        );
        assert.equal(load.status, 0, load.stderr);
        handle = openPostgres(database.url);
      } else {
        copyFileSync(path.join(fixtures, 'berth.db'), path.join(dataDir, 'berth.db'));
        handle = openSqlite(path.join(dataDir, 'berth.db'));
      }
      try {
        const before = await appliedMigrations(handle);
        assert.equal(before[before.length - 1], release.last_migration);
        const known = Object.keys(migrations);
        const applied = await migrate(handle);
        assert.deepEqual(applied, known.slice(known.indexOf(release.last_migration) + 1));
        assert.deepEqual(await appliedMigrations(handle), known);
      } finally {
        await handle.close();
      }

      server = await startServer({ dataDir, yaml: database ? { 'database.url': database.url } : {} });
      const auth = server.admin.authorization;
      // Everything the release listed is still there, as it was.
      assert.deepEqual(await listings(server.url, auth), listed[database ? 'postgres' : 'sqlite']);
      // Pull by tag: the manifest and every blob it names.
      const res = await fetch(`${server.url}/v2/ops/app/manifests/1.0`, {
        headers: { ...server.admin, accept: 'application/vnd.oci.image.manifest.v1+json' },
      });
      assert.equal(res.status, 200);
      const manifest = (await res.json()) as { config: { digest: string }; layers: Array<{ digest: string }> };
      for (const digest of [manifest.config.digest, ...manifest.layers.map((l) => l.digest)]) {
        const blob: Response = await fetch(`${server.url}/v2/ops/app/blobs/${digest}`, { headers: server.admin });
        assert.equal(blob.status, 200);
        assert.equal(
          `sha256:${createHash('sha256')
            .update(Buffer.from(await blob.arrayBuffer()))
            .digest('hex')}`,
          digest,
        );
      }
      // A new push, into an existing and a new repository.
      await pushImage(server.url, 'ops/app', '2.0', { headers: server.admin });
      await pushImage(server.url, 'shared/new', 'latest', { headers: server.admin });
      const tags = await fetch(`${server.url}/v2/ops/app/tags/list`, { headers: server.admin });
      assert.deepEqual(((await tags.json()) as { tags: string[] }).tags.sort(), ['1.0', '1.1', '2.0', 'multi', 'stable']);
    } finally {
      await server?.stop();
      await rm(dataDir, { recursive: true, force: true });
      await database?.drop();
    }
  },
);
