/**
 * RPM packages (RHEL, UBI, Fedora, Rocky, Alma, SUSE) from the SQLite rpmdb current
 * distributions keep: its Packages table holds one RPM header blob per package, parsed here.
 * The Berkeley DB (EL7/8) and NDB (older SUSE) databases are recognised and reported, not read.
 */
import Database from 'better-sqlite3';
import type { Readable } from 'node:stream';
import type { Package } from '../types.js';
import type { Analyzer, AnalyzerResult } from './analyzer.js';

const sqlitePaths = new Set(['var/lib/rpm/rpmdb.sqlite', 'usr/lib/sysimage/rpm/rpmdb.sqlite', 'usr/share/rpm/rpmdb.sqlite']);
const berkeleyPaths = new Set(['var/lib/rpm/Packages']);
const ndbPaths = new Set(['var/lib/rpm/Packages.db', 'usr/lib/sysimage/rpm/Packages.db']);

/** The largest rpmdb.sqlite read into memory (a container image's is a few MB, a full RHEL install tens of MB). */
const maxDatabaseBytes = 256 * 1024 * 1024;

export const rpmTags = {
  name: 1000,
  version: 1001,
  release: 1002,
  epoch: 1003,
  vendor: 1011,
  license: 1014,
  arch: 1022,
  sourceRpm: 1044,
} as const;

const typeInt32 = 4;
const typeString = 6;
const typeStringArray = 8;
const typeI18nString = 9;

/** The values of the tags asked for, from one header blob (`il`, `dl`, index entries, data store). */
export function readHeader(blob: Uint8Array, wanted: ReadonlySet<number>): Map<number, string | number> {
  const buf = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  if (buf.length < 8) throw new Error(`an RPM header of ${buf.length} bytes is too short`);
  const indexCount = buf.readUInt32BE(0);
  const dataLength = buf.readUInt32BE(4);
  const dataStart = 8 + indexCount * 16;
  if (indexCount > 0x10000 || dataStart + dataLength > buf.length) {
    throw new Error(`an RPM header claims ${indexCount} entries and ${dataLength} data bytes in ${buf.length} bytes`);
  }
  const values = new Map<number, string | number>();
  for (let i = 0; i < indexCount; i++) {
    const at = 8 + i * 16;
    const tag = buf.readInt32BE(at);
    if (!wanted.has(tag)) continue;
    const type = buf.readUInt32BE(at + 4);
    const offset = buf.readInt32BE(at + 8);
    const count = buf.readUInt32BE(at + 12);
    if (offset < 0 || offset >= dataLength || count === 0) continue;
    const start = dataStart + offset;
    if (type === typeInt32) {
      if (offset + 4 <= dataLength) values.set(tag, buf.readInt32BE(start));
    } else if (type === typeString || type === typeStringArray || type === typeI18nString) {
      // Arrays and translated strings: the first value (the untranslated one).
      let end = buf.indexOf(0, start);
      if (end < 0 || end > dataStart + dataLength) end = dataStart + dataLength;
      values.set(tag, buf.toString('utf8', start, end));
    }
  }
  return values;
}

const wantedTags = new Set<number>(Object.values(rpmTags));

/** `name-version-release.src.rpm` → its name and version-release. */
export function parseSourceRpm(file: string): { name: string; version: string } | null {
  const m = /^(.+)-([^-]+)-([^-]+)\.(?:no)?src\.rpm$/.exec(file);
  return m ? { name: m[1], version: `${m[2]}-${m[3]}` } : null;
}

/** One package from its header, or null for rpm's pseudo-packages (imported GPG keys). */
export function packageFromHeader(blob: Uint8Array, path: string, layer: number): Package | null {
  const tags = readHeader(blob, wantedTags);
  const name = tags.get(rpmTags.name);
  const version = tags.get(rpmTags.version);
  const release = tags.get(rpmTags.release);
  if (typeof name !== 'string' || typeof version !== 'string' || name === 'gpg-pubkey') return null;
  const epoch = tags.get(rpmTags.epoch);
  const epochPrefix = typeof epoch === 'number' && epoch > 0 ? `${epoch}:` : '';
  const full = `${epochPrefix}${version}${typeof release === 'string' && release !== '' ? `-${release}` : ''}`;
  const sourceRpm = tags.get(rpmTags.sourceRpm);
  const source = typeof sourceRpm === 'string' ? parseSourceRpm(sourceRpm) : null;
  const arch = tags.get(rpmTags.arch);
  const license = tags.get(rpmTags.license);
  return {
    // The OS found after the walk turns this into Red Hat:enterprise_linux:9, Rocky Linux:9, … (inventory/index.ts).
    ecosystem: 'Red Hat',
    name,
    version: full,
    sourceName: source?.name ?? name,
    sourceVersion: source ? `${epochPrefix}${source.version}` : full,
    purl: '',
    ...(typeof license === 'string' && license !== '' && { license }),
    ...(typeof arch === 'string' && arch !== '' && { arch }),
    path,
    layer,
  };
}

/** The packages of an rpmdb.sqlite held in memory (never written to disk). */
export function sqliteRpmPackages(bytes: Buffer, path: string, layer: number): Package[] {
  if (bytes.subarray(0, 16).toString('latin1') !== 'SQLite format 3\0') {
    throw new Error('it is not an SQLite database');
  }
  // A database left in WAL mode cannot be opened from memory; the pages themselves are the
  // same, so mark it as a rollback-journal database (the uncheckpointed -wal file is not read).
  if (bytes[18] === 2 || bytes[19] === 2) {
    bytes[18] = 1;
    bytes[19] = 1;
  }
  const db = new Database(bytes, { readonly: true });
  try {
    const packages: Package[] = [];
    for (const row of db.prepare('SELECT blob FROM Packages ORDER BY hnum').iterate() as Iterable<{ blob: Buffer }>) {
      const pkg = packageFromHeader(row.blob, path, layer);
      if (pkg) packages.push(pkg);
    }
    return packages;
  } finally {
    db.close();
  }
}

async function readAll(stream: Readable, size: number): Promise<Buffer> {
  const bytes = Buffer.allocUnsafe(size);
  let offset = 0;
  for await (const chunk of stream) {
    const data = chunk as Buffer;
    if (offset + data.length > size) throw new Error(`the file is longer than its ${size}-byte tar header says`);
    data.copy(bytes, offset);
    offset += data.length;
  }
  return bytes.subarray(0, offset);
}

export const rpmAnalyzer: Analyzer = {
  name: 'rpm',
  version: 1,
  maxBytes: maxDatabaseBytes,
  wants: (path) => sqlitePaths.has(path) || berkeleyPaths.has(path) || ndbPaths.has(path),
  analyze({ path, layer, bytes }) {
    return analyzeBytes(path, layer, Buffer.from(bytes));
  },
  async analyzeStream({ path, layer, size, stream }): Promise<AnalyzerResult> {
    if (!sqlitePaths.has(path) || size > maxDatabaseBytes) {
      stream.resume();
      if (size > maxDatabaseBytes && sqlitePaths.has(path)) {
        return {
          notes: [
            `${path} (layer ${layer}) is ${size} bytes, more than the ${maxDatabaseBytes} bytes Berth reads of an rpmdb; its packages are not listed`,
          ],
        };
      }
      return analyzeBytes(path, layer, Buffer.alloc(0));
    }
    return analyzeBytes(path, layer, await readAll(stream, size));
  },
};

function analyzeBytes(path: string, layer: number, bytes: Buffer): AnalyzerResult {
  if (berkeleyPaths.has(path)) {
    return {
      notes: [
        `${path} (layer ${layer}) is an older Berkeley DB rpmdb (RHEL/CentOS 7 and 8 era), which Berth cannot read: the image's RPM packages are not listed`,
      ],
    };
  }
  if (ndbPaths.has(path)) {
    return {
      notes: [`${path} (layer ${layer}) is an NDB rpmdb (older SUSE), which Berth cannot read: the image's RPM packages are not listed`],
    };
  }
  try {
    return { packages: sqliteRpmPackages(bytes, path, layer) };
  } catch (err) {
    return { notes: [`${path} (layer ${layer}) could not be read as an rpmdb: ${(err as Error).message}`] };
  }
}
