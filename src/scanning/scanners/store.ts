/** SQL of scanner registrations and project scanners (migration 013). */
import { randomUUID } from 'node:crypto';
import type { Selectable } from 'kysely';
import { applyQuery, applySort, countRows, type Field } from '../../db/query.js';
import type { Db } from '../../db/index.js';
import type { ScannerRegistrationsTable } from '../../db/types.js';
import { apiError } from '../../lib/errors.js';
import { nowIso } from '../../lib/clock.js';
import type { Paging } from '../../lib/paging.js';
import type { QueryTerm } from '../../lib/query.js';
import type { ScannerAuth } from './client.js';
import type { RegistrationInput, ScannerRegistration } from './registration.js';
import { isUniqueViolation } from '../../db/errors.js';

type Row = Selectable<ScannerRegistrationsTable>;

/** `q` and `sort` keys of /scanners (Harbor's registration columns). */
const fields: Record<string, Field> = {
  name: { column: 'name', type: 'string' },
  description: { column: 'description', type: 'string' },
  url: { column: 'url', type: 'string' },
  uuid: { column: 'uuid', type: 'string' },
  disabled: { column: 'disabled', type: 'boolean' },
  is_default: { column: 'is_default', type: 'boolean' },
  auth: { column: 'auth', type: 'string' },
  create_time: { column: 'created_at', type: 'time' },
  update_time: { column: 'updated_at', type: 'time' },
};

/** A unique index refused the write (SQLite or PostgreSQL). */
export class ScannerStore {
  constructor(
    readonly db: Db,
    /** The built-in registration's URL, known once the server listens. */
    private readonly builtinUrl: () => string,
  ) {}

  private view(row: Row): ScannerRegistration {
    const builtin = row.builtin === 1;
    return {
      id: Number(row.id),
      uuid: row.uuid,
      name: row.name,
      description: row.description,
      url: builtin ? this.builtinUrl() : (row.url ?? ''),
      auth: row.auth as ScannerAuth,
      accessCredential: row.access_credential ?? '',
      skipCertVerify: row.skip_cert_verify === 1,
      useInternalAddr: row.use_internal_addr === 1,
      disabled: row.disabled === 1,
      isDefault: row.is_default === 1,
      immutable: row.immutable === 1,
      builtin,
      createTime: row.created_at,
      updateTime: row.updated_at,
    };
  }

  async list(terms: QueryTerm[], sort: string | undefined, paging: Paging): Promise<{ items: ScannerRegistration[]; total: number }> {
    const filtered = applyQuery(this.db.selectFrom('scanner_registrations'), terms, fields);
    const total = await countRows(filtered);
    let ordered = filtered.selectAll();
    // Harbor's default order: the default first, then the newest.
    ordered = sort
      ? applySort(ordered, sort, fields, { column: 'id', direction: 'asc' })
      : ordered.orderBy('is_default', 'desc').orderBy('id', 'desc');
    const rows = await ordered
      .limit(paging.pageSize)
      .offset((paging.page - 1) * paging.pageSize)
      .execute();
    return { items: rows.map((r) => this.view(r)), total };
  }

  async byUuid(uuid: string): Promise<ScannerRegistration | null> {
    const row = await this.db.selectFrom('scanner_registrations').selectAll().where('uuid', '=', uuid).executeTakeFirst();
    return row ? this.view(row) : null;
  }

  async byDefault(): Promise<ScannerRegistration | null> {
    const row = await this.db.selectFrom('scanner_registrations').selectAll().where('is_default', '=', 1).executeTakeFirst();
    return row ? this.view(row) : null;
  }

  async builtin(): Promise<ScannerRegistration | null> {
    const row = await this.db.selectFrom('scanner_registrations').selectAll().where('builtin', '=', 1).executeTakeFirst();
    return row ? this.view(row) : null;
  }

  /** Creates the built-in registration once (a concurrent start loses the race quietly). Default when no other is. */
  async ensureBuiltin(values: { name: string; description: string }): Promise<void> {
    if (await this.builtin()) return;
    const now = nowIso();
    await this.db.transaction().execute(async (tx) => {
      const anyDefault = await tx.selectFrom('scanner_registrations').select('id').where('is_default', '=', 1).executeTakeFirst();
      await tx
        .insertInto('scanner_registrations')
        .values({
          uuid: randomUUID(),
          name: values.name,
          description: values.description,
          url: null,
          auth: '',
          immutable: 1,
          builtin: 1,
          is_default: anyDefault ? 0 : 1,
          created_at: now,
          updated_at: now,
        })
        .onConflict((oc) => oc.doNothing())
        .execute();
    });
  }

  /** Adds a registration; the first one becomes the default (Harbor). 409 for a name or URL taken. */
  async create(input: RegistrationInput): Promise<string> {
    const uuid = randomUUID();
    const now = nowIso();
    try {
      await this.db.transaction().execute(async (tx) => {
        await this.refuseTaken(tx, input, null);
        const first = await tx.selectFrom('scanner_registrations').select('id').limit(1).executeTakeFirst();
        await tx
          .insertInto('scanner_registrations')
          .values({ uuid, ...columns(input), is_default: first ? 0 : 1, created_at: now, updated_at: now })
          .execute();
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw apiError('CONFLICT', 'registration name or url already exists');
      throw err;
    }
    return uuid;
  }

  async update(uuid: string, input: RegistrationInput): Promise<void> {
    try {
      await this.db.transaction().execute(async (tx) => {
        await this.refuseTaken(tx, input, uuid);
        await tx
          .updateTable('scanner_registrations')
          .set({ ...columns(input), updated_at: nowIso() })
          .where('uuid', '=', uuid)
          .execute();
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw apiError('CONFLICT', 'registration name or url already exists');
      throw err;
    }
  }

  /** 409 when another registration has the name or the URL. */
  async refuseTaken(tx: Db, input: Pick<RegistrationInput, 'name' | 'url'>, except: string | null): Promise<void> {
    let q = tx
      .selectFrom('scanner_registrations')
      .select(['name', 'url'])
      .where((eb) => eb.or([eb('name', '=', input.name), eb('url', '=', input.url)]));
    if (except) q = q.where('uuid', '<>', except);
    const taken = await q.executeTakeFirst();
    if (!taken) return;
    throw apiError(
      'CONFLICT',
      taken.name === input.name ? `registration name ${input.name} already exists` : `a registration with url ${input.url} already exists`,
    );
  }

  async delete(uuid: string): Promise<void> {
    await this.db.deleteFrom('scanner_registrations').where('uuid', '=', uuid).execute();
  }

  /** Makes one enabled registration the default and every other not (Harbor: 404 when none matches). */
  async setDefault(uuid: string): Promise<boolean> {
    return this.db.transaction().execute(async (tx) => {
      const r = await tx
        .updateTable('scanner_registrations')
        .set({ is_default: 1 })
        .where('uuid', '=', uuid)
        .where('disabled', '=', 0)
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) === 0) return false;
      await tx.updateTable('scanner_registrations').set({ is_default: 0 }).where('uuid', '<>', uuid).where('is_default', '=', 1).execute();
      return true;
    });
  }

  async projectScanner(projectId: number): Promise<string | null> {
    const row = await this.db
      .selectFrom('project_scanners')
      .select('registration_uuid')
      .where('project_id', '=', projectId)
      .executeTakeFirst();
    return row?.registration_uuid ?? null;
  }

  async setProjectScanner(projectId: number, uuid: string): Promise<void> {
    await this.db
      .insertInto('project_scanners')
      .values({ project_id: projectId, registration_uuid: uuid })
      .onConflict((oc) => oc.column('project_id').doUpdateSet({ registration_uuid: uuid }))
      .execute();
  }
}

function columns(input: RegistrationInput) {
  return {
    name: input.name,
    description: input.description,
    url: input.url,
    auth: input.auth,
    access_credential: input.accessCredential === '' ? null : input.accessCredential,
    skip_cert_verify: input.skipCertVerify ? 1 : 0,
    use_internal_addr: input.useInternalAddr ? 1 : 0,
    disabled: input.disabled ? 1 : 0,
  };
}
