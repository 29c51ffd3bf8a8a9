import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { openPostgres, openSqlite } from '../../src/db/index.js';
import { migrations } from '../../src/db/migrations/index.js';
import { createTestDatabase } from '../helpers/database.js';

const child = path.resolve('test/helpers/migrate-child.ts');

function migrateInChild(target: string, at: number): Promise<{ status: number | null; applied: string[]; stderr: string }> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', child, target, String(at)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    proc.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    proc.on('exit', (status) => resolve({ status, applied: status === 0 ? (JSON.parse(stdout) as string[]) : [], stderr }));
  });
}

test('instances that start at once over one empty database apply each migration exactly once between them', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'berth-migrate-'));
  const database = await createTestDatabase();
  const target = database?.url ?? path.join(dir, 'berth.db');
  try {
    // Far enough ahead for three processes to load; they then start migrating in the same millisecond.
    const at = Date.now() + 15_000;
    const runs = await Promise.all([migrateInChild(target, at), migrateInChild(target, at), migrateInChild(target, at)]);
    for (const run of runs) assert.equal(run.status, 0, run.stderr);
    const all = runs.flatMap((r) => r.applied).sort();
    assert.deepEqual(all, Object.keys(migrations).sort(), 'every migration applied once, by one of them');
    const handle = database ? openPostgres(database.url) : openSqlite(target);
    try {
      const rows = (await handle.db
        .selectFrom('kysely_migration' as never)
        .select('name' as never)
        .execute()) as Array<{ name: string }>;
      assert.deepEqual(rows.map((r) => r.name).sort(), Object.keys(migrations).sort());
    } finally {
      await handle.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
    await database?.drop();
  }
});
