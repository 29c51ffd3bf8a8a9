// Berth side by side with CNCF Distribution (Debian's docker-registry) on loopback, Berth
// twice: embedded (SQLite + filesystem) and on PostgreSQL + S3 (a fresh database on a local
// PostgreSQL server, s3rver on loopback).
//
//   npm run bench                 the full run (several minutes)
//   npm run bench -- --quick      small sizes and short runs: a smoke test
//   npm run bench -- --only=push,pull,manifest,tags,catalog,rss,artifacts,search,portal,scrub,quota,retention,gc,vulndb,scan,replication,proxy,webhooks,signin,metrics,tracing
//                                 (artifacts and search are Harbor-API listings, portal loads the
//                                 web portal's pages in Chromium, scrub re-hashes the whole store,
//                                 quota pushes into a project with a limit and one without,
//                                 gc collects a store of small blobs half garbage, then pushes with and without GC running;
//                                 vulndb imports 100,000 generated OSV records into the Berth's database and matches an inventory;
//                                 scan pushes a ~100 MB image and scans it cold and warm, then scans all of 1,000 small images while pushes go on
//                                 (its own embedded Berth);
//                                 the six are Berth only;
//                                 replication pushes 200 images with shared base layers into each Berth and copies them to an
//                                 empty docker-registry by Berth's replication (Harbor's API) and by `skopeo sync`;
//                                 proxy pulls images from a docker-registry directly and through a Berth proxy-cache project,
//                                 first and cached; both start docker-registries of their own;
//                                 webhooks pushes into a project without webhook policies, one with 5 (a receiver on loopback)
//                                 and one whose 5 point at a dead port: push rates, deliveries/s, delivery latency; Berth only;
//                                 signin measures the token service for a database, an LDAP (real slapd) and an OIDC (CLI secret)
//                                 user, steady and cold, and manifest reads through an LDAP group against a direct member, each
//                                 auth mode on an embedded Berth of its own; Berth only;
//                                 metrics and tracing each compare two embedded Berths of their own, off and on; Berth only)
//   npm run bench -- --backends=embedded,pg-s3
//                                 which Berths to run (default both); PostgreSQL is
//                                 BERTH_BENCH_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/postgres
//   npm run bench -- --scale[=0.1] Harbor's small load set built through the API on SQLite and
//                                 PostgreSQL, then listing latencies, also at 10× (bench/scale.ts)
//   npm run bench -- --writes [--count=1000] [--concurrency=8]
//                                 what each request of a push costs Berth (authenticated GET /v2/,
//                                 small blob POST + PUT, new manifest PUT, re-tag PUT), CPU per
//                                 request split user/system (bench/writes.ts)
//   npm run bench -- --workers=2  every Berth started runs 2 worker processes (server.workers)
//   npm run bench -- --cpu-prof   also write V8 CPU profiles of the Berths to bench-profiles/
//   npm run bench -- --config=FILE  start the Berths with this YAML configuration file
//   npm run bench -- --keep       leave the temp dirs (Berth's data dir: SQLite database, blobs;
//                                 s3rver's directory) and the PostgreSQL database
//   npm run bench -- --compiled   run Berth as plain JavaScript (src/ transpiled by esbuild into
//                                 a temp dir) instead of through bin/berth.js
//
// Every phase is bounded in count and in time; the whole run has a hard deadline.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startPgS3, type PgS3Backend } from './backends.js';
import { SyntheticBlob, sha256, smallBlob } from './data.js';
import { Client, pool } from './http.js';
import { load, loadTool, type LoadResult } from './load.js';
import { measureQuota, type QuotaResult } from './quota.js';
import { measureRetention, type RetentionResult } from './retention.js';
import { measureGc, type GcResult } from './gc.js';
import { measureVulnDb, type VulnDbResult } from './vulndb.js';
import { measureScan, type ScanResult } from './scan.js';
import { measureReplication, type ReplicationResult } from './replication.js';
import { measureProxy, type ProxyResult } from './proxy.js';
import { latencyStats, measureWebhooks, type WebhookResult } from './webhooks.js';
import { measureSignin, signinSettings, signinTables, type SigninResult } from './signin.js';
import { measureMetrics, metricsSettings, metricsTables, type MetricsResult } from './metrics.js';
import { measureTracing, tracingSettings, tracingTables, type TracingResult } from './tracing.js';
import {
  chromiumMissing,
  launchChromium,
  measurePortal,
  portalSignIn,
  shownText,
  stats,
  type Load,
  type Mode,
  type PortalPage,
  type Stats,
} from './portal.js';
import {
  benchPassword,
  cleanupSync,
  cpuSeconds,
  dockerRegistryBin,
  dockerRegistryVersion,
  keepTempDirs,
  root,
  startBerth,
  startDockerRegistry,
  transpileBerth,
  type Server,
} from './servers.js';

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const cpuProf = argv.includes('--cpu-prof');
const compiled = argv.includes('--compiled');
if (argv.includes('--keep')) keepTempDirs();
const configFile = argv.find((a) => a.startsWith('--config='))?.slice('--config='.length);
const onlyArg = argv.find((a) => a.startsWith('--only='));
const only = onlyArg ? new Set(onlyArg.slice('--only='.length).split(',')) : null;
const phases = [
  'push',
  'pull',
  'manifest',
  'tags',
  'catalog',
  'rss',
  'artifacts',
  'search',
  'portal',
  'scrub',
  'quota',
  'retention',
  'gc',
  'vulndb',
  'scan',
  'replication',
  'proxy',
  'webhooks',
  'signin',
  'metrics',
  'tracing',
] as const;
type Phase = (typeof phases)[number];
/** Phases that measure only Berth: docker-registry has no Harbor API and no portal to compare with. */
const berthOnly: ReadonlySet<Phase> = new Set<Phase>([
  'artifacts',
  'search',
  'portal',
  'scrub',
  'quota',
  'retention',
  'gc',
  'vulndb',
  'scan',
  'webhooks',
  'signin',
  'metrics',
  'tracing',
]);
/** Phases that compare with docker-registries (and skopeo) they start themselves, not the shared one. */
const ownRegistries: ReadonlySet<Phase> = new Set<Phase>(['replication', 'proxy']);
const runs = (p: Phase) => only === null || only.has(p);
if (only)
  for (const p of only)
    if (!(phases as readonly string[]).includes(p)) throw new Error(`--only: unknown phase "${p}" (phases: ${phases.join(', ')})`);

const backendIds = ['embedded', 'pg-s3'] as const;
type BackendId = (typeof backendIds)[number];
const backendsArg = argv.find((a) => a.startsWith('--backends='));
const backends: BackendId[] = backendsArg
  ? ([
      ...new Set(
        backendsArg
          .slice('--backends='.length)
          .split(',')
          .filter((b) => b !== ''),
      ),
    ] as BackendId[])
  : [...backendIds];
for (const b of backends)
  if (!(backendIds as readonly string[]).includes(b))
    throw new Error(`--backends: unknown backend "${b}" (backends: ${backendIds.join(', ')})`);
if (backends.length === 0) throw new Error(`--backends: name at least one of ${backendIds.join(', ')}`);
backends.sort((a, b) => backendIds.indexOf(a) - backendIds.indexOf(b));
/** Column titles, and the names the log gives each Berth. */
const backendTitle: Record<BackendId, string> = { embedded: 'Berth embedded', 'pg-s3': 'Berth PG+S3' };
const backendShort: Record<BackendId, string> = { embedded: 'embedded', 'pg-s3': 'PG+S3' };
const backendServerName: Record<BackendId, string> = { embedded: 'berth', 'pg-s3': 'berth-pg-s3' };
/** Selected backends that could not be started: the text their table cells show. */
const unavailable = new Map<BackendId, string>();

// artifacts: artifacts in the one repository of the artifact-list phase; searchRepos: repositories
// of the search phase; serialSeconds: the 1-client run of each Harbor-API listing; portalLoads:
// cold loads of each portal page (each followed by a warm one), within phaseSeconds per Berth.
const P = quick
  ? {
      blobMiB: 32,
      reps: 2,
      manifestSeconds: 2,
      listSeconds: 2,
      serialSeconds: 1,
      tags: 300,
      repos: 200,
      artifacts: 1000,
      searchRepos: 1000,
      portalLoads: 3,
      scrubSmall: 300,
      scrubLarge: 2,
      scrubLargeMiB: 16,
      rssMiB: 128,
      warmupSeconds: 1,
      populateConcurrency: 16,
      phaseSeconds: 60,
      totalSeconds: 240,
    }
  : {
      blobMiB: 256,
      reps: 3,
      manifestSeconds: 10,
      listSeconds: 5,
      serialSeconds: 3,
      tags: 5000,
      repos: 2000,
      artifacts: 10_000,
      searchRepos: 10_000,
      portalLoads: 10,
      scrubSmall: 2000,
      scrubLarge: 8,
      scrubLargeMiB: 64,
      rssMiB: 1024,
      warmupSeconds: 2,
      populateConcurrency: 16,
      phaseSeconds: 180,
      totalSeconds: 900,
    };

const MB = 1e6;
const MiB = 1024 * 1024;
const started = Date.now();

function log(message: string): void {
  const t = ((Date.now() - started) / 1000).toFixed(1).padStart(6);
  process.stdout.write(`[${t}s] ${message}\n`);
}

// Hard deadline: whatever happens, stop the registries and s3rver, drop the database, remove the temp dirs, exit.
// The portal phase, bounded by phaseSeconds per Berth, adds that bound to it.
// The gc phase seeds a store of 100,000 blobs per Berth first: it adds four bounds per Berth.
// The vulndb phase writes, imports (twice) and matches 100,000 records per Berth: three bounds per Berth.
const deadlineSeconds =
  P.totalSeconds +
  (runs('portal') ? backends.length * P.phaseSeconds : 0) +
  (runs('gc') ? backends.length * 4 * P.phaseSeconds : 0) +
  (runs('vulndb') ? backends.length * 3 * P.phaseSeconds : 0) +
  // The scan phase starts its own embedded Berth: a 100 MB image, then 1,000 images scanned.
  (runs('scan') ? 6 * P.phaseSeconds : 0) +
  // Replication pushes 200 images, then copies them twice (Berth, skopeo sync); proxy pulls each image three times.
  (runs('replication') ? backends.length * 4 * P.phaseSeconds : 0) +
  (runs('proxy') ? backends.length * 2 * P.phaseSeconds : 0) +
  // Webhooks: three push runs per round and the wait for the deliveries.
  (runs('webhooks') ? backends.length * 4 * P.phaseSeconds : 0) +
  // Sign-in: three Berths of its own, slapd, an OIDC provider; two 10.5 s waits for remembered credentials to expire.
  (runs('signin') ? 3 * P.phaseSeconds : 0) +
  // Metrics: two Berths of its own, manifest reads on each, then 1,000 projects created and scraped.
  (runs('metrics') ? 4 * P.phaseSeconds : 0) +
  // Tracing: two Berths of its own (one exporting every span to a receiver on loopback), manifest reads on each.
  (runs('tracing') ? 3 * P.phaseSeconds : 0);
const watchdog = setTimeout(() => {
  process.stderr.write(`bench: exceeded its ${deadlineSeconds} s deadline; stopping\n`);
  cleanupSync();
  process.exit(2);
}, deadlineSeconds * 1000);
watchdog.unref();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    cleanupSync();
    process.exit(130);
  });
}
process.on('exit', cleanupSync);

// ---------------------------------------------------------------------------------------

const manifestAccept = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
].join(', ');

interface Target {
  server: Server;
  /** Pushes and privileged reads (Berth: Basic admin; docker-registry: no auth). */
  client: Client;
  /** Headers that authorize privileged reads, for the load generator. */
  authHeaders: Record<string, string>;
  /** Which Berth this is; null for docker-registry. */
  backend: BackendId | null;
}

/** The Berths that run, in the order of backendIds. */
let berths: Target[] = [];
let dist: Target | null = null;
let pgS3: PgS3Backend | null = null;
/** Every registry that runs: the Berths, then docker-registry. */
const everyTarget = (): Target[] => [...berths, ...(dist ? [dist] : [])];

type BerthValues = Partial<Record<BackendId, number | null>>;

interface Row {
  label: string;
  unit: string;
  berth: BerthValues;
  distribution: number | null;
  /** Minimum Berth/docker-registry ratio, or an absolute ceiling on Berth's value. */
  target: { ratio: number } | { max: number; unit: string } | null;
  /** The PG+S3 figure is bounded by s3rver, a test server: it is not held against the target. */
  storageBound?: boolean;
}

const rows: Row[] = [];
const notes: string[] = [];

/** One figure per running Berth. */
function berthValues(value: (t: Target) => number | null): BerthValues {
  return Object.fromEntries(berths.map((t) => [t.backend!, value(t)]));
}

/** A Harbor-API listing, measured on the Berths alone (docker-registry has no such API). */
interface ApiRow {
  label: string;
  clients: number;
  results: Partial<Record<BackendId, LoadResult>>;
  /** Items in each answer (page length or matches), for the reader to check what was measured. */
  items: Partial<Record<BackendId, string>>;
}
const apiRows: ApiRow[] = [];

function apiRow(label: string, clients: number): ApiRow {
  let row = apiRows.find((r) => r.label === label && r.clients === clients);
  if (!row) {
    row = { label, clients, results: {}, items: {} };
    apiRows.push(row);
  }
  return row;
}

/** CPU seconds each process used during one phase (for the table after the results). */
interface CpuRow {
  phase: string;
  wallSeconds: number;
  used: Map<string, number | null>;
}
const cpuRows: CpuRow[] = [];

function fmt(value: number | null | undefined, digits = 1): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return 'n/a';
  if (value >= 1000) return Math.round(value).toLocaleString('en-US');
  return value.toFixed(digits);
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** The name a log line gives a registry, padded. */
const who = (t: Target, width = 16) => t.server.name.padEnd(width);

// Registry operations ---------------------------------------------------------------------

/** POST, one streamed PATCH of the whole blob, PUT ?digest=. Returns seconds taken (and the PUT's share). */
async function pushBlob(client: Client, repo: string, blob: SyntheticBlob): Promise<number> {
  return (await pushBlobTimed(client, repo, blob)).seconds;
}

async function pushBlobTimed(client: Client, repo: string, blob: SyntheticBlob): Promise<{ seconds: number; putSeconds: number }> {
  const digest = blob.digest();
  const t0 = performance.now();
  const start = await client.expect([202], 'POST', `/v2/${repo}/blobs/uploads/`);
  const patch = await client.expect([202], 'PATCH', String(start.headers.location), {
    headers: { 'content-type': 'application/octet-stream', 'content-length': blob.size },
    stream: blob.chunks(),
    timeoutMs: 300_000,
  });
  const put = client.url(String(patch.headers.location));
  put.searchParams.set('digest', digest);
  const t1 = performance.now();
  await client.expect([201], 'PUT', put.href, { headers: { 'content-length': 0 }, timeoutMs: 300_000 });
  const t2 = performance.now();
  return { seconds: (t2 - t0) / 1000, putSeconds: (t2 - t1) / 1000 };
}

/** GET of a whole blob, read and thrown away. Returns seconds taken. */
async function pullBlob(client: Client, repo: string, digest: string, size: number): Promise<number> {
  const t0 = performance.now();
  const res = await client.expect([200], 'GET', `/v2/${repo}/blobs/${digest}`, { discard: true, timeoutMs: 300_000 });
  const seconds = (performance.now() - t0) / 1000;
  if (res.bytes !== size) throw new Error(`pulled ${res.bytes} bytes of ${digest}, expected ${size}`);
  return seconds;
}

/** A small blob in one session: POST, then PUT with the body (works on every registry). */
async function pushSmall(client: Client, repo: string, data: Buffer): Promise<string> {
  const digest = sha256(data);
  const start = await client.expect([202], 'POST', `/v2/${repo}/blobs/uploads/`);
  const put = client.url(String(start.headers.location));
  put.searchParams.set('digest', digest);
  await client.expect([201], 'PUT', put.href, { headers: { 'content-type': 'application/octet-stream' }, body: data });
  return digest;
}

interface Image {
  config: { digest: string; size: number };
  layer: { digest: string; size: number };
}

function imageManifest(image: Image, annotation?: string): Buffer {
  const manifest: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: image.config.digest, size: image.config.size },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: image.layer.digest, size: image.layer.size }],
  };
  if (annotation !== undefined) manifest.annotations = { 'org.example.bench.tag': annotation };
  return Buffer.from(JSON.stringify(manifest));
}

async function putManifest(client: Client, repo: string, reference: string, bytes: Buffer): Promise<void> {
  await client.expect([201], 'PUT', `/v2/${repo}/manifests/${reference}`, {
    headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
    body: bytes,
  });
}

async function seedImage(client: Client, repo: string): Promise<Image> {
  const config = Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256('bench-layer')] }, config: {} }),
  );
  const layer = smallBlob(32 * 1024, 42);
  const image: Image = {
    config: { digest: await pushSmall(client, repo, config), size: config.byteLength },
    layer: { digest: await pushSmall(client, repo, layer), size: layer.byteLength },
  };
  await putManifest(client, repo, 'latest', imageManifest(image));
  return image;
}

/** Mounts library/base's config and layer into `repo` (one row each in Berth; no bytes copied). */
async function mountImage(t: Target, img: Image, repo: string): Promise<void> {
  for (const b of [img.config, img.layer]) {
    await t.client.expect([201], 'POST', `/v2/${repo}/blobs/uploads/?mount=${b.digest}&from=library/base`, {
      headers: { 'content-length': 0 },
    });
  }
}

/**
 * After a population step on the PG+S3 Berth: one timed GET of `probePath` as the data was
 * just written, then VACUUM (ANALYZE) of its database (what autovacuum does by itself within
 * a minute or two), then the same GET again. The measurements that follow see the vacuumed,
 * analysed state, the one a registry is in most of the time; the first GET records what
 * a burst of pushes leaves until autovacuum runs. Both times go to the notes.
 */
async function settlePg(t: Target, what: string, probePath: string): Promise<void> {
  if (t.backend !== 'pg-s3' || !pgS3) return;
  const timed = async (): Promise<string> => {
    const t0 = performance.now();
    try {
      const res = await t.client.request('GET', probePath, { discard: true, timeoutMs: probeTimeoutSeconds * 1000 });
      return `${fmt(performance.now() - t0, 1)} ms${res.status === 200 ? '' : ` (HTTP ${res.status})`}`;
    } catch {
      const cancelled = await pgS3!.cancelQueries();
      return `over ${probeTimeoutSeconds} s (gave up; ${cancelled} running quer${cancelled === 1 ? 'y' : 'ies'} cancelled)`;
    }
  };
  const before = await timed();
  const vacuum = await pgS3.vacuumAnalyze();
  const after = await timed();
  const line = `${what}, ${backendTitle[t.backend]}: one GET ${probePath} right after seeding: ${before}; VACUUM (ANALYZE) ${vacuum.toFixed(1)} s; the same GET after it: ${after}`;
  log(`   ${line}`);
  notes.push(line);
}

/** How long settlePg's first GET may take. */
const probeTimeoutSeconds = 20;

// Phases -------------------------------------------------------------------------------------

async function phasePush(): Promise<Map<Target, SyntheticBlob>> {
  const targets = everyTarget();
  log(`1. blob push: ${P.blobMiB} MiB × ${P.reps} per registry (POST, one streamed PATCH, PUT ?digest=)`);
  const times = new Map<Target, number[]>(targets.map((t) => [t, []]));
  const last = new Map<Target, SyntheticBlob>();
  for (let rep = 0; rep < P.reps; rep++) {
    // Same content on every registry, a new digest on every repetition.
    const blob = new SyntheticBlob(P.blobMiB, `push-${rep}`);
    blob.digest();
    for (const t of targets) {
      const { seconds, putSeconds } = await pushBlobTimed(t.client, 'library/blob', blob);
      times.get(t)!.push(seconds);
      last.set(t, blob);
      log(
        `   ${who(t)} push #${rep + 1}: ${fmt(blob.size / MB / seconds)} MB/s (${seconds.toFixed(2)} s, of which the closing PUT ${putSeconds.toFixed(2)} s)`,
      );
    }
  }
  const rate = (t: Target) => blobMiBps(times.get(t)!);
  rows.push({
    label: `blob push, ${P.blobMiB} MiB (median of ${P.reps})`,
    unit: 'MB/s',
    berth: berthValues(rate),
    distribution: dist ? rate(dist) : null,
    target: { ratio: 1.5 },
    storageBound: true,
  });
  return last;
}

function blobMiBps(seconds: number[]): number {
  return (P.blobMiB * MiB) / MB / median(seconds);
}

async function phasePull(blobs: Map<Target, SyntheticBlob>): Promise<void> {
  const targets = everyTarget();
  log(`2. blob pull: ${P.blobMiB} MiB × ${P.reps} per registry (GET, streamed and discarded)`);
  const times = new Map<Target, number[]>(targets.map((t) => [t, []]));
  for (let rep = 0; rep < P.reps; rep++) {
    for (const t of targets) {
      const blob = blobs.get(t)!;
      const seconds = await pullBlob(t.client, 'library/blob', blob.digest(), blob.size);
      times.get(t)!.push(seconds);
      log(`   ${who(t)} pull #${rep + 1}: ${fmt(blob.size / MB / seconds)} MB/s (${seconds.toFixed(2)} s)`);
    }
  }
  const rate = (t: Target) => blobMiBps(times.get(t)!);
  rows.push({
    label: `blob pull, ${P.blobMiB} MiB (median of ${P.reps})`,
    unit: 'MB/s',
    berth: berthValues(rate),
    distribution: dist ? rate(dist) : null,
    target: { ratio: 1.5 },
    storageBound: true,
  });
}

function describe(r: LoadResult): string {
  return `${fmt(r.requestsPerSecond)} req/s, p50 ${fmt(r.latencyP50Ms, 2)} ms, p99 ${fmt(r.latencyP99Ms, 2)} ms, ${r.errors} errors`;
}

async function measure(name: string, options: Parameters<typeof load>[0]): Promise<LoadResult> {
  const r = await load(options);
  log(`   ${name.padEnd(24)} ${describe(r)}`);
  if (r.errors > 0) notes.push(`${name}: ${r.errors} of ${r.requests} requests to ${new URL(options.url).pathname} failed`);
  return r;
}

async function phaseManifest(): Promise<void> {
  if (!dist) throw new Error('the manifest phase needs docker-registry');
  const d0 = dist;
  const c = 32;
  log(`3. manifest GET by tag: ${c} connections, ${P.manifestSeconds} s per run, ${loadTool()}`);
  const path_ = '/v2/library/base/manifests/latest';
  const headers = { accept: manifestAccept };
  // Check the answer once before loading it.
  for (const t of everyTarget()) {
    const res = await t.client.expect([200], 'GET', path_, { headers });
    if (!String(res.headers['content-type']).includes('oci.image.manifest'))
      throw new Error(`${t.server.name}: unexpected manifest type ${res.headers['content-type']}`);
  }
  const tokens = new Map<Target, string>();
  for (const t of berths) {
    const res = await t.client.expect([200], 'GET', '/service/token?service=harbor-registry&scope=repository:library/base:pull');
    tokens.set(t, (JSON.parse(res.body.toString('utf8')) as { token: string }).token);
  }
  // A short unmeasured run first, so that JIT warm-up is not counted against either side.
  for (const t of everyTarget())
    await load({ url: t.server.base + path_, headers: { ...headers, ...t.authHeaders }, connections: c, seconds: P.warmupSeconds });
  const d1 = await measure(d0.server.name, { url: d0.server.base + path_, headers, connections: c, seconds: P.manifestSeconds });
  const results = new Map<Target, { anon: LoadResult; basic: LoadResult; bearer: LoadResult }>();
  for (const t of berths) {
    const url = t.server.base + path_;
    const anon = await measure(`${t.server.name} anonymous`, { url, headers, connections: c, seconds: P.manifestSeconds });
    const basic = await measure(`${t.server.name} basic`, {
      url,
      headers: { ...headers, ...t.authHeaders },
      connections: c,
      seconds: P.manifestSeconds,
    });
    const bearer = await measure(`${t.server.name} bearer`, {
      url,
      headers: { ...headers, authorization: `Bearer ${tokens.get(t)}` },
      connections: c,
      seconds: P.manifestSeconds,
    });
    results.set(t, { anon, basic, bearer });
  }
  // docker-registry again after the Berths, and the mean of both runs, so that a neighbour's
  // load on this machine during one of them does not decide the ratio alone.
  const d2 = await measure(d0.server.name, { url: d0.server.base + path_, headers, connections: c, seconds: P.manifestSeconds });
  const d: LoadResult = {
    ...d1,
    requestsPerSecond: (d1.requestsPerSecond + d2.requestsPerSecond) / 2,
    latencyMeanMs: d1.latencyMeanMs !== null && d2.latencyMeanMs !== null ? (d1.latencyMeanMs + d2.latencyMeanMs) / 2 : null,
    latencyP50Ms: d1.latencyP50Ms !== null && d2.latencyP50Ms !== null ? (d1.latencyP50Ms + d2.latencyP50Ms) / 2 : null,
    latencyP99Ms: d1.latencyP99Ms !== null && d2.latencyP99Ms !== null ? Math.max(d1.latencyP99Ms, d2.latencyP99Ms) : null,
  };
  const label = `manifest GET by tag, ${c} clients`;
  const variants = [
    ['anon', 'Berth anonymous, public project'],
    ['basic', 'Berth with Basic admin'],
    ['bearer', 'Berth with a Bearer token, as docker'],
  ] as const;
  for (const [key, what] of variants) {
    rows.push({
      label: `${label} (${what})`,
      unit: 'req/s',
      berth: berthValues((t) => results.get(t)![key].requestsPerSecond),
      distribution: d.requestsPerSecond,
      target: { ratio: 5 },
    });
  }
  notes.push(
    `manifest GET: docker-registry ran before and after the Berths (${fmt(d1.requestsPerSecond)} and ${fmt(d2.requestsPerSecond)} req/s); the table shows the mean`,
    `manifest GET p50/p99 latency: docker-registry ${fmt(d.latencyP50Ms, 2)}/${fmt(d.latencyP99Ms, 2)} ms; ` +
      berths
        .map((t) => {
          const r = results.get(t)!;
          const pair = (x: LoadResult) => `${fmt(x.latencyP50Ms, 2)}/${fmt(x.latencyP99Ms, 2)} ms`;
          return `${backendTitle[t.backend!]} anonymous ${pair(r.anon)}, Basic ${pair(r.basic)}, Bearer ${pair(r.bearer)}`;
        })
        .join('; '),
  );
}

async function listTags(t: Target, repo: string, query = ''): Promise<{ tags: string[]; link: string | undefined }> {
  const res = await t.client.expect([200], 'GET', `/v2/${repo}/tags/list${query}`);
  const body = JSON.parse(res.body.toString('utf8')) as { tags: string[] | null };
  return { tags: body.tags ?? [], link: res.headers.link as string | undefined };
}

/** Follows Link headers from ?n=100 to the end; returns the tags seen and the pages fetched. */
async function walkTags(t: Target, repo: string): Promise<{ tags: number; pages: number }> {
  let next: string | null = `/v2/${repo}/tags/list?n=100`;
  let tags = 0;
  let pages = 0;
  while (next && pages < 1000) {
    const res = await t.client.expect([200], 'GET', next);
    const body = JSON.parse(res.body.toString('utf8')) as { tags: string[] | null };
    tags += body.tags?.length ?? 0;
    pages++;
    const link = res.headers.link as string | undefined;
    next = link ? (/<([^>]+)>/.exec(link)?.[1] ?? null) : null;
  }
  return { tags, pages };
}

/** Says so in the notes when the registries' answers differ in size. */
function compareSizes(what: string, counts: Map<Target, number>, why = ''): void {
  const entries = [...counts].map(([t, n]) => `${t.server.name} ${n}`).join(', ');
  log(`   ${what}: ${entries}`);
  if (new Set(counts.values()).size > 1) notes.push(`${what} differ: ${entries}${why}`);
}

async function phaseTags(images: Map<Target, Image>): Promise<void> {
  const targets = everyTarget();
  const repo = 'library/tags';
  log(`4. tag list: populating ${repo} with ${P.tags} tags (${P.populateConcurrency} concurrent manifest PUTs, one annotation varying)`);
  const populateRates = new Map<Target, number>();
  for (const t of targets) {
    const img = images.get(t)!;
    // The repository needs its blobs: mount them from library/base.
    await mountImage(t, img, repo);
    const t0 = performance.now();
    const { done, timedOut } = await pool(P.tags, P.populateConcurrency, Date.now() + P.phaseSeconds * 1000, async (i) => {
      const tag = `t${String(i).padStart(5, '0')}`;
      await putManifest(t.client, repo, tag, imageManifest(img, tag));
    });
    const seconds = (performance.now() - t0) / 1000;
    populateRates.set(t, done / seconds);
    log(
      `   ${who(t)} ${done} manifest PUTs in ${seconds.toFixed(1)} s (${fmt(done / seconds)}/s)${timedOut ? ' — stopped at the phase deadline' : ''}`,
    );
    if (timedOut) notes.push(`${t.server.name}: tag population stopped at ${done} of ${P.tags} tags (phase deadline)`);
    await settlePg(t, 'tag list', `/v2/${repo}/tags/list`);
  }
  const rate = (t: Target) => populateRates.get(t) ?? null;
  rows.push({
    label: `manifest PUT by tag, ${P.populateConcurrency} clients (populating)`,
    unit: 'PUT/s',
    berth: berthValues(rate),
    distribution: dist ? rate(dist) : null,
    target: null,
  });

  const counts = new Map<Target, number>();
  for (const t of targets) counts.set(t, (await listTags(t, repo)).tags.length);
  compareSizes('tag list sizes', counts);
  const size = counts.get(berths[0])!;

  const c = 8;
  log(`   GET /v2/${repo}/tags/list (whole list), ${c} connections, ${P.listSeconds} s each`);
  const results = new Map<Target, LoadResult>();
  for (const t of targets) {
    results.set(
      t,
      await measure(t.server.name, {
        url: `${t.server.base}/v2/${repo}/tags/list`,
        headers: t.authHeaders,
        connections: c,
        seconds: P.listSeconds,
      }),
    );
  }
  const rps = (t: Target) => results.get(t)!.requestsPerSecond;
  rows.push({
    label: `tag list, ${size} tags, whole list, ${c} clients`,
    unit: 'req/s',
    berth: berthValues(rps),
    distribution: dist ? rps(dist) : null,
    target: { ratio: 2 },
  });

  log(`   paging with n=100 from the first page to the last, sequentially, ~${P.listSeconds} s each`);
  const walkRates = new Map<Target, number>();
  for (const t of targets) {
    const end = Date.now() + P.listSeconds * 1000;
    let walks = 0;
    let last = { tags: 0, pages: 0 };
    const t0 = performance.now();
    while ((Date.now() < end || walks === 0) && walks < 10_000) {
      last = await walkTags(t, repo);
      walks++;
    }
    const seconds = (performance.now() - t0) / 1000;
    walkRates.set(t, walks / seconds);
    log(
      `   ${who(t)} ${fmt(walks / seconds)} walks/s (${fmt((seconds * 1000) / walks)} ms per walk of ${last.pages} pages, ${last.tags} tags)`,
    );
    if (last.pages === 1 && last.tags > 100)
      notes.push(`${t.server.name} ignored n=100 on the tag list and answered all ${last.tags} tags in one page`);
  }
  const walks = (t: Target) => walkRates.get(t)!;
  rows.push({
    label: `tag list, ${size} tags, walked with n=100, 1 client`,
    unit: 'walks/s',
    berth: berthValues(walks),
    distribution: dist ? walks(dist) : null,
    target: null,
  });
}

async function phaseCatalog(images: Map<Target, Image>): Promise<void> {
  const targets = everyTarget();
  log(`5. catalog: populating ${P.repos} repositories (blobs mounted from library/base, one manifest each)`);
  // Ask for every repository in one page (docker-registry's catalog.maxentries is set to allow it).
  const query = `/v2/_catalog?n=${P.repos + 10}`;
  for (const t of targets) {
    const img = images.get(t)!;
    const manifest = imageManifest(img);
    const t0 = performance.now();
    const { done, timedOut } = await pool(P.repos, P.populateConcurrency, Date.now() + P.phaseSeconds * 1000, async (i) => {
      const repo = `library/cat-${String(i).padStart(5, '0')}`;
      await mountImage(t, img, repo);
      await putManifest(t.client, repo, 'latest', manifest);
    });
    const seconds = (performance.now() - t0) / 1000;
    log(`   ${who(t)} ${done} repositories in ${seconds.toFixed(1)} s${timedOut ? ' — stopped at the phase deadline' : ''}`);
    if (timedOut) notes.push(`${t.server.name}: catalog population stopped at ${done} of ${P.repos} repositories (phase deadline)`);
    await settlePg(t, 'catalog', query);
  }
  const counts = new Map<Target, number>();
  for (const t of targets) {
    const res = await t.client.expect([200], 'GET', query);
    counts.set(t, (JSON.parse(res.body.toString('utf8')) as { repositories: string[] }).repositories.length);
  }
  compareSizes('catalog sizes', counts, ' (docker-registry also lists repositories that hold only blobs)');
  const c = 8;
  log(`   GET ${query}, ${c} connections, ${P.listSeconds} s each`);
  const results = new Map<Target, LoadResult>();
  for (const t of targets) {
    results.set(
      t,
      await measure(t.server.name, { url: t.server.base + query, headers: t.authHeaders, connections: c, seconds: P.listSeconds }),
    );
  }
  const rps = (t: Target) => results.get(t)!.requestsPerSecond;
  rows.push({
    label: `catalog, ${counts.get(berths[0])} repositories in one page, ${c} clients`,
    unit: 'req/s',
    berth: berthValues(rps),
    distribution: dist ? rps(dist) : null,
    target: { ratio: 10 },
  });
}

async function phaseRss(): Promise<void> {
  const targets = everyTarget();
  log(`6. peak RSS while pushing a ${P.rssMiB} MiB blob`);
  const blob = new SyntheticBlob(P.rssMiB, 'rss');
  blob.digest();
  const before = new Map(targets.map((t) => [t, t.server.memory()]));
  const peaks = new Map<Target, number | null>();
  for (const t of targets) {
    const reset = t.server.resetPeak();
    if (!reset) notes.push(`${t.server.name}: could not reset the peak RSS; the RSS row is the peak over the whole run`);
    const seconds = await pushBlob(t.client, 'library/rss', blob);
    const mem = t.server.memory();
    peaks.set(t, mem ? mem.hwm : null);
    const b = before.get(t);
    log(
      `   ${who(t)} ${fmt(blob.size / MB / seconds)} MB/s; peak RSS during the push ${fmt(mem ? mem.hwm / MiB : null)} MiB ` +
        `(peak over the run before it: ${fmt(b ? b.hwm / MiB : null)} MiB)`,
    );
  }
  const peak = (t: Target) => {
    const p = peaks.get(t);
    return p === null || p === undefined ? null : p / MiB;
  };
  rows.push({
    label: `peak RSS while pushing a ${P.rssMiB >= 1024 ? `${P.rssMiB / 1024} GiB` : `${P.rssMiB} MiB`} blob`,
    unit: 'MiB',
    berth: berthValues(peak),
    distribution: dist ? peak(dist) : null,
    target: { max: 200, unit: 'MiB' },
  });
  const earlier = (t: Target) => {
    const b = before.get(t);
    return b ? b.hwm / MiB : null;
  };
  rows.push({
    label: 'peak RSS over the whole run, before that push',
    unit: 'MiB',
    berth: berthValues(earlier),
    distribution: dist ? earlier(dist) : null,
    target: null,
  });
}

// Harbor-API listings (Berth only) -------------------------------------------------------------

const berthOnlyNote = 'Berth only: docker-registry has no Harbor API, and no Harbor runs on this machine to compare with';

/** `i` as five digits: names and tags sort as numbers do. */
const pad5 = (i: number) => String(i).padStart(5, '0');

/** One listing at 1 client (latency alone) and at 8 (throughput), after a warm-up; the caller checked its answer. */
async function measureApi(t: Target, label: string, pathAndQuery: string, items: string): Promise<void> {
  // Unmeasured warm-up, so that JIT and the statement cache are not counted against the 1-client run.
  await load({ url: t.server.base + pathAndQuery, headers: t.authHeaders, connections: 8, seconds: P.warmupSeconds });
  for (const c of [1, 8]) {
    const r = await measure(`${t.server.name} ${c} client${c > 1 ? 's' : ''}`, {
      url: t.server.base + pathAndQuery,
      headers: t.authHeaders,
      connections: c,
      seconds: c === 1 ? P.serialSeconds : P.listSeconds,
    });
    log(`   ${''.padEnd(24)} mean ${fmt(r.latencyMeanMs, 2)} ms`);
    const row = apiRow(label, c);
    row.results[t.backend!] = r;
    row.items[t.backend!] = items;
  }
}

/** Seeds with `count` jobs, `populateConcurrency` in flight, per Berth; logs and notes the rate. */
async function seed(t: Target, what: string, unit: string, count: number, job: (i: number) => Promise<void>): Promise<number> {
  const t0 = performance.now();
  const { done, timedOut } = await pool(count, P.populateConcurrency, Date.now() + P.phaseSeconds * 1000, job);
  const seconds = (performance.now() - t0) / 1000;
  log(
    `   ${who(t)} seeding: ${done} ${unit} in ${seconds.toFixed(1)} s (${fmt(done / seconds)}/s)${timedOut ? ' — stopped at the phase deadline' : ''}`,
  );
  notes.push(
    `${what} seeding, ${backendTitle[t.backend!]}: ${done} ${unit} in ${seconds.toFixed(1)} s (${fmt(done / seconds)}/s, ${P.populateConcurrency} in flight)`,
  );
  if (timedOut) notes.push(`${what}, ${backendTitle[t.backend!]}: population stopped at ${done} of ${count} (phase deadline)`);
  return done;
}

async function phaseArtifacts(images: Map<Target, Image>): Promise<void> {
  const repo = 'library/artifacts';
  log(`7. artifact list (${berthOnlyNote})`);
  log(
    `   populating ${repo} with ${P.artifacts} artifacts, one tag each (${P.populateConcurrency} concurrent manifest PUTs, one annotation varying)`,
  );
  const pageSize = 100;
  const base = `/api/v2.0/projects/library/repositories/${repo.slice('library/'.length)}/artifacts`;
  const counts = new Map<Target, number>();
  for (const t of berths) {
    const img = images.get(t)!;
    await mountImage(t, img, repo);
    counts.set(
      t,
      await seed(t, 'artifact list', 'tagged artifacts', P.artifacts, async (i) => {
        const tag = `v${pad5(i)}`;
        await putManifest(t.client, repo, tag, imageManifest(img, `artifacts-${tag}`));
      }),
    );
    await settlePg(t, 'artifact list', `${base}?page=1&page_size=${pageSize}&with_tag=true`);
  }

  const fewest = Math.min(...counts.values());
  const deepPage = Math.max(2, Math.min(50, Math.floor(fewest / pageSize / 2)));
  const fragment = 'v001'; // v00100 … v00199: 100 tags of the 1,000 or 10,000
  const lists = [
    { label: 'page 1', query: `?page=1&page_size=${pageSize}&with_tag=true` },
    { label: `page ${deepPage}`, query: `?page=${deepPage}&page_size=${pageSize}&with_tag=true` },
    { label: `q=tags=~${fragment}`, query: `?page=1&page_size=${pageSize}&with_tag=true&q=tags%3D~${fragment}` },
  ];
  for (const l of lists) {
    for (const t of berths) {
      const res = await t.client.expect([200], 'GET', base + l.query);
      const body = JSON.parse(res.body.toString('utf8')) as Array<{ tags?: unknown[] }>;
      const total = Number(res.headers['x-total-count']);
      if (body.length === 0 || body.some((a) => !Array.isArray(a.tags) || a.tags.length !== 1)) {
        throw new Error(
          `${t.server.name} ${base}${l.query}: expected a non-empty page of artifacts with one tag each, got ${res.body.toString('utf8').slice(0, 200)}`,
        );
      }
      const items = `${body.length} of ${total}`;
      log(
        `   ${t.server.name}: GET …/artifacts${l.query} (${items} artifacts, ${fmt(res.body.byteLength / 1024)} KiB), 1 then 8 connections`,
      );
      await measureApi(t, `artifact list, ${P.artifacts} artifacts, ${l.label}, page_size=${pageSize}, with_tag`, base + l.query, items);
    }
  }
}

async function phaseSearch(images: Map<Target, Image>): Promise<void> {
  log(`8. search (${berthOnlyNote})`);
  const searching: Target[] = [];
  for (const t of berths) {
    const probe = await t.client.request('GET', '/api/v2.0/search?q=kestrel');
    if (probe.status === 404 || probe.status === 405) {
      log(`   ${t.server.name}: GET /api/v2.0/search answered ${probe.status}: this Berth has no search endpoint yet; skipped`);
      notes.push(
        `search, ${backendTitle[t.backend!]}: skipped, GET /api/v2.0/search answered ${probe.status} (no search endpoint in this Berth)`,
      );
      continue;
    }
    if (probe.status !== 200)
      throw new Error(
        `${t.server.name} GET /api/v2.0/search?q=kestrel: HTTP ${probe.status}: ${probe.body.toString('utf8').slice(0, 300)}`,
      );
    searching.push(t);
  }
  if (searching.length === 0) return;

  // 5 "kestrel" repositories, 1 % "orca", the rest "srch"; one manifest each, unique by its annotation.
  const n = P.searchRepos;
  const handfulEvery = Math.floor(n / 5);
  const repoName = (i: number) => `library/${i % handfulEvery === 7 ? 'kestrel' : i % 100 === 50 ? 'orca' : 'srch'}-${pad5(i)}`;
  log(
    `   populating ${n} repositories (config and layer mounted from library/base, one manifest each, ${P.populateConcurrency} in flight)`,
  );
  const counts = new Map<Target, number>();
  for (const t of searching) {
    const img = images.get(t)!;
    counts.set(
      t,
      await seed(t, 'search', 'repositories (two blob mounts and one manifest PUT each)', n, async (i) => {
        const repo = repoName(i);
        await mountImage(t, img, repo);
        await putManifest(t.client, repo, 'latest', imageManifest(img, repo));
      }),
    );
    await settlePg(t, 'search', '/api/v2.0/search?q=kestrel');
  }

  for (const [fragment, what] of [
    ['kestrel', 'a handful'],
    ['orca', '~1 %'],
  ] as const) {
    const query = `/api/v2.0/search?q=${fragment}`;
    for (const t of searching) {
      const done = counts.get(t)!;
      const res = await t.client.expect([200], 'GET', query);
      const body = JSON.parse(res.body.toString('utf8')) as { repository?: unknown[]; project?: unknown[] };
      const found = body.repository?.length ?? NaN;
      const expected = Array.from({ length: done }, (_, i) => repoName(i)).filter((r) => r.includes(fragment)).length;
      if (found !== expected)
        notes.push(`search q=${fragment}, ${backendTitle[t.backend!]}: ${found} repositories in the answer, ${expected} expected`);
      const items = `${found} of ${done} repositories`;
      log(`   ${t.server.name}: GET ${query} (${what}: ${items}, ${fmt(res.body.byteLength / 1024)} KiB), 1 then 8 connections`);
      await measureApi(t, `search, ${n} repositories, q=${fragment} (${what})`, query, items);
    }
  }
}

// Portal (Berth only) ---------------------------------------------------------------------------

/** One portal page in one mode (cold or warm), measured on each Berth. */
interface PortalRow {
  page: string;
  mode: Mode;
  results: Partial<Record<BackendId, Stats>>;
}
const portalRows: PortalRow[] = [];
/** Chromium and playwright-core versions, once the portal phase has launched the browser. */
let portalBrowser = '';

const kib = (bytes: number) => `${fmt(bytes / 1024)} KiB`;

/**
 * The repository with the most artifacts among those the phases seed in `library`
 * (artifacts: 10,000; tags: 5,000; base: 1, always there), and the newest of its artifacts.
 */
async function busiestRepository(t: Target): Promise<{ repository: string; artifacts: number; digest: string }> {
  let best: { repository: string; artifacts: number } | null = null;
  for (const repository of ['artifacts', 'tags', 'base']) {
    const res = await t.client.request('GET', `/api/v2.0/projects/library/repositories/${repository}`);
    if (res.status === 404) continue;
    if (res.status !== 200) throw new Error(`${t.server.name} GET repository library/${repository}: HTTP ${res.status}`);
    const artifacts = Number((JSON.parse(res.body.toString('utf8')) as { artifact_count?: number }).artifact_count);
    if (!best || artifacts > best.artifacts) best = { repository, artifacts };
  }
  if (!best) throw new Error(`${t.server.name}: none of library/artifacts, library/tags, library/base exists`);
  const res = await t.client.expect(
    [200],
    'GET',
    `/api/v2.0/projects/library/repositories/${best.repository}/artifacts?page=1&page_size=1&sort=-push_time`,
  );
  const [newest] = JSON.parse(res.body.toString('utf8')) as Array<{ digest: string }>;
  if (!newest) throw new Error(`${t.server.name}: library/${best.repository} lists no artifact`);
  return { ...best, digest: newest.digest };
}

/** One load in words: what it fetched, by resource type, and how it was encoded. */
function describeLoad(l: Load): string {
  const types = [...l.byType]
    .sort(([, a], [, b]) => b.bytes - a.bytes)
    .map(([type, x]) => `${type} ${x.requests} (${kib(x.bytes)})`)
    .join(', ');
  const encodings = [...l.encodings].map(([e, n]) => `${e} ×${n}`).join(', ');
  return `${l.requests} requests${l.fromCache ? ` (${l.fromCache} from the cache)` : ''}, ${kib(l.bytes)}: ${types}; Content-Encoding over the network: ${encodings || 'none'}`;
}

async function phasePortal(): Promise<void> {
  log(`9. portal page loads (Berth only: docker-registry has no portal, and no Harbor runs on this machine)`);
  const missing = chromiumMissing();
  if (missing) {
    log(`   skipped: the portal phase ${missing}`);
    notes.push(`portal: skipped, the phase ${missing}`);
    return;
  }
  let browser: Awaited<ReturnType<typeof launchChromium>>;
  try {
    browser = await launchChromium();
  } catch (err) {
    const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
    log(`   skipped: Chromium did not start: ${reason}`);
    notes.push(`portal: skipped, Chromium did not start: ${reason}`);
    return;
  }
  const playwrightVersion = (
    JSON.parse(readFileSync(path.join(root, 'node_modules', 'playwright-core', 'package.json'), 'utf8')) as { version: string }
  ).version;
  portalBrowser = `Chromium ${browser.version()} (Debian, headless), playwright-core ${playwrightVersion}`;
  log(`   ${portalBrowser}; 1280×800; ${P.portalLoads} rounds per page after one unmeasured, at most ${P.phaseSeconds} s per Berth`);
  try {
    for (const t of berths) {
      const busiest = await busiestRepository(t);
      const repoPath = `/projects/library/repositories/${busiest.repository}`;
      const pages: PortalPage[] = [
        { name: 'projects list', path: '/projects', shown: { table: 'Projects' } },
        { name: `repository page, library/${busiest.repository}`, path: repoPath, shown: { table: 'Artifacts' } },
        {
          name: `artifact page, library/${busiest.repository}`,
          path: `${repoPath}/-/artifacts/${encodeURIComponent(busiest.digest)}`,
          shown: { heading: 'Overview' },
        },
      ];
      const session = await portalSignIn(t.server.base, 'admin', benchPassword);
      log(
        `   ${t.server.name}: signed in through POST /c/login; the busiest repository is library/${busiest.repository} ` +
          `(${busiest.artifacts} artifacts), its newest artifact ${busiest.digest.slice(0, 19)}…`,
      );
      const results = await measurePortal({
        browser,
        base: t.server.base,
        session,
        pages,
        loads: P.portalLoads,
        deadline: Date.now() + P.phaseSeconds * 1000,
        log: (m) => log(`   ${t.server.name} ${m}`),
      });
      for (const r of results) {
        const label = r.page.name;
        for (const mode of ['cold', 'warm'] as const) {
          const loads = r.loads[mode];
          const s = stats(loads);
          let row = portalRows.find((x) => x.page === label && x.mode === mode);
          if (!row) {
            row = { page: label, mode, results: {} };
            portalRows.push(row);
          }
          if (!s) continue;
          row.results[t.backend!] = s;
          log(
            `   ${who(t)} ${mode} ${r.page.path.length > 60 ? `${r.page.path.slice(0, 57)}…` : r.page.path}: ` +
              `median ${fmt(s.medianMs)} ms, p95 ${fmt(s.p95Ms)} ms of ${s.loads}; in the page: data at ${fmt(s.inPageMedianMs)} ms ` +
              `(p95 ${fmt(s.inPageP95Ms)}), HTML ${fmt(s.responseEndMedianMs)} ms, DOMContentLoaded ${fmt(s.domContentLoadedMedianMs)} ms, ` +
              `load ${fmt(s.loadEventMedianMs)} ms; ${fmt(s.requests, 0)} requests, ${kib(s.bytes)}`,
          );
          // What one load consists of: the first measured one, in detail.
          log(`   ${''.padEnd(16)} one ${mode} load: ${describeLoad(loads[0])}`);
          if (t === berths[0])
            log(
              `   ${''.padEnd(16)} its requests, ms after the document's (sent–finished; c = from the cache): ` +
                loads[0].timeline
                  .map((x) => `${x.what} ${Math.round(x.start)}–${Number.isFinite(x.end) ? Math.round(x.end) : '?'}${x.cached ? ' c' : ''}`)
                  .join(', '),
            );
          if (mode === 'cold') {
            log(`   ${''.padEnd(16)} its API requests: ${loads[0].api.join(', ') || 'none'}`);
            // The same files on every Berth: listed once.
            if (t === berths[0])
              log(
                `   ${''.padEnd(16)} its assets (KiB as transferred): ${[...loads[0].assets].map(([file, bytes]) => `${file} ${fmt(bytes / 1024)}`).join(', ')}`,
              );
          }
          const failed = [...new Set(loads.flatMap((l) => l.failed))];
          if (failed.length)
            notes.push(`portal, ${backendTitle[t.backend!]}, ${label}, ${mode}: answers of 400 or more: ${failed.join(', ')}`);
          const contentLength = s.contentLength;
          if (mode === 'cold')
            notes.push(
              `portal, ${backendTitle[t.backend!]}, ${label}: a cold load transfers ${kib(s.bytes)} (CDP encodedDataLength, response headers included); ` +
                `the Content-Length of its responses adds up to ${kib(contentLength)}`,
            );
        }
        if (r.failures.length)
          notes.push(`portal, ${backendTitle[t.backend!]}, ${label}: ${r.failures.length} failed load(s): ${r.failures.join('; ')}`);
        if (r.stopped) notes.push(`portal, ${backendTitle[t.backend!]}, ${label}: stopped early (${r.stopped})`);
      }
      notes.push(
        `portal, ${backendTitle[t.backend!]}: pages ${pages.map((p) => `${p.path} (shown: ${shownText(p.shown)})`).join('; ')}; library/${busiest.repository} has ${busiest.artifacts} artifacts`,
      );
    }
  } finally {
    await browser.close();
  }
}

// Report --------------------------------------------------------------------------------------

/** Markdown table. */
// Integrity scrub (Berth only) ------------------------------------------------------------------

interface ScrubRow {
  backend: BackendId;
  blobs: number;
  bytes: number;
  manifests: number;
  seconds: number;
}
const scrubRows: ScrubRow[] = [];

/** Seeds small and large blobs, then times one SCRUB run over the whole store through the API. */
async function phaseScrub(): Promise<void> {
  log('10. integrity scrub (Berth only: docker-registry has no scrub)');
  const repo = 'library/scrub';
  for (const t of berths) {
    await seed(t, 'scrub', `blobs of 16 KiB`, P.scrubSmall, async (i) => {
      await pushSmall(t.client, repo, smallBlob(16 * 1024, 0x5c00 + i));
    });
    for (let i = 0; i < P.scrubLarge; i++) await pushBlob(t.client, repo, new SyntheticBlob(P.scrubLargeMiB, `scrub-${i}`));
    log(`   ${who(t)} pushed ${P.scrubLarge} blobs of ${P.scrubLargeMiB} MiB`);
    const kick = await t.client.expect([201], 'POST', '/api/v2.0/system/scrub/schedule', {
      headers: { 'content-type': 'application/json' },
      body: Buffer.from(JSON.stringify({ schedule: { type: 'Manual' } })),
    });
    const location = String(kick.headers.location);
    const deadline = Date.now() + P.phaseSeconds * 1000;
    let run: { job_status: string; results: Record<string, number> & { start_time: string; end_time: string } };
    for (;;) {
      run = JSON.parse((await t.client.expect([200], 'GET', location)).body.toString('utf8'));
      if (!['Pending', 'Running'].includes(run.job_status)) break;
      if (Date.now() > deadline) throw new Error(`${t.server.name}: the scrub did not end within the phase deadline`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    if (run.job_status !== 'Success' || run.results.problems !== 0) {
      throw new Error(
        `${t.server.name}: the scrub ended ${run.job_status} with ${run.results.problems} problem(s): ${JSON.stringify(run.results)}`,
      );
    }
    const seconds = (Date.parse(run.results.end_time) - Date.parse(run.results.start_time)) / 1000;
    const row = {
      backend: t.backend!,
      blobs: run.results.blobs_checked,
      bytes: run.results.bytes_checked,
      manifests: run.results.manifests_checked,
      seconds,
    };
    scrubRows.push(row);
    log(
      `   ${who(t)} scrub: ${row.blobs} blobs, ${fmt(row.bytes / MiB)} MiB, ${row.manifests} manifests in ${seconds.toFixed(2)} s: ` +
        `${fmt(row.bytes / MB / seconds)} MB/s, ${fmt(row.blobs / seconds)} blobs/s`,
    );
  }
}

function scrubTable(): string {
  return markdown(
    ['Berth', 'blobs', 'MiB', 'manifests', 'seconds', 'MB/s', 'blobs/s'],
    scrubRows.map((r) => [
      backendTitle[r.backend],
      String(r.blobs),
      fmt(r.bytes / MiB),
      String(r.manifests),
      r.seconds.toFixed(2),
      fmt(r.bytes / MB / r.seconds),
      fmt(r.blobs / r.seconds),
    ]),
  );
}

/** Quota phase: image pushes into a project with a limit vs one without, per Berth. */
const quotaRows: Array<{ backend: BackendId; result: QuotaResult }> = [];
const quotaSettings = quick
  ? { clients: 50, images: 100, rounds: 2, layerBytes: 32 * 1024, limit: 1024 ** 4 }
  : { clients: 50, images: 300, rounds: 3, layerBytes: 32 * 1024, limit: 1024 ** 4 };

async function phaseQuota(): Promise<void> {
  const q = quotaSettings;
  log(
    `11. quota (Berth only): ${q.images} images by ${q.clients} concurrent clients into one project, limit 1 TiB vs unlimited, ${q.rounds} rounds`,
  );
  for (const t of berths) {
    const result = await measureQuota(t.client, q, Date.now() + P.phaseSeconds * 1000, (line) => log(`   ${who(t)} ${line}`));
    quotaRows.push({ backend: t.backend!, result });
    const ratio = median(result.limited) / median(result.unlimited);
    log(
      `   ${who(t)} limited/unlimited ${ratio.toFixed(2)}; usage ${result.used} bytes, pushed ${result.expected}: ${result.used === result.expected ? 'exact' : 'WRONG'}`,
    );
    if (result.used !== result.expected)
      throw new Error(`${t.server.name}: quota usage ${result.used} bytes, but ${result.expected} were pushed`);
  }
}

/** Webhooks phase: pushes with 0 vs N webhook policies (live receiver on loopback) vs N policies on a dead port, per Berth. */
const webhookRows: Array<{ backend: BackendId; result: WebhookResult }> = [];
const webhookSettings = quick
  ? { clients: 20, images: 60, rounds: 2, policies: 5, layerBytes: 32 * 1024, drainMs: 30_000 }
  : { clients: 50, images: 300, rounds: 3, policies: 5, layerBytes: 32 * 1024, drainMs: 60_000 };

async function phaseWebhooks(): Promise<void> {
  const w = webhookSettings;
  log(
    `18. webhooks (Berth only): ${w.images} images by ${w.clients} concurrent clients into a project with no webhook policy, one with ` +
      `${w.policies} (PUSH_ARTIFACT, Default, receiver on loopback) and one with ${w.policies} on a dead port, ${w.rounds} rounds`,
  );
  for (const t of berths) {
    const result = await measureWebhooks(t.client, w, Date.now() + 4 * P.phaseSeconds * 1000, (line) => log(`   ${who(t)} ${line}`));
    webhookRows.push({ backend: t.backend!, result });
    const all = result.rounds.flatMap((r) => r.latencies);
    const l = latencyStats(all);
    log(
      `   ${who(t)} live/none ${(median(result.rounds.map((r) => r.live)) / median(result.rounds.map((r) => r.none))).toFixed(2)}, ` +
        `dead/none ${(median(result.rounds.map((r) => r.dead)) / median(result.rounds.map((r) => r.none))).toFixed(2)}; ` +
        `latency p50 ${(l.p50 * 1000).toFixed(0)} ms p95 ${(l.p95 * 1000).toFixed(0)} ms; duplicates ${result.duplicates}; ` +
        `dead receiver's tasks ${JSON.stringify(result.deadTasks)}`,
    );
    const missing = result.rounds.reduce((n, r) => n + r.expected - r.received, 0);
    if (missing > 0) notes.push(`${backendTitle[t.backend!]}: ${missing} webhook deliveries had not arrived within the drain wait`);
  }
}

/** Sign-in phase: its own embedded Berth per auth mode (auth_mode changes only while admin is the only user). */
let signinResult: SigninResult | undefined;
let signinStart: { entry?: string; nodeArgs: string[]; configFile?: string } = { nodeArgs: [] };

async function phaseSignin(): Promise<void> {
  const s = signinSettings(quick);
  log(
    `19. sign-in (Berth only, an embedded Berth per auth mode): token requests (${s.requests} by ${s.clients} clients) for a database, ` +
      `an LDAP and an OIDC user, cold and steady; manifest HEAD through an LDAP group vs a direct member`,
  );
  signinResult = await measureSignin(s, signinStart, Date.now() + 3 * P.phaseSeconds * 1000, (line) => log(`   ${line}`));
}

/** Metrics phase: two embedded Berths of its own, metrics off and on (bench/metrics.ts). */
let metricsResult: MetricsResult | undefined;

async function phaseMetrics(): Promise<void> {
  const s = metricsSettings(quick);
  log(
    `20. metrics (Berth only, two embedded Berths, metrics off and on): manifest HEAD/GET rates (${s.requests} by ${s.clients} clients, ` +
      `${s.rounds} rounds), then /metrics scrapes with ${s.projects} projects`,
  );
  metricsResult = await measureMetrics(s, Date.now() + 4 * P.phaseSeconds * 1000, (line) => log(`   ${line}`), signinStart);
}

/** Tracing phase: two embedded Berths of its own, tracing off and on (bench/tracing.ts). */
let tracingResult: TracingResult | undefined;

async function phaseTracing(): Promise<void> {
  const s = tracingSettings(quick);
  log(
    `21. tracing (Berth only, two embedded Berths, tracing off and on, every span exported over OTLP to a receiver on loopback): ` +
      `manifest HEAD/GET rates (${s.requests} by ${s.clients} clients, ${s.rounds} rounds)`,
  );
  tracingResult = await measureTracing(s, Date.now() + 3 * P.phaseSeconds * 1000, (line) => log(`   ${line}`), signinStart);
}

/** Retention phase: a retention run over many artifacts in many repositories, per Berth. */
const retentionRows: Array<{ backend: BackendId; result: RetentionResult }> = [];
const retentionSettings = quick
  ? { repositories: 20, perRepository: 50, keep: 10, concurrency: 16 }
  : { repositories: 100, perRepository: 100, keep: 10, concurrency: 16 };

async function phaseRetention(): Promise<void> {
  const r = retentionSettings;
  log(
    `12. retention (Berth only): ${r.repositories} repositories × ${r.perRepository} artifacts, keep the ${r.keep} most recently pushed of each`,
  );
  for (const t of berths) {
    // Populating 10,000 artifacts over HTTP takes most of the phase: it gets three phase bounds.
    const result = await measureRetention(t.client, r, Date.now() + 3 * P.phaseSeconds * 1000, (line) => log(`   ${who(t)} ${line}`));
    retentionRows.push({ backend: t.backend!, result });
  }
}

/** GC phase: one collection of a store half garbage, then pushes with and without GC running, per Berth. */
const gcRows: Array<{ backend: BackendId; result: GcResult }> = [];
const gcSettings = quick
  ? { blobs: 10_000, blobsPerArtifact: 100, images: 100, clients: 16, rounds: 2, garbagePerRound: 2000, layerBytes: 32 * 1024 }
  : { blobs: 100_000, blobsPerArtifact: 100, images: 300, clients: 16, rounds: 3, garbagePerRound: 20_000, layerBytes: 32 * 1024 };

async function phaseGc(): Promise<void> {
  const g = gcSettings;
  log(
    `13. garbage collection (Berth only): ${g.blobs} blobs, half garbage; then ${g.images} image pushes by ${g.clients} clients with and without GC running`,
  );
  for (const t of berths) {
    const backend =
      t.backend === 'pg-s3' && pgS3
        ? { kind: 'pg-s3' as const, env: pgS3.env }
        : { kind: 'embedded' as const, dataDir: path.join(t.server.dir, 'data') };
    // Seeding 100,000 rows and objects takes most of the phase: it gets four phase bounds.
    const result = await measureGc(t.client, backend, g, Date.now() + 4 * P.phaseSeconds * 1000, (line) => log(`   ${who(t)} ${line}`));
    gcRows.push({ backend: t.backend!, result });
  }
}

function gcTable(): string {
  return markdown(
    [
      'Berth',
      'blobs',
      'garbage swept',
      'MiB freed',
      'mark s',
      'sweep s',
      'run s',
      'pushes/s without GC (median)',
      'pushes/s with GC (median)',
      'with / without',
      'goal',
    ],
    gcRows.map(({ backend, result: r }) => {
      const ratio = median(r.withGc) / median(r.withoutGc);
      return [
        backendTitle[backend],
        String(r.blobs),
        String(r.purgedBlobs),
        fmt(r.freedBytes / MiB),
        r.markSeconds.toFixed(2),
        r.sweepSeconds.toFixed(2),
        r.runSeconds.toFixed(2),
        `${fmt(median(r.withoutGc))} (${r.withoutGc.map((v) => fmt(v)).join(', ')})`,
        `${fmt(median(r.withGc))} (${r.withGc.map((v) => fmt(v)).join(', ')}; ${r.runsDuringPushes} GC runs)`,
        ratio.toFixed(2),
        `≥ 0.80 ${ratio >= 0.8 ? 'met' : 'NOT met'}`,
      ];
    }),
  );
}

/** Vulnerability database phase: import and matching throughput of the built-in scanner's OSV database, per Berth. */
const vulnDbRows: Array<{ backend: BackendId; result: VulnDbResult }> = [];
const vulnDbSettings = quick ? { records: 10_000, packages: 500, matches: 5 } : { records: 100_000, packages: 500, matches: 10 };

async function phaseVulnDb(): Promise<void> {
  const v = vulnDbSettings;
  log(
    `14. vulnerability database (Berth only): ${v.records} generated OSV records imported into each Berth's database, then ${v.packages} packages matched`,
  );
  for (const t of berths) {
    const backend =
      t.backend === 'pg-s3' && pgS3
        ? { kind: 'pg-s3' as const, env: pgS3.env }
        : { kind: 'embedded' as const, dataDir: path.join(t.server.dir, 'data') };
    vulnDbRows.push({ backend: t.backend!, result: await measureVulnDb(v, backend, (line) => log(`   ${who(t)} ${line}`)) });
  }
}

let scanResult: ScanResult | undefined;
const scanSettings = quick
  ? { mb: 20, artifacts: 100, pushes: 30, clients: 4, timeoutSeconds: 300 }
  : { mb: 100, artifacts: 1000, pushes: 100, clients: 4, timeoutSeconds: 900 };

async function phaseScan(): Promise<void> {
  log(
    `15. scanning (Berth only, its own embedded Berth): a ~${scanSettings.mb} MB image cold and warm, then scan all of ${scanSettings.artifacts} images while pushes go on`,
  );
  scanResult = await measureScan(scanSettings, (line) => log(`   ${line}`));
}

function scanTable(r: ScanResult): string {
  return markdown(
    [
      'image MB',
      'findings',
      'scan cold s',
      'scan warm s',
      'peak RSS MB',
      'images scanned',
      'scan all s',
      'pushes/s without',
      'pushes/s with',
      'with / without',
      'goal',
    ],
    [
      [
        fmt(r.imageMb),
        String(r.findings),
        r.coldSeconds.toFixed(2),
        r.warmSeconds.toFixed(2),
        fmt(r.peakRssMb, 0),
        String((r.scanAllStats as { total?: number }).total ?? 0),
        fmt(r.scanAllSeconds),
        fmt(r.pushesPerSecondWithout),
        fmt(r.pushesPerSecondWith),
        (r.pushesPerSecondWith / r.pushesPerSecondWithout).toFixed(2),
        '≥ 0.8',
      ],
    ],
  );
}

/** Replication phase: Berth's replication against skopeo sync of the same images, per Berth. */
const replicationRows: Array<{ backend: BackendId; result: ReplicationResult }> = [];
const replicationSettings = quick
  ? { images: 40, repositories: 8, bases: 2, baseLayers: 2, baseLayerMiB: 1, topLayerKiB: 64, pushClients: 8 }
  : { images: 200, repositories: 20, bases: 4, baseLayers: 2, baseLayerMiB: 4, topLayerKiB: 256, pushClients: 8 };

async function phaseReplication(): Promise<void> {
  const r = replicationSettings;
  log(
    `16. replication: ${r.images} images (${r.bases} bases of ${r.baseLayers} × ${r.baseLayerMiB} MiB, ${r.topLayerKiB} KiB of their own) ` +
      `to an empty docker-registry by Berth's replication and by skopeo sync`,
  );
  for (const t of berths) {
    const result = await measureReplication(t.client, benchPassword, r, 4 * P.phaseSeconds * 1000, (line) => log(`   ${who(t)} ${line}`));
    replicationRows.push({ backend: t.backend!, result });
  }
}

function replicationTable(): string {
  return markdown(
    [
      'Berth',
      'images',
      'repositories',
      'blobs',
      'MiB distinct',
      'MiB per repository',
      'Berth replication s',
      'tasks',
      'skopeo sync s',
      'Berth / skopeo',
      'goal',
    ],
    replicationRows.map(({ backend, result: r }) => {
      const ratio = r.berthSeconds / r.skopeoSeconds;
      return [
        backendTitle[backend],
        String(r.images),
        String(r.repositories),
        String(r.blobs),
        fmt(r.bytes / MiB),
        fmt(r.perRepositoryBytes / MiB),
        r.berthSeconds.toFixed(1),
        `${r.execution.succeed}/${r.execution.total}`,
        r.skopeoSeconds.toFixed(1),
        ratio.toFixed(2),
        `< 1.00 ${ratio < 1 ? 'met' : 'NOT met'}`,
      ];
    }),
  );
}

/** Proxy-cache phase: pulls through a Berth proxy project, first and cached, against pulls straight from its upstream. */
const proxyRows: Array<{ backend: BackendId; result: ProxyResult }> = [];
const proxySettings = quick ? { images: 2, layers: 3, layerMiB: 4 } : { images: 5, layers: 5, layerMiB: 16 };

async function phaseProxy(): Promise<void> {
  const p = proxySettings;
  log(
    `17. proxy cache: ${p.images} images of ${p.layers} × ${p.layerMiB} MiB pulled from a docker-registry directly and through a Berth proxy-cache project`,
  );
  for (const t of berths) {
    proxyRows.push({ backend: t.backend!, result: await measureProxy(t.client, p, (line) => log(`   ${who(t)} ${line}`)) });
  }
}

function proxyTable(): string {
  return markdown(
    [
      'Berth',
      'image MiB',
      'direct s (median)',
      'first through proxy s (median)',
      'first / direct',
      'goal',
      'cached s (median)',
      'cached / direct',
      'goal',
    ],
    proxyRows.map(({ backend, result: r }) => {
      const direct = median(r.runs.map((x) => x.direct));
      const first = median(r.runs.map((x) => x.first));
      const cached = median(r.runs.map((x) => x.cached));
      const list = (k: 'direct' | 'first' | 'cached') => r.runs.map((x) => x[k].toFixed(2)).join(', ');
      return [
        backendTitle[backend],
        String(r.imageMiB),
        `${direct.toFixed(2)} (${list('direct')})`,
        `${first.toFixed(2)} (${list('first')})`,
        (first / direct).toFixed(2),
        `≤ 1.30 ${first / direct <= 1.3 ? 'met' : 'NOT met'}`,
        `${cached.toFixed(2)} (${list('cached')})`,
        (cached / direct).toFixed(2),
        `≤ 1.00 ${cached / direct <= 1.0 ? 'met' : 'NOT met'}`,
      ];
    }),
  );
}

function vulnDbTable(): string {
  return markdown(
    [
      'Berth',
      'records',
      'archives MiB',
      'import s (CPU s)',
      'records/s',
      're-import s, unchanged (CPU s)',
      'affected rows',
      'packages',
      'findings',
      'first match ms',
      'match ms, median (runs)',
      'match CPU ms (median)',
      'packages/s',
    ],
    vulnDbRows.map(({ backend, result: r }) => {
      const ms = median(r.matchMs);
      return [
        backendTitle[backend],
        String(r.records),
        fmt(r.zipBytes / MiB),
        `${r.importSeconds.toFixed(1)} (${r.importCpuSeconds.toFixed(1)})`,
        fmt(r.records / r.importSeconds),
        `${r.reimportSeconds.toFixed(1)} (${r.reimportCpuSeconds.toFixed(1)})`,
        String(r.affectedRows),
        String(r.packages),
        String(r.findings),
        r.firstMatchMs.toFixed(0),
        `${ms.toFixed(0)} (${r.matchMs.map((m) => m.toFixed(0)).join(', ')})`,
        median(r.matchCpuMs).toFixed(0),
        fmt(r.packages / (ms / 1000)),
      ];
    }),
  );
}

function retentionTable(): string {
  return markdown(
    ['Berth', 'artifacts', 'repositories', 'dry run s', 'real run s', 'removed', 'removed/s'],
    retentionRows.map(({ backend, result }) => [
      backendTitle[backend],
      String(result.artifacts),
      String(retentionSettings.repositories),
      result.dryRunSeconds.toFixed(2),
      result.realRunSeconds.toFixed(2),
      String(result.removed),
      fmt(result.removed / result.realRunSeconds),
    ]),
  );
}

function quotaTable(): string {
  return markdown(
    [
      'Berth',
      'clients',
      'images per run',
      'unlimited images/s (median)',
      'limited images/s (median)',
      'limited / unlimited',
      'goal',
      'usage after',
    ],
    quotaRows.map(({ backend, result }) => {
      const ratio = median(result.limited) / median(result.unlimited);
      return [
        backendTitle[backend],
        String(quotaSettings.clients),
        String(quotaSettings.images),
        `${fmt(median(result.unlimited))} (${result.unlimited.map((v) => fmt(v)).join(', ')})`,
        `${fmt(median(result.limited))} (${result.limited.map((v) => fmt(v)).join(', ')})`,
        `${ratio.toFixed(2)}`,
        `≥ 0.80 ${ratio >= 0.8 ? 'met' : 'NOT met'}`,
        result.used === result.expected ? `exact (${fmt(result.used / MiB)} MiB)` : `${result.used} ≠ ${result.expected}`,
      ];
    }),
  );
}

function webhookTable(): string {
  return markdown(
    [
      'Berth',
      'no policy images/s (median)',
      `${webhookSettings.policies} policies images/s (median)`,
      'ratio',
      'dead receiver images/s (median)',
      'ratio',
      'goal',
      'deliveries/s (median)',
      'latency p50 / p95 / max',
      'received',
    ],
    webhookRows.map(({ backend, result }) => {
      const none = median(result.rounds.map((r) => r.none));
      const live = median(result.rounds.map((r) => r.live));
      const dead = median(result.rounds.map((r) => r.dead));
      const l = latencyStats(result.rounds.flatMap((r) => r.latencies));
      const ok = live / none >= 0.8 && dead / none >= 0.8;
      return [
        backendTitle[backend],
        `${fmt(none)} (${result.rounds.map((r) => fmt(r.none)).join(', ')})`,
        `${fmt(live)} (${result.rounds.map((r) => fmt(r.live)).join(', ')})`,
        `${(live / none).toFixed(2)}`,
        `${fmt(dead)} (${result.rounds.map((r) => fmt(r.dead)).join(', ')})`,
        `${(dead / none).toFixed(2)}`,
        `≥ 0.80 ${ok ? 'met' : 'NOT met'}`,
        `${fmt(median(result.rounds.map((r) => r.deliveriesPerSecond)))} (${result.rounds.map((r) => fmt(r.deliveriesPerSecond)).join(', ')})`,
        `${fmt(l.p50 * 1000, 0)} / ${fmt(l.p95 * 1000, 0)} / ${fmt(l.max * 1000, 0)} ms`,
        `${result.rounds.reduce((n, r) => n + r.received, 0)} of ${result.rounds.reduce((n, r) => n + r.expected, 0)}`,
      ];
    }),
  );
}

function markdown(header: string[], body: string[][]): string {
  return [header, header.map(() => '---'), ...body].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

function ratioText(a: number | null | undefined, b: number | null | undefined): string {
  if (a === null || a === undefined || b === null || b === undefined || !(b > 0) || !Number.isFinite(a)) return 'n/a';
  return `${(a / b).toFixed(2)}×`;
}

/** Whether a Berth's figure meets the row's target. */
function met(row: Row, b: BackendId): string {
  if (unavailable.has(b)) return '—';
  if (!row.target) return '—';
  if (b === 'pg-s3' && row.storageBound) return 'n/a (s3rver)';
  const value = row.berth[b];
  if (value === null || value === undefined) return 'n/a';
  if ('ratio' in row.target) {
    if (row.distribution === null || !(row.distribution > 0)) return 'n/a';
    return value / row.distribution >= row.target.ratio ? 'yes' : 'NO';
  }
  return value < row.target.max ? 'yes' : 'NO';
}

function targetText(row: Row): string {
  if (!row.target) return '—';
  return 'ratio' in row.target ? `≥ ${row.target.ratio}×` : `< ${row.target.max} ${row.target.unit}`;
}

/** The cell of a Berth's figure: the figure, or why there is none. */
function berthCell(b: BackendId, value: number | null | undefined): string {
  return unavailable.get(b) ?? fmt(value);
}

function table(): string {
  const withDist = rows.some((r) => r.distribution !== null);
  const both = backends.length === 2;
  const header = [
    'measurement',
    'unit',
    ...backends.map((b) => backendTitle[b]),
    ...(withDist ? ['docker-registry', ...backends.map((b) => `${backendShort[b]} / d-r`)] : []),
    ...(both ? ['PG+S3 / embedded'] : []),
    'target',
    ...(both ? backends.map((b) => `met, ${backendShort[b]}`) : ['met']),
  ];
  const body = rows.map((r) => [
    r.label,
    r.unit,
    ...backends.map((b) => berthCell(b, r.berth[b])),
    ...(withDist ? [fmt(r.distribution), ...backends.map((b) => (unavailable.has(b) ? '—' : ratioText(r.berth[b], r.distribution)))] : []),
    ...(both ? [unavailable.size ? '—' : ratioText(r.berth['pg-s3'], r.berth.embedded)] : []),
    targetText(r),
    ...backends.map((b) => met(r, b)),
  ]);
  return markdown(header, body);
}

function apiTable(): string {
  const both = backends.length === 2;
  const header = [
    'Harbor-API listing (Berth only)',
    'clients',
    'items',
    ...backends.flatMap((b) => [`${backendShort[b]} req/s`, `${backendShort[b]} mean ms`, `${backendShort[b]} p99 ms`]),
    ...(both ? ['PG+S3 / embedded req/s'] : []),
    'errors',
  ];
  const body = apiRows.map((r) => {
    const items = [...new Set(backends.map((b) => r.items[b]).filter((i) => i !== undefined))];
    return [
      r.label,
      String(r.clients),
      items.join('; ') || 'n/a',
      ...backends.flatMap((b) => {
        const x = r.results[b];
        const why = unavailable.get(b);
        if (why) return [why, '—', '—'];
        return [fmt(x?.requestsPerSecond), fmt(x?.latencyMeanMs, 2), fmt(x?.latencyP99Ms, 2)];
      }),
      ...(both ? [unavailable.size ? '—' : ratioText(r.results['pg-s3']?.requestsPerSecond, r.results.embedded?.requestsPerSecond)] : []),
      backends
        .map((b) => r.results[b]?.errors)
        .filter((e) => e !== undefined)
        .join(' / '),
    ];
  });
  return markdown(header, body);
}

function portalTable(): string {
  const both = backends.length === 2;
  const header = [
    'portal page (Berth only)',
    'load',
    ...backends.flatMap((b) => [
      `${backendShort[b]} loads`,
      `${backendShort[b]} median ms`,
      `${backendShort[b]} p95 ms`,
      `${backendShort[b]} in-page ms`,
      `${backendShort[b]} requests`,
      `${backendShort[b]} KiB`,
    ]),
    ...(both ? ['PG+S3 / embedded median'] : []),
  ];
  const body = portalRows.map((r) => [
    r.page,
    r.mode,
    ...backends.flatMap((b) => {
      const why = unavailable.get(b);
      if (why) return [why, '—', '—', '—', '—', '—'];
      const x = r.results[b];
      if (!x) return ['0', 'n/a', 'n/a', 'n/a', 'n/a', 'n/a'];
      const requests = `${fmt(x.requests, 0)}${x.fromCache ? ` (${fmt(x.fromCache, 0)} cached)` : ''}`;
      return [String(x.loads), fmt(x.medianMs), fmt(x.p95Ms), fmt(x.inPageMedianMs), requests, fmt(x.bytes / 1024)];
    }),
    ...(both ? [unavailable.size ? '—' : ratioText(r.results['pg-s3']?.medianMs, r.results.embedded?.medianMs)] : []),
  ]);
  return markdown(header, body);
}

function cpuTable(): string {
  const names = [...new Set(cpuRows.flatMap((r) => [...r.used.keys()]))];
  const header = ['phase', 'wall s', ...names.map((n) => `${n} CPU s`)];
  const body = cpuRows.map((r) => [r.phase, r.wallSeconds.toFixed(1), ...names.map((n) => fmt(r.used.get(n)))]);
  return markdown(header, body);
}

let backendDescription = '';

function machine(): string {
  const cpu = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown';
  const [l1, l5] = os.loadavg();
  return [
    `machine: ${os.cpus().length} CPUs (${cpu}), ${fmt(os.totalmem() / 2 ** 30)} GiB RAM, load average ${l1.toFixed(2)} / ${l5.toFixed(2)} (1 / 5 min) now`,
    `node ${process.version}; ${dockerRegistryVersion()}; load generator: ${loadTool()}`,
    `mode: ${quick ? 'quick (smoke run; sizes reduced)' : 'full'}; Berth run ${compiled ? 'as transpiled JavaScript under plain node (--compiled)' : 'through bin/berth.js (dist/ when built, else tsx)'}`,
    `backends: ${backends.map((b) => `${b} (${b === 'embedded' ? 'SQLite + filesystem' : (unavailable.get(b) ?? backendDescription)})`).join('; ')}`,
    ...(portalBrowser ? [`portal: ${portalBrowser}`] : []),
  ].join('\n');
}

// CPU accounting -------------------------------------------------------------------------------

type CpuSnapshot = Map<string, number | null>;

async function cpuSnapshot(): Promise<CpuSnapshot> {
  const procs: CpuSnapshot = new Map();
  for (const t of everyTarget()) procs.set(t.server.name, cpuSeconds(t.server.pid));
  if (pgS3) {
    const c = await pgS3.cpu();
    procs.set('postgres', c.postgres);
    procs.set('s3rver', c.s3rver);
  }
  const self = process.cpuUsage();
  procs.set('bench client', (self.user + self.system) / 1e6);
  return procs;
}

function cpuUsed(before: CpuSnapshot, after: CpuSnapshot): Map<string, number | null> {
  const used = new Map<string, number | null>();
  for (const [name, v] of after) {
    // No PostgreSQL backend seen yet before the phase: none had used any CPU.
    const b = name === 'postgres' ? (before.get(name) ?? 0) : before.get(name);
    used.set(name, v === null || b === null || b === undefined ? null : v - b);
  }
  // A fixed column order: Berths, their backend, docker-registry, the bench itself.
  const order = ['berth', 'berth-pg-s3', 'postgres', 's3rver', 'docker-registry', 'bench client'];
  return new Map([...used].sort(([a], [b]) => order.indexOf(a) - order.indexOf(b)));
}

// Main ------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  log(`Berth (${backends.join(', ')}) vs docker-registry (${dockerRegistryBin})`);
  const profileDir = path.join(root, 'bench-profiles');
  const entry = compiled ? await transpileBerth() : undefined;
  if (entry) log(`transpiled src/ to ${path.dirname(entry)}`);
  const nodeArgs = cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  signinStart = { entry, nodeArgs, configFile };
  const basic = `Basic ${Buffer.from(`admin:${benchPassword}`).toString('base64')}`;
  const berthTarget = (server: Server, backend: BackendId): Target => ({
    server,
    client: new Client(server.base, basic),
    authHeaders: { authorization: basic },
    backend,
  });
  for (const b of backends) {
    if (b === 'embedded') {
      const server = await startBerth({ nodeArgs, entry, configFile, name: backendServerName[b] });
      berths.push(berthTarget(server, b));
      continue;
    }
    const setup = await startPgS3();
    if ('unavailable' in setup) {
      unavailable.set(b, setup.unavailable);
      log(`${backendTitle[b]}: ${setup.reason}; its column says "${setup.unavailable}" and the rest runs`);
      notes.push(`${backendTitle[b]}: not measured: ${setup.reason}`);
      continue;
    }
    pgS3 = setup.backend;
    backendDescription = pgS3.description;
    try {
      const server = await startBerth({ nodeArgs, entry, configFile, name: backendServerName[b], env: pgS3.env });
      berths.push(berthTarget(server, b));
    } catch (err) {
      const reason = err instanceof Error ? err.message.split('\n').slice(0, 6).join(' ') : String(err);
      unavailable.set(b, 'Berth did not start');
      log(`${backendTitle[b]}: Berth did not start on PostgreSQL + s3rver: ${reason}`);
      notes.push(`${backendTitle[b]}: not measured: Berth did not start on PostgreSQL + s3rver: ${reason}`);
      await pgS3.stop();
      pgS3 = null;
    }
  }
  process.stdout.write(machine() + '\n');
  if (berths.length === 0) throw new Error(`no Berth is running (${[...unavailable].map(([b, why]) => `${b}: ${why}`).join('; ')})`);
  // docker-registry only when a phase compares with it (the Harbor-API phases are Berth only).
  const compares = phases.some((p) => runs(p) && !berthOnly.has(p) && !ownRegistries.has(p));
  const distServer = compares ? await startDockerRegistry({ catalogMaxEntries: Math.max(1000, P.repos + 10) }) : null;
  if (distServer) dist = { server: distServer, client: new Client(distServer.base), authHeaders: {}, backend: null };
  for (const t of everyTarget()) log(`${t.server.name} on ${t.server.base} (pid ${t.server.pid})`);
  if (!distServer) log('docker-registry not started (only Berth-only phases run)');
  try {
    const images = new Map<Target, Image>();
    for (const t of everyTarget()) images.set(t, await seedImage(t.client, 'library/base'));
    log(
      `seeded library/base:latest (config + 32 KiB layer) on ${everyTarget()
        .map((t) => t.server.name)
        .join(', ')}`,
    );

    const memory = (after: string) => {
      const parts = everyTarget().map((t) => {
        const m = t.server.memory();
        return `${t.server.name} RSS ${fmt(m ? m.rss / MiB : null)} MiB, peak ${fmt(m ? m.hwm / MiB : null)} MiB`;
      });
      log(`   memory after ${after}: ${parts.join('; ')}`);
    };
    const phase = async (name: string, run: () => Promise<void>) => {
      const before = await cpuSnapshot();
      const t0 = performance.now();
      await run();
      const wallSeconds = (performance.now() - t0) / 1000;
      const used = cpuUsed(before, await cpuSnapshot());
      cpuRows.push({ phase: name, wallSeconds, used });
      log(`   CPU during ${name} (${wallSeconds.toFixed(1)} s): ${[...used].map(([k, v]) => `${k} ${fmt(v)} s`).join(', ')}`);
      memory(name);
    };
    memory('start');
    if (runs('push') || runs('pull')) {
      let blobs = new Map<Target, SyntheticBlob>();
      await phase(runs('push') ? 'push' : 'push (setup)', async () => {
        blobs = await phasePush();
        if (!runs('push')) rows.pop();
      });
      if (runs('pull')) await phase('pull', () => phasePull(blobs));
    }
    if (runs('manifest')) await phase('manifest', phaseManifest);
    if (runs('tags')) await phase('tags', () => phaseTags(images));
    if (runs('catalog')) await phase('catalog', () => phaseCatalog(images));
    if (runs('rss')) await phase('rss', phaseRss);
    if (runs('artifacts')) await phase('artifacts', () => phaseArtifacts(images));
    if (runs('search')) await phase('search', () => phaseSearch(images));
    if (runs('portal')) await phase('portal', phasePortal);
    if (runs('scrub')) await phase('scrub', phaseScrub);
    if (runs('quota')) await phase('quota', phaseQuota);
    if (runs('retention')) await phase('retention', phaseRetention);
    if (runs('gc')) await phase('gc', phaseGc);
    if (runs('vulndb')) await phase('vulndb', phaseVulnDb);
    if (runs('scan')) await phase('scan', phaseScan);
    if (runs('replication')) await phase('replication', phaseReplication);
    if (runs('proxy')) await phase('proxy', phaseProxy);
    if (runs('webhooks')) await phase('webhooks', phaseWebhooks);
    if (runs('signin')) await phase('signin', phaseSignin);
    if (runs('metrics')) await phase('metrics', phaseMetrics);
    if (runs('tracing')) await phase('tracing', phaseTracing);
  } finally {
    for (const t of everyTarget()) t.client.close();
    for (const t of everyTarget()) {
      const t0 = performance.now();
      await t.server.stop();
      log(`stopped ${t.server.name} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
    if (pgS3) {
      const t0 = performance.now();
      await pgS3.stop();
      log(`stopped s3rver and dropped the database in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
    const t0 = performance.now();
    cleanupSync();
    log(`removed the temp dirs in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  process.stdout.write(`\n${machine()}\nelapsed: ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  if (rows.length) process.stdout.write(`\n${table()}\n`);
  if (apiRows.length) process.stdout.write(`\nHarbor-API listings — ${berthOnlyNote}:\n\n${apiTable()}\n`);
  if (portalRows.length)
    process.stdout.write(
      `\nPortal page loads — Berth only, ${portalBrowser}: ms from before page.goto until the data is on screen ` +
        `(test process; median and nearest-rank p95), in-page ms = the page's own clock from navigation start to the first ` +
        `frame with the data (median); cold = a fresh context (empty cache), warm = the same URL again in that context; ` +
        `requests and KiB (CDP encodedDataLength: headers + bodies as received) are medians:\n\n${portalTable()}\n`,
    );
  if (scrubRows.length)
    process.stdout.write(
      `\nIntegrity scrub — Berth only (docker-registry has no scrub): one SCRUB run over the whole store (every blob every ` +
        `earlier phase pushed, plus the scrub phase's own), 4 blobs hashed at once (scrub.workers), timed by the run's own ` +
        `start and end:\n\n${scrubTable()}\n`,
    );
  if (quotaRows.length)
    process.stdout.write(
      `\nQuotas — Berth only: each run pushes whole images (config, 32 KiB layer, manifest, every byte new to the project) ` +
        `into five repositories of one project, with a limit of 1 TiB (every push admitted and checked) and without one; ` +
        `runs alternate which goes first; usage after = the limited project's reported usage against the bytes pushed into it:\n\n${quotaTable()}\n`,
    );
  if (retentionRows.length)
    process.stdout.write(
      `\nTag retention — Berth only: one policy (latestPushedK) over one project; a dry run, then a real run removing all but ` +
        `the newest of each repository through the artifact service's delete (audit, events, quota), one RETENTION_TASK per ` +
        `repository on the job queue; seconds from the execution's start to its end:\n\n${retentionTable()}\n`,
    );
  if (gcRows.length)
    process.stdout.write(
      `\nGarbage collection — Berth only (docker-registry collects offline, read-only): a store of ${gcSettings.blobs} small blobs ` +
        `(rows and objects seeded straight into the database and blob store, a day old), half named by tagged artifacts and linked, ` +
        `half garbage (no link, no artifact); one run, 4 workers, mark and sweep as the run reports them. Then ${gcSettings.images} ` +
        `image pushes (config, 32 KiB layer, manifest) by ${gcSettings.clients} clients, without GC and while GC runs back to back ` +
        `(its first run sweeping ${gcSettings.garbagePerRound} fresh garbage blobs), alternating which goes first:\n\n${gcTable()}\n`,
    );
  if (vulnDbRows.length)
    process.stdout.write(
      `\nVulnerability database — Berth only: ${vulnDbSettings.records} generated OSV records (Debian 40 %, npm 20 %, PyPI 12 %, ` +
        `Alpine 10 %, Maven 8 %, Go 6 %, crates.io 4 %; Debian and Alpine records name three releases each) written as one all.zip per ` +
        `ecosystem and imported into the Berth's own database as \`berth vulndb import\` does, then again unchanged; then an inventory ` +
        `of ${vulnDbSettings.packages} packages (60 % Debian 12, the rest npm, PyPI, Go, Maven, crates.io) matched ${vulnDbSettings.matches} times ` +
        `after a first match (in the bench process, as the scanner's engine calls the matcher):\n\n${vulnDbTable()}\n`,
    );
  if (scanResult)
    process.stdout.write(
      `\nScanning — Berth only, its own embedded Berth: an image of ${fmt(scanResult.imageMb)} MB (400 dpkg and 300 npm packages, thousands of files, ` +
        `whiteouts) pushed, OSV records about 90 of its packages imported, POST …/scan until scan_overview says Success, twice (the second with ` +
        `the layer cache warm); then scan all of ${scanSettings.artifacts} small images while ${scanSettings.pushes} image pushes by ` +
        `${scanSettings.clients} clients go on, against the same pushes before it started:\n\n${scanTable(scanResult)}\n`,
    );
  if (replicationRows.length) {
    const r = replicationSettings;
    process.stdout.write(
      `\nReplication — ${r.images} images in ${r.repositories} repositories of one project, built on ${r.bases} base images of ` +
        `${r.baseLayers} layers of ${r.baseLayerMiB} MiB (shared), each with a ${r.topLayerKiB} KiB layer and a config of its own, copied to an ` +
        `empty docker-registry: by Berth's replication (POST /registries, /replication/policies, /replication/executions; seconds from ` +
        `the execution's POST until GET shows it ended) and by \`skopeo sync\` from the same Berth into a second empty docker-registry ` +
        `(seconds of the process); both destinations checked for every tag and the source's manifest digests:\n\n${replicationTable()}\n`,
    );
  }
  if (proxyRows.length)
    process.stdout.write(
      `\nProxy cache — images of ${proxySettings.layers} × ${proxySettings.layerMiB} MiB layers on a docker-registry upstream, pulled ` +
        `(manifest by tag, then config and layers three at a time, every byte read) straight from it, then through a Berth proxy-cache ` +
        `project (POST /projects with registry_id) uncached (first) and again (cached); each pull checked byte for byte against the direct one:\n\n${proxyTable()}\n`,
    );
  if (webhookRows.length) {
    const w = webhookSettings;
    process.stdout.write(
      `\nWebhooks — Berth only: each run pushes ${w.images} whole images (config, 32 KiB layer, manifest) by ${w.clients} clients into ` +
        `five repositories of a project with no webhook policy, of one with ${w.policies} enabled policies (PUSH_ARTIFACT, one http ` +
        `target each, Default format, a receiver in the bench process on 127.0.0.1 answering 200 at once), and of one whose ` +
        `${w.policies} policies point at a loopback port where nothing listens; after the live run the bench waits for its deliveries ` +
        `before the next run; deliveries/s = deliveries received ÷ seconds from the run's first push to the last delivery; latency = ` +
        `from a manifest PUT's 201 to the receiver's reading of each of its ${w.policies} deliveries (nearest rank, all rounds):\n\n${webhookTable()}\n`,
    );
  }
  if (signinResult)
    process.stdout.write(
      `\nSign-in — Berth only, an embedded Berth per auth mode (its CPU not in the table below):\n\n${signinTables(signinResult)}\n`,
    );
  if (metricsResult) process.stdout.write(`\nMetrics — Berth only, metrics off vs on:\n\n${metricsTables(metricsResult)}\n`);
  if (tracingResult) process.stdout.write(`\nTracing — Berth only, tracing off vs on:\n\n${tracingTables(tracingResult)}\n`);
  if (cpuRows.length)
    process.stdout.write(
      `\nCPU seconds used per phase (2 cores: at most 2 × wall; wrk${portalBrowser ? ' and Chromium' : ''} not counted):\n\n${cpuTable()}\n`,
    );
  if (notes.length) process.stdout.write(`\nnotes:\n${notes.map((n) => `- ${n}`).join('\n')}\n`);
  if (cpuProf) process.stdout.write(`\nBerth's CPU profiles are in ${profileDir}/ (open them in Chrome DevTools or speedscope)\n`);
}

// --scale[=FACTOR]: the scale bench (bench/scale.ts) instead of the phases, with no overall deadline;
// --writes: the write-path bench (bench/writes.ts), bounded by its --count.
const scale = argv.some((a) => a === '--scale' || a.startsWith('--scale='));
const writes = argv.includes('--writes');
if (scale || writes) clearTimeout(watchdog);
const bench = scale
  ? import('./scale.js').then((m) => m.runScale(argv))
  : writes
    ? import('./writes.js').then((m) => m.runWrites(argv))
    : main();
bench.then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    cleanupSync();
    process.exit(1);
  },
);
