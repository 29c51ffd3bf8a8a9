import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { redactUrl, resolvePaths, type ResolvedPaths } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { migrations } from '../db/migrations/index.js';
import { parseDigest } from '../oci/digest.js';
import { version } from '../version.js';

/**
 * A Berth backup is a directory:
 *   manifest.json        what it holds (below), with checksums
 *   berth.db             embedded: the SQLite snapshot (online backup API)
 *   berth.pgdump         PostgreSQL: pg_dump's custom format (pg_restore reads it)
 *   blobs/<alg>/<xx>/<hex>   the filesystem blob store's blobs; each file's checksum is its name
 */
export interface BackupManifest {
  format: 'berth-backup';
  format_version: 1;
  berth_version: string;
  created_at: string;
  database: {
    kind: 'sqlite' | 'postgres';
    file: string;
    sha256: string;
    size: number;
    /** The last migration applied in the copy, and how many. */
    migration: string | null;
    migrations: number;
  };
  counts: Record<string, number>;
  blobs: {
    /** 'filesystem': copied under blobs/; 's3': left in the bucket (see the instructions printed). */
    storage: 'filesystem' | 's3';
    count: number;
    bytes: number;
  };
}

export interface OpsOutput {
  out(text: string): void;
  err(text: string): void;
}

const countedTables = ['projects', 'repositories', 'artifacts', 'tags', 'blobs', 'labels', 'robots', 'users'];

export class OpsError extends Error {
  override name = 'OpsError';
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}

function blobPath(dir: string, digest: string): string {
  const parsed = parseDigest(digest);
  if (!parsed) throw new OpsError(`not a digest: ${digest}`);
  return path.join(dir, parsed.algorithm, parsed.hex.slice(0, 2), parsed.hex);
}

/** Copies a blob, hashing it on the way: the copy is verified against its digest before it is kept. */
async function copyBlob(from: string, to: string, digest: string): Promise<number> {
  const parsed = parseDigest(digest)!;
  await mkdir(path.dirname(to), { recursive: true });
  const temp = `${to}.${randomBytes(4).toString('hex')}.part`;
  const hash = createHash(parsed.algorithm);
  let size = 0;
  try {
    await pipeline(
      createReadStream(from),
      async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          hash.update(chunk);
          size += chunk.length;
          yield chunk;
        }
      },
      createWriteStream(temp, { flags: 'wx' }),
    );
    if (hash.digest('hex') !== parsed.hex)
      throw new OpsError(`blob ${digest} in ${from} does not match its digest: the store is damaged (run \`berth scrub\`)`);
    await rename(temp, to);
    return size;
  } finally {
    await rm(temp, { force: true });
  }
}

async function isEmptyDir(dir: string): Promise<boolean> {
  if (!existsSync(dir)) return true;
  return (await readdir(dir)).length === 0;
}

function sqliteFacts(file: string): {
  migration: string | null;
  migrations: number;
  counts: Record<string, number>;
  blobs: Array<{ digest: string; referenced: boolean }>;
} {
  const db = new SQLite(file, { readonly: true, fileMustExist: true });
  try {
    const names = (db.prepare('select name from kysely_migration order by name').all() as Array<{ name: string }>).map((r) => r.name);
    const counts: Record<string, number> = {};
    for (const table of countedTables) counts[table] = (db.prepare(`select count(*) as n from ${table}`).get() as { n: number }).n;
    const blobs = (
      db
        .prepare(
          'select b.digest, exists(select 1 from artifact_blobs ab where ab.digest = b.digest) as referenced from blobs b order by b.digest',
        )
        .all() as Array<{
        digest: string;
        referenced: number;
      }>
    ).map((r) => ({ digest: r.digest, referenced: r.referenced === 1 }));
    return { migration: names[names.length - 1] ?? null, migrations: names.length, counts, blobs };
  } finally {
    db.close();
  }
}

async function postgresFacts(url: string): Promise<ReturnType<typeof sqliteFacts>> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const names = (await client.query<{ name: string }>('select name from kysely_migration order by name')).rows.map((r) => r.name);
    const counts: Record<string, number> = {};
    for (const table of countedTables) counts[table] = Number((await client.query(`select count(*) as n from ${table}`)).rows[0].n);
    const blobs = (
      await client.query<{ digest: string; referenced: boolean }>(
        'select b.digest, exists(select 1 from artifact_blobs ab where ab.digest = b.digest) as referenced from blobs b order by b.digest',
      )
    ).rows;
    return { migration: names[names.length - 1] ?? null, migrations: names.length, counts, blobs };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** libpq takes the password from PGPASSWORD: it then stays out of the process list. */
function libpqArgs(url: string): { target: string; env: NodeJS.ProcessEnv } {
  const parsed = new URL(url);
  const password = decodeURIComponent(parsed.password);
  parsed.password = '';
  return { target: parsed.toString(), env: { ...process.env, ...(password ? { PGPASSWORD: password } : {}) } };
}

function onPath(tool: string): boolean {
  return spawnSync(tool, ['--version'], { stdio: 'ignore' }).status === 0;
}

/**
 * `berth backup <dir>`. Embedded (SQLite): a consistent snapshot through SQLite's online
 * backup API while Berth may be serving, then the blobs. PostgreSQL: pg_dump (custom
 * format) when it is on PATH, else the instructions and exit 3. Blobs on the filesystem
 * are copied; blobs in S3 stay in the bucket (the instructions say how to keep them).
 */
export async function runBackup(config: Config, target: string, io: OpsOutput): Promise<number> {
  const paths = resolvePaths(config);
  const dir = path.resolve(target);
  if (!(await isEmptyDir(dir))) {
    io.err(`berth backup: ${dir} is not empty; give a new or empty directory`);
    return 2;
  }
  if (paths.postgresUrl && !onPath('pg_dump')) {
    io.err(postgresInstructions(paths));
    io.err(
      'berth backup: pg_dump is not on PATH; install the PostgreSQL client tools (same major version as the server or newer) or back up with the steps above',
    );
    return 3;
  }
  await mkdir(dir, { recursive: true });
  const work = path.join(dir, '.incomplete');
  await writeFile(work, 'a backup was started here and has not finished\n');

  let facts: ReturnType<typeof sqliteFacts>;
  let dbFile: string;
  if (paths.sqliteFile) {
    if (!existsSync(paths.sqliteFile)) {
      io.err(`berth backup: there is no database at ${paths.sqliteFile}`);
      return 2;
    }
    dbFile = 'berth.db';
    // The online backup API copies a consistent image of the database while other connections
    // (a running Berth) keep reading and writing; it restarts by itself when they write meanwhile.
    const source = new SQLite(paths.sqliteFile, { fileMustExist: true, timeout: 10_000 });
    try {
      await source.backup(path.join(dir, dbFile));
    } finally {
      source.close();
    }
    facts = sqliteFacts(path.join(dir, dbFile));
  } else {
    dbFile = 'berth.pgdump';
    const { target: url, env } = libpqArgs(paths.postgresUrl!);
    // One snapshot: pg_dump reads every table in one repeatable-read transaction.
    const dump = spawnSync('pg_dump', ['--format=custom', '--no-owner', '--no-privileges', '--file', path.join(dir, dbFile), url], {
      env,
      encoding: 'utf8',
    });
    if (dump.status !== 0) {
      io.err(`berth backup: pg_dump of ${redactUrl(paths.postgresUrl!)} failed: ${dump.stderr.trim() || dump.error?.message}`);
      return 3;
    }
    facts = await postgresFacts(paths.postgresUrl!);
  }

  // Blobs after the database snapshot. Blobs are content addressed and never change once
  // published, and a blob's file is published before the row that names it is committed;
  // so every blob the snapshot names is already in the store, and copying it now gives
  // exactly the bytes the snapshot means. (Copying blobs first would miss blobs pushed
  // between the copy and the snapshot.) The one thing that removes a blob is garbage
  // collection, and only one no artifact references: if it removed a blob the snapshot still
  // references (an artifact deleted since), the backup fails and says so.
  let count = 0;
  let bytes = 0;
  const storage = config.storage.driver;
  if (storage === 'filesystem') {
    const from = path.join(paths.storageRoot, 'blobs');
    const to = path.join(dir, 'blobs');
    for (const blob of facts.blobs) {
      const source = blobPath(from, blob.digest);
      if (!existsSync(source)) {
        if (!blob.referenced) continue; // unreferenced and swept since: nothing needs it
        io.err(
          `berth backup: blob ${blob.digest}, which the database references, is missing from ${from}; a garbage collection may have removed it during the backup (run the backup again), else run \`berth scrub\``,
        );
        return 3;
      }
      bytes += await copyBlob(source, blobPath(to, blob.digest), blob.digest);
      count += 1;
    }
  } else {
    count = facts.blobs.length;
  }

  const file = path.join(dir, dbFile);
  const manifest: BackupManifest = {
    format: 'berth-backup',
    format_version: 1,
    berth_version: version,
    created_at: new Date().toISOString(),
    database: {
      kind: paths.sqliteFile ? 'sqlite' : 'postgres',
      file: dbFile,
      sha256: await sha256File(file),
      size: (await stat(file)).size,
      migration: facts.migration,
      migrations: facts.migrations,
    },
    counts: facts.counts,
    blobs: { storage, count, bytes },
  };
  await writeFile(path.join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  await rm(work);
  io.out(
    `backup written to ${dir}: ${manifest.database.kind} database at ${facts.migration} (${Object.entries(facts.counts)
      .map(([k, v]) => `${v} ${k}`)
      .join(', ')}), ${storage === 'filesystem' ? `${count} blobs (${bytes} bytes) copied` : `${count} blobs left in the bucket`}`,
  );
  if (storage === 's3') io.out(s3Instructions(config));
  return 0;
}

function postgresInstructions(paths: ResolvedPaths): string {
  return [
    `PostgreSQL (${redactUrl(paths.postgresUrl!)}): back it up with`,
    '  pg_dump --format=custom --no-owner --no-privileges --file berth.pgdump "<database.url>"',
    'and restore into an empty database with',
    '  pg_restore --no-owner --no-privileges --dbname "<database.url>" berth.pgdump',
  ].join('\n');
}

function s3Instructions(config: Config): string {
  const s3 = config.storage.s3;
  return [
    `The blobs stay in s3://${s3.bucket}/${s3.prefix}. Keep them with bucket versioning (and a lifecycle rule that`,
    'expires old versions after the backups you keep), or copy them after the database backup, e.g.',
    `  aws s3 sync s3://${s3.bucket}/${s3.prefix}blobs/ <destination>/blobs/   (or rclone sync)`,
    'after the database dump, never before: blobs never change, so a copy made after the dump holds every blob it names.',
  ].join('\n');
}

/**
 * `berth restore <backup>` into the configured data directory (and database): refuses a
 * non-empty target unless `force`; verifies the database checksum and every blob's digest
 * before anything is written to the target.
 */
export async function runRestore(config: Config, source: string, options: { force?: boolean }, io: OpsOutput): Promise<number> {
  const paths = resolvePaths(config);
  const dir = path.resolve(source);
  let manifest: BackupManifest;
  try {
    manifest = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')) as BackupManifest;
  } catch (err) {
    io.err(`berth restore: ${dir} is not a Berth backup (manifest.json: ${(err as Error).message})`);
    return 2;
  }
  if (manifest.format !== 'berth-backup' || manifest.format_version !== 1) {
    io.err(`berth restore: ${dir}/manifest.json is not a Berth backup of format 1`);
    return 2;
  }
  if (existsSync(path.join(dir, '.incomplete'))) {
    io.err(`berth restore: the backup in ${dir} did not finish; use another one`);
    return 2;
  }
  const known = Object.keys(migrations);
  if (manifest.database.migration !== null && !known.includes(manifest.database.migration)) {
    io.err(
      `berth restore: the backup was made by a newer Berth (${manifest.berth_version}, migration ${manifest.database.migration}); restore it with that version`,
    );
    return 2;
  }
  const wanted = paths.sqliteFile ? 'sqlite' : 'postgres';
  if (manifest.database.kind !== wanted) {
    io.err(`berth restore: the backup holds a ${manifest.database.kind} database but the configuration names ${wanted}`);
    return 2;
  }
  if (manifest.blobs.storage !== config.storage.driver) {
    io.err(`berth restore: the backup's blobs were in ${manifest.blobs.storage} but the configuration names ${config.storage.driver}`);
    return 2;
  }

  // Checksums first: nothing is written to the target from a damaged backup.
  const dbFile = path.join(dir, manifest.database.file);
  if (!existsSync(dbFile) || (await sha256File(dbFile)) !== manifest.database.sha256) {
    io.err(`berth restore: ${dbFile} is missing or does not match the checksum in manifest.json: the backup is damaged`);
    return 3;
  }
  const blobsDir = path.join(dir, 'blobs');
  const blobFiles: Array<{ digest: string; file: string }> = [];
  if (manifest.blobs.storage === 'filesystem' && existsSync(blobsDir)) {
    for (const algorithm of await readdir(blobsDir)) {
      for (const prefix of await readdir(path.join(blobsDir, algorithm))) {
        for (const hex of await readdir(path.join(blobsDir, algorithm, prefix))) {
          blobFiles.push({ digest: `${algorithm}:${hex}`, file: path.join(blobsDir, algorithm, prefix, hex) });
        }
      }
    }
    if (blobFiles.length !== manifest.blobs.count) {
      io.err(`berth restore: the backup holds ${blobFiles.length} blobs where manifest.json says ${manifest.blobs.count}: it is damaged`);
      return 3;
    }
  }

  // The target must be empty unless --force.
  const targetBlobs = path.join(paths.storageRoot, 'blobs');
  if (paths.sqliteFile) {
    const taken = existsSync(paths.sqliteFile) || !(await isEmptyDir(targetBlobs));
    if (taken && !options.force) {
      io.err(
        `berth restore: ${paths.sqliteFile} or ${targetBlobs} already holds data; restore into an empty data directory, or give --force to replace it`,
      );
      return 2;
    }
  } else {
    const client = new pg.Client({ connectionString: paths.postgresUrl!, connectionTimeoutMillis: 10_000 });
    client.on('error', () => undefined);
    await client.connect();
    try {
      const tables = Number((await client.query("select count(*) as n from pg_tables where schemaname = 'public'")).rows[0].n);
      if (tables > 0 && !options.force) {
        io.err(
          `berth restore: the database ${redactUrl(paths.postgresUrl!)} is not empty; restore into an empty database, or give --force to replace its tables`,
        );
        return 2;
      }
      if (tables > 0) await client.query('drop schema public cascade; create schema public');
    } finally {
      await client.end().catch(() => undefined);
    }
    if (!(await isEmptyDir(targetBlobs)) && manifest.blobs.storage === 'filesystem' && !options.force) {
      io.err(`berth restore: ${targetBlobs} already holds blobs; give --force to replace them`);
      return 2;
    }
  }
  if (options.force) {
    await rm(targetBlobs, { recursive: true, force: true });
    await rm(path.join(paths.storageRoot, 'uploads'), { recursive: true, force: true });
  }

  // Blobs first, verified on the way; the database last, so that a restore that stopped
  // half way leaves no database naming blobs that are not there.
  let bytes = 0;
  for (const blob of blobFiles) bytes += await copyBlob(blob.file, blobPath(targetBlobs, blob.digest), blob.digest);
  await mkdir(path.join(paths.storageRoot, 'uploads'), { recursive: true });
  if (paths.sqliteFile) {
    await mkdir(path.dirname(paths.sqliteFile), { recursive: true });
    for (const suffix of ['-wal', '-shm']) await rm(`${paths.sqliteFile}${suffix}`, { force: true });
    const temp = `${paths.sqliteFile}.restoring`;
    await copyFile(dbFile, temp);
    await rename(temp, paths.sqliteFile);
  } else {
    const { target: url, env } = libpqArgs(paths.postgresUrl!);
    const run = spawnSync(
      'pg_restore',
      ['--no-owner', '--no-privileges', '--exit-on-error', '--single-transaction', '--dbname', url, dbFile],
      { env, encoding: 'utf8' },
    );
    if (run.status !== 0) {
      io.err(`berth restore: pg_restore into ${redactUrl(paths.postgresUrl!)} failed: ${run.stderr.trim() || run.error?.message}`);
      return 3;
    }
  }
  io.out(
    `restored ${dir} (made by Berth ${manifest.berth_version} at ${manifest.created_at}, migration ${manifest.database.migration}): ` +
      `${manifest.database.kind} database, ${blobFiles.length} blobs (${bytes} bytes)` +
      (manifest.blobs.storage === 's3' ? '; the blobs are expected in the configured bucket' : ''),
  );
  return 0;
}
