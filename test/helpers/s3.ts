import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import type { S3BlobStoreOptions } from '../../src/storage/s3.js';

// The SDK warns once per process on Node 20 that its 2027 releases need Node 22; that is
// for the operator (docs/CONFIGURATION.md), not for every test run.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** s3rver's built-in account (moto takes any keys). */
export const s3rverKeys = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/**
 * The S3 servers tests run against. s3rver (an npm devDependency) always; moto's server
 * where Python's moto is installed: it checks what s3rver does not (the 5 MiB smallest
 * part, presigned signatures) and implements UploadPartCopy and AbortMultipartUpload.
 */
export type S3Kind = 's3rver' | 'moto';

let motoChecked: boolean | undefined;
export function motoAvailable(): boolean {
  motoChecked ??= spawnSync('python3', ['-c', 'import moto.server'], { stdio: 'ignore' }).status === 0;
  return motoChecked;
}

export interface TestS3 {
  /** http://127.0.0.1:<port> */
  endpoint: string;
  client: S3Client;
  /** Creates a bucket with a fresh name and returns the name. */
  createBucket(): Promise<string>;
  /** Options for an S3BlobStore on this server. */
  storeOptions(bucket: string, extra?: Partial<S3BlobStoreOptions>): S3BlobStoreOptions;
  /** The `storage.*` keys (for startServer's yaml) that put Berth's blobs in `bucket`. */
  berthStorage(bucket: string, extra?: Record<string, unknown>): Record<string, unknown>;
  stop(): Promise<void>;
}

/**
 * Starts an S3 server for tests on 127.0.0.1 with a random port, in a child process:
 * s3rver with a temporary directory (see s3rver-child.mjs for why not in this process),
 * or moto's server (in memory).
 */
export async function startS3(kind: S3Kind = 's3rver'): Promise<TestS3> {
  const dir = await mkdtemp(path.join(tmpdir(), `berth-${kind}-`));
  const child: ChildProcess =
    kind === 's3rver'
      ? spawn(process.execPath, ['--openssl-legacy-provider', fileURLToPath(new URL('./s3rver-child.mjs', import.meta.url)), dir], {
          stdio: ['pipe', 'pipe', 'inherit'],
        })
      : spawn('python3', ['-m', 'moto.server', '-H', '127.0.0.1', '-p', '0'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${kind} exited with ${code} before listening`)));
    if (kind === 's3rver') {
      createInterface({ input: child.stdout! }).once('line', (line) => resolve((JSON.parse(line) as { port: number }).port));
      return;
    }
    // Werkzeug says where it listens on stderr; the rest of its log is dropped.
    const lines = createInterface({ input: child.stderr! });
    lines.on('line', (line) => {
      const m = /Running on http:\/\/127\.0\.0\.1:(\d+)/.exec(line);
      if (m) resolve(Number(m[1]));
    });
    child.stdout!.resume();
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: s3rverKeys,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return {
    endpoint,
    client,
    async createBucket() {
      const name = `berth-${randomBytes(6).toString('hex')}`;
      await client.send(new CreateBucketCommand({ Bucket: name }));
      return name;
    },
    storeOptions(bucket, extra = {}) {
      return { bucket, region: 'us-east-1', endpoint, forcePathStyle: true, credentials: s3rverKeys, ...extra };
    },
    berthStorage(bucket, extra = {}) {
      return {
        'storage.driver': 's3',
        'storage.s3.bucket': bucket,
        'storage.s3.endpoint': endpoint,
        'storage.s3.force_path_style': true,
        'storage.s3.access_key': s3rverKeys.accessKeyId,
        'storage.s3.secret_key': s3rverKeys.secretAccessKey,
        ...extra,
      };
    },
    async stop() {
      client.destroy();
      if (kind === 's3rver') child.stdin!.end();
      else child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
