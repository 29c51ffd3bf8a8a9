// Write-path bench (npm run bench -- --writes [--count=1000] [--concurrency=8] [--cpu-prof]):
// what each request of a push costs Berth, one kind at a time on a fresh embedded Berth (run
// as plain JavaScript transpiled from src/), with Basic credentials as the scale bench's
// clients send them: an authenticated `GET /v2/` (the floor every request pays), a small
// blob's POST + PUT (the body in the PUT), a new manifest's PUT (its layer mounted from
// another repository first) and the PUT of a manifest the repository holds under another tag.
// Per kind: requests per second and Berth's CPU per request, user and system (libuv's threads
// included). Each artifact of the scale bench is two blobs, one new manifest and four re-tags.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Client, pool } from './http.js';
import { configOf, imageManifest, json, ociManifest, pushSmall, type Descriptor } from './images.js';
import { benchPassword, cpuTimes, startBerth, transpileBerth } from './servers.js';

const log = (line: string) => process.stdout.write(`${line}\n`);

interface Row {
  kind: string;
  requests: number;
  seconds: number;
  userMs: number;
  systemMs: number;
}

const cpuMs = (r: Row) => r.userMs + r.systemMs;

function option(argv: string[], name: string, fallback: number): number {
  const arg = argv.find((a) => a.startsWith(`--${name}=`));
  const value = arg ? Number(arg.slice(name.length + 3)) : fallback;
  if (!(Number.isInteger(value) && value > 0)) throw new Error(`--${name}: a positive whole number, not "${arg}"`);
  return value;
}

export async function runWrites(argv: string[]): Promise<void> {
  const count = option(argv, 'count', 1000);
  const concurrency = option(argv, 'concurrency', 8);
  const entry = await transpileBerth();
  const nodeArgs = argv.includes('--cpu-prof') ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve('bench-profiles')}`] : [];
  const server = await startBerth({ entry, nodeArgs });
  const client = new Client(server.base, `Basic ${Buffer.from(`admin:${benchPassword}`).toString('base64')}`);
  const repos = 10;
  const repo = (i: number) => `writes/app-${i % repos}`;
  async function phase(kind: string, requestsPerJob: number, jobs: number, job: (i: number) => Promise<void>): Promise<Row> {
    const before = cpuTimes(server.pid)!;
    const started = performance.now();
    await pool(jobs, concurrency, Infinity, job);
    const seconds = (performance.now() - started) / 1000;
    const after = cpuTimes(server.pid)!;
    const requests = jobs * requestsPerJob;
    const row: Row = {
      kind,
      requests,
      seconds,
      userMs: ((after.user - before.user) / requests) * 1000,
      systemMs: ((after.system - before.system) / requests) * 1000,
    };
    log(`   ${kind}: ${requests} requests in ${seconds.toFixed(1)} s, ${cpuMs(row).toFixed(2)} ms CPU each`);
    return row;
  }
  let rows: Row[];
  try {
    await client.expect([201], 'POST', '/api/v2.0/projects', json({ project_name: 'writes', metadata: { public: 'false' } }));
    log(`writes: ${count} of each kind, ${concurrency} clients`);
    // Not counted: the first requests of a fresh process run before V8 has compiled the path.
    await pool(500, concurrency, Infinity, async () => {
      await client.expect([200], 'GET', '/v2/');
    });
    const floor = await phase('GET /v2/ (Basic)', 1, count, async () => {
      await client.expect([200], 'GET', '/v2/');
    });
    const blobs: Descriptor[] = [];
    const blob = await phase('blob POST + PUT (~200 B)', 2, 2 * count, async (i) => {
      blobs[i] = await pushSmall(client, repo(i), configOf(`writes-${i}-${randomBytes(4).toString('hex')}`));
    });
    // Blob 2i is the config (in repo 2i), blob 2i + 1 the layer, mounted into the config's repository first.
    const manifests = Array.from({ length: count }, (_, i) => imageManifest(blobs[2 * i], [blobs[2 * i + 1]]));
    const put = (i: number, tag: string) =>
      client.expect([201], 'PUT', `/v2/${repo(2 * i)}/manifests/${tag}`, { headers: { 'content-type': ociManifest }, body: manifests[i] });
    for (let i = 0; i < count; i++) {
      await client.expect([201], 'POST', `/v2/${repo(2 * i)}/blobs/uploads/?mount=${blobs[2 * i + 1].digest}&from=${repo(2 * i + 1)}`);
    }
    const fresh = await phase('manifest PUT, new', 1, count, async (i) => {
      await put(i, `v${i}-0`);
    });
    const retag = await phase('manifest PUT, re-tag', 1, count, async (i) => {
      await put(i, `v${i}-1`);
    });
    rows = [floor, blob, fresh, retag];
  } finally {
    client.close();
    await server.stop();
  }
  log('');
  log(`| request (${concurrency} clients) | requests | per second | Berth CPU per request | user | system |`);
  log('| --- | --- | --- | --- | --- | --- |');
  for (const r of rows) {
    log(
      `| ${r.kind} | ${r.requests} | ${(r.requests / r.seconds).toFixed(0)} | ${cpuMs(r).toFixed(2)} ms | ${r.userMs.toFixed(2)} ms | ${r.systemMs.toFixed(2)} ms |`,
    );
  }
  // Each blob is two requests, and the blob row's CPU is per request.
  const [, blob, fresh, retag] = rows;
  const artifact = cpuMs(blob) * 4 + cpuMs(fresh) + cpuMs(retag) * 4;
  log('');
  log(`An artifact as the scale bench pushes it (2 blobs, 1 new manifest, 4 re-tags): ${artifact.toFixed(1)} ms of Berth CPU.`);
}
