import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { Database, WebhookExecutionsTable, WebhookPoliciesTable, WebhookTasksTable } from '../db/types.js';
import { applyQuery, applySort, countRows, type Field } from '../db/query.js';
import type { QueryTerm } from '../lib/query.js';

type Executor = Kysely<Database> | Transaction<Database>;

export type PolicyRow = Selectable<WebhookPoliciesTable>;
export type ExecutionRow = Selectable<WebhookExecutionsTable>;
export type TaskRow = Selectable<WebhookTasksTable>;

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

/** A policy of a project with the project's name and visibility (what the subscriber renders with). */
export interface SubscribedPolicy extends PolicyRow {
  project_name: string;
  project_public: number;
}

const str = (column: string): Field => ({ column, type: 'string' });
const num = (column: string): Field => ({ column, type: 'number' });
const time = (column: string): Field => ({ column, type: 'time' });
const flag = (column: string): Field => ({ column, type: 'boolean' });

/** The `q`/`sort` keys of each list (Harbor's field names), and their columns. */
const policyFields: Record<string, Field> = {
  id: num('id'),
  name: str('name'),
  description: str('description'),
  creator: str('creator'),
  enabled: flag('enabled'),
  creation_time: time('created_at'),
  update_time: time('updated_at'),
};
const executionFields: Record<string, Field> = {
  id: num('id'),
  status: str('status'),
  trigger: str('trigger'),
  event_type: str('event_type'),
  vendor_type: str('vendor_type'),
  start_time: time('start_time'),
  end_time: time('end_time'),
};
const taskFields: Record<string, Field> = {
  id: num('id'),
  status: str('status'),
  address: str('address'),
  event_type: str('event_type'),
  status_code: num('status_code'),
  run_count: num('run_count'),
  creation_time: time('creation_time'),
  update_time: time('update_time'),
  start_time: time('start_time'),
  end_time: time('end_time'),
};

const endedStatuses = ['Success', 'Error', 'Stopped'];

/** Webhooks' rows: policies, executions (event × policy) and tasks (one per target). */
export class WebhookStore {
  constructor(readonly db: Kysely<Database>) {}

  // Policies.

  async policies(projectId: number, terms: QueryTerm[], sort: string | undefined, paging: Paging): Promise<Page<PolicyRow>> {
    const filtered = applyQuery(this.db.selectFrom('webhook_policies').where('project_id', '=', projectId), terms, policyFields);
    const total = await countRows(filtered);
    // Harbor's default order: newest first (creation_time desc).
    const items = await applySort(filtered.selectAll(), sort, policyFields, { column: 'id', direction: 'desc' })
      .offset(paging.offset)
      .limit(paging.limit)
      .execute();
    return { items, total };
  }

  async allPolicies(projectId: number): Promise<PolicyRow[]> {
    return this.db.selectFrom('webhook_policies').selectAll().where('project_id', '=', projectId).orderBy('id', 'desc').execute();
  }

  async policy(id: number, executor: Executor = this.db): Promise<PolicyRow | undefined> {
    return executor.selectFrom('webhook_policies').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** The enabled policies of a project, with its name: one indexed query per event. */
  async enabledPolicies(tx: Executor, projectId: number): Promise<SubscribedPolicy[]> {
    return tx
      .selectFrom('webhook_policies as w')
      .innerJoin('projects as p', 'p.id', 'w.project_id')
      .selectAll('w')
      .select(['p.name as project_name', 'p.public as project_public'])
      .where('w.project_id', '=', projectId)
      .where('w.enabled', '=', 1)
      .execute() as Promise<SubscribedPolicy[]>;
  }

  /** When a repository was created (Harbor's date_created in payloads), read with the subscriber's transaction. */
  async repositoryCreatedAt(tx: Executor, name: string): Promise<string | undefined> {
    const row = await tx.selectFrom('repositories').select('created_at').where('name', '=', name).executeTakeFirst();
    return row?.created_at;
  }

  /** Undefined when the project has a policy of that name. */
  async insertPolicy(row: Omit<PolicyRow, 'id'>): Promise<number | undefined> {
    const inserted = await this.db
      .insertInto('webhook_policies')
      .values(row)
      .onConflict((oc) => oc.columns(['project_id', 'name']).doNothing())
      .returning('id')
      .executeTakeFirst();
    return inserted ? Number(inserted.id) : undefined;
  }

  /** False when another policy of the project has the new name. */
  async updatePolicy(
    id: number,
    projectId: number,
    row: Pick<PolicyRow, 'name' | 'description' | 'targets' | 'event_types' | 'enabled' | 'updated_at'>,
  ): Promise<boolean> {
    return this.db.transaction().execute(async (tx) => {
      const clash = await tx
        .selectFrom('webhook_policies')
        .select('id')
        .where('project_id', '=', projectId)
        .where('name', '=', row.name)
        .where('id', '!=', id)
        .executeTakeFirst();
      if (clash) return false;
      await tx.updateTable('webhook_policies').set(row).where('id', '=', id).execute();
      return true;
    });
  }

  /** The policy, its executions and tasks (pending deliveries find no task and end). */
  async deletePolicy(id: number): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('webhook_tasks').where('policy_id', '=', id).execute();
      await tx.deleteFrom('webhook_executions').where('policy_id', '=', id).execute();
      await tx.deleteFrom('webhook_policies').where('id', '=', id).execute();
    });
  }

  // Executions and tasks.

  async insertExecution(
    tx: Executor,
    e: { policyId: number; projectId: number; eventId: number; eventType: string; extraAttrs: unknown; now: string },
  ): Promise<number> {
    const row = await tx
      .insertInto('webhook_executions')
      .values({
        policy_id: e.policyId,
        project_id: e.projectId,
        event_id: e.eventId,
        event_type: e.eventType,
        vendor_type: 'WEBHOOK',
        trigger: 'EVENT',
        status: 'Running',
        status_message: '',
        extra_attrs: JSON.stringify(e.extraAttrs),
        start_time: e.now,
        end_time: null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return Number(row.id);
  }

  async insertTask(tx: Executor, row: Omit<TaskRow, 'id' | 'run_count'>): Promise<number> {
    const inserted = await tx.insertInto('webhook_tasks').values(row).returning('id').executeTakeFirstOrThrow();
    return Number(inserted.id);
  }

  /** An execution none of whose deliveries could be made. */
  async failExecution(tx: Executor, id: number, message: string, now: string): Promise<void> {
    await tx
      .updateTable('webhook_executions')
      .set({ status: 'Error', status_message: message, end_time: now })
      .where('id', '=', id)
      .execute();
  }

  async setTaskJob(tx: Executor, id: number, jobId: number): Promise<void> {
    await tx.updateTable('webhook_tasks').set({ job_id: jobId }).where('id', '=', id).execute();
  }

  async task(id: number): Promise<TaskRow | undefined> {
    return this.db.selectFrom('webhook_tasks').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async updateTask(id: number, set: Partial<Omit<TaskRow, 'id'>>, executor: Executor = this.db): Promise<void> {
    await executor.updateTable('webhook_tasks').set(set).where('id', '=', id).execute();
  }

  /** A claimed delivery's task: Running, its run count the job's attempt (not a task already delivered). */
  async markTaskRunning(tx: Executor, id: number, attempt: number, now: string): Promise<void> {
    await tx
      .updateTable('webhook_tasks')
      .set((eb) => ({ status: 'Running', run_count: attempt, start_time: eb.fn.coalesce('start_time', eb.val(now)), update_time: now }))
      .where('id', '=', id)
      .where('status', '!=', 'Success')
      .execute();
  }

  /** Sets the execution's status from its tasks: Running while one is not over, else Error if one failed, else Success. */
  async settleExecution(id: number, now: string, executor: Executor = this.db): Promise<void> {
    const counts = await this.taskCounts([id], executor);
    const c = counts.get(id);
    if (!c) return;
    const open = c.Pending + c.Running;
    const status = open > 0 ? 'Running' : c.Error > 0 ? 'Error' : 'Success';
    const message = status === 'Error' ? `${c.Error} of ${c.total} deliveries failed` : '';
    await executor
      .updateTable('webhook_executions')
      .set({ status, status_message: message, end_time: open > 0 ? null : now })
      .where('id', '=', id)
      .execute();
  }

  async execution(id: number): Promise<ExecutionRow | undefined> {
    return this.db.selectFrom('webhook_executions').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async executions(policyId: number, terms: QueryTerm[], sort: string | undefined, paging: Paging): Promise<Page<ExecutionRow>> {
    const filtered = applyQuery(this.db.selectFrom('webhook_executions').where('policy_id', '=', policyId), terms, executionFields);
    const total = await countRows(filtered);
    const items = await applySort(filtered.selectAll(), sort, executionFields, { column: 'id', direction: 'desc' })
      .offset(paging.offset)
      .limit(paging.limit)
      .execute();
    return { items, total };
  }

  async tasks(executionId: number, terms: QueryTerm[], sort: string | undefined, paging: Paging): Promise<Page<TaskRow>> {
    const filtered = applyQuery(this.db.selectFrom('webhook_tasks').where('execution_id', '=', executionId), terms, taskFields);
    const total = await countRows(filtered);
    const items = await applySort(filtered.selectAll(), sort, taskFields, { column: 'id', direction: 'asc' })
      .offset(paging.offset)
      .limit(paging.limit)
      .execute();
    return { items, total };
  }

  /** Tasks of a policy (Harbor's deprecated /webhook/jobs), optionally by status. */
  async tasksOfPolicy(
    policyId: number,
    statuses: string[],
    terms: QueryTerm[],
    sort: string | undefined,
    paging: Paging,
  ): Promise<Page<TaskRow>> {
    let q = this.db.selectFrom('webhook_tasks').where('policy_id', '=', policyId);
    if (statuses.length > 0) q = q.where('status', 'in', statuses);
    const filtered = applyQuery(q, terms, taskFields);
    const total = await countRows(filtered);
    const items = await applySort(filtered.selectAll(), sort, taskFields, { column: 'id', direction: 'desc' })
      .offset(paging.offset)
      .limit(paging.limit)
      .execute();
    return { items, total };
  }

  async taskCounts(executionIds: number[], executor: Executor = this.db): Promise<Map<number, TaskCounts>> {
    const out = new Map<number, TaskCounts>();
    if (executionIds.length === 0) return out;
    for (const id of executionIds) out.set(id, { total: 0, Pending: 0, Running: 0, Success: 0, Error: 0, Stopped: 0 });
    const rows = await executor
      .selectFrom('webhook_tasks')
      .select(['execution_id', 'status', sql<number>`count(*)`.as('n')])
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

  /** The newest execution start per (policy, event type) of a project's policies. */
  async lastTriggers(policyIds: number[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    if (policyIds.length === 0) return out;
    const rows = await this.db
      .selectFrom('webhook_executions')
      .select(['policy_id', 'event_type', sql<string>`max(start_time)`.as('last')])
      .where('policy_id', 'in', policyIds)
      .groupBy(['policy_id', 'event_type'])
      .execute();
    for (const r of rows) out.set(`${Number(r.policy_id)}:${r.event_type}`, r.last);
    return out;
  }

  /** Deletes ended executions (and their tasks) started before `before`, a batch at a time; returns how many. */
  async sweep(before: string, batch = 500): Promise<number> {
    let removed = 0;
    for (;;) {
      const ids = (
        await this.db
          .selectFrom('webhook_executions')
          .select('id')
          .where('start_time', '<', before)
          .where('status', 'in', endedStatuses)
          .limit(batch)
          .execute()
      ).map((r) => Number(r.id));
      if (ids.length === 0) return removed;
      await this.db.transaction().execute(async (tx) => {
        await tx.deleteFrom('webhook_tasks').where('execution_id', 'in', ids).execute();
        await tx.deleteFrom('webhook_executions').where('id', 'in', ids).execute();
      });
      removed += ids.length;
    }
  }
}
