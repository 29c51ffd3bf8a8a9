#!/usr/bin/env node
// Runs every test/**/*.test.ts through node:test (Node 20's --test takes no globs).
// Arguments narrow the run to files whose path contains one of them; `--skip=x,y` leaves
// out the files whose path contains x or y.
//
// On SQLite by default. With BERTH_TEST_DATABASE_URL set to a PostgreSQL server (or with
// --postgres, which means postgres://postgres@127.0.0.1:5432/postgres unless the variable
// says otherwise) every test server gets its own database on that server; the databases a
// failed test leaves behind are dropped at the end.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, rmSync } from 'node:fs';
import path from 'node:path';

function find(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : find(full);
    return entry.name.endsWith('.test.ts') ? [full] : [];
  });
}

const args = process.argv.slice(2);
const env = { ...process.env };
if (args.includes('--postgres') && !env.BERTH_TEST_DATABASE_URL)
  env.BERTH_TEST_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
const skips = args.filter((a) => a.startsWith('--skip=')).flatMap((a) => a.slice('--skip='.length).split(',').filter(Boolean));
const filters = args.filter((a) => a !== '--postgres' && !a.startsWith('--skip='));
const files = find('test')
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .filter((f) => !skips.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`);
  process.exit(1);
}

const server = env.BERTH_TEST_DATABASE_URL || undefined;
const redacted = server?.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)[^@/]*@/i, '$1***@');
let pg;
if (server) {
  pg = (await import('pg')).default;
  env.BERTH_TEST_DATABASE_PREFIX = `berth_t_${randomBytes(3).toString('hex')}`;
  const client = new pg.Client({ connectionString: server, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    await client.end();
  } catch (err) {
    console.error(`BERTH_TEST_DATABASE_URL=${redacted}: PostgreSQL cannot be reached: ${err.message || err.code || err}`);
    process.exit(1);
  }
  console.log(`tests: PostgreSQL at ${redacted}, databases ${env.BERTH_TEST_DATABASE_PREFIX}_*`);
}

// The tests run as JavaScript transpiled once into test-output/js/ (scripts/test-mirror.mjs);
// BERTH_TEST_LOADER=tsx runs the .ts files through tsx instead.
let mirror = null;
let command = ['--import', 'tsx', '--test', '--test-concurrency=1', ...files];
if (env.BERTH_TEST_LOADER !== 'tsx') {
  const { buildTestMirror } = await import('./test-mirror.mjs');
  // One per run: runs in the same checkout at the same time do not share it.
  mirror = path.resolve('test-output/js', `${process.pid}-${randomBytes(3).toString('hex')}`);
  const mirrored = await buildTestMirror(process.cwd(), mirror, files);
  command = ['--enable-source-maps', '--test', '--test-concurrency=1', ...mirrored];
}
const result = spawnSync(process.execPath, command, { stdio: 'inherit', env });

if (server) {
  // The run's template (test/helpers/database.ts), and databases of tests that failed before stopping their server.
  const client = new pg.Client({ connectionString: server });
  await client.connect();
  const { rows } = await client.query(`select datname, datistemplate from pg_database where datname like $1`, [
    `${env.BERTH_TEST_DATABASE_PREFIX}\\_%`,
  ]);
  for (const { datname, datistemplate } of rows) {
    if (datistemplate) await client.query(`alter database "${datname}" is_template false`);
    await client.query(`drop database if exists "${datname}" with (force)`);
  }
  await client.end();
  const leftBehind = rows.filter((r) => !r.datistemplate).length;
  if (leftBehind > 0) console.log(`tests: dropped ${leftBehind} database(s) left behind`);
}
if (mirror) rmSync(mirror, { recursive: true, force: true });
process.exit(result.status ?? 1);
