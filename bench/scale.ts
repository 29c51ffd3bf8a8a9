// Scale bench (npm run bench -- --scale[=FACTOR] [--databases=sqlite,postgres] [--cpu-prof]):
// builds Harbor's "small" load set (1,000 projects, 101,000 artifacts, 505,000 tags; FACTOR
// scales the project count) through the registry API on a fresh Berth, on embedded SQLite and
// on PostgreSQL (a scratch database created and dropped here), the way a client pushes: per
// artifact a small config and a small layer (POST + PUT each), then one manifest PUT per tag.
// It reports the build time, rate and Berth's CPU per artifact, then p50/p99 for one client
// of every listing, search and the token service; then it copies the projects, repositories
// and audit records nine times over directly in the database (10x the rows: building 10x
// through the API would take hours on this machine) and measures the counting listings again.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { Client, pool } from './http.js';
import { configOf, imageManifest, json, pushSmall } from './images.js';
import { benchPostgresServer } from './backends.js';
import { benchPassword, cpuSeconds, startBerth, transpileBerth, type Server } from './servers.js';

const log = (line: string) => process.stdout.write(`${line}\n`);

export interface ScaleOptions {
  factor: number;
  databases: Array<'sqlite' | 'postgres'>;
  cpuProf: boolean;
  concurrency: number;
  samples: number;
}

interface Measured {
  endpoint: string;
  p50: number;
  p99: number;
}

interface DatabaseRun {
  database: 'sqlite' | 'postgres';
  projects: number;
  artifacts: number;
  tags: number;
  seconds: number;
  berthCpuSeconds: number | null;
  latencies: Measured[];
  tenfold: Measured[];
  tenfoldRows: Record<string, number>;
}

const artifactsPerProject = 101;
const tagsPerArtifact = 5;
const repositoriesPerProject = 10;

function parse(argv: string[]): ScaleOptions {
  const scaleArg = argv.find((a) => a === '--scale' || a.startsWith('--scale='))!;
  const factor = scaleArg.includes('=') ? Number(scaleArg.slice('--scale='.length)) : 1;
  if (!(factor > 0 && factor <= 10)) throw new Error(`--scale: a factor in (0, 10], not "${scaleArg}"`);
  const dbArg = argv.find((a) => a.startsWith('--databases='));
  const databases = (dbArg ? dbArg.slice('--databases='.length).split(',') : ['sqlite', 'postgres']) as ScaleOptions['databases'];
  for (const d of databases) if (d !== 'sqlite' && d !== 'postgres') throw new Error(`--databases: sqlite or postgres, not "${d}"`);
  const concurrencyArg = argv.find((a) => a.startsWith('--concurrency='));
  return {
    factor,
    databases,
    cpuProf: argv.includes('--cpu-prof'),
    concurrency: concurrencyArg ? Number(concurrencyArg.slice('--concurrency='.length)) : 8,
    samples: 200,
  };
}

const projectName = (p: number) => `scale-${String(p).padStart(5, '0')}`;
const repositoryOf = (p: number, a: number) => `${projectName(p)}/app-${a % repositoriesPerProject}`;

/** One artifact: a unique config and layer, then a manifest PUT per tag. */
async function pushArtifact(client: Client, p: number, a: number): Promise<void> {
  const repo = repositoryOf(p, a);
  const seed = `${p}-${a}`;
  const config = await pushSmall(client, repo, configOf(seed));
  const layer = await pushSmall(client, repo, Buffer.from(`layer ${seed} ${randomBytes(8).toString('hex')}`));
  const manifest = imageManifest(config, [layer]);
  for (let t = 0; t < tagsPerArtifact; t++) {
    await client.expect([201], 'PUT', `/v2/${repo}/manifests/v${a}-${t}`, {
      headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
      body: manifest,
    });
  }
}

async function build(server: Server, client: Client, projects: number, concurrency: number) {
  log(`   creating ${projects} projects`);
  await pool(projects, concurrency, Infinity, async (p) => {
    await client.expect(
      [201],
      'POST',
      '/api/v2.0/projects',
      json({ project_name: projectName(p), metadata: { public: String(p % 2 === 0) } }),
    );
  });
  const total = projects * artifactsPerProject;
  const cpuBefore = cpuSeconds(server.pid);
  const started = Date.now();
  let done = 0;
  const ticker = setInterval(() => {
    const s = (Date.now() - started) / 1000;
    log(`   ${done}/${total} artifacts in ${s.toFixed(0)} s (${(done / s).toFixed(1)}/s)`);
  }, 30_000);
  try {
    await pool(total, concurrency, Infinity, async (i) => {
      await pushArtifact(client, i % projects, Math.floor(i / projects));
      done++;
    });
  } finally {
    clearInterval(ticker);
  }
  const seconds = (Date.now() - started) / 1000;
  const cpuAfter = cpuSeconds(server.pid);
  return { seconds, artifacts: total, cpu: cpuBefore === null || cpuAfter === null ? null : cpuAfter - cpuBefore };
}

function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

async function measure(client: Client, endpoints: Array<[string, string]>, samples: number): Promise<Measured[]> {
  const out: Measured[] = [];
  for (const [endpoint, url] of endpoints) {
    for (let i = 0; i < 5; i++) await client.expect([200], 'GET', url);
    const times: number[] = [];
    for (let i = 0; i < samples; i++) {
      const t0 = process.hrtime.bigint();
      await client.expect([200], 'GET', url);
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    times.sort((a, b) => a - b);
    out.push({ endpoint, p50: percentile(times, 0.5), p99: percentile(times, 0.99) });
    log(`   ${endpoint}: p50 ${percentile(times, 0.5).toFixed(1)} ms, p99 ${percentile(times, 0.99).toFixed(1)} ms`);
  }
  return out;
}

function endpoints(projects: number): Array<[string, string]> {
  const p = projectName(Math.floor(projects / 2));
  const repo = `${p}/app-3`;
  return [
    ['GET /api/v2.0/projects', '/api/v2.0/projects?page=1&page_size=15'],
    ['GET /api/v2.0/projects?name=', `/api/v2.0/projects?name=${p.slice(0, -1)}&page=1&page_size=15`],
    ['GET /api/v2.0/repositories', '/api/v2.0/repositories?page=1&page_size=15'],
    ['GET /api/v2.0/repositories?q=name=~', `/api/v2.0/repositories?q=${encodeURIComponent(`name=~${repo}`)}&page=1&page_size=15`],
    ['GET /api/v2.0/projects/{p}/repositories', `/api/v2.0/projects/${p}/repositories?page=1&page_size=15`],
    ['GET …/artifacts (with tags)', `/api/v2.0/projects/${p}/repositories/app-3/artifacts?page=1&page_size=15&with_tag=true`],
    ['GET …/artifacts/{ref}/tags', `/api/v2.0/projects/${p}/repositories/app-3/artifacts/v3-0/tags?page=1&page_size=15`],
    ['GET /api/v2.0/audit-logs', '/api/v2.0/audit-logs?page=1&page_size=15'],
    ['GET /api/v2.0/audit-logs?q=', `/api/v2.0/audit-logs?q=${encodeURIComponent(`resource=~${repo}`)}&page=1&page_size=15`],
    ['GET /api/v2.0/statistics', '/api/v2.0/statistics'],
    ['GET /api/v2.0/search', `/api/v2.0/search?q=${p}`],
    ['GET /service/token', `/service/token?service=harbor-registry&scope=${encodeURIComponent(`repository:${repo}:pull,push`)}`],
    ['GET /v2/_catalog', '/v2/_catalog?n=100'],
  ];
}

const countingEndpoints = new Set([
  'GET /api/v2.0/projects',
  'GET /api/v2.0/repositories',
  'GET /api/v2.0/audit-logs',
  'GET /api/v2.0/audit-logs?q=',
  'GET /api/v2.0/statistics',
]);

/** Nine more copies of every project, repository and audit record, by SQL the two databases share. */
const tenfoldSql = [
  `with recursive k(i) as (select 1 union all select i + 1 from k where i < 9)
   insert into projects (name, public, created_at, updated_at, owner_id)
   select p.name || '-x' || k.i, p.public, p.created_at, p.updated_at, p.owner_id from projects p, k where p.name like 'scale-%'`,
  `with recursive k(i) as (select 1 union all select i + 1 from k where i < 9)
   insert into repositories (project_id, name, description, pull_count, created_at, updated_at)
   select q.id, r.name || '-x' || k.i, r.description, r.pull_count, r.created_at, r.updated_at
   from repositories r join projects p on p.id = r.project_id, k, projects q
   where q.name = p.name || '-x' || k.i`,
  `with recursive k(i) as (select 1 union all select i + 1 from k where i < 9)
   insert into audit_logs (project_id, username, operation, resource_type, resource, result, client_ip, op_time)
   select a.project_id, a.username, a.operation, a.resource_type, a.resource || '-x' || k.i, a.result, a.client_ip, a.op_time from audit_logs a, k`,
];

async function tenfold(database: 'sqlite' | 'postgres', server: Server, url: string | undefined): Promise<Record<string, number>> {
  const counts = ['projects', 'repositories', 'audit_logs'];
  if (database === 'sqlite') {
    const db = new Database(path.join(server.dir, 'data', 'berth.db'));
    db.pragma('busy_timeout = 60000');
    try {
      for (const s of tenfoldSql) db.exec(s);
      return Object.fromEntries(counts.map((t) => [t, Number((db.prepare(`select count(*) as n from ${t}`).get() as { n: number }).n)]));
    } finally {
      db.close();
    }
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const s of tenfoldSql) await client.query(s);
    const out: Record<string, number> = {};
    for (const t of counts) out[t] = Number((await client.query(`select count(*) as n from ${t}`)).rows[0].n);
    return out;
  } finally {
    await client.end();
  }
}

async function runOn(database: 'sqlite' | 'postgres', o: ScaleOptions, entry: string): Promise<DatabaseRun> {
  const projects = Math.max(1, Math.round(1000 * o.factor));
  let url: string | undefined;
  let drop: (() => Promise<void>) | undefined;
  if (database === 'postgres') {
    const server = benchPostgresServer();
    const name = `berth_scale_${randomBytes(5).toString('hex')}`;
    const admin = new pg.Client({ connectionString: server });
    await admin.connect();
    await admin.query(`create database "${name}"`);
    await admin.end();
    const u = new URL(server);
    u.pathname = `/${name}`;
    url = u.toString();
    const dropSql = `drop database if exists "${name}" with (force)`;
    drop = async () => {
      const c = new pg.Client({ connectionString: server });
      await c.connect();
      await c.query(dropSql);
      await c.end();
    };
  }
  const nodeArgs = o.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve('bench-profiles')}`] : [];
  const server = await startBerth({ name: `berth-${database}`, nodeArgs, entry, env: url ? { BERTH_DATABASE_URL: url } : {} });
  const basic = `Basic ${Buffer.from(`admin:${benchPassword}`).toString('base64')}`;
  const client = new Client(server.base, basic);
  try {
    log(
      `${database}: building ${projects} projects × ${artifactsPerProject} artifacts × ${tagsPerArtifact} tags, ${o.concurrency} clients`,
    );
    const built = await build(server, client, projects, o.concurrency);
    log(
      `   built ${built.artifacts} artifacts (${built.artifacts * tagsPerArtifact} tags) in ${built.seconds.toFixed(0)} s: ` +
        `${(built.artifacts / built.seconds).toFixed(1)} artifacts/s` +
        (built.cpu === null ? '' : `, Berth CPU ${((built.cpu / built.artifacts) * 1000).toFixed(2)} ms per artifact`),
    );
    log(`   one client, ${o.samples} requests per endpoint:`);
    const list = endpoints(projects);
    const latencies = await measure(client, list, o.samples);
    log('   copying projects, repositories and audit records to 10× in the database');
    const tenfoldRows = await tenfold(database, server, url);
    log(
      `   rows now: ${Object.entries(tenfoldRows)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    );
    const tenfoldLatencies = await measure(
      client,
      list.filter(([e]) => countingEndpoints.has(e)),
      o.samples,
    );
    return {
      database,
      projects,
      artifacts: built.artifacts,
      tags: built.artifacts * tagsPerArtifact,
      seconds: built.seconds,
      berthCpuSeconds: built.cpu,
      latencies,
      tenfold: tenfoldLatencies,
      tenfoldRows,
    };
  } finally {
    client.close();
    await server.stop();
    await drop?.();
  }
}

function report(runs: DatabaseRun[], o: ScaleOptions): string {
  const lines: string[] = [];
  lines.push(
    `Scale factor ${o.factor} (Harbor's small set × ${o.factor}), ${o.concurrency} pushing clients, ${o.samples} requests per endpoint`,
  );
  lines.push('');
  lines.push('| database | projects | artifacts | tags | build time | artifacts/s | Berth CPU per artifact |');
  lines.push('| --- | --- | --- | --- | --- | --- | --- |');
  for (const r of runs)
    lines.push(
      `| ${r.database} | ${r.projects} | ${r.artifacts} | ${r.tags} | ${(r.seconds / 60).toFixed(1)} min | ${(r.artifacts / r.seconds).toFixed(1)} | ${
        r.berthCpuSeconds === null ? 'n/a' : `${((r.berthCpuSeconds / r.artifacts) * 1000).toFixed(2)} ms`
      } |`,
    );
  lines.push('');
  lines.push(
    `| endpoint (p50 / p99 ms) | ${runs.map((r) => `${r.database}`).join(' | ')} | ${runs.map((r) => `${r.database} 10×`).join(' | ')} |`,
  );
  lines.push(`| --- | ${runs.map(() => '---').join(' | ')} | ${runs.map(() => '---').join(' | ')} |`);
  const fmt = (m: Measured | undefined) => (m ? `${m.p50.toFixed(1)} / ${m.p99.toFixed(1)}` : '');
  for (const m of runs[0]?.latencies ?? []) {
    lines.push(
      `| ${m.endpoint} | ${runs.map((r) => fmt(r.latencies.find((x) => x.endpoint === m.endpoint))).join(' | ')} | ${runs
        .map((r) => fmt(r.tenfold.find((x) => x.endpoint === m.endpoint)))
        .join(' | ')} |`,
    );
  }
  lines.push('');
  for (const r of runs)
    lines.push(
      `${r.database} at 10×: ${Object.entries(r.tenfoldRows)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    );
  return lines.join('\n');
}

export async function runScale(argv: string[]): Promise<void> {
  const o = parse(argv);
  // Berth as plain JavaScript transpiled from src/ (as --compiled): the sources as they are, no loader.
  const entry = await transpileBerth();
  const runs: DatabaseRun[] = [];
  for (const d of o.databases) runs.push(await runOn(d, o, entry));
  process.stdout.write(`\n${report(runs, o)}\n`);
}
