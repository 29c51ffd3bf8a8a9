import type { Kysely, Selectable, Transaction } from 'kysely';
import { applyQuery, applySort, countRows, type Field } from '../../db/query.js';
import type { Database, ReplicationPoliciesTable } from '../../db/types.js';
import { writeAudit, type AuditEntry } from '../../events/audit.js';
import { apiError } from '../../lib/errors.js';
import type { QueryTerm } from '../../lib/query.js';
import type { ReplicationFilter, ReplicationPolicy, TriggerType } from '../types.js';
import type { PolicyInput } from './rules.js';
import { isUniqueViolation } from '../../db/errors.js';

export type Executor = Kysely<Database> | Transaction<Database>;

/** A policy row with who created it (Harbor keeps the creator; the API does not answer it). */
export type PolicyRecord = ReplicationPolicy & { creator: string };

/** The `q` and `sort` keys the list takes (Harbor's model fields). */
const policyFields: Record<string, Field> = {
  id: { column: 'id', type: 'number' },
  name: { column: 'name', type: 'string' },
  description: { column: 'description', type: 'string' },
  creator: { column: 'creator', type: 'string' },
  src_registry_id: { column: 'src_registry_id', type: 'number' },
  dest_registry_id: { column: 'dest_registry_id', type: 'number' },
  dest_namespace: { column: 'dest_namespace', type: 'string' },
  enabled: { column: 'enabled', type: 'boolean' },
  override: { column: 'override', type: 'boolean' },
  replicate_deletion: { column: 'replicate_deletion', type: 'boolean' },
  creation_time: { column: 'created_at', type: 'time' },
  update_time: { column: 'updated_at', type: 'time' },
};

const conflict = (name: string) => apiError('CONFLICT', `replication policy ${name} already exists`);

function columns(p: PolicyInput) {
  return {
    name: p.name,
    description: p.description,
    src_registry_id: p.srcRegistryId,
    dest_registry_id: p.destRegistryId,
    dest_namespace: p.destNamespace,
    dest_namespace_replace_count: p.destNamespaceReplaceCount,
    trigger_type: p.trigger.type,
    cron: p.trigger.cron,
    filters: JSON.stringify(p.filters),
    replicate_deletion: p.replicateDeletion ? 1 : 0,
    override: p.override ? 1 : 0,
    enabled: p.enabled ? 1 : 0,
    speed_kb: p.speed,
    copy_by_chunk: p.copyByChunk ? 1 : 0,
    single_active_replication: p.singleActiveReplication ? 1 : 0,
  };
}

/** replication_policies (017). */
export class ReplicationPolicyStore {
  constructor(readonly db: Kysely<Database>) {}

  async get(id: number, executor: Executor = this.db): Promise<PolicyRecord | undefined> {
    const r = await executor.selectFrom('replication_policies').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toPolicy(r);
  }

  /** Inserts the policy with its audit record; 409 when the name is taken. */
  async create(p: PolicyInput, creator: string, now: string, audit: AuditEntry): Promise<number> {
    try {
      return await this.db.transaction().execute(async (tx) => {
        const row = await tx
          .insertInto('replication_policies')
          .values({ ...columns(p), creator, created_at: now, updated_at: now })
          .returning('id')
          .executeTakeFirstOrThrow();
        await writeAudit(tx, audit);
        return Number(row.id);
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict(p.name);
      throw err;
    }
  }

  /** Replaces the policy's fields; false when it no longer exists; 409 when the new name is taken. */
  async update(id: number, p: PolicyInput, now: string, audit: AuditEntry): Promise<boolean> {
    try {
      return await this.db.transaction().execute(async (tx) => {
        const result = await tx
          .updateTable('replication_policies')
          .set({ ...columns(p), updated_at: now })
          .where('id', '=', id)
          .executeTakeFirst();
        if (Number(result.numUpdatedRows) === 0) return false;
        await writeAudit(tx, audit);
        return true;
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict(p.name);
      throw err;
    }
  }

  /**
   * Deletes the policy (its executions and tasks go by cascade) unless one of its executions is
   * still InProgress: then the id of that execution, and nothing is deleted.
   */
  async delete(id: number, audit: AuditEntry): Promise<{ deleted: boolean; running?: number }> {
    return this.db.transaction().execute(async (tx) => {
      const running = await tx
        .selectFrom('replication_executions')
        .select('id')
        .where('policy_id', '=', id)
        .where('status', '=', 'InProgress')
        .orderBy('id')
        .limit(1)
        .executeTakeFirst();
      if (running) return { deleted: false, running: Number(running.id) };
      // Tasks first: SQLite cascades only with foreign keys on.
      const executions = tx.selectFrom('replication_executions').select('id').where('policy_id', '=', id);
      await tx.deleteFrom('replication_tasks').where('execution_id', 'in', executions).execute();
      await tx.deleteFrom('replication_executions').where('policy_id', '=', id).execute();
      const result = await tx.deleteFrom('replication_policies').where('id', '=', id).executeTakeFirst();
      if (Number(result.numDeletedRows) === 0) return { deleted: false };
      await writeAudit(tx, audit);
      return { deleted: true };
    });
  }

  async list(
    terms: QueryTerm[],
    sort: string | undefined,
    paging: { offset: number; limit: number },
  ): Promise<{ items: PolicyRecord[]; total: number }> {
    const base = applyQuery(this.db.selectFrom('replication_policies'), terms, policyFields);
    const total = await countRows(base.select('id'));
    // Harbor's default order: newest first.
    const rows = await applySort(base.selectAll(), sort, policyFields, { column: 'id', direction: 'desc' })
      .limit(paging.limit)
      .offset(paging.offset)
      .execute();
    return { items: rows.map(toPolicy), total };
  }

  /** Enabled event-based policies whose source is this Berth (read through the caller's transaction). */
  async enabledEventPolicies(executor: Executor = this.db): Promise<PolicyRecord[]> {
    const rows = await executor
      .selectFrom('replication_policies')
      .selectAll()
      .where('enabled', '=', 1)
      .where('trigger_type', '=', 'event_based')
      .where('src_registry_id', '=', 0)
      .orderBy('id')
      .execute();
    return rows.map(toPolicy);
  }

  /** Enabled scheduled policies (their schedules are kept by the service). */
  async scheduled(): Promise<PolicyRecord[]> {
    const rows = await this.db
      .selectFrom('replication_policies')
      .selectAll()
      .where('trigger_type', '=', 'scheduled')
      .orderBy('id')
      .execute();
    return rows.map(toPolicy);
  }

  /** Names of the policies (at most `limit`) that use the registry on either side. */
  async usingRegistry(registryId: number, limit = 5): Promise<{ names: string[]; total: number }> {
    const base = this.db
      .selectFrom('replication_policies')
      .where((eb) => eb.or([eb('src_registry_id', '=', registryId), eb('dest_registry_id', '=', registryId)]));
    const total = await countRows(base.select('id'));
    const rows = await base.select('name').orderBy('name').limit(limit).execute();
    return { names: rows.map((r) => r.name), total };
  }
}

export function toPolicy(r: Selectable<ReplicationPoliciesTable>): PolicyRecord {
  const src = Number(r.src_registry_id);
  const dest = Number(r.dest_registry_id);
  const type = r.trigger_type as TriggerType;
  return {
    id: Number(r.id),
    name: r.name,
    description: r.description,
    creator: r.creator,
    srcRegistryId: src === 0 ? null : src,
    destRegistryId: dest === 0 ? null : dest,
    destNamespace: r.dest_namespace,
    destNamespaceReplaceCount: Number(r.dest_namespace_replace_count),
    trigger: type === 'scheduled' ? { type, cron: r.cron } : { type },
    filters: JSON.parse(r.filters) as ReplicationFilter[],
    replicateDeletion: Number(r.replicate_deletion) === 1,
    override: Number(r.override) === 1,
    enabled: Number(r.enabled) === 1,
    speed: Number(r.speed_kb),
    copyByChunk: Number(r.copy_by_chunk) === 1,
    singleActiveReplication: Number(r.single_active_replication) === 1,
    creationTime: r.created_at,
    updateTime: r.updated_at,
  };
}
