import { randomBytes } from 'node:crypto';
import { accessSync, constants, existsSync } from 'node:fs';
import { access, mkdir, readFile, rm, rmdir, statfs, writeFile } from 'node:fs/promises';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { decodeKey, generatedKeySetting, keyIdOf } from '../auth/secret-box.js';
import { ConfigError, redactUrl, resolvePaths, type ResolvedPaths } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { migrations } from '../db/migrations/index.js';
import { openBlobStore } from '../storage/open.js';
import type { S3BlobStore } from '../storage/s3.js';

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface CheckResult {
  check: string;
  status: CheckStatus;
  /** What was found, in words. */
  message: string;
  /** What to do about it (warn and fail). */
  hint?: string;
}

export interface DoctorOutput {
  out(text: string): void;
}

/** Where the clock may drift from the database's or the bucket's before doctor says so. */
export const skewWarnSeconds = 2;
/** Past this, tokens and S3 request signatures start to fail (S3 refuses beyond 15 minutes). */
export const skewFailSeconds = 60;
/** Below this much free space the next pushes fail: doctor fails. */
const diskFailBytes = 512 * 1024 * 1024;
/** Below this (or below 10% of the volume) doctor warns. */
const diskWarnBytes = 5 * 1024 * 1024 * 1024;
/** The oldest PostgreSQL Berth is tested with. */
const minPostgresMajor = 13;
/** Where the storage probe writes: beside blobs/ and uploads/, never inside them. */
export const probePrefix = 'doctor-probe/';

const pgConnectTimeoutMs = 5000;

function describe(err: unknown): string {
  const e = err as { name?: string; message?: string; code?: string; Code?: string };
  const message = e?.message || e?.Code || e?.code || e?.name || String(err);
  // The SDK's errors for a bare HTTP status carry only the name ("NoSuchBucket", "InvalidAccessKeyId").
  return e?.name && e.name !== 'Error' && !message.includes(e.name) ? `${e.name}: ${message}` : message;
}

function mib(bytes: number): string {
  return bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(1)} GiB` : `${Math.round(bytes / 1024 ** 2)} MiB`;
}

function skewResult(check: string, against: string, skewSeconds: number, resolutionSeconds = 0): CheckResult {
  const shown = `${skewSeconds >= 0 ? '+' : ''}${skewSeconds.toFixed(resolutionSeconds > 0 ? 0 : 3)}s`;
  const abs = Math.abs(skewSeconds) - resolutionSeconds;
  if (abs <= skewWarnSeconds) return { check, status: 'ok', message: `this clock is within ${skewWarnSeconds}s of ${against} (${shown})` };
  const message = `this clock is ${shown} off ${against}`;
  const hint =
    'run NTP (chrony, systemd-timesyncd) on every instance and on the servers: tokens, upload and GC time windows and S3 request signatures rely on agreeing clocks';
  return { check, status: abs > skewFailSeconds ? 'fail' : 'warn', message, hint };
}

/** Runs every check against the configuration `load` gives; returns the results in order. */
export async function doctorChecks(load: () => Config): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  let config: Config;
  let paths: ResolvedPaths;
  try {
    config = load();
    paths = resolvePaths(config);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    results.push({
      check: 'config',
      status: 'fail',
      message: err.message.replace(/\n/g, '\n      '),
      hint: 'fix the configuration file or BERTH_* variables named above (docs/CONFIGURATION.md); the other checks need a valid configuration',
    });
    return results;
  }
  results.push({
    check: 'config',
    status: 'ok',
    message: `valid; data dir ${paths.dataDir}, database ${paths.postgresUrl ? 'PostgreSQL' : 'SQLite'}, storage ${config.storage.driver}`,
  });

  const db = paths.postgresUrl ? await checkPostgres(paths.postgresUrl, results) : checkSqlite(paths.sqliteFile!, results);
  await checkStorage(config, paths, results);
  if (config.storage.driver === 'filesystem' || !paths.postgresUrl) await checkDisk(config, paths, results);
  checkSecrets(config, db.storedKey, results);
  checkExternalUrl(config, results);
  return results;
}

interface DatabaseFacts {
  /** Whether the database holds a generated encryption key; undefined when it could not be read. */
  storedKey: boolean | undefined;
}

function migrationResult(applied: string[] | null): CheckResult {
  const known = Object.keys(migrations);
  if (applied === null || applied.length === 0) {
    return {
      check: 'migrations',
      status: 'warn',
      message: `none applied yet (${known.length} pending)`,
      hint: '`berth migrate` applies them, as does the first `berth serve`',
    };
  }
  const unknown = applied.filter((name) => !known.includes(name));
  if (unknown.length > 0) {
    return {
      check: 'migrations',
      status: 'fail',
      message: `the database has migrations this version of Berth does not know (${unknown.join(', ')}): a newer Berth migrated it`,
      hint: 'run the newer version; a rollback goes back one version at most (docs/DEPLOYMENT.md, Upgrades)',
    };
  }
  const pending = known.filter((name) => !applied.includes(name));
  if (pending.length > 0) {
    return {
      check: 'migrations',
      status: 'warn',
      message: `${applied.length} applied, ${pending.length} pending (${pending.join(', ')})`,
      hint: '`berth migrate` (or the next `berth serve`) applies them online; see docs/DEPLOYMENT.md, Upgrades',
    };
  }
  return { check: 'migrations', status: 'ok', message: `all ${applied.length} applied (latest ${applied[applied.length - 1]})` };
}

function checkSqlite(file: string, results: CheckResult[]): DatabaseFacts {
  if (!existsSync(file)) {
    const dir = path.dirname(file);
    let writable = true;
    try {
      // The nearest existing parent must let Berth create the file (and the WAL beside it).
      let probe = dir;
      while (!existsSync(probe)) probe = path.dirname(probe);
      requireWritable(probe);
    } catch {
      writable = false;
    }
    results.push(
      writable
        ? {
            check: 'database',
            status: 'warn',
            message: `SQLite file ${file} does not exist yet`,
            hint: 'the first `berth serve` or `berth migrate` creates it',
          }
        : {
            check: 'database',
            status: 'fail',
            message: `SQLite file ${file} does not exist and ${dir} is not writable`,
            hint: `give the user running Berth write access to ${dir}`,
          },
    );
    results.push(migrationResult(null));
    return { storedKey: false };
  }
  let sqlite: SQLite.Database | undefined;
  try {
    try {
      requireWritable(file);
      requireWritable(path.dirname(file));
    } catch {
      results.push({
        check: 'database',
        status: 'fail',
        message: `SQLite file ${file} (or its directory, where the WAL and journal files go) is not writable`,
        hint: `give the user running Berth write access to ${file} and ${path.dirname(file)}`,
      });
      return { storedKey: undefined };
    }
    sqlite = new SQLite(file, { fileMustExist: true, timeout: 5000 });
    const integrity = sqlite.pragma('quick_check', { simple: true }) as string;
    const journal = sqlite.pragma('journal_mode', { simple: true }) as string;
    const version = (sqlite.prepare('select sqlite_version() as v').get() as { v: string }).v;
    if (integrity !== 'ok') {
      results.push({
        check: 'database',
        status: 'fail',
        message: `SQLite file ${file} fails its integrity check: ${integrity}`,
        hint: 'stop Berth and restore the latest backup (`berth restore`)',
      });
    } else if (journal !== 'wal') {
      // Berth sets WAL when it opens the file; another mode means something else opened it since.
      results.push({
        check: 'database',
        status: 'warn',
        message: `SQLite file ${file} (SQLite ${version}) is in journal mode ${journal}, not wal`,
        hint: 'Berth switches it to wal at the next start; readers wait on writers until then',
      });
    } else {
      results.push({ check: 'database', status: 'ok', message: `SQLite ${version}, ${file}, writable, journal mode wal` });
    }
    const hasTable = sqlite.prepare("select 1 from sqlite_master where type = 'table' and name = 'kysely_migration'").get();
    const applied = hasTable
      ? (sqlite.prepare('select name from kysely_migration order by name').all() as Array<{ name: string }>).map((r) => r.name)
      : null;
    results.push(migrationResult(applied));
    const hasSettings = sqlite.prepare("select 1 from sqlite_master where type = 'table' and name = 'settings'").get();
    const storedKey = hasSettings ? sqlite.prepare('select 1 from settings where name = ?').get(generatedKeySetting) !== undefined : false;
    return { storedKey };
  } catch (err) {
    results.push({
      check: 'database',
      status: 'fail',
      message: `cannot read SQLite file ${file}: ${describe(err)}`,
      hint: 'check that it is a Berth database and not damaged; restore the latest backup otherwise',
    });
    return { storedKey: undefined };
  } finally {
    sqlite?.close();
  }
}

function requireWritable(file: string): void {
  accessSync(file, constants.W_OK);
}

async function checkPostgres(url: string, results: CheckResult[]): Promise<DatabaseFacts> {
  const shown = redactUrl(url);
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: pgConnectTimeoutMs });
  // A connection that breaks later would otherwise raise an unhandled 'error'.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    results.push({
      check: 'database',
      status: 'fail',
      message: `cannot connect to PostgreSQL at ${shown}: ${describe(err)}`,
      hint: 'check that PostgreSQL runs and accepts connections from this host, and the host, port, user, password and database in database.url (BERTH_DATABASE_URL)',
    });
    return { storedKey: undefined };
  }
  try {
    const before = Date.now();
    const row = (
      await client.query<{ version: string; num: string; now: string }>(
        "select current_setting('server_version') as version, current_setting('server_version_num') as num, extract(epoch from clock_timestamp()) * 1000 as now",
      )
    ).rows[0];
    const after = Date.now();
    const major = Math.floor(Number(row.num) / 10000);
    results.push(
      major < minPostgresMajor
        ? {
            check: 'database',
            status: 'warn',
            message: `PostgreSQL ${row.version} at ${shown} is older than ${minPostgresMajor}, the oldest Berth is tested with`,
            hint: `upgrade PostgreSQL to ${minPostgresMajor} or later`,
          }
        : { check: 'database', status: 'ok', message: `PostgreSQL ${row.version} at ${shown}` },
    );
    const has = await client.query(
      "select to_regclass('kysely_migration') is not null as migrations, to_regclass('settings') is not null as settings",
    );
    const applied = has.rows[0].migrations
      ? (await client.query<{ name: string }>('select name from kysely_migration order by name')).rows.map((r) => r.name)
      : null;
    results.push(migrationResult(applied));
    // Half the round trip on each side: the server read its clock about midway.
    results.push(skewResult('clock', 'the PostgreSQL server', ((after + before) / 2 - Number(row.now)) / 1000));
    const storedKey = has.rows[0].settings
      ? (await client.query('select 1 from settings where name = $1', [generatedKeySetting])).rowCount! > 0
      : false;
    return { storedKey };
  } catch (err) {
    results.push({
      check: 'database',
      status: 'fail',
      message: `PostgreSQL at ${shown} connected but a query failed: ${describe(err)}`,
      hint: 'check the user’s rights on the database',
    });
    return { storedKey: undefined };
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function checkStorage(config: Config, paths: ResolvedPaths, results: CheckResult[]): Promise<void> {
  if (config.storage.driver === 's3') return checkS3(config, results);
  const root = paths.storageRoot;
  const dir = path.join(root, probePrefix);
  const file = path.join(dir, randomBytes(8).toString('hex'));
  const content = randomBytes(64);
  let made = false;
  try {
    if (!existsSync(root)) {
      results.push({
        check: 'storage',
        status: 'warn',
        message: `filesystem root ${root} does not exist yet`,
        hint: 'the first `berth serve` creates it',
      });
      return;
    }
    await mkdir(dir, { recursive: true });
    made = true;
    await writeFile(file, content, { flag: 'wx' });
    const back = await readFile(file);
    if (!back.equals(content)) throw new Error('the probe file read back differs from what was written');
    await rm(file);
    // Berth writes into these two (blobs published by rename from uploads/).
    for (const sub of ['blobs', 'uploads']) {
      const subdir = path.join(root, sub);
      if (existsSync(subdir)) {
        await access(subdir, constants.W_OK).catch(() => {
          throw new Error(`${subdir} is not writable`);
        });
      }
    }
    results.push({ check: 'storage', status: 'ok', message: `filesystem ${root}: write, read and delete work` });
  } catch (err) {
    results.push({
      check: 'storage',
      status: 'fail',
      message: `filesystem ${root}: the write/read/delete probe failed: ${describe(err)}`,
      hint: `give the user running Berth write access to ${root} (storage.filesystem.root), and check the volume`,
    });
  } finally {
    // Nothing left behind, whatever failed.
    await rm(file, { force: true }).catch(() => undefined);
    if (made) await rmdir(dir).catch(() => undefined);
  }
}

async function checkS3(config: Config, results: CheckResult[]): Promise<void> {
  const s3 = config.storage.s3;
  const where = `s3://${s3.bucket ?? '?'}/${s3.prefix}${s3.endpoint ? ` at ${s3.endpoint}` : ''}`;
  if (!s3.bucket) {
    results.push({
      check: 'storage',
      status: 'fail',
      message: 'storage.driver is s3 but storage.s3.bucket is not set',
      hint: 'set storage.s3.bucket (BERTH_STORAGE_S3_BUCKET)',
    });
    return;
  }
  if (Boolean(s3.access_key) !== Boolean(s3.secret_key)) {
    results.push({
      check: 'storage',
      status: 'fail',
      message: `only one of storage.s3.access_key and storage.s3.secret_key is set`,
      hint: 'set both, or neither to use the SDK’s default credentials (environment, instance role)',
    });
    return;
  }
  const { GetObjectCommand, PutObjectCommand, DeleteObjectCommand, HeadObjectCommand } = await import('@aws-sdk/client-s3');
  const store = (await openBlobStore(config.storage, { root: '' })) as S3BlobStore;
  const { client, bucket } = store;
  // The server's Date header of every answer, for the clock check.
  let serverDate: { at: number; date: number } | undefined;
  client.middlewareStack.add(
    (next) => async (args) => {
      const result = await next(args);
      const header = (result.response as { headers?: Record<string, string> }).headers?.date;
      if (header && !Number.isNaN(Date.parse(header))) serverDate = { at: Date.now(), date: Date.parse(header) };
      return result;
    },
    { step: 'deserialize', name: 'berthDoctorDate' },
  );
  const key = `${store.prefix}${probePrefix}${randomBytes(8).toString('hex')}`;
  const content = randomBytes(64);
  let written = false;
  try {
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: content, ContentLength: content.length }));
    written = true;
    const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const back = Buffer.from(await got.Body!.transformToByteArray());
    if (!back.equals(content)) throw new Error('the probe object read back differs from what was written');
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    written = false;
    const gone = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).then(
      () => false,
      () => true,
    );
    if (!gone) throw new Error('the probe object is still there after it was deleted');
    results.push({ check: 'storage', status: 'ok', message: `${where}: write, read and delete work` });
  } catch (err) {
    const name = (err as { name?: string }).name ?? '';
    const hint =
      name === 'NoSuchBucket'
        ? `create the bucket ${bucket}, or fix storage.s3.bucket`
        : /AccessDenied|InvalidAccessKeyId|SignatureDoesNotMatch|Forbidden|Credentials/i.test(`${name} ${describe(err)}`)
          ? 'check storage.s3.access_key and secret_key, and that they may put, get and delete objects in the bucket'
          : 'check storage.s3.endpoint, region and force_path_style, and that the server is reachable from this host';
    results.push({ check: 'storage', status: 'fail', message: `${where}: the write/read/delete probe failed: ${describe(err)}`, hint });
  } finally {
    // Nothing left behind, whatever failed (the delete is harmless when the put never happened).
    if (written) await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })).catch(() => undefined);
  }
  if (serverDate) {
    // The header has whole seconds: allow one.
    results.push(skewResult('clock', 'the S3 server', (serverDate.at - serverDate.date) / 1000, 1));
  }
  client.destroy();
}

async function checkDisk(config: Config, paths: ResolvedPaths, results: CheckResult[]): Promise<void> {
  const volumes = new Map<string, string>();
  if (config.storage.driver === 'filesystem') volumes.set('blob store', paths.storageRoot);
  if (paths.sqliteFile) volumes.set('database', path.dirname(paths.sqliteFile));
  for (const [what, dir] of volumes) {
    let probe = dir;
    while (!existsSync(probe) && path.dirname(probe) !== probe) probe = path.dirname(probe);
    try {
      const stats = await statfs(probe);
      const free = stats.bavail * stats.bsize;
      const total = stats.blocks * stats.bsize;
      const message = `${what} volume (${dir}): ${mib(free)} free of ${mib(total)}`;
      if (free < diskFailBytes) {
        results.push({
          check: 'disk',
          status: 'fail',
          message,
          hint: 'free space or grow the volume: pushes fail with 507 when it is full; `berth gc` frees unreferenced blobs',
        });
      } else if (free < diskWarnBytes || free < total * 0.1) {
        results.push({ check: 'disk', status: 'warn', message, hint: 'plan more space; `berth gc` frees unreferenced blobs' });
      } else {
        results.push({ check: 'disk', status: 'ok', message });
      }
    } catch (err) {
      results.push({ check: 'disk', status: 'warn', message: `cannot measure the ${what} volume (${dir}): ${describe(err)}` });
    }
  }
}

function checkSecrets(config: Config, storedKey: boolean | undefined, results: CheckResult[]): void {
  if (config.secrets.encryption_key) {
    const id = keyIdOf(decodeKey(config.secrets.encryption_key));
    const previous = config.secrets.previous_keys.length;
    results.push({
      check: 'secrets',
      status: 'ok',
      message: `secrets.encryption_key is set (key id ${id})${previous > 0 ? `, with ${previous} previous key(s) to open older secrets` : ''}`,
    });
  } else if (storedKey) {
    results.push({
      check: 'secrets',
      status: 'warn',
      message: 'secrets.encryption_key is not set: stored credentials are sealed with a key generated into the database',
      hint: 'a copy of the database then holds both the secrets and their key; keep backups safe, or set secrets.encryption_key (`berth secrets new-key`, then `berth secrets rotate`)',
    });
  } else {
    results.push({
      check: 'secrets',
      status: 'warn',
      message: 'secrets.encryption_key is not set: the first start generates a key into the database',
      hint: 'set secrets.encryption_key (`berth secrets new-key`) to keep the key out of the database and its backups',
    });
  }
  if (config.auth.token_key_file) {
    const file = resolvePaths(config).tokenKeyFile;
    try {
      accessSync(file, constants.R_OK);
      results.push({ check: 'token key', status: 'ok', message: `auth.token_key_file ${file} is readable` });
    } catch {
      results.push({
        check: 'token key',
        status: 'fail',
        message: `auth.token_key_file ${file} cannot be read`,
        hint: 'create it (an EC or RSA private key in PEM) or unset auth.token_key_file to keep the key in the database',
      });
    }
  }
}

function checkExternalUrl(config: Config, results: CheckResult[]): void {
  const value = config.server.external_url;
  if (!value) {
    results.push({
      check: 'external_url',
      status: 'warn',
      message: 'server.external_url is not set: token realms and links are built from each request’s Host header',
      hint: 'set server.external_url to the address clients use (the load balancer’s https:// URL)',
    });
    return;
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    results.push({
      check: 'external_url',
      status: 'fail',
      message: `server.external_url is not a URL`,
      hint: 'use https://registry.example.com',
    });
    return;
  }
  const shown = redactUrl(value);
  const problems: string[] = [];
  if (url.protocol !== 'https:' && url.protocol !== 'http:') problems.push(`its scheme is ${url.protocol} (http: or https: only)`);
  if (url.username || url.password) problems.push('it holds credentials');
  if (url.search || url.hash) problems.push('it has a query or fragment');
  if (url.pathname !== '/' && url.pathname !== '')
    problems.push(`it has a path (${url.pathname}): clients reach /v2/ at the root of the host`);
  if (problems.length > 0) {
    results.push({
      check: 'external_url',
      status: 'fail',
      message: `server.external_url ${shown}: ${problems.join('; ')}`,
      hint: 'use the scheme and host (and port) only, e.g. https://registry.example.com',
    });
    return;
  }
  const loopback = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/.test(url.hostname);
  if (url.protocol === 'http:' && !loopback) {
    results.push({
      check: 'external_url',
      status: 'warn',
      message: `server.external_url ${shown} is plain http: passwords and tokens cross the network in clear, and docker refuses it unless listed as an insecure registry`,
      hint: 'terminate TLS in front of Berth and use https://',
    });
    return;
  }
  if (loopback && config.server.host !== '127.0.0.1' && config.server.host !== 'localhost' && config.server.host !== '::1') {
    results.push({
      check: 'external_url',
      status: 'warn',
      message: `server.external_url ${shown} names this machine only, while Berth listens on ${config.server.host}`,
      hint: 'set it to the address other machines use',
    });
    return;
  }
  results.push({ check: 'external_url', status: 'ok', message: shown });
}

/** Every secret the configuration holds, to be masked in anything printed. */
function secretsOf(load: () => Config): string[] {
  try {
    const config = load();
    const values = [
      config.storage.s3.secret_key,
      config.secrets.encryption_key,
      ...config.secrets.previous_keys,
      config.auth.admin_password,
    ];
    const url = config.database.url;
    if (url && URL.canParse(url)) {
      const password = new URL(url).password;
      if (password) values.push(password, decodeURIComponent(password));
    }
    return values.filter((v): v is string => typeof v === 'string' && v.length >= 4);
  } catch {
    return [];
  }
}

/**
 * `berth doctor`: one line per check, ok / warn / FAIL, with what is wrong and what to do.
 * Exit code 0 when nothing failed (warnings allowed), 1 otherwise.
 */
export async function runDoctor(load: () => Config, io: DoctorOutput, options: { json?: boolean } = {}): Promise<number> {
  const results = await doctorChecks(load);
  const secrets = secretsOf(load);
  const mask = (text: string) => secrets.reduce((t, s) => t.split(s).join('***'), text);
  if (options.json) {
    io.out(mask(JSON.stringify({ results, failed: results.filter((r) => r.status === 'fail').length }, null, 2)));
  } else {
    for (const r of results) {
      const label = r.status === 'fail' ? 'FAIL' : r.status;
      io.out(mask(`${label.padEnd(4)}  ${r.check.padEnd(12)} ${r.message}${r.hint && r.status !== 'ok' ? `\n      → ${r.hint}` : ''}`));
    }
  }
  return results.some((r) => r.status === 'fail') ? 1 : 0;
}
