import { sql, type Insertable, type Kysely, type Selectable, type Transaction, type Updateable } from 'kysely';
import type { Database, PreheatExecutionsTable, PreheatInstancesTable, PreheatPoliciesTable, PreheatTasksTable } from '../db/types.js';
import { applyQuery, applySort, countRows, type Field } from '../db/query.js';
import type { QueryTerm } from '../lib/query.js';
import type { RunStatus } from './types.js';

type Executor = Kysely<Database> | Transaction<Database>;

export type InstanceRow = Selectable<PreheatInstancesTable>;
export type PolicyRow = Selectable<PreheatPoliciesTable>;
export type ExecutionRow = Selectable<PreheatExecutionsTable>;
export type TaskRow = Selectable<PreheatTasksTable>;

export interface Page<T> {
  items: T[];
  total: number;
}

export interface Paging {
  offset: number;
  limit: number;
}

import type { TaskCounts } from '../lib/executions.js';

export type { TaskCounts };

/** What a candidate query reads of one artifact (tags, labels, signature, index children). */
export interface ArtifactFacts {
  artifactId: number;
  repositoryId: number;
  repository: string;
  digest: string;
  mediaType: string;
  tags: string[];
  labels: string[];
  signed: boolean;
  children: Array<{ digest: string; mediaType: string }>;
}

/** Artifact types Harbor preheats (provider.SupportedTypes, upper-cased as artifacts store them). */
const preheatableTypes = ['IMAGE', 'CNAI'];
const signatureTypes = ['signature.cosign', 'signature.notation'];

export type NewInstance = Insertable<PreheatInstancesTable>;
export type NewPolicy = Insertable<PreheatPoliciesTable>;

const str = (column: string): Field => ({ column, type: 'string' });
const num = (column: string): Field => ({ column, type: 'number' });
const time = (column: string): Field => ({ column, type: 'time' });
const flag = (column: string): Field => ({ column, type: 'boolean' });

/** The `q`/`sort` keys of each list (Harbor's field names), and their columns. */
const instanceFields: Record<string, Field> = {
  id: num('id'),
  name: str('name'),
  description: str('description'),
  vendor: str('vendor'),
  endpoint: str('endpoint'),
  auth_mode: str('auth_mode'),
  status: str('status'),
  enabled: flag('enabled'),
  default: flag('is_default'),
  setup_timestamp: num('setup_timestamp'),
};
const policyFields: Record<string, Field> = {
  id: num('id'),
  name: str('name'),
  description: str('description'),
  provider_id: num('provider_id'),
  enabled: flag('enabled'),
  creation_time: time('created_at'),
  update_time: time('updated_at'),
};
const executionFields: Record<string, Field> = {
  id: num('id'),
  status: str('status'),
  trigger: str('trigger'),
  start_time: time('start_time'),
  end_time: time('end_time'),
};
const taskFields: Record<string, Field> = {
  id: num('id'),
  status: str('status'),
  repository: str('repository'),
  tag: str('tag'),
  digest: str('digest'),
  creation_time: time('creation_time'),
  start_time: time('start_time'),
  end_time: time('end_time'),
};

/** Preheat's rows (instances, policies, executions, tasks) and the read-only candidate queries on the registry's tables. */
export class PreheatStore {
  constructor(readonly db: Kysely<Database>) {}

  // Instances.

  async instances(terms: QueryTerm[], sort: string | undefined, paging: Paging): Promise<Page<InstanceRow>> {
    const filtered = applyQuery(this.db.selectFrom('preheat_instances'), terms, instanceFields);
    const total = await countRows(filtered);
    const items = await applySort(filtered.selectAll(), sort, instanceFields, { column: 'id', direction: 'asc' })
      .offset(paging.offset)
      .limit(paging.limit)
      .execute();
    return { items, total };
  }

  async allInstances(): Promise<InstanceRow[]> {
    return this.db.selectFrom('preheat_instances').selectAll().orderBy('id').execute();
  }

  async instance(id: number): Promise<InstanceRow | undefined> {
    return this.db.selectFrom('preheat_instances').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async instanceByName(name: string): Promise<InstanceRow | undefined> {
    return this.db.selectFrom('preheat_instances').selectAll().where('name', '=', name).executeTakeFirst();
  }

  async instanceByEndpoint(endpoint: string): Promise<InstanceRow | undefined> {
    return this.db.selectFrom('preheat_instances').selectAll().where('endpoint', '=', endpoint).executeTakeFirst();
  }

  /** Inserts an instance; a default one takes the flag from any other. Undefined when the name is taken. */
  async insertInstance(row: NewInstance): Promise<number | undefined> {
    return this.db.transaction().execute(async (tx) => {
      const inserted = await tx
        .insertInto('preheat_instances')
        .values(row)
        .onConflict((oc) => oc.column('name').doNothing())
        .returning('id')
        .executeTakeFirst();
      if (!inserted) return undefined;
      if (row.is_default === 1) await tx.updateTable('preheat_instances').set({ is_default: 0 }).where('id', '!=', inserted.id).execute();
      return Number(inserted.id);
    });
  }

  async updateInstance(id: number, changes: Updateable<PreheatInstancesTable>): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.updateTable('preheat_instances').set(changes).where('id', '=', id).execute();
      if (changes.is_default === 1) await tx.updateTable('preheat_instances').set({ is_default: 0 }).where('id', '!=', id).execute();
    });
  }

  async setInstanceStatus(id: number, status: string): Promise<void> {
    await this.db.updateTable('preheat_instances').set({ status }).where('id', '=', id).execute();
  }

  async deleteInstance(id: number): Promise<void> {
    await this.db.deleteFrom('preheat_instances').where('id', '=', id).execute();
  }

  /** Rows whose credential is sealed (for `berth secrets rotate`). */
  async sealedCredentials(): Promise<Array<{ id: number; sealed: string }>> {
    const rows = await this.db
      .selectFrom('preheat_instances')
      .select(['id', 'auth_info_sealed'])
      .where('auth_info_sealed', 'is not', null)
      .execute();
    return rows.map((r) => ({ id: Number(r.id), sealed: r.auth_info_sealed! }));
  }

  /** Replaces a sealed credential only if it is still the one read (a concurrent update wins). */
  async replaceSealed(id: number, old: string, sealed: string): Promise<boolean> {
    const r = await this.db
      .updateTable('preheat_instances')
      .set({ auth_info_sealed: sealed })
      .where('id', '=', id)
      .where('auth_info_sealed', '=', old)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async policiesUsing(instanceId: number): Promise<number> {
    const r = await this.db
      .selectFrom('preheat_policies')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('provider_id', '=', instanceId)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  // Policies.

  async policies(projectId: number, terms: QueryTerm[], sort: string | undefined, paging: Paging): Promise<Page<PolicyRow>> {
    const filtered = applyQuery(this.db.selectFrom('preheat_policies').where('project_id', '=', projectId), terms, policyFields);
    const total = await countRows(filtered);
    const items = await applySort(filtered.selectAll(), sort, policyFields, { column: 'id', direction: 'desc' })
      .offset(paging.offset)
      .limit(paging.limit)
      .execute();
    return { items, total };
  }

  async policy(id: number, executor: Executor = this.db): Promise<PolicyRow | undefined> {
    return executor.selectFrom('preheat_policies').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async policyByName(projectId: number, name: string): Promise<PolicyRow | undefined> {
    return this.db
      .selectFrom('preheat_policies')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('name', '=', name)
      .executeTakeFirst();
  }

  /** The enabled policies of a project (the push subscriber reads them through its transaction). */
  async enabledPolicies(projectId: number, executor: Executor = this.db): Promise<PolicyRow[]> {
    return executor.selectFrom('preheat_policies').selectAll().where('project_id', '=', projectId).where('enabled', '=', 1).execute();
  }

  /** Undefined when the project has a policy of that name. */
  async insertPolicy(row: NewPolicy): Promise<number | undefined> {
    const inserted = await this.db
      .insertInto('preheat_policies')
      .values(row)
      .onConflict((oc) => oc.columns(['project_id', 'name']).doNothing())
      .returning('id')
      .executeTakeFirst();
    return inserted ? Number(inserted.id) : undefined;
  }

  /** False when another policy of the project has the new name. */
  async updatePolicy(id: number, row: Updateable<PreheatPoliciesTable> & { name: string }): Promise<boolean> {
    const clash = await this.db
      .selectFrom('preheat_policies as p')
      .innerJoin('preheat_policies as o', 'o.project_id', 'p.project_id')
      .select('o.id')
      .where('p.id', '=', id)
      .where('o.name', '=', row.name)
      .where('o.id', '!=', id)
      .executeTakeFirst();
    if (clash) return false;
    await this.db.updateTable('preheat_policies').set(row).where('id', '=', id).execute();
    return true;
  }

  async deletePolicy(id: number): Promise<void> {
    await this.db.deleteFrom('preheat_policies').where('id', '=', id).execute();
  }

  // Executions.

  async insertExecution(
    tx: Executor,
    e: {
      policyId: number;
      trigger: string;
      status: RunStatus;
      extraAttrs: unknown;
      now: string;
      artifactId?: number | null;
      jobId?: number | null;
    },
  ): Promise<number> {
    const row = await tx
      .insertInto('preheat_executions')
      .values({
        policy_id: e.policyId,
        trigger: e.trigger,
        status: e.status,
        status_message: '',
        job_id: e.jobId ?? null,
        artifact_id: e.artifactId ?? null,
        extra_attrs: JSON.stringify(e.extraAttrs),
        start_time: e.now,
        end_time: null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return Number(row.id);
  }

  async setExecutionJob(tx: Executor, id: number, jobId: number): Promise<void> {
    await tx.updateTable('preheat_executions').set({ job_id: jobId }).where('id', '=', id).execute();
  }

  async execution(id: number): Promise<ExecutionRow | undefined> {
    return this.db.selectFrom('preheat_executions').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async executionByJob(jobId: number): Promise<ExecutionRow | undefined> {
    return this.db.selectFrom('preheat_executions').selectAll().where('job_id', '=', jobId).executeTakeFirst();
  }

  async executions(policyId: number, terms: QueryTerm[], sort: string | undefined, paging: Paging): Promise<Page<ExecutionRow>> {
    const filtered = applyQuery(this.db.selectFrom('preheat_executions').where('policy_id', '=', policyId), terms, executionFields);
    const total = await countRows(filtered);
    const items = await applySort(filtered.selectAll(), sort, executionFields, { column: 'id', direction: 'desc' })
      .offset(paging.offset)
      .limit(paging.limit)
      .execute();
    return { items, total };
  }

  async runningExecutions(policyId: number): Promise<number[]> {
    const rows = await this.db
      .selectFrom('preheat_executions')
      .select('id')
      .where('policy_id', '=', policyId)
      .where('status', 'in', ['Pending', 'Running'])
      .execute();
    return rows.map((r) => Number(r.id));
  }

  /** Sets the status (and message, end time) unless the execution already ended. */
  async setExecutionStatus(id: number, status: RunStatus, message: string | null, endTime: string | null): Promise<void> {
    await this.db
      .updateTable('preheat_executions')
      .set({ status, end_time: endTime, ...(message !== null && { status_message: message }) })
      .where('id', '=', id)
      .where('status', 'not in', ['Success', 'Error', 'Stopped'])
      .execute();
  }

  async setExecutionAttrs(executor: Executor, id: number, extraAttrs: unknown): Promise<void> {
    await executor
      .updateTable('preheat_executions')
      .set({ extra_attrs: JSON.stringify(extraAttrs) })
      .where('id', '=', id)
      .execute();
  }

  // Tasks.

  async insertTask(
    tx: Executor,
    t: { executionId: number; repository: string; tag: string; digest: string; kind: string; now: string },
  ): Promise<number> {
    const row = await tx
      .insertInto('preheat_tasks')
      .values({
        execution_id: t.executionId,
        status: 'Pending',
        status_message: '',
        run_count: 0,
        repository: t.repository,
        tag: t.tag,
        digest: t.digest,
        kind: t.kind,
        job_id: null,
        provider_task_id: null,
        creation_time: t.now,
        update_time: t.now,
        start_time: null,
        end_time: null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return Number(row.id);
  }

  async setTaskJob(tx: Executor, id: number, jobId: number): Promise<void> {
    await tx.updateTable('preheat_tasks').set({ job_id: jobId }).where('id', '=', id).execute();
  }

  async task(id: number): Promise<TaskRow | undefined> {
    return this.db.selectFrom('preheat_tasks').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async tasks(executionId: number, terms: QueryTerm[], sort: string | undefined, paging: Paging): Promise<Page<TaskRow>> {
    const filtered = applyQuery(this.db.selectFrom('preheat_tasks').where('execution_id', '=', executionId), terms, taskFields);
    const total = await countRows(filtered);
    const items = await applySort(filtered.selectAll(), sort, taskFields, { column: 'id', direction: 'asc' })
      .offset(paging.offset)
      .limit(paging.limit)
      .execute();
    return { items, total };
  }

  async hasTasks(executionId: number): Promise<boolean> {
    const r = await this.db.selectFrom('preheat_tasks').select('id').where('execution_id', '=', executionId).limit(1).executeTakeFirst();
    return r !== undefined;
  }

  /** Per execution: tasks by status (one grouped query for a page of executions). */
  async taskCounts(executionIds: number[]): Promise<Map<number, TaskCounts>> {
    const out = new Map<number, TaskCounts>();
    for (const id of executionIds) out.set(id, { total: 0, Pending: 0, Running: 0, Success: 0, Error: 0, Stopped: 0 });
    if (executionIds.length === 0) return out;
    const rows = await this.db
      .selectFrom('preheat_tasks')
      .select(['execution_id', 'status', (eb) => eb.fn.countAll<number>().as('n')])
      .where('execution_id', 'in', executionIds)
      .groupBy(['execution_id', 'status'])
      .execute();
    for (const r of rows) {
      const c = out.get(Number(r.execution_id))!;
      const n = Number(r.n);
      c.total += n;
      if (r.status in c) (c as unknown as Record<string, number>)[r.status] += n;
    }
    return out;
  }

  /** Marks a task Running for one more attempt; false when it already ended. */
  async startTask(id: number, now: string): Promise<boolean> {
    const r = await this.db
      .updateTable('preheat_tasks')
      .set({ status: 'Running', run_count: sql`run_count + 1`, start_time: now, update_time: now })
      .where('id', '=', id)
      .where('status', 'in', ['Pending', 'Running'])
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async setProviderTaskId(id: number, providerTaskId: string, now: string): Promise<void> {
    await this.db.updateTable('preheat_tasks').set({ provider_task_id: providerTaskId, update_time: now }).where('id', '=', id).execute();
  }

  /** Ends a task unless it already ended (a stop that came first wins). */
  async finishTask(id: number, status: RunStatus, message: string, now: string): Promise<boolean> {
    const r = await this.db
      .updateTable('preheat_tasks')
      .set({ status, status_message: message, end_time: now, update_time: now })
      .where('id', '=', id)
      .where('status', 'in', ['Pending', 'Running'])
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** Marks every task not yet ended Stopped; returns their jobs, to cancel. */
  async stopTasks(executionId: number, now: string): Promise<number[]> {
    const rows = await this.db
      .selectFrom('preheat_tasks')
      .select(['id', 'job_id'])
      .where('execution_id', '=', executionId)
      .where('status', 'in', ['Pending', 'Running'])
      .execute();
    if (rows.length === 0) return [];
    await this.db
      .updateTable('preheat_tasks')
      .set({ status: 'Stopped', end_time: now, update_time: now })
      .where('execution_id', '=', executionId)
      .where('status', 'in', ['Pending', 'Running'])
      .execute();
    return rows
      .map((r) => r.job_id)
      .filter((j): j is number => j !== null)
      .map(Number);
  }

  // Candidates: read-only queries on the registry's tables (as retention's and the pull gate's).

  /**
   * The project's preheatable artifacts (images, not accessories) that have at least one tag,
   * with their tags, labels, whether a signature accessory names them, and (an index) its
   * children. `artifactId` narrows to one artifact (an on-push run).
   */
  async candidates(projectId: number, artifactId?: number): Promise<ArtifactFacts[]> {
    let q = this.db
      .selectFrom('artifacts as a')
      .innerJoin('repositories as r', 'r.id', 'a.repository_id')
      .select(['a.id', 'a.repository_id', 'r.name as repository', 'a.digest', 'a.media_type'])
      .where('r.project_id', '=', projectId)
      .where('a.type', 'in', preheatableTypes)
      .where('a.accessory_of', 'is', null);
    if (artifactId !== undefined) q = q.where('a.id', '=', artifactId);
    const artifacts = await q.orderBy('a.id').execute();
    const out: ArtifactFacts[] = [];
    for (let i = 0; i < artifacts.length; i += 500) {
      const batch = artifacts.slice(i, i + 500);
      const ids = batch.map((a) => Number(a.id));
      const [tags, labels, signatures, children] = await Promise.all([
        this.db.selectFrom('tags').select(['artifact_id', 'name']).where('artifact_id', 'in', ids).orderBy('name').execute(),
        this.db
          .selectFrom('artifact_labels as al')
          .innerJoin('labels as l', 'l.id', 'al.label_id')
          .select(['al.artifact_id', 'l.name'])
          .where('al.artifact_id', 'in', ids)
          .execute(),
        this.db
          .selectFrom('artifacts as s')
          .select(['s.repository_id', 's.accessory_of'])
          .where('s.repository_id', 'in', [...new Set(batch.map((a) => Number(a.repository_id)))])
          .where('s.accessory_of', 'in', [...new Set(batch.map((a) => a.digest))])
          .where('s.accessory_type', 'in', signatureTypes)
          .execute(),
        this.db
          .selectFrom('artifact_references as ref')
          .innerJoin('artifacts as c', 'c.id', 'ref.child_id')
          .select(['ref.parent_id', 'c.digest', 'c.media_type'])
          .where('ref.parent_id', 'in', ids)
          .where('c.accessory_of', 'is', null)
          .execute(),
      ]);
      const signed = new Set(signatures.map((s) => `${s.repository_id}\u0000${s.accessory_of}`));
      for (const a of batch) {
        const id = Number(a.id);
        const own = tags.filter((t) => Number(t.artifact_id) === id).map((t) => t.name);
        if (own.length === 0) continue;
        out.push({
          artifactId: id,
          repositoryId: Number(a.repository_id),
          repository: a.repository,
          digest: a.digest,
          mediaType: a.media_type,
          tags: own,
          labels: labels.filter((l) => Number(l.artifact_id) === id).map((l) => l.name),
          signed: signed.has(`${a.repository_id}\u0000${a.digest}`),
          children: children.filter((c) => Number(c.parent_id) === id).map((c) => ({ digest: c.digest, mediaType: c.media_type })),
        });
      }
    }
    return out;
  }

  /** An artifact's media type and (an index) its image children, by repository name and digest. */
  async manifestOf(
    repository: string,
    digest: string,
  ): Promise<{ mediaType: string; children: Array<{ digest: string; mediaType: string }> } | undefined> {
    const a = await this.db
      .selectFrom('artifacts as a')
      .innerJoin('repositories as r', 'r.id', 'a.repository_id')
      .select(['a.id', 'a.media_type'])
      .where('r.name', '=', repository)
      .where('a.digest', '=', digest)
      .executeTakeFirst();
    if (!a) return undefined;
    const children = await this.db
      .selectFrom('artifact_references as ref')
      .innerJoin('artifacts as c', 'c.id', 'ref.child_id')
      .select(['c.digest', 'c.media_type'])
      .where('ref.parent_id', '=', a.id)
      .where('c.accessory_of', 'is', null)
      .execute();
    return { mediaType: a.media_type, children: children.map((c) => ({ digest: c.digest, mediaType: c.media_type })) };
  }

  /** The project an artifact is in, read through the subscriber's transaction. */
  async artifactProject(
    executor: Executor,
    artifactId: number,
  ): Promise<{ projectId: number; type: string; accessoryOf: string | null } | undefined> {
    const r = await executor
      .selectFrom('artifacts as a')
      .innerJoin('repositories as r', 'r.id', 'a.repository_id')
      .select(['r.project_id', 'a.type', 'a.accessory_of'])
      .where('a.id', '=', artifactId)
      .executeTakeFirst();
    return r && { projectId: Number(r.project_id), type: r.type, accessoryOf: r.accessory_of };
  }
}
