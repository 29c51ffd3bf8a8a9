import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

const bin = path.resolve('bin/berth.js');

test('berth version prints the package version', () => {
  const out = spawnSync(process.execPath, [bin, 'version'], { encoding: 'utf8' });
  assert.equal(out.status, 0);
  assert.match(out.stdout.trim(), /^\d+\.\d+\.\d+$/);
});

test('berth serve starts on the given port and data dir, prints a generated admin password once, and stops cleanly on SIGTERM', async () => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'berth-cli-'));
  const child = spawn(process.execPath, [bin, 'serve', '--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir], {
    env: { ...process.env, BERTH_LOG_LEVEL: 'info', BERTH_ADMIN_PASSWORD: '' },
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
    assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Bearer realm="http:\/\/127\.0\.0\.1:\d+\/service\/token",service="harbor-registry"/);
    const printed = /"admin" with password: (\S+)/.exec(output);
    assert.ok(printed, `the generated admin password is printed on first start; output was:\n${output}`);
    const signedIn = await fetch(`${address}/v2/`, {
      headers: { authorization: `Basic ${Buffer.from(`admin:${printed[1]}`).toString('base64')}` },
    });
    assert.equal(signedIn.status, 200);
    assert.ok((await stat(path.join(dataDir, 'berth.db'))).isFile(), 'the SQLite file lives in the data dir');
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  } finally {
    child.kill('SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('berth serve refuses an invalid configuration with a clear message and exit code 2', () => {
  const out = spawnSync(process.execPath, [bin, 'serve'], { encoding: 'utf8', env: { ...process.env, BERTH_PORT: 'not-a-port' } });
  assert.equal(out.status, 2);
  assert.match(out.stderr, /BERTH_PORT="not-a-port" is not a number/);
});
