import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { InvalidRecordError, parseRecord, type ParsedRecord } from './record.js';
import type { VulnDbStore } from './store.js';
import { isSupportedEcosystem } from './versions/index.js';
import { zipRecordFiles, type RecordFile } from './zip.js';

/** What one import of one ecosystem folder did. */
export interface ImportResult {
  ecosystem: string;
  source: string;
  /** Record files read. */
  read: number;
  /** Records written (new, or with another `modified` than the stored one). */
  imported: number;
  /** Records already stored with the same `modified`. */
  unchanged: number;
  /** Withdrawn records, and records no longer naming a supported package, removed (or not added). */
  removed: number;
  /** Records that name no package of a supported ecosystem. */
  irrelevant: number;
  /** Files that are not OSV records (bad JSON, no id): skipped. */
  skipped: number;
  /** A few of the skipped files with the reason. */
  problems: string[];
  newestModified: string | null;
  /** Set when the import could not finish (the archive is unreadable, …): what was committed before stays. */
  error?: string;
}

export class VulnDbError extends Error {}

export interface ImportOptions {
  /** Records per transaction. */
  batchSize?: number;
  signal?: AbortSignal;
  log?: (message: string) => void | Promise<void>;
}

type Item = RecordFile | { name: string; error: Error };

/**
 * Loads OSV records into the database in batches, each batch one transaction: a record and its
 * affected rows are always written together, so an import that stops half-way leaves whole
 * records. Idempotent on (id, modified); withdrawn records are removed.
 */
export class VulnDbImporter {
  constructor(
    private readonly store: VulnDbStore,
    private readonly options: ImportOptions = {},
  ) {}

  async importRecords(ecosystem: string, source: string, files: AsyncIterable<Item>): Promise<ImportResult> {
    const result: ImportResult = {
      ecosystem,
      source,
      read: 0,
      imported: 0,
      unchanged: 0,
      removed: 0,
      irrelevant: 0,
      skipped: 0,
      problems: [],
      newestModified: null,
    };
    const batchSize = this.options.batchSize ?? 500;
    let batch = new Map<string, ParsedRecord>();
    let removals = new Set<string>();
    const skip = (name: string, reason: string) => {
      result.skipped++;
      if (result.problems.length < 10) result.problems.push(`${name}: ${reason}`);
    };
    const flush = async () => {
      if (batch.size === 0 && removals.size === 0) return;
      const records = [...batch.values()];
      const gone = [...removals];
      batch = new Map();
      removals = new Set();
      // What is stored is read before the transaction, whose first statement then writes: on
      // SQLite a transaction that read first and then writes fails at once (SQLITE_BUSY, no
      // waiting) when another connection — a server on the same file — wrote in between.
      const stored = await this.store.modifiedOf(
        this.store.db,
        records.map((r) => r.id),
      );
      const changed = records.filter((r) => stored.get(r.id) !== r.modified);
      result.imported += changed.length;
      result.unchanged += records.length - changed.length;
      if (changed.length === 0 && gone.length === 0) return;
      await this.store.db.transaction().execute(async (tx) => {
        await this.store.replace(tx, changed);
        if (gone.length > 0) await this.store.remove(tx, gone);
      });
    };
    try {
      for await (const file of files) {
        this.options.signal?.throwIfAborted();
        result.read++;
        if ('error' in file) {
          skip(file.name, file.error.message);
          continue;
        }
        let record: ParsedRecord;
        try {
          record = parseRecord(JSON.parse(file.text));
        } catch (err) {
          if (err instanceof SyntaxError) skip(file.name, `not JSON (${err.message})`);
          else if (err instanceof InvalidRecordError) skip(file.name, `not an OSV record (${err.message})`);
          else throw err;
          continue;
        }
        if (record.withdrawn || record.affected.length === 0) {
          if (record.withdrawn) result.removed++;
          else result.irrelevant++;
          batch.delete(record.id);
          removals.add(record.id);
        } else {
          removals.delete(record.id);
          batch.set(record.id, record);
          if (result.newestModified === null || record.modified > result.newestModified) result.newestModified = record.modified;
        }
        if (batch.size + removals.size >= batchSize) await flush();
      }
      await flush();
    } catch (err) {
      result.error = (err as Error).message;
      await this.options.log?.(summary(result));
      return result;
    }
    await this.store.recordSource({
      ecosystem,
      source,
      importedAt: new Date().toISOString(),
      records: result.imported + result.unchanged,
      newestModified: result.newestModified,
    });
    await this.options.log?.(summary(result));
    return result;
  }

  /** Imports one zip archive (an ecosystem's all.zip). */
  importZip(ecosystem: string, file: string, source = file): Promise<ImportResult> {
    return this.importRecords(ecosystem, source, zipRecordFiles(file));
  }

  /**
   * Imports a directory laid out as the OSV export: one folder per ecosystem (`Debian/`,
   * `npm/`, …) holding its `all.zip` and/or record `*.json` files. Folders of ecosystems Berth
   * cannot match are passed over (listed in `ignored`).
   */
  async importDirectory(dir: string): Promise<{ results: ImportResult[]; ignored: string[] }> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      throw new VulnDbError(`cannot read ${dir}: ${(err as Error).message}`);
    }
    const folders = entries
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
    const ecosystems = folders.filter(isSupportedEcosystem);
    if (ecosystems.length === 0) {
      throw new VulnDbError(
        `${dir} holds no OSV ecosystem folder (expected folders such as Debian/, Alpine/, npm/, PyPI/, each with all.zip or record .json files)`,
      );
    }
    const results: ImportResult[] = [];
    for (const ecosystem of ecosystems) {
      const folder = path.join(dir, ecosystem);
      results.push(await this.importRecords(ecosystem, folder, folderRecordFiles(folder)));
    }
    return { results, ignored: folders.filter((f) => !isSupportedEcosystem(f)) };
  }
}

/** all.zip's records, then the folder's own *.json files. */
async function* folderRecordFiles(folder: string): AsyncGenerator<Item> {
  const names = (await readdir(folder)).sort();
  if (names.includes('all.zip')) yield* zipRecordFiles(path.join(folder, 'all.zip'));
  for (const name of names) {
    if (!name.endsWith('.json')) continue;
    const file = path.join(folder, name);
    if (!(await stat(file)).isFile()) continue;
    try {
      yield { name, text: await readFile(file, 'utf8') };
    } catch (err) {
      yield { name, error: err as Error };
    }
  }
}

export function summary(r: ImportResult): string {
  return (
    `${r.ecosystem}: ${r.read} file(s) read from ${r.source}; ${r.imported} record(s) imported, ${r.unchanged} unchanged, ` +
    `${r.removed} withdrawn, ${r.irrelevant} without a supported package, ${r.skipped} skipped` +
    (r.problems.length > 0 ? ` (${r.problems.join('; ')})` : '') +
    (r.error ? `; FAILED: ${r.error}` : '')
  );
}
