// The GC phase: garbage collection of a store with many small blobs of which half are
// garbage (mark and sweep time, from the run's own mark_ms and sweep_ms), and image push
// throughput while GC runs, as a ratio to the same pushes without it (goal: at least 0.8).
// The store is seeded straight into the Berth's database and blob store (rows in batches,
// objects written in parallel): pushing 100,000 blobs over HTTP would take longer than the
// collection being measured.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { openPostgres, openSqlite, type DatabaseHandle } from '../src/db/index.js';
import { pool, type Client } from './http.js';

export interface GcSettings {
  /** Blobs in the store; half are garbage. */
  blobs: number;
  /** Live blobs each seeded artifact names. */
  blobsPerArtifact: number;
  /** Image pushes per throughput measurement, by `clients` at once. */
  images: number;
  clients: number;
  /** Measurements of each kind (with and without GC), alternating which goes first. */
  rounds: number;
  /** Garbage blobs seeded before each measurement with GC, for its first run to sweep. */
  garbagePerRound: number;
  layerBytes: number;
}

/** Where the Berth under measurement keeps its metadata and blobs. */
export type GcBackend = { kind: 'embedded'; dataDir: string } | { kind: 'pg-s3'; env: Record<string, string> };

export interface GcResult {
  blobs: number;
  garbage: number;
  purgedBlobs: number;
  freedBytes: number;
  markSeconds: number;
  sweepSeconds: number;
  runSeconds: number;
  seedSeconds: number;
  withoutGc: number[];
  withGc: number[];
  /** GC runs that overlapped the pushes of the measurements with GC. */
  runsDuringPushes: number;
}

const sha256 = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;
const MiB = 1024 * 1024;

interface Store {
  db: DatabaseHandle;
  put(digest: string, data: Buffer): Promise<void>;
  close(): Promise<void>;
}

function openStore(backend: GcBackend): Store {
  if (backend.kind === 'embedded') {
    const root = path.join(backend.dataDir, 'storage', 'blobs', 'sha256');
    return {
      db: openSqlite(path.join(backend.dataDir, 'berth.db')),
      async put(digest, data) {
        const hex = digest.slice('sha256:'.length);
        const dir = path.join(root, hex.slice(0, 2));
        await mkdir(dir, { recursive: true });
        await writeFile(path.join(dir, hex), data);
      },
      close: async () => undefined,
    };
  }
  const env = backend.env;
  const client = new S3Client({
    endpoint: env.BERTH_STORAGE_S3_ENDPOINT,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: env.BERTH_STORAGE_S3_ACCESS_KEY, secretAccessKey: env.BERTH_STORAGE_S3_SECRET_KEY },
  });
  return {
    db: openPostgres(env.BERTH_DATABASE_URL, { maxConnections: 4 }),
    async put(digest, data) {
      const hex = digest.slice('sha256:'.length);
      await client.send(
        new PutObjectCommand({
          Bucket: env.BERTH_STORAGE_S3_BUCKET,
          Key: `${env.BERTH_STORAGE_S3_PREFIX ?? ''}blobs/sha256/${hex.slice(0, 2)}/${hex}`,
          Body: data,
        }),
      );
    },
    async close() {
      client.destroy();
    },
  };
}

/**
 * Seeds `count` small blobs, rows and objects, a day old: with `live`, each linked to the
 * repository and named by one of the seeded artifacts (`blobsPerArtifact` each); otherwise
 * garbage (no link, no artifact: a deleted repository's blobs).
 */
async function seed(store: Store, repositoryId: number, tag: string, count: number, live: boolean, perArtifact: number): Promise<void> {
  const db = store.db.db;
  const old = new Date(Date.now() - 24 * 3600_000).toISOString();
  const batch = 400;
  for (let start = 0; start < count; start += perArtifact) {
    const blobs = Array.from({ length: Math.min(perArtifact, count - start) }, (_, k) => {
      const data = Buffer.from(`gc bench ${tag} ${start + k} ${'x'.repeat(40)}`);
      return { digest: sha256(data), data };
    });
    await pool(blobs.length, 32, Date.now() + 600_000, (i) => store.put(blobs[i].digest, blobs[i].data));
    await db.transaction().execute(async (tx) => {
      for (let i = 0; i < blobs.length; i += batch) {
        const part = blobs.slice(i, i + batch);
        await tx
          .insertInto('blobs')
          .values(part.map((b) => ({ digest: b.digest, size: b.data.length, created_at: old })))
          .execute();
        if (live) {
          await tx
            .insertInto('repository_blobs')
            .values(part.map((b) => ({ repository_id: repositoryId, digest: b.digest, created_at: old })))
            .execute();
        }
      }
      if (!live) return;
      const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, bench: tag, start }));
      const artifact = await tx
        .insertInto('artifacts')
        .values({
          repository_id: repositoryId,
          digest: sha256(manifest),
          media_type: 'application/vnd.oci.image.manifest.v1+json',
          artifact_type: null,
          size: manifest.length,
          manifest,
          subject_digest: null,
          annotations: null,
          push_time: old,
          pull_time: null,
          type: 'IMAGE',
          config_media_type: null,
          extra_attrs: null,
          icon: null,
          accessory_of: null,
          accessory_type: null,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      for (let i = 0; i < blobs.length; i += batch) {
        await tx
          .insertInto('artifact_blobs')
          .values(blobs.slice(i, i + batch).map((b) => ({ artifact_id: Number(artifact.id), digest: b.digest })))
          .execute();
      }
      await tx
        .insertInto('tags')
        .values({ repository_id: repositoryId, artifact_id: Number(artifact.id), name: `${tag}-${start}`, push_time: old, pull_time: null })
        .execute();
    });
  }
}

interface Run {
  id: number;
  status: string;
  parameters: Record<string, number>;
}

async function startGc(client: Client, workers: number): Promise<number> {
  const res = await client.expect([201], 'POST', '/api/v2.0/system/gc/schedule', {
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ schedule: { type: 'Manual' }, parameters: { workers } }),
  });
  return Number(String(res.headers.location).split('/').pop());
}

async function waitGc(client: Client, id: number, deadline: number): Promise<Run> {
  for (;;) {
    const body = JSON.parse((await client.expect([200], 'GET', `/api/v2.0/system/gc/${id}`)).body.toString('utf8'));
    if (!['Pending', 'Running'].includes(body.job_status))
      return { id, status: body.job_status, parameters: JSON.parse(body.job_parameters) };
    if (Date.now() > deadline) throw new Error(`GC ${id} did not end within the phase deadline`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function pushSmall(client: Client, repo: string, data: Buffer): Promise<void> {
  const start = await client.expect([202], 'POST', `/v2/${repo}/blobs/uploads/`);
  const put = client.url(String(start.headers.location));
  put.searchParams.set('digest', sha256(data));
  await client.expect([201], 'PUT', put.href, { headers: { 'content-type': 'application/octet-stream' }, body: data });
}

/** One image with a config and a layer of its own. */
async function pushImage(client: Client, repo: string, tag: string, layerBase: Buffer): Promise<void> {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, tag, repo }));
  const layer = Buffer.concat([Buffer.from(`${repo}:${tag}:`), layerBase]);
  await pushSmall(client, repo, config);
  await pushSmall(client, repo, layer);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(layer), size: layer.length }],
    }),
  );
  await client.expect([201], 'PUT', `/v2/${repo}/manifests/${tag}`, {
    headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
    body: manifest,
  });
}

/** Runs the phase on one Berth; `log` reports each step. */
export async function measureGc(
  client: Client,
  backend: GcBackend,
  s: GcSettings,
  deadline: number,
  log: (line: string) => void,
): Promise<GcResult> {
  const stamp = Date.now().toString(36);
  const repo = `library/gc-bench-${stamp}`;
  // The repository, made the ordinary way.
  await pushImage(client, repo, 'seed', Buffer.alloc(64, 1));
  const store = openStore(backend);
  try {
    const row = await store.db.db.selectFrom('repositories').select('id').where('name', '=', repo).executeTakeFirstOrThrow();
    const repositoryId = Number(row.id);
    const garbage = Math.floor(s.blobs / 2);
    let t0 = performance.now();
    await seed(store, repositoryId, `live-${stamp}`, s.blobs - garbage, true, s.blobsPerArtifact);
    await seed(store, repositoryId, `garbage-${stamp}`, garbage, false, 2000);
    const seedSeconds = (performance.now() - t0) / 1000;
    log(`seeded ${s.blobs} blobs (${garbage} garbage) in ${seedSeconds.toFixed(1)} s`);

    t0 = performance.now();
    const run = await waitGc(client, await startGc(client, 4), deadline);
    const runSeconds = (performance.now() - t0) / 1000;
    if (run.status !== 'Success') throw new Error(`GC ${run.id} ended ${run.status}`);
    const p = run.parameters;
    log(
      `GC ${run.id}: marked and swept ${p.purged_blobs} blobs (${(p.freed_space / MiB).toFixed(1)} MiB) in ${runSeconds.toFixed(2)} s: ` +
        `mark ${(p.mark_ms / 1000).toFixed(2)} s, sweep ${(p.sweep_ms / 1000).toFixed(2)} s`,
    );
    if (p.purged_blobs < garbage)
      throw new Error(`GC ${run.id} swept ${p.purged_blobs} blobs, fewer than the ${garbage} seeded as garbage`);

    const result: GcResult = {
      blobs: s.blobs,
      garbage,
      purgedBlobs: p.purged_blobs,
      freedBytes: p.freed_space,
      markSeconds: p.mark_ms / 1000,
      sweepSeconds: p.sweep_ms / 1000,
      runSeconds,
      seedSeconds,
      withoutGc: [],
      withGc: [],
      runsDuringPushes: 0,
    };

    const layerBase = createHash('sha512').update(stamp).digest();
    const base = Buffer.alloc(s.layerBytes);
    for (let i = 0; i < base.length; i += layerBase.length) layerBase.copy(base, i);
    let batch = 0;
    const measure = async (withGc: boolean) => {
      batch += 1;
      if (withGc) await seed(store, repositoryId, `round-${stamp}-${batch}`, s.garbagePerRound, false, 2000);
      // The seeding's writes reach the disk before either kind of measurement starts: otherwise
      // their write-back slows the pushes' flushes, and the seeding (not GC) would be measured.
      spawnSync('sync');
      let pushing = true;
      let runs = 0;
      const loop = withGc
        ? (async () => {
            while (pushing) {
              const r = await waitGc(client, await startGc(client, 4), deadline);
              if (r.status !== 'Success') throw new Error(`GC ${r.id} ended ${r.status} during the pushes`);
              runs += 1;
            }
          })()
        : Promise.resolve();
      const started = performance.now();
      const { done, timedOut } = await pool(s.images, s.clients, deadline, (i) =>
        pushImage(client, `${repo}-push`, `b${batch}-${i}`, base),
      );
      const seconds = (performance.now() - started) / 1000;
      pushing = false;
      await loop;
      if (timedOut) throw new Error(`the gc phase ran past its deadline after ${done} of ${s.images} images`);
      const rate = done / seconds;
      (withGc ? result.withGc : result.withoutGc).push(rate);
      if (withGc) result.runsDuringPushes += runs;
      log(
        `${withGc ? 'with GC   ' : 'without GC'} ${done} images by ${s.clients} clients in ${seconds.toFixed(2)} s: ${rate.toFixed(1)} images/s` +
          (withGc ? ` (${runs} GC run(s) ran alongside, the first sweeping ${s.garbagePerRound} blobs)` : ''),
      );
    };
    for (let round = 0; round < s.rounds; round++) {
      const order = round % 2 === 0 ? [false, true] : [true, false];
      for (const withGc of order) await measure(withGc);
    }
    return result;
  } finally {
    await store.close();
    await store.db.close();
  }
}
