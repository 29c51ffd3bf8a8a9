import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { after, before, describe } from 'node:test';
import { api } from '../helpers/api.js';
import { createDatabaseOn, probePostgres, testDialect } from '../helpers/database.js';
import { types } from '../helpers/oci.js';
import { startS3, type TestS3 } from '../helpers/s3.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { V2, digestOf } from '../helpers/v2.js';
import { QuotaUsage } from '../../src/quotas/usage.js';
import { postgresServer, waitFor } from '../jobs/databases.js';

const postgresUnavailable = await probePostgres(postgresServer);

/** Where a test server keeps blob objects, seen from outside Berth. */
export interface ObjectView {
  exists(digest: string): Promise<boolean>;
  /** Writes an object straight into the store, as a publish whose transaction then failed leaves one. */
  put(data: Buffer): Promise<string>;
}

export function filesystemObjects(server: TestServer): ObjectView {
  const file = (digest: string) => {
    const hex = digest.slice('sha256:'.length);
    return path.join(server.dataDir, 'storage', 'blobs', 'sha256', hex.slice(0, 2), hex);
  };
  return {
    async put(data) {
      const digest = digestOf(data);
      await mkdir(path.dirname(file(digest)), { recursive: true });
      await writeFile(file(digest), data);
      return digest;
    },
    async exists(digest) {
      const hex = digest.slice('sha256:'.length);
      return stat(path.join(server.dataDir, 'storage', 'blobs', 'sha256', hex.slice(0, 2), hex)).then(
        () => true,
        () => false,
      );
    },
  };
}

export function bucketObjects(s3: TestS3, bucket: string, prefix = ''): ObjectView {
  return {
    async put(data) {
      const digest = digestOf(data);
      const hex = digest.slice('sha256:'.length);
      await s3.client.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}blobs/sha256/${hex.slice(0, 2)}/${hex}`, Body: data }));
      return digest;
    },
    async exists(digest) {
      const hex = digest.slice('sha256:'.length);
      try {
        await s3.client.send(new HeadObjectCommand({ Bucket: bucket, Key: `${prefix}blobs/sha256/${hex.slice(0, 2)}/${hex}` }));
        return true;
      } catch (err) {
        if (
          (err as { name?: string }).name === 'NotFound' ||
          (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404
        ) {
          return false;
        }
        throw err;
      }
    },
  };
}

export interface PushedImage {
  repo: string;
  reference: string;
  digest: string;
  manifest: Buffer;
  /** Config first, then the layers. */
  blobs: Array<{ digest: string; data: Buffer }>;
}

/** Pushes a config and the layers (each only if the repository does not have it yet), then an OCI manifest. */
export async function pushImage(server: TestServer, repo: string, reference: string | null, layers: Buffer[]): Promise<PushedImage> {
  const v2 = new V2(server);
  const config = Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, n: randomBytes(8).toString('hex') }),
  );
  const blobs = [config, ...layers].map((data) => ({ digest: digestOf(data), data }));
  for (const b of blobs) {
    const head = await v2.call('HEAD', `/v2/${repo}/blobs/${b.digest}`);
    if (head.status !== 200) await v2.pushBlob(repo, b.data);
  }
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: types.manifest,
      config: { mediaType: types.config, digest: blobs[0].digest, size: config.length },
      layers: blobs.slice(1).map((b) => ({ mediaType: types.layer, digest: b.digest, size: b.data.length })),
    }),
  );
  const digest = digestOf(manifest);
  const res = await v2.putManifest(repo, reference ?? digest, manifest, types.manifest);
  assert.equal(res.status, 201, `pushing ${repo}:${reference}: ${res.status} ${res.text}`);
  return { repo, reference: reference ?? digest, digest, manifest, blobs };
}

/** Pulls the manifest by digest and every blob it names, checking every digest by hashing. */
export async function assertPullable(server: TestServer, image: { repo: string; digest: string }): Promise<void> {
  const v2 = new V2(server);
  const res = await v2.call('GET', `/v2/${image.repo}/manifests/${image.digest}`, { headers: { accept: types.manifest } });
  assert.equal(res.status, 200, `manifest ${image.repo}@${image.digest}: ${res.status} ${res.text}`);
  assert.equal(digestOf(res.bytes), image.digest, 'the manifest bytes hash to their digest');
  const doc = res.json<{ config: { digest: string; size: number }; layers: Array<{ digest: string; size: number }> }>();
  for (const d of [doc.config, ...doc.layers]) {
    const blob = await v2.call('GET', `/v2/${image.repo}/blobs/${d.digest}`);
    assert.equal(blob.status, 200, `blob ${d.digest} of ${image.repo}@${image.digest}: ${blob.status} ${blob.text}`);
    assert.equal(blob.bytes.length, d.size, `blob ${d.digest} has its size`);
    assert.equal(`sha256:${createHash('sha256').update(blob.bytes).digest('hex')}`, d.digest, `blob ${d.digest} hashes to its digest`);
  }
}

export interface GcRunView {
  id: number;
  status: string;
  kind: string;
  parameters: Record<string, any>;
  body: any;
}

export async function getRun(server: TestServer, id: number): Promise<GcRunView> {
  const res = await api(server, 'GET', `/system/gc/${id}`, { auth: server.admin.authorization });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return { id, status: res.body.job_status, kind: res.body.job_kind, parameters: JSON.parse(res.body.job_parameters), body: res.body };
}

/** Starts a run through the API (POST /system/gc/schedule, Manual); returns its id. */
export async function startGc(server: TestServer, parameters: Record<string, unknown> = {}): Promise<number> {
  const res = await api(server, 'POST', '/system/gc/schedule', {
    auth: server.admin.authorization,
    body: { schedule: { type: 'Manual' }, parameters },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const location = res.headers.get('location')!;
  assert.match(location, /^\/api\/v2\.0\/system\/gc\/\d+$/);
  return Number(location.split('/').pop());
}

export const endStates = ['Success', 'Error', 'Stopped'];

export async function waitForRun(server: TestServer, id: number, timeoutMs = 60_000): Promise<GcRunView> {
  return waitFor(
    () => getRun(server, id),
    (r) => endStates.includes(r.status),
    `GC run ${id} to end`,
    timeoutMs,
  );
}

/** Runs a GC to its end and returns it; fails unless it succeeded. */
export async function runGc(server: TestServer, parameters: Record<string, unknown> = {}): Promise<GcRunView> {
  const run = await waitForRun(server, await startGc(server, parameters));
  if (run.status !== 'Success') {
    const log = await api(server, 'GET', `/system/gc/${run.id}/log`, { auth: server.admin.authorization });
    assert.fail(`GC ${run.id} ended ${run.status}:\n${log.body}`);
  }
  return run;
}

/** Digests that have a row in `blobs`. */
export async function blobRows(server: TestServer): Promise<Set<string>> {
  const rows = await server.berth.database.db.selectFrom('blobs').select('digest').execute();
  return new Set(rows.map((r) => r.digest));
}

export async function linkCount(server: TestServer): Promise<number> {
  const row = await server.berth.database.db
    .selectFrom('repository_blobs')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** A Berth under test with a view of its blob objects. */
export interface Backend {
  name: string;
  server: TestServer;
  objects: ObjectView;
  /** Another instance over the same database and storage (PostgreSQL + S3 only). */
  second?: TestServer;
}

/**
 * Declares the suite twice: on the suite's own database (SQLite, or PostgreSQL under
 * BERTH_TEST_DATABASE_URL) with the filesystem store, and on PostgreSQL (a fresh database on
 * the suite's server, or the local default) with the S3 store on s3rver. Under CI=true an
 * unreachable PostgreSQL fails the second instead of skipping it.
 */
export function eachBackend(
  title: string,
  yaml: Record<string, unknown>,
  body: (backend: () => Backend) => void,
  options: { secondInstance?: boolean } = {},
): void {
  describe(`${title} (${testDialect()} + filesystem)`, () => {
    let backend: Backend | undefined;
    before(async () => {
      const server = await startServer({ yaml });
      backend = { name: `${testDialect()}+fs`, server, objects: filesystemObjects(server) };
    });
    after(async () => {
      await backend?.server.stop();
    });
    body(() => backend!);
  });
  const skip = postgresUnavailable !== null && process.env.CI !== 'true' ? postgresUnavailable : false;
  describe(`${title} (postgres + s3)`, { skip }, () => {
    let backend: Backend | undefined;
    let s3: TestS3 | undefined;
    let database: { url: string; drop(): Promise<void> } | undefined;
    before(async () => {
      if (postgresUnavailable) throw new Error(`${postgresUnavailable}, and CI=true requires it`);
      s3 = await startS3();
      const bucket = await s3.createBucket();
      database = await createDatabaseOn(postgresServer);
      const config = { ...yaml, ...s3.berthStorage(bucket, { 'storage.s3.prefix': 'gc/' }), 'database.url': database.url };
      const server = await startServer({ yaml: config });
      const second = options.secondInstance ? await startServer({ dataDir: server.dataDir, yaml: config }) : undefined;
      backend = { name: 'postgres+s3', server, second, objects: bucketObjects(s3, bucket, 'gc/') };
    });
    after(async () => {
      await backend?.second?.stop({ keepData: true });
      await backend?.server.stop();
      await database?.drop();
      await s3?.stop();
    });
    body(() => backend!);
  });
}

/** Every project's stored quota usage equals a full recount (GC's link removals report to the quota hook). */
export async function assertQuotaExact(server: TestServer): Promise<void> {
  const { db, dialect } = server.berth.database;
  const usage = new QuotaUsage(dialect, { warningPercent: 85 });
  for (const project of await db.selectFrom('projects').select(['id', 'name']).execute()) {
    const id = Number(project.id);
    assert.equal(await usage.used(db, id), await usage.recount(db, id), `the usage of project ${project.name} is exact`);
  }
}
