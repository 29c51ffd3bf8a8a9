// Berth side by side with CNCF Distribution (Debian's docker-registry) on loopback.
//
//   npm run bench                 the full run (a few minutes)
//   npm run bench -- --quick      small sizes and short runs: a smoke test
//   npm run bench -- --only=push,pull,manifest,tags,catalog,rss,artifacts,search
//                                 (artifacts and search are Harbor-API listings, Berth only)
//   npm run bench -- --cpu-prof   also write a V8 CPU profile of Berth to bench-profiles/
//   npm run bench -- --config=FILE  start Berth with this YAML configuration file
//   npm run bench -- --keep       leave the temp dirs (Berth's data dir: SQLite database, blobs)
//   npm run bench -- --compiled   run Berth as plain JavaScript (src/ transpiled by esbuild into
//                                 a temp dir) instead of through bin/berth.js and tsx
//
// Every phase is bounded in count and in time; the whole run has a hard deadline.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SyntheticBlob, sha256, smallBlob } from './data.js';
import { Client, pool } from './http.js';
import { load, loadTool, type LoadResult } from './load.js';
import {
  benchPassword,
  cleanupSync,
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
const phases = ['push', 'pull', 'manifest', 'tags', 'catalog', 'rss', 'artifacts', 'search'] as const;
type Phase = (typeof phases)[number];
/** Phases that measure only Berth: docker-registry has no Harbor API to compare with. */
const berthOnly: ReadonlySet<Phase> = new Set<Phase>(['artifacts', 'search']);
const runs = (p: Phase) => only === null || only.has(p);
if (only) for (const p of only) if (!(phases as readonly string[]).includes(p)) throw new Error(`--only: unknown phase "${p}" (phases: ${phases.join(', ')})`);

// artifacts: artifacts in the one repository of the artifact-list phase; searchRepos: repositories
// of the search phase; serialSeconds: the 1-client run of each Harbor-API listing.
const P = quick
  ? {
      blobMiB: 32, reps: 2, manifestSeconds: 3, listSeconds: 2, serialSeconds: 1, tags: 300, repos: 200, artifacts: 1000, searchRepos: 1000,
      rssMiB: 128, warmupSeconds: 1, populateConcurrency: 16, phaseSeconds: 60, totalSeconds: 240,
    }
  : {
      blobMiB: 256, reps: 3, manifestSeconds: 10, listSeconds: 5, serialSeconds: 3, tags: 5000, repos: 2000, artifacts: 10_000, searchRepos: 10_000,
      rssMiB: 1024, warmupSeconds: 2, populateConcurrency: 16, phaseSeconds: 120, totalSeconds: 600,
    };

const MB = 1e6;
const MiB = 1024 * 1024;
const started = Date.now();

function log(message: string): void {
  const t = ((Date.now() - started) / 1000).toFixed(1).padStart(6);
  process.stdout.write(`[${t}s] ${message}\n`);
}

// Hard deadline: whatever happens, stop the registries, remove the temp dirs, exit.
const watchdog = setTimeout(() => {
  process.stderr.write(`bench: exceeded its ${P.totalSeconds} s deadline; stopping\n`);
  cleanupSync();
  process.exit(2);
}, P.totalSeconds * 1000);
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
}

interface Row {
  label: string;
  unit: string;
  berth: number | null;
  distribution: number | null;
  /** Minimum Berth/docker-registry ratio, or an absolute ceiling on Berth's value. */
  target: { ratio: number } | { max: number; unit: string } | null;
  note?: string;
}

const rows: Row[] = [];
const notes: string[] = [];

/** A Harbor-API listing, measured on Berth alone (docker-registry has no such API). */
interface ApiRow {
  label: string;
  clients: number;
  result: LoadResult;
  /** Items in the answer (page length or matches), for the reader to check what was measured. */
  items: string;
}
const apiRows: ApiRow[] = [];

function fmt(value: number | null, digits = 1): string {
  if (value === null || !Number.isFinite(value)) return 'n/a';
  if (value >= 1000) return Math.round(value).toLocaleString('en-US');
  return value.toFixed(digits);
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

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
  await client.expect([201], 'PUT', put.href, { headers: { 'content-length': 0 } });
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

// Phases -------------------------------------------------------------------------------------

async function phasePush(targets: Target[]): Promise<Map<Target, SyntheticBlob>> {
  log(`1. blob push: ${P.blobMiB} MiB × ${P.reps} per registry (POST, one streamed PATCH, PUT ?digest=)`);
  const times = new Map<Target, number[]>(targets.map((t) => [t, []]));
  const last = new Map<Target, SyntheticBlob>();
  for (let rep = 0; rep < P.reps; rep++) {
    // Same content on both registries, a new digest on every repetition.
    const blob = new SyntheticBlob(P.blobMiB, `push-${rep}`);
    blob.digest();
    for (const t of targets) {
      const { seconds, putSeconds } = await pushBlobTimed(t.client, 'library/blob', blob);
      times.get(t)!.push(seconds);
      last.set(t, blob);
      log(`   ${t.server.name.padEnd(16)} push #${rep + 1}: ${fmt(blob.size / MB / seconds)} MB/s (${seconds.toFixed(2)} s, of which the closing PUT ${putSeconds.toFixed(2)} s)`);
    }
  }
  const [b, d] = targets.map((t) => blobMiBps(times.get(t)!));
  rows.push({ label: `blob push, ${P.blobMiB} MiB (median of ${P.reps})`, unit: 'MB/s', berth: b, distribution: d, target: { ratio: 1.5 } });
  return last;
}

function blobMiBps(seconds: number[]): number {
  return (P.blobMiB * MiB) / MB / median(seconds);
}

async function phasePull(targets: Target[], blobs: Map<Target, SyntheticBlob>): Promise<void> {
  log(`2. blob pull: ${P.blobMiB} MiB × ${P.reps} per registry (GET, streamed and discarded)`);
  const times = new Map<Target, number[]>(targets.map((t) => [t, []]));
  for (let rep = 0; rep < P.reps; rep++) {
    for (const t of targets) {
      const blob = blobs.get(t)!;
      const seconds = await pullBlob(t.client, 'library/blob', blob.digest(), blob.size);
      times.get(t)!.push(seconds);
      log(`   ${t.server.name.padEnd(16)} pull #${rep + 1}: ${fmt(blob.size / MB / seconds)} MB/s (${seconds.toFixed(2)} s)`);
    }
  }
  const [b, d] = targets.map((t) => blobMiBps(times.get(t)!));
  rows.push({ label: `blob pull, ${P.blobMiB} MiB (median of ${P.reps})`, unit: 'MB/s', berth: b, distribution: d, target: { ratio: 1.5 } });
}

function describe(r: LoadResult): string {
  return `${fmt(r.requestsPerSecond)} req/s, p50 ${fmt(r.latencyP50Ms, 2)} ms, p99 ${fmt(r.latencyP99Ms, 2)} ms, ${r.errors} errors`;
}

async function measure(name: string, options: Parameters<typeof load>[0]): Promise<LoadResult> {
  const r = await load(options);
  log(`   ${name.padEnd(16)} ${describe(r)}`);
  if (r.errors > 0) notes.push(`${name}: ${r.errors} of ${r.requests} requests to ${new URL(options.url).pathname} failed`);
  return r;
}

async function phaseManifest(targets: Target[], berthToken: string): Promise<void> {
  const [berth, dist] = targets;
  const c = 32;
  log(`3. manifest GET by tag: ${c} connections, ${P.manifestSeconds} s per run, ${loadTool()}`);
  const path_ = '/v2/library/base/manifests/latest';
  const headers = { accept: manifestAccept };
  // Check the answer once before loading it.
  for (const t of targets) {
    const res = await t.client.expect([200], 'GET', path_, { headers });
    if (!String(res.headers['content-type']).includes('oci.image.manifest')) throw new Error(`${t.server.name}: unexpected manifest type ${res.headers['content-type']}`);
  }
  // A short unmeasured run first, so that JIT warm-up is not counted against either side.
  for (const t of targets) await load({ url: t.server.base + path_, headers: { ...headers, ...t.authHeaders }, connections: c, seconds: P.warmupSeconds });
  const d1 = await measure('docker-registry', { url: dist.server.base + path_, headers, connections: c, seconds: P.manifestSeconds });
  const anon = await measure('berth anonymous', { url: berth.server.base + path_, headers, connections: c, seconds: P.manifestSeconds });
  const basic = await measure('berth basic', { url: berth.server.base + path_, headers: { ...headers, ...berth.authHeaders }, connections: c, seconds: P.manifestSeconds });
  const bearer = await measure('berth bearer', {
    url: berth.server.base + path_,
    headers: { ...headers, authorization: `Bearer ${berthToken}` },
    connections: c,
    seconds: P.manifestSeconds,
  });
  // docker-registry again after Berth, and the mean of both runs, so that a neighbour's load
  // on this machine during one of them does not decide the ratio alone.
  const d2 = await measure('docker-registry', { url: dist.server.base + path_, headers, connections: c, seconds: P.manifestSeconds });
  const d: LoadResult = {
    ...d1,
    requestsPerSecond: (d1.requestsPerSecond + d2.requestsPerSecond) / 2,
    latencyMeanMs: d1.latencyMeanMs !== null && d2.latencyMeanMs !== null ? (d1.latencyMeanMs + d2.latencyMeanMs) / 2 : null,
    latencyP50Ms: d1.latencyP50Ms !== null && d2.latencyP50Ms !== null ? (d1.latencyP50Ms + d2.latencyP50Ms) / 2 : null,
    latencyP99Ms: d1.latencyP99Ms !== null && d2.latencyP99Ms !== null ? Math.max(d1.latencyP99Ms, d2.latencyP99Ms) : null,
  };
  const label = `manifest GET by tag, ${c} clients`;
  rows.push({ label: `${label} (Berth anonymous, public project)`, unit: 'req/s', berth: anon.requestsPerSecond, distribution: d.requestsPerSecond, target: { ratio: 5 } });
  rows.push({ label: `${label} (Berth with Basic admin)`, unit: 'req/s', berth: basic.requestsPerSecond, distribution: d.requestsPerSecond, target: { ratio: 5 } });
  rows.push({ label: `${label} (Berth with a Bearer token, as docker)`, unit: 'req/s', berth: bearer.requestsPerSecond, distribution: d.requestsPerSecond, target: { ratio: 5 } });
  notes.push(
    `manifest GET: docker-registry ran before and after Berth (${fmt(d1.requestsPerSecond)} and ${fmt(d2.requestsPerSecond)} req/s); the table shows the mean`,
    `manifest GET p50/p99 latency: docker-registry ${fmt(d.latencyP50Ms, 2)}/${fmt(d.latencyP99Ms, 2)} ms; ` +
      `Berth anonymous ${fmt(anon.latencyP50Ms, 2)}/${fmt(anon.latencyP99Ms, 2)} ms, Basic ${fmt(basic.latencyP50Ms, 2)}/${fmt(basic.latencyP99Ms, 2)} ms, Bearer ${fmt(bearer.latencyP50Ms, 2)}/${fmt(bearer.latencyP99Ms, 2)} ms`,
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

async function phaseTags(targets: Target[], image: Map<Target, Image>): Promise<void> {
  const repo = 'library/tags';
  log(`4. tag list: populating ${repo} with ${P.tags} tags (${P.populateConcurrency} concurrent manifest PUTs, one annotation varying)`);
  const populateRates: number[] = [];
  for (const t of targets) {
    const img = image.get(t)!;
    // The repository needs its blobs: mount them from library/base.
    for (const b of [img.config, img.layer]) {
      await t.client.expect([201], 'POST', `/v2/${repo}/blobs/uploads/?mount=${b.digest}&from=library/base`, { headers: { 'content-length': 0 } });
    }
    const t0 = performance.now();
    const { done, timedOut } = await pool(P.tags, P.populateConcurrency, Date.now() + P.phaseSeconds * 1000, async (i) => {
      const tag = `t${String(i).padStart(5, '0')}`;
      await putManifest(t.client, repo, tag, imageManifest(img, tag));
    });
    const seconds = (performance.now() - t0) / 1000;
    populateRates.push(done / seconds);
    log(`   ${t.server.name.padEnd(16)} ${done} manifest PUTs in ${seconds.toFixed(1)} s (${fmt(done / seconds)}/s)${timedOut ? ' — stopped at the phase deadline' : ''}`);
    if (timedOut) notes.push(`${t.server.name}: tag population stopped at ${done} of ${P.tags} tags (phase deadline)`);
  }
  rows.push({ label: `manifest PUT by tag, ${P.populateConcurrency} clients (populating)`, unit: 'PUT/s', berth: populateRates[0], distribution: populateRates[1], target: null });

  const counts = await Promise.all(targets.map(async (t) => (await listTags(t, repo)).tags.length));
  log(`   full list sizes: berth ${counts[0]}, docker-registry ${counts[1]}`);
  if (counts[0] !== counts[1]) notes.push(`tag list sizes differ: berth ${counts[0]}, docker-registry ${counts[1]}`);

  const c = 8;
  log(`   GET /v2/${repo}/tags/list (whole list), ${c} connections, ${P.listSeconds} s each`);
  const results: LoadResult[] = [];
  for (const t of targets) {
    results.push(await measure(t.server.name, { url: `${t.server.base}/v2/${repo}/tags/list`, headers: t.authHeaders, connections: c, seconds: P.listSeconds }));
  }
  rows.push({ label: `tag list, ${counts[0]} tags, whole list, ${c} clients`, unit: 'req/s', berth: results[0].requestsPerSecond, distribution: results[1].requestsPerSecond, target: { ratio: 2 } });

  log(`   paging with n=100 from the first page to the last, sequentially, ~${P.listSeconds} s each`);
  const walkRates: number[] = [];
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
    walkRates.push(walks / seconds);
    log(`   ${t.server.name.padEnd(16)} ${fmt(walks / seconds)} walks/s (${fmt((seconds * 1000) / walks)} ms per walk of ${last.pages} pages, ${last.tags} tags)`);
    if (last.pages === 1 && last.tags > 100) notes.push(`${t.server.name} ignored n=100 on the tag list and answered all ${last.tags} tags in one page`);
  }
  rows.push({ label: `tag list, ${counts[0]} tags, walked with n=100, 1 client`, unit: 'walks/s', berth: walkRates[0], distribution: walkRates[1], target: null });
}

async function phaseCatalog(targets: Target[], image: Map<Target, Image>): Promise<void> {
  log(`5. catalog: populating ${P.repos} repositories (blobs mounted from library/base, one manifest each)`);
  for (const t of targets) {
    const img = image.get(t)!;
    const manifest = imageManifest(img);
    const t0 = performance.now();
    const { done, timedOut } = await pool(P.repos, P.populateConcurrency, Date.now() + P.phaseSeconds * 1000, async (i) => {
      const repo = `library/cat-${String(i).padStart(5, '0')}`;
      for (const b of [img.config, img.layer]) {
        await t.client.expect([201], 'POST', `/v2/${repo}/blobs/uploads/?mount=${b.digest}&from=library/base`, { headers: { 'content-length': 0 } });
      }
      await putManifest(t.client, repo, 'latest', manifest);
    });
    const seconds = (performance.now() - t0) / 1000;
    log(`   ${t.server.name.padEnd(16)} ${done} repositories in ${seconds.toFixed(1)} s${timedOut ? ' — stopped at the phase deadline' : ''}`);
    if (timedOut) notes.push(`${t.server.name}: catalog population stopped at ${done} of ${P.repos} repositories (phase deadline)`);
  }
  // Ask for every repository in one page (docker-registry's catalog.maxentries is set to allow it).
  const n = P.repos + 10;
  const query = `/v2/_catalog?n=${n}`;
  const counts: number[] = [];
  for (const t of targets) {
    const res = await t.client.expect([200], 'GET', query);
    counts.push((JSON.parse(res.body.toString('utf8')) as { repositories: string[] }).repositories.length);
  }
  log(`   catalog sizes: berth ${counts[0]}, docker-registry ${counts[1]}`);
  if (counts[0] !== counts[1]) notes.push(`catalog sizes differ: berth ${counts[0]}, docker-registry ${counts[1]} (docker-registry also lists repositories that hold only blobs)`);
  const c = 8;
  log(`   GET ${query}, ${c} connections, ${P.listSeconds} s each`);
  const results: LoadResult[] = [];
  for (const t of targets) {
    results.push(await measure(t.server.name, { url: t.server.base + query, headers: t.authHeaders, connections: c, seconds: P.listSeconds }));
  }
  rows.push({ label: `catalog, ${counts[0]} repositories in one page, ${c} clients`, unit: 'req/s', berth: results[0].requestsPerSecond, distribution: results[1].requestsPerSecond, target: { ratio: 10 } });
}

async function phaseRss(targets: Target[]): Promise<void> {
  log(`6. peak RSS while pushing a ${P.rssMiB} MiB blob`);
  const blob = new SyntheticBlob(P.rssMiB, 'rss');
  blob.digest();
  const before = targets.map((t) => t.server.memory());
  const peaks: Array<number | null> = [];
  for (const [i, t] of targets.entries()) {
    const reset = t.server.resetPeak();
    if (!reset) notes.push(`${t.server.name}: could not reset the peak RSS; the RSS row is the peak over the whole run`);
    const seconds = await pushBlob(t.client, 'library/rss', blob);
    const mem = t.server.memory();
    peaks.push(mem ? mem.hwm : null);
    log(
      `   ${t.server.name.padEnd(16)} ${fmt(blob.size / MB / seconds)} MB/s; peak RSS during the push ${fmt(mem ? mem.hwm / MiB : null)} MiB ` +
        `(peak over the run before it: ${fmt(before[i] ? before[i]!.hwm / MiB : null)} MiB)`,
    );
  }
  rows.push({
    label: `peak RSS while pushing a ${P.rssMiB >= 1024 ? `${P.rssMiB / 1024} GiB` : `${P.rssMiB} MiB`} blob`,
    unit: 'MiB',
    berth: peaks[0] === null ? null : peaks[0] / MiB,
    distribution: peaks[1] === null ? null : peaks[1] / MiB,
    target: { max: 200, unit: 'MiB' },
  });
  rows.push({
    label: 'peak RSS over the whole run, before that push',
    unit: 'MiB',
    berth: before[0] ? before[0].hwm / MiB : null,
    distribution: before[1] ? before[1].hwm / MiB : null,
    target: null,
  });
}

// Harbor-API listings (Berth only) -------------------------------------------------------------

const berthOnlyNote = 'Berth only: docker-registry has no Harbor API, and no Harbor runs on this machine to compare with';

/** `i` as five digits: names and tags sort as numbers do. */
const pad5 = (i: number) => String(i).padStart(5, '0');

/** Mounts library/base's config and layer into `repo` (one row each in Berth; no bytes copied). */
async function mountImage(t: Target, img: Image, repo: string): Promise<void> {
  for (const b of [img.config, img.layer]) {
    await t.client.expect([201], 'POST', `/v2/${repo}/blobs/uploads/?mount=${b.digest}&from=library/base`, { headers: { 'content-length': 0 } });
  }
}

/** One listing at 1 client (latency alone) and at 8 (throughput), after a warm-up; the caller checked its answer. */
async function measureApi(t: Target, label: string, pathAndQuery: string, items: string): Promise<void> {
  // Unmeasured warm-up, so that JIT and the statement cache are not counted against the 1-client run.
  await load({ url: t.server.base + pathAndQuery, headers: t.authHeaders, connections: 8, seconds: P.warmupSeconds });
  for (const c of [1, 8]) {
    const r = await measure(`berth ${c} client${c > 1 ? 's' : ''}`, {
      url: t.server.base + pathAndQuery,
      headers: t.authHeaders,
      connections: c,
      seconds: c === 1 ? P.serialSeconds : P.listSeconds,
    });
    log(`   ${''.padEnd(16)} mean ${fmt(r.latencyMeanMs, 2)} ms`);
    apiRows.push({ label, clients: c, result: r, items });
  }
}

async function phaseArtifacts(t: Target, img: Image): Promise<void> {
  const repo = 'library/artifacts';
  log(`7. artifact list (${berthOnlyNote})`);
  log(`   populating ${repo} with ${P.artifacts} artifacts, one tag each (${P.populateConcurrency} concurrent manifest PUTs, one annotation varying)`);
  await mountImage(t, img, repo);
  const t0 = performance.now();
  const { done, timedOut } = await pool(P.artifacts, P.populateConcurrency, Date.now() + P.phaseSeconds * 1000, async (i) => {
    const tag = `v${pad5(i)}`;
    await putManifest(t.client, repo, tag, imageManifest(img, `artifacts-${tag}`));
  });
  const seconds = (performance.now() - t0) / 1000;
  log(`   seeding: ${done} manifest PUTs in ${seconds.toFixed(1)} s (${fmt(done / seconds)}/s)${timedOut ? ' — stopped at the phase deadline' : ''}`);
  notes.push(`artifact list seeding: ${done} tagged artifacts in ${seconds.toFixed(1)} s (${fmt(done / seconds)} PUT/s, ${P.populateConcurrency} in flight)`);
  if (timedOut) notes.push(`artifact list: population stopped at ${done} of ${P.artifacts} artifacts (phase deadline)`);

  const pageSize = 100;
  const base = `/api/v2.0/projects/library/repositories/${repo.slice('library/'.length)}/artifacts`;
  const deepPage = Math.max(2, Math.min(50, Math.floor(done / pageSize / 2)));
  const fragment = 'v001'; // v00100 … v00199: 100 tags of the 1,000 or 10,000
  const lists = [
    { label: 'page 1', query: `?page=1&page_size=${pageSize}&with_tag=true` },
    { label: `page ${deepPage}`, query: `?page=${deepPage}&page_size=${pageSize}&with_tag=true` },
    { label: `q=tags=~${fragment}`, query: `?page=1&page_size=${pageSize}&with_tag=true&q=tags%3D~${fragment}` },
  ];
  for (const l of lists) {
    const res = await t.client.expect([200], 'GET', base + l.query);
    const body = JSON.parse(res.body.toString('utf8')) as Array<{ tags?: unknown[] }>;
    const total = Number(res.headers['x-total-count']);
    if (body.length === 0 || body.some((a) => !Array.isArray(a.tags) || a.tags.length !== 1)) {
      throw new Error(`${base}${l.query}: expected a non-empty page of artifacts with one tag each, got ${res.body.toString('utf8').slice(0, 200)}`);
    }
    const items = `${body.length} of ${total}`;
    log(`   GET …/artifacts${l.query} (${items} artifacts, ${fmt(res.body.byteLength / 1024)} KiB), 1 then 8 connections`);
    await measureApi(t, `artifact list, ${done} artifacts, ${l.label}, page_size=${pageSize}, with_tag`, base + l.query, items);
  }
}

async function phaseSearch(t: Target, img: Image): Promise<void> {
  log(`8. search (${berthOnlyNote})`);
  const probe = await t.client.request('GET', '/api/v2.0/search?q=kestrel');
  if (probe.status === 404 || probe.status === 405) {
    log(`   GET /api/v2.0/search answered ${probe.status}: this Berth has no search endpoint yet; phase skipped`);
    notes.push(`search: skipped, GET /api/v2.0/search answered ${probe.status} (no search endpoint in this Berth)`);
    return;
  }
  if (probe.status !== 200) throw new Error(`GET /api/v2.0/search?q=kestrel: HTTP ${probe.status}: ${probe.body.toString('utf8').slice(0, 300)}`);

  // 5 "kestrel" repositories, 1 % "orca", the rest "srch"; one manifest each, unique by its annotation.
  const n = P.searchRepos;
  const handfulEvery = Math.floor(n / 5);
  const repoName = (i: number) => `library/${i % handfulEvery === 7 ? 'kestrel' : i % 100 === 50 ? 'orca' : 'srch'}-${pad5(i)}`;
  log(`   populating ${n} repositories (config and layer mounted from library/base, one manifest each, ${P.populateConcurrency} in flight)`);
  const t0 = performance.now();
  const { done, timedOut } = await pool(n, P.populateConcurrency, Date.now() + P.phaseSeconds * 1000, async (i) => {
    const repo = repoName(i);
    await mountImage(t, img, repo);
    await putManifest(t.client, repo, 'latest', imageManifest(img, repo));
  });
  const seconds = (performance.now() - t0) / 1000;
  log(`   seeding: ${done} repositories in ${seconds.toFixed(1)} s (${fmt(done / seconds)}/s, 3 requests each)${timedOut ? ' — stopped at the phase deadline' : ''}`);
  notes.push(`search seeding: ${done} repositories in ${seconds.toFixed(1)} s (${fmt(done / seconds)}/s: two blob mounts and one manifest PUT each, ${P.populateConcurrency} in flight)`);
  if (timedOut) notes.push(`search: population stopped at ${done} of ${n} repositories (phase deadline)`);

  for (const [fragment, what] of [
    ['kestrel', 'a handful'],
    ['orca', '~1 %'],
  ] as const) {
    const query = `/api/v2.0/search?q=${fragment}`;
    const res = await t.client.expect([200], 'GET', query);
    const body = JSON.parse(res.body.toString('utf8')) as { repository?: unknown[]; project?: unknown[] };
    const found = body.repository?.length ?? NaN;
    const expected = Array.from({ length: done }, (_, i) => repoName(i)).filter((r) => r.includes(fragment)).length;
    if (found !== expected) notes.push(`search q=${fragment}: ${found} repositories in the answer, ${expected} expected`);
    const items = `${found} of ${done} repositories`;
    log(`   GET ${query} (${what}: ${items}, ${fmt(res.body.byteLength / 1024)} KiB), 1 then 8 connections`);
    await measureApi(t, `search, ${done} repositories, q=${fragment} (${what})`, query, items);
  }
}

// Report --------------------------------------------------------------------------------------

function verdict(row: Row): { ratio: string; target: string; met: string } {
  const ratio = row.berth !== null && row.distribution !== null && row.distribution > 0 ? row.berth / row.distribution : null;
  const ratioText = ratio === null ? 'n/a' : `${ratio.toFixed(2)}×`;
  if (!row.target) return { ratio: ratioText, target: '—', met: '—' };
  if ('ratio' in row.target) {
    return { ratio: ratioText, target: `≥ ${row.target.ratio}×`, met: ratio === null ? 'n/a' : ratio >= row.target.ratio ? 'yes' : 'NO' };
  }
  return {
    ratio: ratioText,
    target: `< ${row.target.max} ${row.target.unit}`,
    met: row.berth === null ? 'n/a' : row.berth < row.target.max ? 'yes' : 'NO',
  };
}

function table(): string {
  const header = ['measurement', 'unit', 'Berth', 'docker-registry', 'Berth / d-r', 'target', 'met'];
  const body = rows.map((r) => {
    const v = verdict(r);
    return [r.label, r.unit, fmt(r.berth), fmt(r.distribution), v.ratio, v.target, v.met];
  });
  const lines = [header, header.map(() => '---'), ...body].map((cells) => `| ${cells.join(' | ')} |`);
  return lines.join('\n');
}

function apiTable(): string {
  const header = ['Harbor-API listing (Berth only)', 'clients', 'items', 'req/s', 'mean ms', 'p99 ms', 'errors'];
  const body = apiRows.map((r) => [
    r.label,
    String(r.clients),
    r.items,
    fmt(r.result.requestsPerSecond),
    fmt(r.result.latencyMeanMs, 2),
    fmt(r.result.latencyP99Ms, 2),
    String(r.result.errors),
  ]);
  const lines = [header, header.map(() => '---'), ...body].map((cells) => `| ${cells.join(' | ')} |`);
  return lines.join('\n');
}

function machine(): string {
  const cpu = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown';
  const [l1, l5] = os.loadavg();
  return [
    `machine: ${os.cpus().length} CPUs (${cpu}), ${fmt(os.totalmem() / 2 ** 30)} GiB RAM, load average ${l1.toFixed(2)} / ${l5.toFixed(2)} (1 / 5 min) now`,
    `node ${process.version}; ${dockerRegistryVersion()}; load generator: ${loadTool()}`,
    `mode: ${quick ? 'quick (smoke run; sizes reduced)' : 'full'}; Berth run ${compiled ? 'as transpiled JavaScript under plain node (--compiled)' : 'through bin/berth.js (tsx)'}`,
  ].join('\n');
}

async function main(): Promise<void> {
  log(`Berth vs docker-registry (${dockerRegistryBin})`);
  process.stdout.write(machine() + '\n');
  const profileDir = path.join(root, 'bench-profiles');
  const entry = compiled ? await transpileBerth() : undefined;
  if (entry) log(`transpiled src/ to ${path.dirname(entry)}`);
  const berthServer = await startBerth({ nodeArgs: cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [], entry, configFile });
  // docker-registry only when a phase compares with it (the Harbor-API phases are Berth only).
  const compares = phases.some((p) => runs(p) && !berthOnly.has(p));
  const distServer = compares ? await startDockerRegistry({ catalogMaxEntries: Math.max(1000, P.repos + 10) }) : null;
  log(`berth on ${berthServer.base} (pid ${berthServer.pid})${distServer ? `; docker-registry on ${distServer.base} (pid ${distServer.pid})` : '; docker-registry not started (only Berth-only phases run)'}`);
  const basic = `Basic ${Buffer.from(`admin:${benchPassword}`).toString('base64')}`;
  const targets: Target[] = [
    { server: berthServer, client: new Client(berthServer.base, basic), authHeaders: { authorization: basic } },
    ...(distServer ? [{ server: distServer, client: new Client(distServer.base), authHeaders: {} }] : []),
  ];
  try {
    const images = new Map<Target, Image>();
    for (const t of targets) images.set(t, await seedImage(t.client, 'library/base'));
    log(`seeded library/base:latest (config + 32 KiB layer) on ${targets.length > 1 ? 'both' : 'berth'}`);

    const memory = (after: string) => {
      const m = targets.map((t) => t.server.memory());
      log(`   memory after ${after}: ${targets.map((t, i) => `${t.server.name} RSS ${fmt(m[i] ? m[i]!.rss / MiB : null)} MiB, peak ${fmt(m[i] ? m[i]!.hwm / MiB : null)} MiB`).join('; ')}`);
    };
    memory('start');
    if (runs('push') || runs('pull')) {
      const blobs = await phasePush(targets);
      if (!runs('push')) rows.pop();
      if (runs('pull')) await phasePull(targets, blobs);
      memory('push and pull');
    }
    if (runs('manifest')) {
      const token = await targets[0].client.expect([200], 'GET', '/service/token?service=harbor-registry&scope=repository:library/base:pull');
      await phaseManifest(targets, (JSON.parse(token.body.toString('utf8')) as { token: string }).token);
      memory('manifest GET');
    }
    if (runs('tags')) {
      await phaseTags(targets, images);
      memory('tags');
    }
    if (runs('catalog')) {
      await phaseCatalog(targets, images);
      memory('catalog');
    }
    if (runs('rss')) {
      await phaseRss(targets);
      memory('rss');
    }
    if (runs('artifacts')) {
      await phaseArtifacts(targets[0], images.get(targets[0])!);
      memory('artifacts');
    }
    if (runs('search')) {
      await phaseSearch(targets[0], images.get(targets[0])!);
      memory('search');
    }
  } finally {
    for (const t of targets) t.client.close();
    for (const t of targets) {
      const t0 = performance.now();
      await t.server.stop();
      log(`stopped ${t.server.name} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
    const t0 = performance.now();
    cleanupSync();
    log(`removed the temp dirs in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  process.stdout.write(`\n${machine()}\nelapsed: ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  if (rows.length) process.stdout.write(`\n${table()}\n`);
  if (apiRows.length) process.stdout.write(`\nHarbor-API listings — ${berthOnlyNote}:\n\n${apiTable()}\n`);
  if (notes.length) process.stdout.write(`\nnotes:\n${notes.map((n) => `- ${n}`).join('\n')}\n`);
  if (cpuProf) process.stdout.write(`\nBerth's CPU profile is in ${profileDir}/ (open it in Chrome DevTools or speedscope)\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    cleanupSync();
    process.exit(1);
  },
);
