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

test('berth serve starts on the given port and data dir, then stops cleanly on SIGTERM', async () => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'berth-cli-'));
  const child = spawn(process.execPath, [bin, 'serve', '--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir], {
    env: { ...process.env, BERTH_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    const address = await new Promise<string>((resolve, reject) => {
      let buffered = '';
      child.stdout.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        for (const line of buffered.split('\n')) {
          if (line.includes('berth is serving')) resolve((JSON.parse(line) as { address: string }).address);
        }
      });
      child.on('exit', (code) => reject(new Error(`berth exited early with ${code}`)));
    });
    const res = await fetch(`${address}/v2/`);
    assert.equal(res.status, 200);
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
