// Regenerates test/fixtures/upgrade/: a database (SQLite file and a plain PostgreSQL dump)
// and a blob store written by the previous release of Berth, for test/db/upgrade.test.ts.
//
//   node --import tsx scripts/upgrade-fixture.ts [<commit>] [--postgres <server url>]
//
// <commit> defaults to the previous release: the parent of the commit that added the first
// migration after it (FIRST_NEW_MIGRATION below; move it forward at each release). The
// script checks that commit out in a temporary git worktree (node_modules linked from
// here), runs `berth serve` from it on a fresh data directory (and, for the dump, on a fresh
// PostgreSQL database), makes the content of test/helpers/populate.ts through /v2 and
// /api/v2.0, stops it, and copies the results here. pg_dump must be on PATH.
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import SQLite from 'better-sqlite3';
import { createDatabaseOn, defaultPostgresServer } from '../test/helpers/database.js';
import { listings, populate } from '../test/helpers/populate.js';

const FIRST_NEW_MIGRATION = 'src/db/migrations/023_identity_providers.ts';
const adminPassword = 'Harbor12345';
const root = process.cwd();
const out = path.join(root, 'test/fixtures/upgrade');

const args = process.argv.slice(2);
const pgIndex = args.indexOf('--postgres');
const pgServer = pgIndex >= 0 ? args.splice(pgIndex, 2)[1] : (process.env.BERTH_TEST_DATABASE_URL ?? defaultPostgresServer);
const git = (...a: string[]) => execFileSync('git', a, { cwd: root, encoding: 'utf8' }).trim();
const commit = args[0] ?? git('rev-parse', `${git('log', '--diff-filter=A', '--format=%H', '--', FIRST_NEW_MIGRATION).split('\n').pop()}^`);

/** Runs the release on `dataDir`, populates it, and returns what its API lists. */
async function serveOnce(worktree: string, dataDir: string, databaseUrl: string): Promise<Record<string, unknown>> {
  const child = spawn(
    process.execPath,
    [path.join(worktree, 'bin/berth.js'), 'serve', '--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir],
    {
      cwd: worktree,
      env: {
        ...process.env,
        BERTH_FROM_SOURCE: '1',
        BERTH_ADMIN_PASSWORD: adminPassword,
        BERTH_DATABASE_URL: databaseUrl,
        BERTH_LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  try {
    const address = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on('line', (line) => {
        if (line.includes('berth is serving')) resolve((JSON.parse(line) as { address: string }).address);
      });
      child.once('exit', (code) => reject(new Error(`berth exited with ${code}`)));
    });
    const auth = `Basic ${Buffer.from(`admin:${adminPassword}`).toString('base64')}`;
    await populate(address, auth);
    return await listings(address, auth);
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

const work = mkdtempSync(path.join(tmpdir(), 'berth-upgrade-fixture-'));
const worktree = path.join(work, 'tree');
git('worktree', 'add', '--detach', worktree, commit);
try {
  symlinkSync(path.join(root, 'node_modules'), path.join(worktree, 'node_modules'));
  const version = git('show', `${commit}:package.json`).match(/"version":\s*"([^"]+)"/)![1];
  const migrations = git('ls-tree', '--name-only', `${commit}`, 'src/db/migrations/')
    .split('\n')
    .map((f) => path.basename(f, '.ts'))
    .filter((f) => /^\d{3}_/.test(f));
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });

  // SQLite: the data directory as the release leaves it (database and blobs).
  const sqliteDir = path.join(work, 'sqlite');
  const listed = { sqlite: await serveOnce(worktree, sqliteDir, '') } as Record<string, unknown>;
  // One file, no WAL beside it, free pages dropped.
  new SQLite(path.join(sqliteDir, 'berth.db')).exec(`vacuum into '${path.join(out, 'berth.db')}'`);
  // populate() pushes fixed bytes, so both runs store the same blobs: one copy serves both databases.
  cpSync(path.join(sqliteDir, 'storage', 'blobs'), path.join(out, 'blobs'), { recursive: true });

  // PostgreSQL: a plain dump, without owners or grants, restorable with psql into any empty database.
  if (!existsSync('/usr/bin/pg_dump') && !process.env.PATH?.split(':').some((d) => existsSync(path.join(d, 'pg_dump')))) {
    throw new Error('pg_dump is not on PATH');
  }
  const database = await createDatabaseOn(pgServer);
  try {
    const pgDir = path.join(work, 'postgres');
    listed.postgres = await serveOnce(worktree, pgDir, database.url);
    const dump = execFileSync('pg_dump', ['--no-owner', '--no-privileges', '--format=plain', database.url], {
      encoding: 'utf8',
      maxBuffer: 1 << 28,
    });
    // Lines that only a newer pg_dump writes and an older server or psql refuses (\restrict with its
    // random key), and the dump's own timestamps: the file changes only when the schema or data do.
    writeFileSync(
      path.join(out, 'postgres.sql'),
      dump
        .replace(/^SET transaction_timeout = 0;\n/m, '')
        .replace(/^-- (Dumped|Started|Completed).*\n/gm, '')
        .replace(/^\\(un)?restrict .*\n/gm, ''),
    );
  } finally {
    await database.drop();
  }
  writeFileSync(path.join(out, 'listings.json'), `${JSON.stringify(listed, null, 2)}\n`);
  writeFileSync(
    path.join(out, 'release.json'),
    `${JSON.stringify({ commit, version, last_migration: migrations[migrations.length - 1], admin_password: adminPassword }, null, 2)}\n`,
  );
  console.log(`test/fixtures/upgrade written from ${commit} (version ${version}, migrations up to ${migrations[migrations.length - 1]})`);
} finally {
  git('worktree', 'remove', '--force', worktree);
  rmSync(work, { recursive: true, force: true });
}
