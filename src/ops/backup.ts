import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { extract, pack, type Extract, type Header, type Pack } from 'tar-stream';
import { feedExtractor } from '../lib/tar-feed.js';
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
 * or one tar file (gzip-compressed or not) holding those same files, blobs first and
 * manifest.json last: `berth backup` writes one when the target's name ends in .tar,
 * .tar.gz or .tgz; `berth restore` reads one when it is given a file. Extracted with `tar`,
 * an archive is a backup directory.
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
  return storeVerified(
    createReadStream(from),
    to,
    digest,
    `blob ${digest} in ${from} does not match its digest: the store is damaged (run \`berth scrub\`)`,
  );
}

/**
 * Writes `source` to `to` (through a temporary name next to it), hashing it on the way: the
 * file is kept only when the bytes match `digest`, else `mismatch` is thrown. Returns the size.
 */
async function storeVerified(source: AsyncIterable<Buffer>, to: string, digest: string, mismatch: string): Promise<number> {
  const parsed = parseDigest(digest)!;
  await mkdir(path.dirname(to), { recursive: true });
  const temp = `${to}.${randomBytes(4).toString('hex')}.part`;
  const hash = createHash(parsed.algorithm);
  let size = 0;
  try {
    await pipeline(
      async function* () {
        for await (const chunk of source) {
          hash.update(chunk);
          size += chunk.length;
          yield chunk;
        }
      },
      createWriteStream(temp, { flags: 'wx' }),
    );
    if (hash.digest('hex') !== parsed.hex) throw new OpsError(mismatch);
    await rename(temp, to);
    return size;
  } finally {
    await rm(temp, { force: true });
  }
}

/** The hex digest (by `algorithm`) and size of what `source` yields. */
async function digestOf(source: AsyncIterable<Buffer>, algorithm: string): Promise<{ hex: string; size: number }> {
  const hash = createHash(algorithm);
  let size = 0;
  for await (const chunk of source) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { hex: hash.digest('hex'), size };
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

type DatabaseFacts = ReturnType<typeof sqliteFacts>;
/** One entry of an archive being read: its header and a stream of its bytes. */
type Entry = (Extract extends AsyncIterable<infer T> ? T : never) & AsyncIterable<Buffer>;

/** The name that makes `berth backup` write one archive instead of a directory, and whether it is gzip-compressed. */
export function archiveKind(target: string): 'tar' | 'tar.gz' | null {
  const name = target.toLowerCase();
  if (name.endsWith('.tar.gz') || name.endsWith('.tgz')) return 'tar.gz';
  if (name.endsWith('.tar')) return 'tar';
  return null;
}

/**
 * `berth backup <dir>`. Embedded (SQLite): a consistent snapshot through SQLite's online
 * backup API while Berth may be serving, then the blobs. PostgreSQL: pg_dump (custom
 * format) when it is on PATH, else the instructions and exit 3. Blobs on the filesystem
 * are copied; blobs in S3 stay in the bucket (the instructions say how to keep them).
 * A target named *.tar, *.tar.gz or *.tgz gets the same content as one archive (see
 * backupToArchive).
 */
export async function runBackup(config: Config, target: string, io: OpsOutput): Promise<number> {
  const paths = resolvePaths(config);
  const kind = archiveKind(target);
  if (kind) return backupToArchive(config, paths, path.resolve(target), kind === 'tar.gz', io);
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

  const dbFile = paths.sqliteFile ? 'berth.db' : 'berth.pgdump';
  const facts = await snapshotDatabase(paths, path.join(dir, dbFile), io);
  if (typeof facts === 'number') return facts;

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
        io.err(missingBlob(blob.digest, from));
        return 3;
      }
      bytes += await copyBlob(source, blobPath(to, blob.digest), blob.digest);
      count += 1;
    }
  } else {
    count = facts.blobs.length;
  }

  const file = path.join(dir, dbFile);
  const manifest = backupManifest(paths, facts, storage, dbFile, await sha256File(file), (await stat(file)).size, count, bytes);
  await writeFile(path.join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  await rm(work);
  io.out(backupSummary(dir, manifest, facts));
  if (storage === 's3') io.out(s3Instructions(config));
  return 0;
}

/** The database's consistent copy into `file`, and what it holds; or the exit code after saying why not. */
async function snapshotDatabase(paths: ResolvedPaths, file: string, io: OpsOutput): Promise<DatabaseFacts | number> {
  if (paths.sqliteFile) {
    if (!existsSync(paths.sqliteFile)) {
      io.err(`berth backup: there is no database at ${paths.sqliteFile}`);
      return 2;
    }
    // The online backup API copies a consistent image of the database while other connections
    // (a running Berth) keep reading and writing; it restarts by itself when they write meanwhile.
    const source = new SQLite(paths.sqliteFile, { fileMustExist: true, timeout: 10_000 });
    try {
      await source.backup(file);
    } finally {
      source.close();
    }
    return sqliteFacts(file);
  }
  const { target: url, env } = libpqArgs(paths.postgresUrl!);
  // One snapshot: pg_dump reads every table in one repeatable-read transaction.
  const dump = spawnSync('pg_dump', ['--format=custom', '--no-owner', '--no-privileges', '--file', file, url], {
    env,
    encoding: 'utf8',
  });
  if (dump.status !== 0) {
    io.err(`berth backup: pg_dump of ${redactUrl(paths.postgresUrl!)} failed: ${dump.stderr.trim() || dump.error?.message}`);
    return 3;
  }
  return postgresFacts(paths.postgresUrl!);
}

function missingBlob(digest: string, from: string): string {
  return `berth backup: blob ${digest}, which the database references, is missing from ${from}; a garbage collection may have removed it during the backup (run the backup again), else run \`berth scrub\``;
}

function backupManifest(
  paths: ResolvedPaths,
  facts: DatabaseFacts,
  storage: 'filesystem' | 's3',
  dbFile: string,
  sha256: string,
  size: number,
  count: number,
  bytes: number,
): BackupManifest {
  return {
    format: 'berth-backup',
    format_version: 1,
    berth_version: version,
    created_at: new Date().toISOString(),
    database: {
      kind: paths.sqliteFile ? 'sqlite' : 'postgres',
      file: dbFile,
      sha256,
      size,
      migration: facts.migration,
      migrations: facts.migrations,
    },
    counts: facts.counts,
    blobs: { storage, count, bytes },
  };
}

function backupSummary(where: string, manifest: BackupManifest, facts: DatabaseFacts): string {
  const { storage, count, bytes } = manifest.blobs;
  return `backup written to ${where}: ${manifest.database.kind} database at ${facts.migration} (${Object.entries(facts.counts)
    .map(([k, v]) => `${v} ${k}`)
    .join(', ')}), ${storage === 'filesystem' ? `${count} blobs (${bytes} bytes) copied` : `${count} blobs left in the bucket`}`;
}

class Failure extends Error {
  constructor(
    message: string,
    readonly code: 2 | 3,
  ) {
    super(message);
  }
}

/**
 * `berth backup FILE.tar|FILE.tar.gz|FILE.tgz`: the backup directory's content as one tar
 * archive, streamed (a blob is never held in memory whole) into FILE.<random>.part next to
 * FILE, flushed to disk and renamed to FILE only when complete; whatever stops it half way
 * leaves no FILE. Entries: the blobs, then the database, then manifest.json (last, as in a
 * directory: an archive cut off anywhere before its end has no manifest). The database copy
 * is made first into FILE.<random>.<berth.db|berth.pgdump>.part (a tar entry's size comes
 * before its bytes) and removed at the end.
 */
async function backupToArchive(config: Config, paths: ResolvedPaths, file: string, gzip: boolean, io: OpsOutput): Promise<number> {
  if (existsSync(file)) {
    io.err(`berth backup: ${file} already exists; give a new file name`);
    return 2;
  }
  if (paths.postgresUrl && !onPath('pg_dump')) {
    io.err(postgresInstructions(paths));
    io.err(
      'berth backup: pg_dump is not on PATH; install the PostgreSQL client tools (same major version as the server or newer) or back up with the steps above',
    );
    return 3;
  }
  await mkdir(path.dirname(file), { recursive: true });
  const tag = randomBytes(4).toString('hex');
  const temp = `${file}.${tag}.part`;
  const dbFile = paths.sqliteFile ? 'berth.db' : 'berth.pgdump';
  const snapshot = `${file}.${tag}.${dbFile}.part`;
  const storage = config.storage.driver;
  try {
    const facts = await snapshotDatabase(paths, snapshot, io);
    if (typeof facts === 'number') return facts;

    const archive = pack();
    const bytesOut = async function* () {
      for await (const chunk of archive) yield chunk as Buffer;
    };
    const out = createWriteStream(temp, { flags: 'wx' });
    const written = gzip ? pipeline(bytesOut, createGzip(), out) : pipeline(bytesOut, out);
    written.catch(() => undefined);
    let count = 0;
    let bytes = 0;
    let manifest: BackupManifest;
    try {
      // Blobs after the database snapshot, for the reasons runBackup gives.
      if (storage === 'filesystem') {
        const from = path.join(paths.storageRoot, 'blobs');
        for (const blob of facts.blobs) {
          const parsed = parseDigest(blob.digest);
          if (!parsed) throw new Failure(`berth backup: the database names a blob ${blob.digest}, which is not a digest`, 3);
          // Open first: a garbage collection that removes the file from now on does not change what is read.
          const handle = await open(blobPath(from, blob.digest)).catch((err: NodeJS.ErrnoException) => {
            if (err.code === 'ENOENT') return null;
            throw err;
          });
          if (!handle) {
            if (!blob.referenced) continue; // unreferenced and swept since: nothing needs it
            throw new Failure(missingBlob(blob.digest, from), 3);
          }
          try {
            const size = (await handle.stat()).size;
            const name = `blobs/${parsed.algorithm}/${parsed.hex.slice(0, 2)}/${parsed.hex}`;
            const hex = await packEntry(archive, { name, size }, handle.createReadStream({ autoClose: false }), parsed.algorithm);
            if (hex !== parsed.hex)
              throw new Failure(
                `berth backup: blob ${blob.digest} in ${from} does not match its digest: the store is damaged (run \`berth scrub\`)`,
                3,
              );
            bytes += size;
            count += 1;
          } finally {
            await handle.close();
          }
        }
      } else {
        count = facts.blobs.length;
      }
      const size = (await stat(snapshot)).size;
      const sha256 = await packEntry(archive, { name: dbFile, size }, createReadStream(snapshot), 'sha256');
      manifest = backupManifest(paths, facts, storage, dbFile, sha256, size, count, bytes);
      const text = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
      await packEntry(archive, { name: 'manifest.json', size: text.length }, [text], 'sha256');
      archive.finalize();
      await written;
    } catch (err) {
      const stopped = new Error('the backup stopped');
      archive.destroy(stopped);
      // A failed write (a full disk) is the cause of whatever the entries then saw.
      await written.catch((cause: unknown) => {
        if (!(err instanceof Failure) && cause !== stopped) err = cause;
      });
      throw err;
    }
    // On disk before it gets its name: a crash never leaves a FILE with missing bytes.
    const handle = await open(temp, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
    await syncDir(path.dirname(file));
    io.out(backupSummary(`${file} (${gzip ? 'gzip-compressed ' : ''}tar)`, manifest, facts));
    if (storage === 's3') io.out(s3Instructions(config));
    return 0;
  } catch (err) {
    if (err instanceof Failure) {
      io.err(err.message);
      return err.code;
    }
    io.err(`berth backup: writing ${file} failed: ${(err as Error).message}`);
    return 3;
  } finally {
    await rm(temp, { force: true });
    // With the -wal and -shm files that reading the SQLite copy (in WAL mode) left next to it.
    for (const suffix of ['', '-wal', '-shm']) await rm(`${snapshot}${suffix}`, { force: true });
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r').catch(() => null);
  if (!handle) return;
  try {
    await handle.sync();
  } catch {
    // Some filesystems do not sync directories; the rename is still atomic.
  } finally {
    await handle.close();
  }
}

/**
 * Adds one file entry of `header.size` bytes from `source` to the archive, with backpressure
 * (the archive takes more only as fast as it is written out); returns the bytes' hex digest
 * by `algorithm`. The archive fails the entry when the bytes are not `header.size`.
 */
async function packEntry(
  archive: Pack,
  header: Pick<Header, 'name' | 'size'>,
  source: Iterable<Buffer> | AsyncIterable<Buffer>,
  algorithm: string,
): Promise<string> {
  const hash = createHash(algorithm);
  let entry!: ReturnType<Pack['entry']>;
  const packed = new Promise<void>((resolve, reject) => {
    entry = archive.entry({ mode: 0o644, mtime: new Date(), ...header, type: 'file' }, (err) => (err ? reject(err) : resolve()));
  });
  packed.catch(() => undefined);
  try {
    for await (const chunk of source) {
      hash.update(chunk);
      if (!entry.write(chunk)) {
        await new Promise<void>((resolve, reject) => {
          const drained = () => {
            entry.off('close', closed);
            resolve();
          };
          const closed = () => {
            entry.off('drain', drained);
            reject(new Error('the archive was closed'));
          };
          entry.once('drain', drained);
          entry.once('close', closed);
        });
      }
    }
    entry.end(undefined);
  } catch (err) {
    entry.destroy(err as Error);
    throw err;
  }
  await packed;
  return hash.digest('hex');
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
 * `berth restore <backup>` into the configured data directory (and database). The backup is a
 * directory, or (given a file) an archive `berth backup` wrote, gzip-compressed or not (see
 * restoreArchive). Both are read in two passes. The first writes nothing: it checks the
 * database file against the manifest's checksum and every blob against its digest (the name
 * it is stored under), and refuses a damaged backup (exit 3) before the target is looked at.
 * Only then is a non-empty target refused, or with `force` emptied; the second pass copies
 * the blobs and then the database, each checked again as it is copied (the backup may have
 * changed since the first pass), so nothing unchecked is installed.
 */
export async function runRestore(config: Config, source: string, options: { force?: boolean }, io: OpsOutput): Promise<number> {
  const from = path.resolve(source);
  if ((await stat(from).catch(() => null))?.isFile()) return restoreArchive(config, from, options, io);
  const paths = resolvePaths(config);
  const dir = from;
  let manifest: BackupManifest;
  try {
    manifest = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')) as BackupManifest;
  } catch (err) {
    io.err(`berth restore: ${dir} is not a Berth backup (manifest.json: ${(err as Error).message})`);
    return 2;
  }
  const refused = checkManifest(config, paths, manifest, existsSync(path.join(dir, '.incomplete')), dir, `${dir}/manifest.json`, io);
  if (refused !== null) return refused;

  // The first pass, as an archive's: the database file and every blob are read to their end
  // and checked, and nothing is written, so a damaged backup leaves the target as it was.
  const dbFile = path.join(dir, manifest.database.file);
  if (!existsSync(dbFile) || (await sha256File(dbFile)) !== manifest.database.sha256) {
    io.err(`berth restore: ${dbFile} is missing or does not match the checksum in manifest.json: the backup is damaged`);
    return 3;
  }
  const blobsDir = path.join(dir, 'blobs');
  const blobFiles: Array<{ digest: string; file: string }> = [];
  if (manifest.blobs.storage === 'filesystem') {
    try {
      if (existsSync(blobsDir)) {
        for (const algorithm of (await readdir(blobsDir)).sort()) {
          for (const prefix of (await readdir(path.join(blobsDir, algorithm))).sort()) {
            for (const hex of (await readdir(path.join(blobsDir, algorithm, prefix))).sort()) {
              const name = `blobs/${algorithm}/${prefix}/${hex}`;
              const digest = blobEntryDigest(name);
              if (!digest)
                throw new Failure(
                  `berth restore: ${dir} holds ${name}, which is not a blob's name: it is damaged or not a Berth backup`,
                  3,
                );
              blobFiles.push({ digest, file: path.join(blobsDir, algorithm, prefix, hex) });
            }
          }
        }
      }
      if (blobFiles.length !== manifest.blobs.count)
        throw new Failure(
          `berth restore: the backup holds ${blobFiles.length} blobs where manifest.json says ${manifest.blobs.count}: it is damaged`,
          3,
        );
      for (const blob of blobFiles) await checkBackupBlob(createReadStream(blob.file), blob.digest, blob.file);
    } catch (err) {
      if (err instanceof Failure) {
        io.err(err.message);
        return err.code;
      }
      io.err(`berth restore: the blobs in ${dir} cannot be read (${(err as Error).message}); nothing was written`);
      return 3;
    }
  }

  const targetBlobs = path.join(paths.storageRoot, 'blobs');
  const taken = await prepareTarget(paths, manifest, targetBlobs, options, io);
  if (taken !== null) return taken;

  // The second pass (completeRestore): the blobs first, then the database.
  const changed = (file: string) =>
    `${file} changed since it was checked: the restore stopped before the database (run it again with --force)`;
  return completeRestore(paths, manifest, dir, io, async (staged) => {
    let bytes = 0;
    for (const blob of blobFiles) {
      bytes += await storeVerified(createReadStream(blob.file), blobPath(targetBlobs, blob.digest), blob.digest, changed(blob.file));
    }
    await storeVerified(createReadStream(dbFile), staged, `sha256:${manifest.database.sha256}`, changed(dbFile));
    return { blobs: blobFiles.length, bytes };
  });
}

/**
 * A restore's second pass, once everything was checked and the target prepared: `copy` writes
 * the blobs and the staged database, checking each again as it goes; the database is installed
 * last, so that a restore that stopped half way leaves no database naming blobs that are not
 * there. The checked copy is staged next to the SQLite file, or in the data directory where
 * pg_restore reads it.
 */
async function completeRestore(
  paths: ResolvedPaths,
  manifest: BackupManifest,
  where: string,
  io: OpsOutput,
  copy: (staged: string) => Promise<{ blobs: number; bytes: number }>,
): Promise<number> {
  const staged = stagedDatabasePath(paths, manifest);
  let copied: { blobs: number; bytes: number };
  try {
    await mkdir(path.dirname(staged), { recursive: true });
    copied = await copy(staged);
    await mkdir(path.join(paths.storageRoot, 'uploads'), { recursive: true });
    const installed = await installDatabase(paths, staged, io);
    if (installed !== null) return installed;
  } catch (err) {
    io.err(`berth restore: ${(err as Error).message}`);
    return 3;
  } finally {
    await rm(staged, { force: true }); // installed (renamed) when all went well
  }
  io.out(restoreSummary(where, manifest, copied.blobs, copied.bytes));
  return 0;
}

/** Where a restore keeps the checked database copy until it installs it: next to the SQLite file, or in the data directory for pg_restore. */
function stagedDatabasePath(paths: { sqliteFile: string | null; dataDir: string }, manifest: { database: { file: string } }): string {
  return paths.sqliteFile
    ? `${paths.sqliteFile}.restoring`
    : path.join(paths.dataDir, `.restoring-${randomBytes(4).toString('hex')}-${manifest.database.file}`);
}

/** The refusals a backup's manifest earns before anything else is looked at, or null when it fits. */
function checkManifest(
  config: Config,
  paths: ResolvedPaths,
  manifest: BackupManifest,
  incomplete: boolean,
  where: string,
  manifestName: string,
  io: OpsOutput,
): number | null {
  if (manifest?.format !== 'berth-backup' || manifest.format_version !== 1) {
    io.err(`berth restore: ${manifestName} is not a Berth backup of format 1`);
    return 2;
  }
  if (incomplete) {
    io.err(`berth restore: the backup in ${where} did not finish; use another one`);
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
  return null;
}

/**
 * The target must be empty unless --force; with --force, its blobs, uploads and (PostgreSQL)
 * tables go. Returns the exit code of a refusal, or null.
 */
async function prepareTarget(
  paths: ResolvedPaths,
  manifest: BackupManifest,
  targetBlobs: string,
  options: { force?: boolean },
  io: OpsOutput,
): Promise<number | null> {
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
  return null;
}

/**
 * The database last. SQLite: `staged` (a verified copy at <sqlite file>.restoring) takes the
 * database file's name. PostgreSQL: pg_restore reads `staged` into the (empty) database.
 */
async function installDatabase(paths: ResolvedPaths, staged: string, io: OpsOutput): Promise<number | null> {
  if (paths.sqliteFile) {
    for (const suffix of ['-wal', '-shm']) await rm(`${paths.sqliteFile}${suffix}`, { force: true });
    await rename(staged, paths.sqliteFile);
    return null;
  }
  const { target: url, env } = libpqArgs(paths.postgresUrl!);
  const run = spawnSync(
    'pg_restore',
    ['--no-owner', '--no-privileges', '--exit-on-error', '--single-transaction', '--dbname', url, staged],
    {
      env,
      encoding: 'utf8',
    },
  );
  if (run.status !== 0) {
    io.err(`berth restore: pg_restore into ${redactUrl(paths.postgresUrl!)} failed: ${run.stderr.trim() || run.error?.message}`);
    return 3;
  }
  return null;
}

function restoreSummary(where: string, manifest: BackupManifest, blobs: number, bytes: number): string {
  return (
    `restored ${where} (made by Berth ${manifest.berth_version} at ${manifest.created_at}, migration ${manifest.database.migration}): ` +
    `${manifest.database.kind} database, ${blobs} blobs (${bytes} bytes)` +
    (manifest.blobs.storage === 's3' ? '; the blobs are expected in the configured bucket' : '')
  );
}

/**
 * The first pass of a restore (from a directory or an archive), which writes nothing: reads one
 * of the backup's blobs to its end and returns its size when its bytes match `digest` (the
 * digest its name gives); else a Failure (exit 3) naming `where`.
 */
async function checkBackupBlob(source: AsyncIterable<Buffer>, digest: string, where: string): Promise<number> {
  const parsed = parseDigest(digest)!;
  const { hex, size } = await digestOf(source, parsed.algorithm);
  if (hex !== parsed.hex)
    throw new Failure(`berth restore: blob ${digest} in ${where} does not match its digest: the backup is damaged; nothing was written`, 3);
  return size;
}

/** blobs/<alg>/<xx>/<hex> as a digest, or null when the name is not that shape. */
function blobEntryDigest(name: string): string | null {
  const parts = name.split('/');
  if (parts.length !== 4 || parts[0] !== 'blobs') return null;
  const digest = `${parts[1]}:${parts[3]}`;
  const parsed = parseDigest(digest);
  return parsed && parts[2] === parsed.hex.slice(0, 2) ? digest : null;
}

/**
 * Each file entry of the archive in turn (gzip-compressed or not: told by its first bytes),
 * its name without a leading "./"; `visit` reads the entry to its end or returns without
 * reading it (it is then skipped). Throws when the archive cannot be read to its end: cut
 * off, damaged (gzip checks its bytes; tar only its headers), or not a tar archive.
 */
async function walkArchive(file: string, visit: (name: string, entry: Entry) => Promise<void>): Promise<void> {
  const head = Buffer.alloc(2);
  const handle = await open(file, 'r');
  try {
    await handle.read(head, 0, 2, 0);
  } finally {
    await handle.close();
  }
  const raw = createReadStream(file, { highWaterMark: 1024 * 1024 });
  let bytes: Readable = raw;
  let decoding: Promise<void> | null = null;
  if (head[0] === 0x1f && head[1] === 0x8b) {
    const gunzip = createGunzip({ chunkSize: 128 * 1024 });
    decoding = pipeline(raw, gunzip).catch(() => undefined);
    bytes = gunzip;
  }
  const entries = extract();
  const feeding = feedExtractor(bytes, entries);
  try {
    for await (const entry of entries) {
      const { type } = entry.header;
      const name = entry.header.name.replace(/^(\.\/)+/, '');
      if (type === 'file' || type === 'contiguous-file' || type === undefined || type === null) {
        let ended = false;
        entry.once('end', () => (ended = true));
        await visit(name, entry as Entry);
        if (!ended) await skip(entry as Entry);
      } else {
        await skip(entry as Entry);
      }
    }
  } finally {
    bytes.destroy();
    raw.destroy();
    await feeding;
    await decoding;
  }
}

/** Reads an entry to its end without keeping its bytes. */
async function skip(entry: Entry): Promise<void> {
  for await (const _ of entry);
}

/**
 * `berth restore FILE` for an archive. Two passes over it, so that neither the backup nor its
 * blobs are ever held whole, in memory or on disk: the first reads it to its end, checking that
 * it is whole and hashing every file (every blob against its digest, the database against the
 * manifest's checksum), and writes nothing; it refuses what a backup directory would be
 * refused for, and a cut-off or damaged archive. Only then is the target touched; the second
 * pass writes the blobs (verified again) and the database last, as from a directory.
 */
async function restoreArchive(config: Config, file: string, options: { force?: boolean }, io: OpsOutput): Promise<number> {
  const paths = resolvePaths(config);
  let manifestText: string | null = null;
  let incomplete = false;
  const files = new Map<string, { hex: string; size: number }>();
  const blobs = new Map<string, number>();
  try {
    await walkArchive(file, async (name, entry) => {
      if (name === 'manifest.json') {
        const chunks: Buffer[] = [];
        let size = 0;
        for await (const chunk of entry as AsyncIterable<Buffer>) {
          size += chunk.length;
          if (size > 1024 * 1024) throw new Failure(`berth restore: ${file} holds a manifest.json too large for a Berth backup`, 2);
          chunks.push(chunk);
        }
        manifestText = Buffer.concat(chunks).toString('utf8');
      } else if (name === '.incomplete') {
        incomplete = true;
      } else if (name.startsWith('blobs/')) {
        const digest = blobEntryDigest(name);
        if (!digest)
          throw new Failure(`berth restore: ${file} holds ${name}, which is not a blob's name: it is damaged or not a Berth backup`, 3);
        blobs.set(digest, await checkBackupBlob(entry, digest, file));
      } else if (!name.includes('/')) {
        files.set(name, await digestOf(entry, 'sha256'));
      }
    });
  } catch (err) {
    if (err instanceof Failure) {
      io.err(err.message);
      return err.code;
    }
    io.err(
      `berth restore: ${file} cannot be read to its end: the archive is cut off or damaged, or is not a tar archive (${(err as Error).message}); nothing was written`,
    );
    return 3;
  }

  if (manifestText === null) {
    if (blobs.size > 0 || files.size > 0) {
      io.err(
        `berth restore: ${file} holds no manifest.json (a backup archive ends with it): it is cut off, or not a Berth backup; nothing was written`,
      );
      return 3;
    }
    io.err(`berth restore: ${file} is not a Berth backup (it holds no manifest.json)`);
    return 2;
  }
  let manifest: BackupManifest;
  try {
    manifest = JSON.parse(manifestText) as BackupManifest;
  } catch (err) {
    io.err(`berth restore: ${file} is not a Berth backup (manifest.json: ${(err as Error).message})`);
    return 2;
  }
  const refused = checkManifest(config, paths, manifest, incomplete, file, `the manifest.json in ${file}`, io);
  if (refused !== null) return refused;
  const database = files.get(manifest.database.file);
  if (!database || database.hex !== manifest.database.sha256) {
    io.err(
      `berth restore: ${manifest.database.file} in ${file} is missing or does not match the checksum in manifest.json: the backup is damaged`,
    );
    return 3;
  }
  if (manifest.blobs.storage === 'filesystem' && blobs.size !== manifest.blobs.count) {
    io.err(`berth restore: ${file} holds ${blobs.size} blobs where manifest.json says ${manifest.blobs.count}: it is damaged`);
    return 3;
  }

  const targetBlobs = path.join(paths.storageRoot, 'blobs');
  const taken = await prepareTarget(paths, manifest, targetBlobs, options, io);
  if (taken !== null) return taken;

  // The second pass (completeRestore): the archive is read again, its blobs and database checked as they are copied.
  const changed = `${file} changed while it was restored: the restore stopped before the database (run it again with --force)`;
  return completeRestore(paths, manifest, file, io, async (staged) => {
    const restoredBlobs = new Set<string>();
    let bytes = 0;
    let databaseStaged = false;
    await walkArchive(file, async (name, entry) => {
      const digest = name.startsWith('blobs/') ? blobEntryDigest(name) : null;
      if (digest && blobs.has(digest) && manifest.blobs.storage === 'filesystem' && !restoredBlobs.has(digest)) {
        bytes += await storeVerified(entry, blobPath(targetBlobs, digest), digest, changed);
        restoredBlobs.add(digest);
      } else if (name === manifest.database.file && !databaseStaged) {
        await storeVerified(entry, staged, `sha256:${manifest.database.sha256}`, changed);
        databaseStaged = true;
      }
    });
    if (!databaseStaged || (manifest.blobs.storage === 'filesystem' && restoredBlobs.size !== blobs.size)) throw new OpsError(changed);
    return { blobs: restoredBlobs.size, bytes };
  });
}
