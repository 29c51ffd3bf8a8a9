import { spawn, spawnSync } from 'node:child_process';
import http from 'node:http';

export interface LoadResult {
  requestsPerSecond: number;
  requests: number;
  /** Answers that were not 2xx/3xx, and socket errors. */
  errors: number;
  latencyMeanMs: number | null;
  latencyP50Ms: number | null;
  latencyP99Ms: number | null;
  tool: string;
}

export interface LoadOptions {
  url: string;
  headers: Record<string, string>;
  connections: number;
  seconds: number;
}

let wrkPath: string | null | undefined;

function findWrk(): string | null {
  if (wrkPath !== undefined) return wrkPath;
  const r = spawnSync('sh', ['-c', 'command -v wrk'], { encoding: 'utf8' });
  wrkPath = r.status === 0 ? r.stdout.trim() : null;
  return wrkPath;
}

export function loadTool(): string {
  return findWrk() ? 'wrk' : 'built-in Node load generator (wrk not found)';
}

/** wrk prints durations as 1.23ms, 456.00us, 1.20s. */
function parseDuration(value: string): number | null {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(value);
  if (!m) return null;
  const n = Number(m[1]);
  return m[2] === 'us' ? n / 1000 : m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : n * 60_000;
}

async function runWrk(bin: string, o: LoadOptions): Promise<LoadResult> {
  const threads = Math.max(1, Math.min(2, o.connections));
  const args = ['-t', String(threads), '-c', String(o.connections), '-d', `${o.seconds}s`, '--latency', '--timeout', '10s'];
  for (const [k, v] of Object.entries(o.headers)) args.push('-H', `${k}: ${v}`);
  args.push(o.url);
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (c: Buffer) => (text += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (text += c.toString('utf8')));
    const killer = setTimeout(() => child.kill('SIGKILL'), (o.seconds + 30) * 1000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(killer);
      if (code === 0) resolve(text);
      else reject(new Error(`wrk exited with ${code}:\n${text}`));
    });
  });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = non2xx + (socketErrors ? socketErrors.slice(1).reduce((a, b) => a + Number(b), 0) : 0);
  const mean = /^\s+Latency\s+(\S+)/m.exec(out)?.[1];
  const p50 = /^\s+50%\s+(\S+)/m.exec(out)?.[1];
  const p99 = /^\s+99%\s+(\S+)/m.exec(out)?.[1];
  if (!Number.isFinite(rps)) throw new Error(`could not read wrk's output:\n${out}`);
  return {
    requestsPerSecond: rps,
    requests,
    errors,
    latencyMeanMs: mean ? parseDuration(mean) : null,
    latencyP50Ms: p50 ? parseDuration(p50) : null,
    latencyP99Ms: p99 ? parseDuration(p99) : null,
    tool: 'wrk',
  };
}

/** Fallback when wrk is missing: N keep-alive loops in this process (costs more CPU than wrk). */
async function runNode(o: LoadOptions): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: o.connections });
  const url = new URL(o.url);
  const end = Date.now() + o.seconds * 1000;
  const latencies: number[] = [];
  let errors = 0;
  const one = () =>
    new Promise<void>((resolve) => {
      const t0 = performance.now();
      const req = http.get(url, { agent, headers: o.headers }, (res) => {
        res.resume();
        res.on('end', () => {
          if ((res.statusCode ?? 0) >= 400) errors++;
          latencies.push(performance.now() - t0);
          resolve();
        });
      });
      req.on('error', () => {
        errors++;
        resolve();
      });
    });
  const started = Date.now();
  await Promise.all(
    Array.from({ length: o.connections }, async () => {
      while (Date.now() < end) await one();
    }),
  );
  const seconds = (Date.now() - started) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const q = (p: number) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] : null);
  const mean = latencies.length ? latencies.reduce((a, b) => a + b, 0) / latencies.length : null;
  return {
    requestsPerSecond: latencies.length / seconds,
    requests: latencies.length,
    errors,
    latencyMeanMs: mean,
    latencyP50Ms: q(0.5),
    latencyP99Ms: q(0.99),
    tool: 'node',
  };
}

export async function load(o: LoadOptions): Promise<LoadResult> {
  const bin = findWrk();
  return bin ? runWrk(bin, o) : runNode(o);
}
