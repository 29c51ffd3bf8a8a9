// The cost of tracing (OpenTelemetry, OTLP/HTTP JSON), Berth only, two embedded Berths side by
// side: one with tracing off (no OTEL_* variable: the default), one exporting every span
// (OTEL_EXPORTER_OTLP_ENDPOINT, protocol http/json, sampler always_on) to an OTLP receiver on loopback in this
// process, which reads and counts each export and answers 200.
//
//   Manifest HEAD and GET by tag, N concurrent clients with Basic credentials, a fixed number of
//   requests per round; rounds alternate which Berth goes first; the median rate of each is
//   reported with Berth CPU per request (/proc), the on/off ratio and the spans received.
//
//   node --import tsx bench/tracing.ts [--quick]   (Berth transpiled to plain JavaScript first)
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from './http.js';
import { alternatingRounds, pushOne, type HotPathRate } from './metrics.js';
import { benchPassword, startBerth, transpileBerth } from './servers.js';

export interface TracingSettings {
  clients: number;
  requests: number;
  rounds: number;
}

export function tracingSettings(quick: boolean): TracingSettings {
  return quick ? { clients: 16, requests: 2000, rounds: 3 } : { clients: 32, requests: 10000, rounds: 5 };
}

export interface TracingResult {
  settings: TracingSettings;
  hot: Record<'HEAD' | 'GET', { off: HotPathRate; on: HotPathRate }>;
  spans: number;
  exports: number;
  timedOut: boolean;
}

const basic = `Basic ${Buffer.from(`admin:${benchPassword}`).toString('base64')}`;

/** A loopback OTLP/HTTP receiver that counts the spans of each JSON export. */
async function startReceiver() {
  const counts = { spans: 0, exports: 0 };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      counts.exports += 1;
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          resourceSpans?: Array<{ scopeSpans?: Array<{ spans?: unknown[] }> }>;
        };
        for (const rs of body.resourceSpans ?? []) for (const ss of rs.scopeSpans ?? []) counts.spans += ss.spans?.length ?? 0;
      } catch {
        // counted as an export, not as spans
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, counts, close: () => new Promise<void>((r) => server.close(() => r())) };
}

export async function measureTracing(
  s: TracingSettings,
  deadline: number,
  log: (line: string) => void,
  start: { entry?: string; nodeArgs?: string[] } = {},
): Promise<TracingResult> {
  const receiver = await startReceiver();
  const off = await startBerth({ ...start, name: 'berth (tracing off)' });
  const on = await startBerth({
    ...start,
    name: 'berth (tracing on)',
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_TRACES_SAMPLER: 'always_on' },
  });
  const clients = { off: new Client(off.base, basic), on: new Client(on.base, basic) };
  let timedOut = false;
  let hot: TracingResult['hot'];
  try {
    for (const c of Object.values(clients)) await pushOne(c, 'library/bench');
    const rounds = await alternatingRounds({ off, on }, clients, s, deadline, log, () => `; ${receiver.counts.spans} spans received`);
    timedOut = rounds.timedOut;
    hot = rounds.hot;
  } finally {
    clients.off.close();
    clients.on.close();
    await off.stop();
    // Stopping flushes the spans still buffered.
    await on.stop();
    await receiver.close();
  }
  return { settings: s, hot, spans: receiver.counts.spans, exports: receiver.counts.exports, timedOut };
}

/** The result as Markdown rows for docs/PERFORMANCE.md. */
export function tracingTables(r: TracingResult): string {
  const f = (v: number | null) => (v === null ? 'n/a' : v.toFixed(3));
  const lines = [
    `Manifest reads by tag, ${r.settings.requests} requests by ${r.settings.clients} clients, median of ${r.settings.rounds} alternating rounds; ` +
      `${r.spans} spans in ${r.exports} exports received:`,
    '',
    '| request | tracing off | tracing on | on/off | CPU ms/request off | on |',
    '|---|---|---|---|---|---|',
  ];
  for (const method of ['HEAD', 'GET'] as const) {
    const { off, on } = r.hot[method];
    lines.push(
      `| manifest ${method} | ${off.perSecond.toFixed(0)}/s | ${on.perSecond.toFixed(0)}/s | ${(on.perSecond / off.perSecond).toFixed(2)} | ${f(off.cpuMsPerRequest)} | ${f(on.cpuMsPerRequest)} |`,
    );
  }
  return lines.join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const quick = process.argv.includes('--quick');
  // Plain JavaScript (src/ transpiled by esbuild): starts fast on a busy machine.
  const entry = await transpileBerth();
  const result = await measureTracing(tracingSettings(quick), Date.now() + 10 * 60_000, (line) => console.log(line), { entry });
  console.log(tracingTables(result));
  if (result.timedOut) console.log('(the run reached its time bound; figures cover what ran)');
  process.exit(0);
}
