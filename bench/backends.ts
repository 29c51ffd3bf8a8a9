// The PostgreSQL + S3 backend of the bench's second Berth: a fresh database on a PostgreSQL
// server and an s3rver (the S3 test server the test suite uses) on loopback.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import pg from 'pg';
import { redactUrl } from '../src/config/load.js';
import { defaultPostgresServer, probePostgres } from '../test/helpers/database.js';
import { s3rverKeys } from '../test/helpers/s3.js';
import { cpuSeconds, keepingTempDirs, onCleanup, root, tempDir, track } from './servers.js';

/** The PostgreSQL server the bench creates its database on: BERTH_BENCH_DATABASE_URL, else the tests' default. */
export function benchPostgresServer(): string {
  const url = process.env.BERTH_BENCH_DATABASE_URL;
  return url === undefined || url === '' ? defaultPostgresServer : url;
}

export interface PgS3Backend {
  /** The BERTH_* settings that put a Berth on this database and bucket. */
  env: Record<string, string>;
  /** One line for the report: versions and where things are. */
  description: string;
  /** CPU seconds used so far by s3rver, and by the PostgreSQL backends that have served the bench's database. */
  cpu(): Promise<{ s3rver: number | null; postgres: number | null }>;
  /**
   * VACUUM (ANALYZE) of the bench's database, i.e. what autovacuum does on its own within a
   * minute or two of a burst of writes (autovacuum_naptime is 1 min by default). Returns seconds.
   */
  vacuumAnalyze(): Promise<number>;
  /** Cancels the queries still running on the bench's database (after a request timed out). Returns how many. */
  cancelQueries(): Promise<number>;
  /** Stops s3rver and drops the database (unless --keep), after the Berth on them has stopped. */
  stop(): Promise<void>;
}

/** Runs `sql` on the server in a separate node process (for clean-ups that must be synchronous). */
function runSqlSync(serverUrl: string, sql: string): void {
  const script = `const pg = require('pg');
const c = new pg.Client({ connectionString: process.env.URL, connectionTimeoutMillis: 5000 });
c.connect().then(() => c.query(process.env.SQL)).then(() => c.end(), (e) => { console.error(e.message); process.exit(1); });`;
  const r = spawnSync(process.execPath, ['-e', script], {
    cwd: root,
    env: { ...process.env, URL: serverUrl, SQL: sql },
    encoding: 'utf8',
    timeout: 15_000,
  });
  if (r.status !== 0) throw new Error(r.stderr.trim() || `exit ${r.status}`);
}

async function onServer<T>(serverUrl: string, run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

/**
 * s3rver in a child process on 127.0.0.1 with a free port and a temp directory: the test
 * suite's own runner (test/helpers/s3rver-child.mjs, which needs --openssl-legacy-provider),
 * tracked by the bench so that its deadline and signals stop it too.
 */
async function startS3rver(): Promise<{ endpoint: string; pid: number; stop: () => Promise<void> }> {
  const dir = tempDir('berth-bench-s3rver-');
  const child = spawn(process.execPath, ['--openssl-legacy-provider', path.join(root, 'test', 'helpers', 's3rver-child.mjs'), dir], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  track(child);
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString('utf8')).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`s3rver did not start within 30 s: ${stderr}`)), 30_000);
    child.once('exit', (code) => reject(new Error(`s3rver exited with ${code} before listening: ${stderr}`)));
    createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      resolve((JSON.parse(line) as { port: number }).port);
    });
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.stdin!.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * Creates a fresh database on the PostgreSQL server and starts s3rver with a bucket.
 * Returns the reason instead when PostgreSQL cannot be reached or s3rver does not start.
 *
 * The database keeps the server's defaults (synchronous_commit on: every commit waits for
 * its WAL to reach the disk), which is what the embedded Berth's SQLite does too
 * (synchronous = FULL); the test suite turns that off for its databases, the bench does not.
 */
export async function startPgS3(): Promise<{ backend: PgS3Backend } | { unavailable: string; reason: string }> {
  const server = benchPostgresServer();
  const unreachable = await probePostgres(server);
  if (unreachable) return { unavailable: 'PostgreSQL unreachable', reason: unreachable };
  const name = `berth_bench_${randomBytes(5).toString('hex')}`;
  const version = await onServer(server, async (client) => {
    await client.query(`create database "${name}"`);
    return (await client.query<{ server_version: string }>('show server_version')).rows[0].server_version;
  });
  const url = new URL(server);
  url.pathname = `/${name}`;
  const dropSql = `drop database if exists "${name}" with (force)`;
  const forget = onCleanup(() => runSqlSync(server, dropSql), `database ${redactUrl(url.toString())}`);
  let s3: Awaited<ReturnType<typeof startS3rver>> | undefined;
  try {
    s3 = await startS3rver();
    const client = new S3Client({
      endpoint: s3.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: s3rverKeys,
    });
    try {
      await client.send(new CreateBucketCommand({ Bucket: 'berth-bench' }));
    } finally {
      client.destroy();
    }
  } catch (err) {
    await s3?.stop();
    forget();
    await onServer(server, (client) => client.query(dropSql)).catch(() => undefined);
    return { unavailable: 'S3 server did not start', reason: `s3rver: ${err instanceof Error ? err.message : String(err)}` };
  }
  // PostgreSQL runs one process per connection, and Berth's pool closes idle connections after
  // 10 s, so the backends serving the bench's database come and go: they are looked up once a
  // second and each one's CPU time is kept as last seen (readable in /proc only when the server
  // runs on this machine). The sampler's own connection is to another database.
  const seen = new Map<number, number>();
  let sampler: pg.Client | null = null;
  const sample = async () => {
    if (!sampler) {
      sampler = new pg.Client({ connectionString: server, connectionTimeoutMillis: 5000 });
      await sampler.connect();
    }
    const { rows } = await sampler.query<{ pid: number }>('select pid from pg_stat_activity where datname = $1', [name]);
    for (const { pid } of rows) {
      const seconds = cpuSeconds(pid);
      if (seconds !== null) seen.set(pid, Math.max(seen.get(pid) ?? 0, seconds));
    }
  };
  let sampling: Promise<void> = Promise.resolve();
  const tick = () => {
    sampling = sampling.then(sample).catch(() => undefined);
  };
  const timer = setInterval(tick, 1000);
  timer.unref();
  const s3rverVersion = (JSON.parse(readFileSync(path.join(root, 'node_modules', 's3rver', 'package.json'), 'utf8')) as { version: string })
    .version;
  return {
    backend: {
      env: {
        BERTH_DATABASE_URL: url.toString(),
        BERTH_STORAGE_DRIVER: 's3',
        BERTH_STORAGE_S3_BUCKET: 'berth-bench',
        BERTH_STORAGE_S3_ENDPOINT: s3.endpoint,
        BERTH_STORAGE_S3_FORCE_PATH_STYLE: 'true',
        BERTH_STORAGE_S3_ACCESS_KEY: s3rverKeys.accessKeyId,
        BERTH_STORAGE_S3_SECRET_KEY: s3rverKeys.secretAccessKey,
        BERTH_STORAGE_S3_PREFIX: 'berth/',
      },
      description: `PostgreSQL ${version} at ${redactUrl(server)} (database ${name}, synchronous_commit as the server has it); s3rver ${s3rverVersion} on ${s3.endpoint} (a Node test server storing objects as files)`,
      async cpu() {
        tick();
        await sampling;
        return { s3rver: cpuSeconds(s3.pid), postgres: seen.size ? [...seen.values()].reduce((a, b) => a + b, 0) : null };
      },
      async vacuumAnalyze() {
        const t0 = performance.now();
        await onServer(url.toString(), (client) => client.query('vacuum (analyze)'));
        return (performance.now() - t0) / 1000;
      },
      async cancelQueries() {
        return onServer(server, async (client) => {
          const { rows } = await client.query<{ cancelled: boolean }>(
            `select pg_cancel_backend(pid) as cancelled from pg_stat_activity where datname = $1 and state = 'active' and pid <> pg_backend_pid()`,
            [name],
          );
          return rows.filter((r) => r.cancelled).length;
        });
      },
      async stop() {
        clearInterval(timer);
        await sampling;
        await (sampler as pg.Client | null)?.end().catch(() => undefined);
        await s3.stop();
        // With --keep the database stays; cleanupSync prints its name.
        if (keepingTempDirs()) return;
        forget();
        await onServer(server, (client) => client.query(dropSql));
      },
    },
  };
}
