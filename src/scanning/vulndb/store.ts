import { sql, type Transaction } from 'kysely';
import type { Db } from '../../db/index.js';
import type { Database } from '../../db/types.js';
import type { ParsedRecord, StoredAdvisory, StoredAffected } from './record.js';

type Executor = Db | Transaction<Database>;

/** An affected row of a lookup. */
export interface AffectedRow {
  advisoryId: string;
  ecosystem: string;
  package: string;
  ecosystemFull: string;
  affected: StoredAffected;
}

/** What to look up in one ecosystem: package names, and the full ecosystems (with release) wanted. */
export interface LookupKeys {
  names: Set<string>;
  releases: Set<string>;
}

export interface SourceStatus {
  ecosystem: string;
  source: string;
  importedAt: string;
  records: number;
  newestModified: string | null;
}

/** Rows per INSERT: well below both dialects' limits on bound parameters. */
const insertChunk = 500;
/** Values per IN list. */
const inChunk = 500;

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** The vulnerability database's tables (migration 012). */
export class VulnDbStore {
  constructor(readonly db: Db) {}

  /** The stored `modified` of each of these records that exists. */
  async modifiedOf(tx: Executor, ids: string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const part of chunks(ids, inChunk)) {
      const rows = await tx.selectFrom('vuln_advisories').select(['id', 'modified']).where('id', 'in', part).execute();
      for (const r of rows) out.set(r.id, r.modified);
    }
    return out;
  }

  /** Removes these records and their affected rows. */
  async remove(tx: Executor, ids: string[]): Promise<number> {
    let removed = 0;
    for (const part of chunks(ids, inChunk)) {
      await tx.deleteFrom('vuln_affected').where('advisory_id', 'in', part).execute();
      const r = await tx.deleteFrom('vuln_advisories').where('id', 'in', part).executeTakeFirst();
      removed += Number(r.numDeletedRows);
    }
    return removed;
  }

  /** Writes these records (replacing any stored under the same ids) with their affected rows. */
  async replace(tx: Executor, records: ParsedRecord[]): Promise<void> {
    if (records.length === 0) return;
    await this.remove(
      tx,
      records.map((r) => r.id),
    );
    for (const part of chunks(records, insertChunk)) {
      await tx
        .insertInto('vuln_advisories')
        .values(part.map((r) => ({ id: r.id, modified: r.modified, data: JSON.stringify(r.advisory) })))
        .execute();
    }
    const rows = records.flatMap((r) =>
      r.affected.map((a) => ({
        advisory_id: r.id,
        ecosystem: a.ecosystem,
        package: a.package,
        ecosystem_full: a.ecosystemFull,
        data: JSON.stringify(a.data),
      })),
    );
    for (const part of chunks(rows, insertChunk)) await tx.insertInto('vuln_affected').values(part).execute();
  }

  /**
   * The affected rows for these (ecosystem, package) keys whose ecosystem is one of the wanted
   * releases, the bare ecosystem, or finer than a wanted release: one query per 500 names
   * (several ecosystems' names share a query).
   */
  async lookup(keys: Map<string, LookupKeys>): Promise<AffectedRow[]> {
    const batches: Array<[string, string[], string[]]> = [];
    for (const [ecosystem, { names, releases }] of keys) {
      for (const part of chunks([...names], inChunk)) batches.push([ecosystem, part, [...releases]]);
    }
    const rows: AffectedRow[] = [];
    let pending: typeof batches = [];
    let size = 0;
    const flush = async () => {
      if (pending.length === 0) return;
      const batch = pending;
      pending = [];
      size = 0;
      const found = await this.db
        .selectFrom('vuln_affected')
        .select(['advisory_id', 'ecosystem', 'package', 'ecosystem_full', 'data'])
        .where((eb) =>
          eb.or(
            batch.map(([ecosystem, names, releases]) =>
              eb.and([
                eb('ecosystem', '=', ecosystem),
                eb('package', 'in', names),
                eb.or([
                  eb('ecosystem_full', 'in', [ecosystem, ...releases]),
                  // Finer than a release: `Red Hat:enterprise_linux:9::appstream` for `Red Hat:enterprise_linux:9`.
                  ...releases
                    .filter((r) => r !== ecosystem)
                    .map((r) => eb(eb.fn('substr', ['ecosystem_full', eb.val(1), eb.val(r.length + 1)]), '=', `${r}:`)),
                ]),
              ]),
            ),
          ),
        )
        .execute();
      for (const a of found) {
        rows.push({
          advisoryId: a.advisory_id,
          ecosystem: a.ecosystem,
          package: a.package,
          ecosystemFull: a.ecosystem_full,
          affected: JSON.parse(a.data) as StoredAffected,
        });
      }
    };
    for (const b of batches) {
      if (size + b[1].length > inChunk) await flush();
      pending.push(b);
      size += b[1].length;
    }
    await flush();
    return rows;
  }

  /** These records (trimmed), by id. */
  async advisories(ids: Iterable<string>): Promise<Map<string, StoredAdvisory>> {
    const out = new Map<string, StoredAdvisory>();
    for (const part of chunks([...new Set(ids)], inChunk)) {
      const rows = await this.db.selectFrom('vuln_advisories').select(['id', 'data']).where('id', 'in', part).execute();
      for (const r of rows) out.set(r.id, JSON.parse(r.data) as StoredAdvisory);
    }
    return out;
  }

  async recordSource(s: SourceStatus): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('vulndb_sources').where('ecosystem', '=', s.ecosystem).execute();
      await tx
        .insertInto('vulndb_sources')
        .values({
          ecosystem: s.ecosystem,
          source: s.source,
          imported_at: s.importedAt,
          records: s.records,
          newest_modified: s.newestModified,
        })
        .execute();
    });
  }

  async sources(): Promise<SourceStatus[]> {
    const rows = await this.db.selectFrom('vulndb_sources').selectAll().orderBy('ecosystem').execute();
    return rows.map((r) => ({
      ecosystem: r.ecosystem,
      source: r.source,
      importedAt: r.imported_at,
      records: Number(r.records),
      newestModified: r.newest_modified,
    }));
  }

  /** The newest `modified` of any imported source; null before the first import. */
  async newestModified(): Promise<string | null> {
    const row = await this.db
      .selectFrom('vulndb_sources')
      .select(sql<string | null>`max(newest_modified)`.as('newest'))
      .executeTakeFirst();
    return row?.newest ?? null;
  }

  async advisoryCount(): Promise<number> {
    const row = await this.db
      .selectFrom('vuln_advisories')
      .select(sql<number>`count(*)`.as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** The newest job of a type (the last VULNDB_UPDATE), for the status. */
  async lastJob(type: string) {
    return this.db
      .selectFrom('jobs')
      .select(['id', 'status', 'created_at', 'updated_at', 'last_error'])
      .where('type', '=', type)
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
  }
}
