/** SQL of registry endpoints (migration 016). Secrets arrive here sealed and leave sealed. */
import type { Selectable } from 'kysely';
import { applyQuery, applySort, countRows, type Field } from '../../db/query.js';
import type { Db } from '../../db/index.js';
import type { RegistriesTable } from '../../db/types.js';
import { nowIso } from '../../lib/clock.js';
import { apiError } from '../../lib/errors.js';
import type { Paging } from '../../lib/paging.js';
import type { QueryTerm } from '../../lib/query.js';
import { isUniqueViolation } from '../../db/errors.js';

type Row = Selectable<RegistriesTable>;

/** A stored registry endpoint; `sealedSecret` is the credential's secret as stored (never clear). */
export interface RegistryRecord {
  id: number;
  name: string;
  description: string;
  type: string;
  url: string;
  insecure: boolean;
  caCertificate: string | null;
  credentialType: string | null;
  accessKey: string | null;
  sealedSecret: string | null;
  status: string;
  statusMessage: string;
  statusTime: string | null;
  createTime: string;
  updateTime: string;
}

/** What a create or update writes (the secret already sealed). */
export interface RegistryColumns {
  name: string;
  description: string;
  type: string;
  url: string;
  insecure: boolean;
  caCertificate: string | null;
  credentialType: string | null;
  accessKey: string | null;
  sealedSecret: string | null;
  status: string;
  statusMessage: string;
}

/** `q` and `sort` keys of /registries (Harbor's registry model fields). */
const fields: Record<string, Field> = {
  id: { column: 'id', type: 'number' },
  name: { column: 'name', type: 'string' },
  description: { column: 'description', type: 'string' },
  type: { column: 'type', type: 'string' },
  url: { column: 'url', type: 'string' },
  insecure: { column: 'insecure', type: 'boolean' },
  status: { column: 'status', type: 'string' },
  credential_type: { column: 'credential_type', type: 'string' },
  creation_time: { column: 'created_at', type: 'time' },
  update_time: { column: 'updated_at', type: 'time' },
};

/** A unique index refused the write (SQLite or PostgreSQL). */
function record(row: Row): RegistryRecord {
  return {
    id: Number(row.id),
    name: row.name,
    description: row.description,
    type: row.type,
    url: row.url,
    insecure: row.insecure === 1,
    caCertificate: row.ca_certificate,
    credentialType: row.credential_type,
    accessKey: row.access_key,
    sealedSecret: row.access_secret,
    status: row.status,
    statusMessage: row.status_message,
    statusTime: row.status_time,
    createTime: row.created_at,
    updateTime: row.updated_at,
  };
}

function columns(input: RegistryColumns) {
  return {
    name: input.name,
    description: input.description,
    type: input.type,
    url: input.url,
    insecure: input.insecure ? 1 : 0,
    ca_certificate: input.caCertificate,
    credential_type: input.credentialType,
    access_key: input.accessKey,
    access_secret: input.sealedSecret,
    status: input.status,
    status_message: input.statusMessage,
  };
}

const taken = (name: string) => apiError('CONFLICT', `registry ${name} already exists`);

export class RegistryStore {
  constructor(readonly db: Db) {}

  async list(terms: QueryTerm[], sort: string | undefined, paging: Paging): Promise<{ items: RegistryRecord[]; total: number }> {
    const filtered = applyQuery(this.db.selectFrom('registries'), terms, fields);
    const total = await countRows(filtered);
    // Newest first unless sorted (Harbor's default order of its lists).
    const rows = await applySort(filtered.selectAll(), sort, fields, { column: 'id', direction: sort ? 'asc' : 'desc' })
      .limit(paging.pageSize)
      .offset(paging.offset)
      .execute();
    return { items: rows.map(record), total };
  }

  async byId(id: number): Promise<RegistryRecord | null> {
    const row = await this.db.selectFrom('registries').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? record(row) : null;
  }

  async nameTaken(name: string, except: number | null): Promise<boolean> {
    let q = this.db.selectFrom('registries').select('id').where('name', '=', name);
    if (except !== null) q = q.where('id', '<>', except);
    return (await q.executeTakeFirst()) !== undefined;
  }

  /** Inserts; 409 when the name is taken (also when a concurrent create took it first). */
  async insert(input: RegistryColumns): Promise<number> {
    const now = nowIso();
    try {
      const row = await this.db
        .insertInto('registries')
        .values({ ...columns(input), status_time: now, created_at: now, updated_at: now })
        .returning('id')
        .executeTakeFirstOrThrow();
      return Number(row.id);
    } catch (err) {
      if (isUniqueViolation(err)) throw taken(input.name);
      throw err;
    }
  }

  /** Writes every column; false when the row is gone. 409 when the name is taken. */
  async update(id: number, input: RegistryColumns): Promise<boolean> {
    const now = nowIso();
    try {
      const r = await this.db
        .updateTable('registries')
        .set({ ...columns(input), status_time: now, updated_at: now })
        .where('id', '=', id)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    } catch (err) {
      if (isUniqueViolation(err)) throw taken(input.name);
      throw err;
    }
  }

  /** Records a ping's outcome without touching update_time (not a change by a user). */
  async setStatus(id: number, status: string, message: string): Promise<void> {
    await this.db
      .updateTable('registries')
      .set({ status, status_message: message.slice(0, 1024), status_time: nowIso() })
      .where('id', '=', id)
      .execute();
  }

  async delete(id: number): Promise<boolean> {
    const r = await this.db.deleteFrom('registries').where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  /** Every stored sealed secret, for rotation. */
  async sealedSecrets(): Promise<Array<{ id: number; sealed: string }>> {
    const rows = await this.db.selectFrom('registries').select(['id', 'access_secret']).where('access_secret', 'is not', null).execute();
    return rows.map((r) => ({ id: Number(r.id), sealed: r.access_secret! }));
  }

  /** Replaces a sealed secret only if it is still `previous` (an edit in between wins); true when replaced. */
  async replaceSecret(id: number, previous: string, next: string): Promise<boolean> {
    const r = await this.db
      .updateTable('registries')
      .set({ access_secret: next })
      .where('id', '=', id)
      .where('access_secret', '=', previous)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }
}
