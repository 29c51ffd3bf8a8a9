// The scan phase: Berth's built-in scanner driven the way users drive it, over the API of a
// Berth running in its own process (embedded: SQLite + filesystem).
//  1. One image of ~100 MB (bench/inventory.ts's generator: 400 dpkg and 300 npm packages,
//     thousands of files, whiteouts) pushed, OSV records about some of its packages imported
//     with `berth vulndb import`, then POST …/scan and the time until scan_overview says
//     Success: cold, then warm (the inventory's layer cache), with the Berth's peak RSS.
//  2. Scan all of N small images (a dpkg database each) while clients keep pushing: pushes/s
//     with and without the scan-all running (goal: a ratio of at least 0.8), and the time the
//     scan-all takes. IMAGE_SCAN jobs run at scanning.concurrency (2) beside the other jobs.
//
//   node --import tsx bench/scan.ts [--mb=100] [--artifacts=1000] [--pushes=100]
//
// Every wait is bounded.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { sha256 } from './data.js';
import { Client, pool } from './http.js';
import { generateImage } from './inventory.js';
import { benchPassword, root, startBerth, type Server } from './servers.js';

export interface ScanSettings {
  /** Size of the big image in MB. */
  mb: number;
  /** Small images the scan-all covers. */
  artifacts: number;
  /** Image pushes per throughput measurement, by `clients` at once. */
  pushes: number;
  clients: number;
  /** Longest wait for any one scan or scan-all, in seconds. */
  timeoutSeconds: number;
}

export interface ScanResult {
  imageMb: number;
  packages: number;
  findings: number;
  coldSeconds: number;
  warmSeconds: number;
  peakRssMb: number;
  artifacts: number;
  scanAllSeconds: number;
  scanAllStats: Record<string, unknown>;
  pushesPerSecondWithout: number;
  pushesPerSecondWith: number;
  /** Pushes measured "with" that actually overlapped the running scan-all. */
  overlapped: boolean;
}

const vulnMime = 'application/vnd.security.vulnerability.report; version=1.1';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function pushSmall(client: Client, repo: string, data: Buffer): Promise<string> {
  const digest = sha256(data);
  const start = await client.expect([202], 'POST', `/v2/${repo}/blobs/uploads/`);
  const put = client.url(String(start.headers.location));
  put.searchParams.set('digest', digest);
  await client.expect([201], 'PUT', put.href, { headers: { 'content-type': 'application/octet-stream' }, body: data });
  return digest;
}

async function pushLarge(client: Client, repo: string, file: string, digest: string): Promise<void> {
  const data = readFileSync(file);
  const start = await client.expect([202], 'POST', `/v2/${repo}/blobs/uploads/`);
  const chunks = function* () {
    for (let i = 0; i < data.length; i += 1 << 20) yield data.subarray(i, i + (1 << 20));
  };
  const patch = await client.expect([202], 'PATCH', String(start.headers.location), {
    headers: { 'content-type': 'application/octet-stream', 'content-length': data.length },
    stream: chunks(),
    timeoutMs: 300_000,
  });
  const put = client.url(String(patch.headers.location));
  put.searchParams.set('digest', digest);
  await client.expect([201], 'PUT', put.href, { headers: { 'content-length': 0 }, timeoutMs: 300_000 });
}

async function putManifest(client: Client, repo: string, reference: string, bytes: Buffer): Promise<string> {
  await client.expect([201], 'PUT', `/v2/${repo}/manifests/${reference}`, {
    headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
    body: bytes,
  });
  return sha256(bytes);
}

function manifestOf(config: { digest: string; size: number }, layers: Array<{ digest: string; size: number; mediaType?: string }>): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: layers.map((l) => ({
        mediaType: l.mediaType ?? 'application/vnd.oci.image.layer.v1.tar+gzip',
        digest: l.digest,
        size: l.size,
      })),
    }),
  );
}

/** A small image layer: os-release and a dpkg database of a few packages, unique per seed. */
async function smallDebianLayer(seed: number): Promise<Buffer> {
  const tar = pack();
  const chunks: Buffer[] = [];
  tar.on('data', (c: unknown) => void chunks.push(c as Buffer));
  const ended = new Promise<void>((resolve) => tar.on('end', () => resolve()));
  const add = (name: string, body: string) =>
    new Promise<void>((resolve, reject) => tar.entry({ name }, body, (err) => (err ? reject(err) : resolve())));
  await add('etc/os-release', 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n');
  const stanzas = Array.from({ length: 8 }, (_, i) =>
    [
      `Package: libsmall${i}`,
      'Status: install ok installed',
      'Architecture: amd64',
      `Source: bench-src${i}`,
      `Version: 1.${i % 13}-${i % 7}`,
      '',
    ].join('\n'),
  );
  await add('var/lib/dpkg/status', stanzas.join('\n'));
  await add('etc/bench-seed', String(seed));
  tar.finalize();
  await ended;
  return gzipSync(Buffer.concat(chunks));
}

/** OSV records about 40 of the generator's dpkg source packages and 50 of its npm packages. */
async function writeOsv(dir: string): Promise<void> {
  await mkdir(path.join(dir, 'Debian'), { recursive: true });
  await mkdir(path.join(dir, 'npm'), { recursive: true });
  const t = '2026-01-01T00:00:00Z';
  for (let i = 0; i < 40; i++) {
    const id = `DEBIAN-CVE-2099-${2000 + i}`;
    const record = {
      id,
      modified: t,
      upstream: [`CVE-2099-${2000 + i}`],
      ...(i % 2 === 0 && { severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N' }] }),
      affected: [
        {
          package: { ecosystem: 'Debian:12', name: `bench-src${i}` },
          ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '9.0-1' }] }],
        },
      ],
    };
    await writeFile(path.join(dir, 'Debian', `${id}.json`), JSON.stringify(record));
  }
  for (let i = 0; i < 50; i++) {
    const id = `GHSA-bench-${String(i).padStart(4, '0')}`;
    const record = {
      id,
      modified: t,
      aliases: [`CVE-2099-${3000 + i}`],
      database_specific: { severity: 'HIGH' },
      affected: [
        {
          package: { ecosystem: 'npm', name: `bench-mod-${i}` },
          ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '2.0.0' }] }],
        },
      ],
    };
    await writeFile(path.join(dir, 'npm', `${id}.json`), JSON.stringify(record));
  }
}

async function overview(client: Client, project: string, repo: string, reference: string) {
  const res = await client.expect(
    [200],
    'GET',
    `/api/v2.0/projects/${project}/repositories/${repo}/artifacts/${reference}?with_scan_overview=true`,
  );
  return (
    JSON.parse(res.body.toString()) as {
      scan_overview: Record<string, { scan_status: string; report_id: string; summary?: { total: number } }>;
    }
  ).scan_overview[vulnMime];
}

/** POST …/scan, then wait for a new report to end; seconds from the POST to the end seen. */
async function scanAndWait(
  client: Client,
  repo: string,
  reference: string,
  timeoutMs: number,
): Promise<{ seconds: number; total: number }> {
  const before = (await overview(client, 'library', repo, reference))?.report_id;
  const t0 = performance.now();
  await client.expect([202], 'POST', `/api/v2.0/projects/library/repositories/${repo}/artifacts/${reference}/scan`, {
    headers: { 'content-type': 'application/json' },
    body: '{}',
  });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const o = await overview(client, 'library', repo, reference);
    if (o && o.report_id !== before && ['Success', 'Error', 'Stopped'].includes(o.scan_status)) {
      if (o.scan_status !== 'Success') throw new Error(`the scan of ${repo}:${reference} ended ${o.scan_status}`);
      return { seconds: (performance.now() - t0) / 1000, total: o.summary?.total ?? 0 };
    }
    if (Date.now() > deadline) throw new Error(`the scan of ${repo}:${reference} did not end in ${timeoutMs / 1000} s`);
    await sleep(50);
  }
}

async function pushRound(client: Client, prefix: string, count: number, clients: number): Promise<number> {
  const t0 = performance.now();
  await pool(count, clients, Date.now() + 600_000, async (i) => {
    const repo = `library/${prefix}`;
    const config = Buffer.from(
      JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, seed: `${prefix}-${i}` }),
    );
    const layer = await smallDebianLayer(prefix.length * 1_000_000 + i);
    const c = { digest: await pushSmall(client, repo, config), size: config.length };
    const l = { digest: await pushSmall(client, repo, layer), size: layer.length };
    await putManifest(client, repo, `t${i}`, manifestOf(c, [l]));
  });
  return count / ((performance.now() - t0) / 1000);
}

export async function measureScan(settings: ScanSettings, log: (line: string) => void = console.log): Promise<ScanResult> {
  const work = await mkdtemp(path.join(tmpdir(), 'berth-bench-scan-'));
  const configFile = path.join(work, 'berth.yaml');
  await writeFile(configFile, 'jobs:\n  poll_interval_ms: 100\nscanning:\n  concurrency: 2\n');
  let server: Server | undefined;
  try {
    server = await startBerth({ name: 'berth-scan', configFile });
    const client = new Client(server.base, `Basic ${Buffer.from(`admin:${benchPassword}`).toString('base64')}`);
    const timeoutMs = settings.timeoutSeconds * 1000;

    // 1. The big image.
    log(`generating a ~${settings.mb} MB image`);
    const image = await generateImage(settings.mb, 'gzip');
    const manifest = JSON.parse(await readFile(path.join(image.dir, 'blobs', 'sha256', image.digest.slice(7)), 'utf8')) as {
      config: { digest: string; size: number };
      layers: Array<{ digest: string; size: number; mediaType: string }>;
    };
    const blob = (d: string) => path.join(image.dir, 'blobs', 'sha256', d.slice(7));
    for (const d of [manifest.config, ...manifest.layers]) await pushLarge(client, 'library/big', blob(d.digest), d.digest);
    await client.expect([201], 'PUT', '/v2/library/big/manifests/v1', {
      headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
      body: readFileSync(blob(image.digest)),
    });
    await rm(image.dir, { recursive: true, force: true });
    const osv = path.join(work, 'osv');
    await writeOsv(osv);
    const imported = spawnSync(
      process.execPath,
      [path.join(root, 'bin', 'berth.js'), 'vulndb', 'import', osv, '--data-dir', path.join(server.dir, 'data')],
      {
        encoding: 'utf8',
      },
    );
    if (imported.status !== 0) throw new Error(`berth vulndb import failed: ${imported.stderr}`);
    server.resetPeak();
    const cold = await scanAndWait(client, 'big', 'v1', timeoutMs);
    const peak = server.memory();
    const warm = await scanAndWait(client, 'big', 'v1', timeoutMs);
    log(
      `big image: cold ${cold.seconds.toFixed(2)} s, warm ${warm.seconds.toFixed(2)} s, ${cold.total} findings, peak RSS ${((peak?.hwm ?? 0) / 1048576).toFixed(0)} MB`,
    );

    // 2. Scan all while pushes go on.
    log(`pushing ${settings.artifacts} small images`);
    await pool(settings.artifacts, settings.clients, Date.now() + timeoutMs, async (i) => {
      const repo = `library/small${i % 20}`;
      const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
      const layer = await smallDebianLayer(i);
      const c = { digest: await pushSmall(client, repo, config), size: config.length };
      const l = { digest: await pushSmall(client, repo, layer), size: layer.length };
      await putManifest(client, repo, `v${i}`, manifestOf(c, [l]));
    });
    const without = await pushRound(client, 'quiet', settings.pushes, settings.clients);
    const t0 = performance.now();
    await client.expect([201], 'POST', '/api/v2.0/system/scanAll/schedule', {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ schedule: { type: 'Manual' } }),
    });
    const withScan = await pushRound(client, 'busy', settings.pushes, settings.clients);
    const metrics = async () =>
      JSON.parse((await client.expect([200], 'GET', '/api/v2.0/scans/all/metrics')).body.toString()) as Record<string, any>;
    const during = await metrics();
    const deadline = Date.now() + timeoutMs;
    let stats = during;
    while (stats.ongoing !== false) {
      if (Date.now() > deadline) throw new Error(`scan all did not end in ${settings.timeoutSeconds} s: ${JSON.stringify(stats)}`);
      await sleep(200);
      stats = await metrics();
    }
    const scanAllSeconds = (performance.now() - t0) / 1000;
    log(
      `scan all: ${stats.total} scans in ${scanAllSeconds.toFixed(1)} s; pushes/s ${without.toFixed(1)} without, ${withScan.toFixed(1)} with (ratio ${(withScan / without).toFixed(2)})`,
    );
    return {
      imageMb: image.bytes / 1048576,
      packages: 700,
      findings: cold.total,
      coldSeconds: cold.seconds,
      warmSeconds: warm.seconds,
      peakRssMb: (peak?.hwm ?? 0) / 1048576,
      artifacts: settings.artifacts,
      scanAllSeconds,
      scanAllStats: stats,
      pushesPerSecondWithout: without,
      pushesPerSecondWith: withScan,
      overlapped: during.ongoing === true,
    };
  } finally {
    await server?.stop();
    await rm(work, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const opt = (name: string, fallback: number) => Number(args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
  const result = await measureScan({
    mb: opt('mb', 100),
    artifacts: opt('artifacts', 1000),
    pushes: opt('pushes', 100),
    clients: opt('clients', 4),
    timeoutSeconds: opt('timeout', 900),
  });
  console.log(JSON.stringify(result, null, 2));
  process.exit(0);
}
