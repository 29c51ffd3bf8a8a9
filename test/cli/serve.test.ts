import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { createTestDatabase } from '../helpers/database.js';

const bin = path.resolve('bin/berth.js');

test('berth version prints the package version', () => {
  const out = spawnSync(process.execPath, [bin, 'version'], { encoding: 'utf8' });
  assert.equal(out.status, 0);
  assert.match(out.stdout.trim(), /^\d+\.\d+\.\d+$/);
});

test('berth serve starts on the given port and data dir, prints a generated admin password once, and stops cleanly on SIGTERM', async () => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'berth-cli-'));
  // On a PostgreSQL run, the database comes from BERTH_DATABASE_URL as an operator would give it.
  const database = await createTestDatabase();
  const child = spawn(process.execPath, [bin, 'serve', '--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir], {
    env: { ...process.env, BERTH_LOG_LEVEL: 'info', BERTH_ADMIN_PASSWORD: '', BERTH_DATABASE_URL: database?.url ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    let output = '';
    const address = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        for (const line of output.split('\n')) {
          if (line.includes('berth is serving')) resolve((JSON.parse(line) as { address: string }).address);
        }
      });
      child.on('exit', (code) => reject(new Error(`berth exited early with ${code}`)));
    });
    const anonymous = await fetch(`${address}/v2/`);
    assert.equal(anonymous.status, 401);
    assert.match(
      anonymous.headers.get('www-authenticate') ?? '',
      /^Bearer realm="http:\/\/127\.0\.0\.1:\d+\/service\/token",service="harbor-registry"/,
    );
    const printed = /"admin" with password: (\S+)/.exec(output);
    assert.ok(printed, `the generated admin password is printed on first start; output was:\n${output}`);
    const signedIn = await fetch(`${address}/v2/`, {
      headers: { authorization: `Basic ${Buffer.from(`admin:${printed[1]}`).toString('base64')}` },
    });
    assert.equal(signedIn.status, 200);
    if (database === null) assert.ok((await stat(path.join(dataDir, 'berth.db'))).isFile(), 'the SQLite file lives in the data dir');
    else assert.equal(existsSync(path.join(dataDir, 'berth.db')), false, 'with PostgreSQL there is no SQLite file');
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  } finally {
    child.kill('SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
    await database?.drop();
  }
});

test('berth serve refuses an invalid configuration with a clear message and exit code 2', () => {
  const out = spawnSync(process.execPath, [bin, 'serve'], { encoding: 'utf8', env: { ...process.env, BERTH_PORT: 'not-a-port' } });
  assert.equal(out.status, 2);
  assert.match(out.stderr, /BERTH_PORT="not-a-port" is not a number/);
});

test('berth migrate applies every migration to the configured database once', async () => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'berth-cli-'));
  const database = await createTestDatabase();
  const env = { ...process.env, BERTH_DATABASE_URL: database?.url ?? '' };
  try {
    const first = spawnSync(process.execPath, [bin, 'migrate', '--data-dir', dataDir], { encoding: 'utf8', env });
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stdout, /^applied: 001_registry, /);
    const second = spawnSync(process.execPath, [bin, 'migrate', '--data-dir', dataDir], { encoding: 'utf8', env });
    assert.equal(second.status, 0, second.stderr);
    assert.equal(second.stdout.trim(), 'database is up to date');
  } finally {
    await rm(dataDir, { recursive: true, force: true });
    await database?.drop();
  }
});

test('berth serve refuses a database URL it does not know, naming the forms it takes', () => {
  const out = spawnSync(process.execPath, [bin, 'serve'], {
    encoding: 'utf8',
    env: { ...process.env, BERTH_DATABASE_URL: 'mysql://root:secret@localhost/berth' },
  });
  assert.equal(out.status, 2);
  assert.match(out.stderr, /database\.url "mysql:\/\/root:\*\*\*@localhost\/berth" is not supported: use sqlite:<path> or postgres:\/\//);
  assert.doesNotMatch(out.stderr, /secret/);
});
