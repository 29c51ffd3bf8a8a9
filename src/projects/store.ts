import { sql, type Transaction } from 'kysely';
import type { RoleId } from '../auth/rbac.js';
import type { Db } from '../db/index.js';
import { readCount, readCounts } from '../db/counts.js';
import { applyQuery, applySort, countRows, likeFragment, type Field } from '../db/query.js';
import { isKnownRepository } from '../db/repository-filters.js';
import type { Database, Project } from '../db/types.js';
import { writeAudit, type AuditEntry } from '../events/audit.js';
import type { Paging } from '../lib/paging.js';
import type { QueryTerm } from '../lib/query.js';
import { isUniqueViolation } from '../db/errors.js';
import { preparedQuery } from '../db/prepared.js';
import { StampedReadCache } from '../db/read-cache.js';

/** A project with its owner's name (null when the owner is gone or there never was one). */
export interface ProjectRow extends Project {
  owner_name: string | null;
}

/** The `q` and `sort` keys GET /projects accepts. */
export const projectFields: Record<string, Field> = {
  name: { column: 'projects.name', type: 'string' },
  project_id: { column: 'projects.id', type: 'number' },
  owner_id: { column: 'projects.owner_id', type: 'number' },
  owner: { column: 'users.username', type: 'string' },
  public: { column: 'projects.public', type: 'boolean' },
  creation_time: { column: 'projects.created_at', type: 'time' },
  update_time: { column: 'projects.updated_at', type: 'time' },
};

/** Which projects a caller may see: all of them, or public ones and those named. */
export type Visibility = { kind: 'all' } | { kind: 'some'; includePublic: boolean; ids: number[]; names: string[] };

export interface ProjectFilter {
  visibility: Visibility;
  /** Fuzzy match on the name. */
  name?: string;
  /** Exact owner username. */
  owner?: string;
  public?: boolean;
}

export interface NewProject {
  name: string;
  public: boolean;
  ownerId: number | null;
  /** The creator's role as a member (Project Admin), or null when the creator is not a user. */
  ownerRole: RoleId | null;
  storageLimit: number;
  /** Every key but `public`, which is a column. */
  metadata: Record<string, string>;
  /** The registry endpoint of a proxy cache project, else null. */
  registryId?: number | null;
  now: string;
}

export class ProjectStore {
  /** What /v2's access check reads on every request: compiled once (db/prepared.ts), kept while the database's change stamp holds. */
  private readonly refQuery: (name: string) => Promise<Array<{ id: number; name: string; public: number }>>;
  private readonly refs: StampedReadCache<{ id: number; name: string; public: boolean }>;

  constructor(
    private readonly db: Db,
    /** The database's change stamp (SQLite; db/read-cache.ts). */
    changeStamp?: () => number,
  ) {
    this.refQuery = preparedQuery(db, 1, (name: string) =>
      db.selectFrom('projects').select(['id', 'name', 'public']).where('name', '=', name),
    );
    this.refs = new StampedReadCache(changeStamp);
  }

  /** A project's id, name and visibility by name. */
  async refByName(name: string): Promise<{ id: number; name: string; public: boolean } | undefined> {
    return this.refs.get(name, async () => {
      const row = (await this.refQuery(name))[0];
      return row && { id: Number(row.id), name: row.name, public: row.public === 1 };
    });
  }

  findByName(name: string): Promise<Project | undefined> {
    return this.db.selectFrom('projects').selectAll().where('name', '=', name).executeTakeFirst();
  }

  byId(id: number): Promise<Project | undefined> {
    return this.db.selectFrom('projects').selectAll().where('id', '=', id).executeTakeFirst();
  }

  private rows() {
    return this.db.selectFrom('projects').leftJoin('users', 'users.id', 'projects.owner_id');
  }

  /** The project with its owner's name. */
  row(id: number): Promise<ProjectRow | undefined> {
    return this.rows().selectAll('projects').select('users.username as owner_name').where('projects.id', '=', id).executeTakeFirst();
  }

  /** A bare project, without owner or audit record (tests and seeding). */
  async insert(name: string, isPublic: boolean, now: string): Promise<Project> {
    return this.db
      .insertInto('projects')
      .values({ name, public: isPublic ? 1 : 0, created_at: now, updated_at: now })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  /**
   * Creates the default project owned by `ownerId`, its Project Admin member, in one
   * transaction and without an audit record (it is part of the first start, as in Harbor).
   * False when the name is already taken (another instance starting at the same time).
   */
  async insertDefault(name: string, ownerId: number, ownerRole: RoleId, now: string): Promise<boolean> {
    try {
      await this.db.transaction().execute(async (tx) => {
        const project = await tx
          .insertInto('projects')
          .values({ name, public: 1, owner_id: ownerId, created_at: now, updated_at: now })
          .returning('id')
          .executeTakeFirstOrThrow();
        await this.addOwnerMember(tx, Number(project.id), ownerId, ownerRole, now);
      });
      return true;
    } catch (err) {
      if (isUniqueViolation(err) && (await this.findByName(name))) return false;
      throw err;
    }
  }

  /**
   * Gives a project without an owner (`library` as earlier Berth versions created it) its owner
   * and the owner's membership, unless a membership of that user is already there.
   */
  async adoptOwnerless(id: number, ownerId: number, ownerRole: RoleId, now: string): Promise<boolean> {
    return this.db.transaction().execute(async (tx) => {
      const updated = await tx
        .updateTable('projects')
        .set({ owner_id: ownerId })
        .where('id', '=', id)
        .where('owner_id', 'is', null)
        .executeTakeFirst();
      if (Number(updated.numUpdatedRows) === 0) return false;
      await this.addOwnerMember(tx, id, ownerId, ownerRole, now);
      return true;
    });
  }

  private async addOwnerMember(tx: Transaction<Database>, projectId: number, userId: number, role: RoleId, now: string): Promise<void> {
    await tx
      .insertInto('project_members')
      .values({ project_id: projectId, entity_type: 'u', entity_id: userId, role_id: role, creation_time: now, update_time: now })
      .onConflict((oc) => oc.columns(['project_id', 'entity_type', 'entity_id']).doNothing())
      .execute();
  }

  /**
   * Creates a project with its metadata, its owner's membership and the audit record, in one
   * transaction (the owner's membership is part of creating a project, as in Harbor's project
   * DAO). Returns null when the name is taken.
   */
  /** `within` writes more in the same transaction (a CVE allowlist), given the new id. */
  async create(
    p: NewProject,
    audit: AuditEntry,
    within?: (tx: Transaction<Database>, id: number) => Promise<void>,
  ): Promise<Project | null> {
    try {
      return await this.db.transaction().execute(async (tx) => {
        const project = await tx
          .insertInto('projects')
          .values({
            name: p.name,
            public: p.public ? 1 : 0,
            owner_id: p.ownerId,
            storage_limit: p.storageLimit,
            registry_id: p.registryId ?? null,
            created_at: p.now,
            updated_at: p.now,
          })
          .returningAll()
          .executeTakeFirstOrThrow();
        const id = Number(project.id);
        const metadata = Object.entries(p.metadata).map(([name, value]) => ({ project_id: id, name, value }));
        if (metadata.length > 0) await tx.insertInto('project_metadata').values(metadata).execute();
        if (p.ownerId !== null && p.ownerRole !== null) {
          await tx
            .insertInto('project_members')
            .values({
              project_id: id,
              entity_type: 'u',
              entity_id: p.ownerId,
              role_id: p.ownerRole,
              creation_time: p.now,
              update_time: p.now,
            })
            .execute();
        }
        if (within) await within(tx, id);
        await writeAudit(tx, { ...audit, projectId: id });
        return project;
      });
    } catch (err) {
      if (isUniqueViolation(err) && (await this.findByName(p.name))) return null;
      throw err;
    }
  }

  /** Sets `public` and any metadata given (added or replaced), and the update time. */
  async update(
    id: number,
    changes: { public?: boolean; metadata: Record<string, string> },
    now: string,
    audit: AuditEntry,
    within?: (tx: Transaction<Database>) => Promise<void>,
  ): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx
        .updateTable('projects')
        .set({ updated_at: now, ...(changes.public !== undefined && { public: changes.public ? 1 : 0 }) })
        .where('id', '=', id)
        .execute();
      for (const [name, value] of Object.entries(changes.metadata)) {
        await tx
          .insertInto('project_metadata')
          .values({ project_id: id, name, value })
          .onConflict((oc) => oc.columns(['project_id', 'name']).doUpdateSet({ value }))
          .execute();
      }
      if (within) await within(tx);
      await writeAudit(tx, audit);
    });
  }

  /** Adds a metadata key; false (and nothing written) when the project already has it. */
  async addMetadata(id: number, name: string, value: string, now: string, audit: AuditEntry): Promise<boolean> {
    return this.db.transaction().execute(async (tx) => {
      // Not a read then a write: two concurrent adds of one key would both read nothing.
      const inserted = await tx
        .insertInto('project_metadata')
        .values({ project_id: id, name, value })
        .onConflict((oc) => oc.columns(['project_id', 'name']).doNothing())
        .executeTakeFirst();
      if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 0) return false;
      await tx.updateTable('projects').set({ updated_at: now }).where('id', '=', id).execute();
      await writeAudit(tx, audit);
      return true;
    });
  }

  /** Removes a metadata key; false (and nothing written) when the project does not have it. */
  async deleteMetadata(id: number, name: string, now: string, audit: AuditEntry): Promise<boolean> {
    return this.db.transaction().execute(async (tx) => {
      const result = await tx.deleteFrom('project_metadata').where('project_id', '=', id).where('name', '=', name).executeTakeFirst();
      if (Number(result.numDeletedRows) === 0) return false;
      await tx.updateTable('projects').set({ updated_at: now }).where('id', '=', id).execute();
      await writeAudit(tx, audit);
      return true;
    });
  }

  /** Stored metadata (every key but `public`) of each project. */
  async metadataOf(ids: number[]): Promise<Map<number, Record<string, string>>> {
    const out = new Map<number, Record<string, string>>(ids.map((id) => [id, {}]));
    if (ids.length === 0) return out;
    const rows = await this.db.selectFrom('project_metadata').selectAll().where('project_id', 'in', ids).orderBy('name').execute();
    for (const r of rows) out.get(Number(r.project_id))![r.name] = r.value;
    return out;
  }

  /**
   * Deletes a project that holds no repository (empty ones count), in one transaction with its
   * audit record. Repository rows left by uploads that never became an artifact go with it
   * (with their upload sessions); metadata, members and robots follow by cascade.
   */
  async delete(id: number, audit: AuditEntry, within?: (tx: Transaction<Database>) => Promise<void>): Promise<'deleted' | 'not-empty'> {
    return this.db.transaction().execute(async (tx) => {
      const held = await tx
        .selectFrom('repositories as r')
        .select('r.id')
        .where('r.project_id', '=', id)
        .where((eb) => isKnownRepository(eb))
        .limit(1)
        .executeTakeFirst();
      if (held) return 'not-empty';
      await tx.deleteFrom('repositories').where('project_id', '=', id).execute();
      await tx.deleteFrom('projects').where('id', '=', id).execute();
      if (within) await within(tx);
      await writeAudit(tx, audit);
      return 'deleted';
    });
  }

  /** Projects the filter and `q` terms select, not yet ordered or paged. */
  private filtered(filter: ProjectFilter, terms: QueryTerm[] = []) {
    let qb = applyQuery(this.rows(), terms, projectFields);
    const v = filter.visibility;
    if (v.kind === 'some') {
      qb = qb.where((eb) => {
        const ors = [];
        if (v.includePublic) ors.push(eb('projects.public', '=', 1));
        if (v.ids.length > 0) ors.push(eb('projects.id', 'in', v.ids));
        if (v.names.length > 0) ors.push(eb('projects.name', 'in', v.names));
        return ors.length > 0 ? eb.or(ors) : sql<boolean>`1 = 0`;
      });
    }
    if (filter.name) qb = qb.where(likeFragment('projects.name', filter.name));
    if (filter.owner) qb = qb.where('users.username', '=', filter.owner);
    if (filter.public !== undefined) qb = qb.where('projects.public', '=', filter.public ? 1 : 0);
    return qb;
  }

  async list(
    filter: ProjectFilter,
    terms: QueryTerm[],
    sort: string | undefined,
    paging: Paging,
  ): Promise<{ items: ProjectRow[]; total: number }> {
    const qb = this.filtered(filter, terms);
    const total = await (this.unfilteredCount(filter, terms) ?? countRows(qb));
    const selected = qb.selectAll('projects').select('users.username as owner_name');
    // Harbor lists by name unless told otherwise.
    const ordered = sort
      ? applySort(selected, sort, projectFields, { column: 'projects.id', direction: 'asc' })
      : selected.orderBy('projects.name');
    const items = await ordered.limit(paging.pageSize).offset(paging.offset).execute();
    return { items, total };
  }

  /** Every project the filter selects, by name (for /search). */
  matching(filter: ProjectFilter): Promise<ProjectRow[]> {
    return this.filtered(filter).selectAll('projects').select('users.username as owner_name').orderBy('projects.name').execute();
  }

  /** How many projects are proxy caches of the registry endpoint (its deletion is refused while any is). */
  async countByRegistry(registryId: number): Promise<number> {
    const row = await this.db
      .selectFrom('projects')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('registry_id', '=', registryId)
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  /** Ids of every project the filter selects. */
  async ids(filter: ProjectFilter): Promise<number[]> {
    const rows = await this.filtered(filter).select('projects.id').execute();
    return rows.map((r) => Number(r.id));
  }

  count(filter: ProjectFilter): Promise<number> {
    return this.unfilteredCount(filter) ?? countRows(this.filtered(filter));
  }

  /** Every project, or every public one: the database's kept counts (db/counts.ts), not a scan. */
  private unfilteredCount(filter: ProjectFilter, terms: QueryTerm[] = []): Promise<number> | undefined {
    if (terms.length > 0 || filter.name || filter.owner || filter.visibility.kind !== 'all') return undefined;
    if (filter.public === undefined) return readCount(this.db, 'projects');
    return filter.public
      ? readCount(this.db, 'projects.public')
      : readCounts(this.db, ['projects', 'projects.public']).then((c) => c.projects - c['projects.public']);
  }
}
