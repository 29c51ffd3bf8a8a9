import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { probePrefix } from '../../src/ops/doctor.js';
import { startS3, type TestS3 } from '../helpers/s3.js';
import { startServer } from '../helpers/server.js';

const bin = path.resolve('bin/berth.js');

/** Runs `berth doctor` (asynchronously: a server may be running in this process). */
function doctor(args: string[], env: Record<string, string>): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, 'doctor', ...args], {
      env: { ...process.env, BERTH_DATABASE_URL: '', BERTH_EXTERNAL_URL: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

function line(stdout: string, check: string): string {
  return stdout.split('\n').find((l) => new RegExp(`^(ok|warn|FAIL)\\s+${check}\\s`).test(l)) ?? `(no ${check} line in:\n${stdout})`;
}

test('berth doctor on a healthy embedded Berth (running) reports ok and exits 0; the storage probe leaves nothing behind', async () => {
  const server = await startServer();
  try {
    const before = await readdir(path.join(server.dataDir, 'storage'));
    const out = await doctor(['--data-dir', server.dataDir], {
      BERTH_DATABASE_URL: server.databaseUrl ?? '',
      BERTH_EXTERNAL_URL: 'https://registry.example.com',
    });
    assert.equal(out.status, 0, out.stdout + out.stderr);
    assert.match(line(out.stdout, 'config'), /^ok/);
    assert.match(
      line(out.stdout, 'database'),
      server.databaseUrl ? /^ok\s+database\s+PostgreSQL \d+/ : /^ok\s+database\s+SQLite .*journal mode wal/,
    );
    assert.match(line(out.stdout, 'migrations'), /^ok\s+migrations\s+all \d+ applied/);
    assert.match(line(out.stdout, 'storage'), /^ok\s+storage\s+filesystem .*write, read and delete work/);
    assert.match(line(out.stdout, 'disk'), /^(ok|warn)\s+disk/);
    assert.match(line(out.stdout, 'external_url'), /^ok\s+external_url\s+https:\/\/registry\.example\.com/);
    if (server.databaseUrl) assert.match(line(out.stdout, 'clock'), /^ok\s+clock\s+.*PostgreSQL server/);
    assert.doesNotMatch(out.stdout, /FAIL/);
    assert.deepEqual(await readdir(path.join(server.dataDir, 'storage')), before, 'no probe directory is left in the storage root');
    assert.equal(existsSync(path.join(server.dataDir, 'storage', probePrefix)), false);
  } finally {
    await server.stop();
  }
});

test('berth doctor with an unreachable PostgreSQL fails, says so in words, and never prints the password', async () => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'berth-doctor-'));
  try {
    const out = await doctor(['--data-dir', dataDir], { BERTH_DATABASE_URL: 'postgres://berth:Sup3r-Secret@127.0.0.1:1/berth' });
    assert.equal(out.status, 1);
    assert.match(
      line(out.stdout, 'database'),
      /^FAIL\s+database\s+cannot connect to PostgreSQL at postgres:\/\/berth:\*\*\*@127\.0\.0\.1:1\/berth: .*ECONNREFUSED/,
    );
    assert.match(out.stdout, /check that PostgreSQL runs/);
    assert.doesNotMatch(out.stdout + out.stderr, /Sup3r-Secret/);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('berth doctor reports an invalid configuration as a failed check', async () => {
  const out = await doctor([], { BERTH_PORT: 'not-a-port' });
  assert.equal(out.status, 1);
  assert.match(line(out.stdout, 'config'), /^FAIL\s+config\s+BERTH_PORT="not-a-port" is not a number/);
});

test('berth doctor flags an external_url with a path and plain http', async () => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'berth-doctor-'));
  try {
    const withPath = await doctor(['--data-dir', dataDir], { BERTH_EXTERNAL_URL: 'https://registry.example.com/harbor' });
    assert.equal(withPath.status, 1);
    assert.match(line(withPath.stdout, 'external_url'), /^FAIL\s+external_url\s+.*it has a path \(\/harbor\)/);
    const http = await doctor(['--data-dir', dataDir], { BERTH_EXTERNAL_URL: 'http://registry.example.com' });
    assert.equal(http.status, 0);
    assert.match(line(http.stdout, 'external_url'), /^warn\s+external_url\s+.*plain http/);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});

describe('berth doctor on S3 (s3rver)', () => {
  let s3: TestS3;
  let dataDir: string;
  before(async () => {
    s3 = await startS3();
    dataDir = await mkdtemp(path.join(tmpdir(), 'berth-doctor-'));
  });
  after(async () => {
    await s3?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  function s3Env(bucket: string, overrides: Record<string, string> = {}): Record<string, string> {
    return {
      BERTH_STORAGE_DRIVER: 's3',
      BERTH_STORAGE_S3_BUCKET: bucket,
      BERTH_STORAGE_S3_ENDPOINT: s3.endpoint,
      BERTH_STORAGE_S3_FORCE_PATH_STYLE: 'true',
      BERTH_STORAGE_S3_ACCESS_KEY: 'S3RVER',
      BERTH_STORAGE_S3_SECRET_KEY: 'S3RVER',
      BERTH_STORAGE_S3_PREFIX: 'registry/',
      ...overrides,
    };
  }

  async function keys(bucket: string): Promise<string[]> {
    const listed = await s3.client.send(new ListObjectsV2Command({ Bucket: bucket }));
    return (listed.Contents ?? []).map((o) => o.Key!);
  }

  test('a healthy bucket: the probe works, the clock is compared with the server, nothing is left behind', async () => {
    const bucket = await s3.createBucket();
    const out = await doctor(['--data-dir', dataDir], s3Env(bucket));
    assert.match(
      line(out.stdout, 'storage'),
      new RegExp(`^ok\\s+storage\\s+s3://${bucket}/registry/ at ${s3.endpoint}: write, read and delete work`),
    );
    assert.match(line(out.stdout, 'clock'), /^ok\s+clock\s+.*the S3 server/);
    assert.doesNotMatch(out.stdout, /FAIL/);
    assert.equal(out.status, 0, out.stdout);
    assert.deepEqual(await keys(bucket), []);
  });

  test('a bucket that does not exist fails with what to do', async () => {
    const out = await doctor(['--data-dir', dataDir], s3Env('no-such-bucket'));
    assert.equal(out.status, 1);
    assert.match(line(out.stdout, 'storage'), /^FAIL\s+storage\s+s3:\/\/no-such-bucket\/registry\/ .*NoSuchBucket/);
    assert.match(out.stdout, /create the bucket no-such-bucket/);
  });

  // s3rver checks the access key id (it does not check version 4 signatures).
  test('wrong credentials fail without printing the secret, and leave nothing in the bucket', async () => {
    const bucket = await s3.createBucket();
    const out = await doctor(
      ['--data-dir', dataDir],
      s3Env(bucket, { BERTH_STORAGE_S3_ACCESS_KEY: 'NOT-A-KEY', BERTH_STORAGE_S3_SECRET_KEY: 'wrong-secret-key' }),
    );
    assert.equal(out.status, 1);
    assert.match(line(out.stdout, 'storage'), /^FAIL\s+storage\s+.*the write\/read\/delete probe failed: InvalidAccessKeyId/);
    assert.match(out.stdout, /check storage\.s3\.access_key and secret_key/);
    assert.doesNotMatch(out.stdout + out.stderr, /wrong-secret-key/);
    assert.deepEqual(await keys(bucket), []);
  });
});
