// The cost of Prometheus metrics (config `metrics`), Berth only, two embedded Berths side by side:
// one with metrics off (the default), one with metrics on (served on the main port, open).
//
//   1. Hot path: manifest HEAD and GET by tag, N concurrent clients with Basic credentials, a fixed
//      number of requests per round; rounds alternate which Berth goes first; the median rate of
//      each is reported with Berth CPU per request (/proc) and the on/off ratio.
//   2. Scrape: GET /metrics on the metrics-on Berth with 1,000 projects (each with a repository),
//      the database-wide gauges recomputed on every scrape (cache_seconds 0): median and worst time
//      and the size of the answer.
//
//   npm run bench -- --only=metrics --backends=embedded [--quick]
//   node --import tsx bench/metrics.ts [--quick]
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, pool } from './http.js';
import { manifestAccept, pushSmall } from './images.js';
import { benchPassword, cpuSeconds, startBerth, tempDir, transpileBerth, type Server } from './servers.js';

export interface MetricsSettings {
  clients: number;
  requests: number;
  rounds: number;
  projects: number;
  scrapes: number;
}

export function metricsSettings(quick: boolean): MetricsSettings {
  return quick
    ? { clients: 16, requests: 2000, rounds: 3, projects: 200, scrapes: 10 }
    : { clients: 32, requests: 10000, rounds: 5, projects: 1000, scrapes: 20 };
}

export interface HotPathRate {
  perSecond: number;
  cpuMsPerRequest: number | null;
}

export interface MetricsResult {
  settings: MetricsSettings;
  /** Median of the rounds, per operation and Berth. */
  hot: Record<'HEAD' | 'GET', { off: HotPathRate; on: HotPathRate }>;
  scrape: { projects: number; medianMs: number; maxMs: number; bytes: number; series: number } | null;
  timedOut: boolean;
}

const basic = `Basic ${Buffer.from(`admin:${benchPassword}`).toString('base64')}`;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

/** One small image at `repo`:v1 (also the tracing phase's). */
export async function pushOne(client: Client, repo: string): Promise<void> {
  const config = await pushSmall(
    client,
    repo,
    Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } })),
  );
  const layer = await pushSmall(client, repo, Buffer.from(`layer of ${repo}`));
  const manifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer }],
  };
  await client.expect([201], 'PUT', `/v2/${repo}/manifests/v1`, {
    headers: { 'content-type': manifest.mediaType },
    body: JSON.stringify(manifest),
  });
}

/** Manifest HEAD or GET of library/bench:v1 by `s.clients` clients: rate and the server's CPU per request (also the tracing phase's). */
export async function rate(
  server: Server,
  client: Client,
  method: 'HEAD' | 'GET',
  s: { requests: number; clients: number },
  deadline: number,
): Promise<HotPathRate & { timedOut: boolean }> {
  const path = '/v2/library/bench/manifests/v1';
  const options = { headers: { accept: manifestAccept }, discard: true };
  // Untimed warm-up.
  await pool(Math.ceil(s.requests / 5), s.clients, deadline, async () => void (await client.expect([200], method, path, options)));
  const cpu0 = cpuSeconds(server.pid);
  const start = process.hrtime.bigint();
  const run = await pool(s.requests, s.clients, deadline, async () => void (await client.expect([200], method, path, options)));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu1 = cpuSeconds(server.pid);
  return {
    perSecond: run.done / seconds,
    cpuMsPerRequest: cpu0 !== null && cpu1 !== null && run.done > 0 ? ((cpu1 - cpu0) * 1000) / run.done : null,
    timedOut: run.timedOut,
  };
}

/**
 * Manifest HEAD and GET rates of two Berths, `s.rounds` rounds that alternate which goes first;
 * the median of each (also the tracing phase's). `note` adds to each round's log line.
 */
export async function alternatingRounds(
  servers: { off: Server; on: Server },
  clients: { off: Client; on: Client },
  s: { requests: number; clients: number; rounds: number },
  deadline: number,
  log: (line: string) => void,
  note: () => string = () => '',
): Promise<{ hot: Record<'HEAD' | 'GET', { off: HotPathRate; on: HotPathRate }>; timedOut: boolean }> {
  let timedOut = false;
  const rounds: Record<'HEAD' | 'GET', { off: HotPathRate[]; on: HotPathRate[] }> = {
    HEAD: { off: [], on: [] },
    GET: { off: [], on: [] },
  };
  for (let round = 0; round < s.rounds && Date.now() < deadline; round++) {
    const order: Array<'off' | 'on'> = round % 2 === 0 ? ['off', 'on'] : ['on', 'off'];
    for (const method of ['HEAD', 'GET'] as const) {
      for (const which of order) {
        const r = await rate(servers[which], clients[which], method, s, deadline);
        timedOut ||= r.timedOut;
        rounds[method][which].push(r);
      }
    }
    log(
      `round ${round + 1}: HEAD off ${rounds.HEAD.off.at(-1)!.perSecond.toFixed(0)}/s on ${rounds.HEAD.on.at(-1)!.perSecond.toFixed(0)}/s; ` +
        `GET off ${rounds.GET.off.at(-1)!.perSecond.toFixed(0)}/s on ${rounds.GET.on.at(-1)!.perSecond.toFixed(0)}/s${note()}`,
    );
  }
  const summarize = (rs: HotPathRate[]): HotPathRate => ({
    perSecond: median(rs.map((r) => r.perSecond)),
    cpuMsPerRequest: rs.every((r) => r.cpuMsPerRequest !== null) ? median(rs.map((r) => r.cpuMsPerRequest!)) : null,
  });
  return {
    hot: {
      HEAD: { off: summarize(rounds.HEAD.off), on: summarize(rounds.HEAD.on) },
      GET: { off: summarize(rounds.GET.off), on: summarize(rounds.GET.on) },
    },
    timedOut,
  };
}

export async function measureMetrics(
  s: MetricsSettings,
  deadline: number,
  log: (line: string) => void,
  start: { entry?: string; nodeArgs?: string[] } = {},
): Promise<MetricsResult> {
  const dir = tempDir('berth-bench-metrics-');
  const onFile = path.join(dir, 'metrics-on.yaml');
  writeFileSync(onFile, 'metrics:\n  enabled: true\n  public: true\n  cache_seconds: 0\n');
  const off = await startBerth({ ...start, name: 'berth (metrics off)' });
  const on = await startBerth({ ...start, name: 'berth (metrics on)', configFile: onFile });
  const clients = { off: new Client(off.base, basic), on: new Client(on.base, basic) };
  let timedOut = false;
  try {
    for (const c of Object.values(clients)) await pushOne(c, 'library/bench');
    const rounds = await alternatingRounds({ off, on }, clients, s, deadline, log);
    timedOut ||= rounds.timedOut;
    const hot = rounds.hot;

    // Scrape latency with many projects, each with one repository.
    let scrape: MetricsResult['scrape'] = null;
    const made = await pool(s.projects, 8, deadline, async (i) => {
      const name = `proj-${String(i).padStart(4, '0')}`;
      await clients.on.expect([201], 'POST', '/api/v2.0/projects', {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ project_name: name, metadata: { public: i % 2 === 0 ? 'true' : 'false' } }),
      });
      await pushOne(clients.on, `${name}/app`);
    });
    timedOut ||= made.timedOut;
    const times: number[] = [];
    let bytes = 0;
    let series = 0;
    for (let i = 0; i < s.scrapes && Date.now() < deadline; i++) {
      const t0 = process.hrtime.bigint();
      const res = await clients.on.expect([200], 'GET', '/metrics');
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
      bytes = res.body.length;
      series = res.body
        .toString('utf8')
        .split('\n')
        .filter((l) => l !== '' && !l.startsWith('#')).length;
    }
    if (times.length > 0) scrape = { projects: made.done + 1, medianMs: median(times), maxMs: Math.max(...times), bytes, series };
    if (scrape)
      log(
        `scrape with ${scrape.projects} projects: median ${scrape.medianMs.toFixed(1)} ms, max ${scrape.maxMs.toFixed(1)} ms, ${scrape.series} series`,
      );
    return { settings: s, hot, scrape, timedOut };
  } finally {
    clients.off.close();
    clients.on.close();
    await off.stop();
    await on.stop();
  }
}

/** The result as Markdown rows for docs/PERFORMANCE.md. */
export function metricsTables(r: MetricsResult): string {
  const f = (v: number | null, digits = 3) => (v === null ? 'n/a' : v.toFixed(digits));
  const lines = [
    `Manifest reads by tag, ${r.settings.requests} requests by ${r.settings.clients} clients, median of ${r.settings.rounds} alternating rounds:`,
    '',
    '| request | metrics off | metrics on | on/off | CPU ms/request off | on |',
    '|---|---|---|---|---|---|',
  ];
  for (const method of ['HEAD', 'GET'] as const) {
    const { off, on } = r.hot[method];
    lines.push(
      `| manifest ${method} | ${off.perSecond.toFixed(0)}/s | ${on.perSecond.toFixed(0)}/s | ${(on.perSecond / off.perSecond).toFixed(2)} | ${f(off.cpuMsPerRequest)} | ${f(on.cpuMsPerRequest)} |`,
    );
  }
  if (r.scrape) {
    lines.push(
      '',
      `Scrape of /metrics with ${r.scrape.projects} projects (no cache): median ${r.scrape.medianMs.toFixed(1)} ms, worst ${r.scrape.maxMs.toFixed(1)} ms, ` +
        `${r.scrape.series} series, ${(r.scrape.bytes / 1024).toFixed(0)} KiB.`,
    );
  }
  return lines.join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const quick = process.argv.includes('--quick');
  // Transpiled once (as run.ts does): both Berths then start without compiling src/ themselves.
  const entry = await transpileBerth();
  const result = await measureMetrics(metricsSettings(quick), Date.now() + 15 * 60_000, (line) => console.log(line), { entry });
  console.log(metricsTables(result));
  if (result.timedOut) console.log('(the phase reached its time bound; figures cover what ran)');
  process.exit(0);
}
