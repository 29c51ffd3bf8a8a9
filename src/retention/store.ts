import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../db/types.js';
import { writeAudit, type AuditEntry } from '../events/audit.js';
import type { RepositoryArtifact } from './evaluate.js';

type Executor = Kysely<Database> | Transaction<Database>;

export interface PolicyRow {
  id: number;
  projectId: number;
  data: string;
}

export interface ExecutionRow {
  id: number;
  policyId: number;
  jobId: number | null;
  trigger: string;
  dryRun: boolean;
  status: string;
  policy: string;
  startTime: string;
  endTime: string | null;
}

export interface TaskRow {
  id: number;
  executionId: number;
  repository: string;
  repositoryId: number;
  jobId: number | null;
  status: string;
  startTime: string | null;
  endTime: string | null;
  total: number;
  retained: number;
  log: string | null;
}

const metadataKey = 'retention_id';

/** Retention's rows: policies (and the project's retention_id), executions, tasks, and the candidates a task reads. */
export class RetentionStore {
  constructor(readonly db: Kysely<Database>) {}

  async policy(id: number): Promise<PolicyRow | undefined> {
    const r = await this.db.selectFrom('retention_policies').selectAll().where('id', '=', id).executeTakeFirst();
    return r && { id: Number(r.id), projectId: Number(r.project_id), data: r.data };
  }

  /** Creates the project's policy and its retention_id metadata; undefined when the project has one already. */
  async createPolicy(projectId: number, data: string, now: string, audit: AuditEntry): Promise<number | undefined> {
    return this.db.transaction().execute(async (tx) => {
      const inserted = await tx
        .insertInto('retention_policies')
        .values({ project_id: projectId, data, created_at: now, updated_at: now })
        .onConflict((oc) => oc.column('project_id').doNothing())
        .returning('id')
        .executeTakeFirst();
      if (!inserted) return undefined;
      const id = Number(inserted.id);
      await tx.deleteFrom('project_metadata').where('project_id', '=', projectId).where('name', '=', metadataKey).execute();
      await tx
        .insertInto('project_metadata')
        .values({ project_id: projectId, name: metadataKey, value: String(id) })
        .execute();
      await writeAudit(tx, { ...audit, resource: `${audit.resource}/${id}` });
      return id;
    });
  }

  async updatePolicy(id: number, data: string, now: string, audit: AuditEntry): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.updateTable('retention_policies').set({ data, updated_at: now }).where('id', '=', id).execute();
      await writeAudit(tx, audit);
    });
  }

  async deletePolicy(id: number, projectId: number, audit: AuditEntry): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('retention_policies').where('id', '=', id).execute();
      await tx.deleteFrom('project_metadata').where('project_id', '=', projectId).where('name', '=', metadataKey).execute();
      await writeAudit(tx, audit);
    });
  }

  async insertExecution(
    tx: Executor,
    e: { policyId: number; trigger: string; dryRun: boolean; policy: string; now: string },
  ): Promise<number> {
    const row = await tx
      .insertInto('retention_executions')
      .values({
        policy_id: e.policyId,
        job_id: null,
        trigger: e.trigger,
        dry_run: e.dryRun ? 1 : 0,
        status: 'Pending',
        policy: e.policy,
        start_time: e.now,
        end_time: null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return Number(row.id);
  }

  async setExecutionJob(tx: Executor, id: number, jobId: number): Promise<void> {
    await tx.updateTable('retention_executions').set({ job_id: jobId }).where('id', '=', id).execute();
  }

  async execution(id: number): Promise<ExecutionRow | undefined> {
    const r = await this.db.selectFrom('retention_executions').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toExecution(r);
  }

  async executionByJob(jobId: number): Promise<ExecutionRow | undefined> {
    const r = await this.db.selectFrom('retention_executions').selectAll().where('job_id', '=', jobId).executeTakeFirst();
    return r && toExecution(r);
  }

  async executions(policyId: number, paging: { offset: number; limit: number }): Promise<{ items: ExecutionRow[]; total: number }> {
    const total = await this.db
      .selectFrom('retention_executions')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('policy_id', '=', policyId)
      .executeTakeFirstOrThrow();
    const rows = await this.db
      .selectFrom('retention_executions')
      .selectAll()
      .where('policy_id', '=', policyId)
      .orderBy('id', 'desc')
      .limit(paging.limit)
      .offset(paging.offset)
      .execute();
    return { items: rows.map(toExecution), total: Number(total.n) };
  }

  /** Moves an execution on, unless it already ended (a stop wins over a late task). */
  async setExecutionStatus(id: number, status: string, endTime: string | null): Promise<void> {
    await this.db
      .updateTable('retention_executions')
      .set({ status, end_time: endTime })
      .where('id', '=', id)
      .where('status', 'in', ['Pending', 'Running'])
      .execute();
  }

  async insertTasks(tx: Executor, executionId: number, repositories: Array<{ id: number; name: string }>): Promise<number[]> {
    const ids: number[] = [];
    for (const r of repositories) {
      const row = await tx
        .insertInto('retention_tasks')
        .values({
          execution_id: executionId,
          repository: r.name,
          repository_id: r.id,
          job_id: null,
          status: 'Pending',
          start_time: null,
          end_time: null,
          log: null,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      ids.push(Number(row.id));
    }
    return ids;
  }

  async setTaskJob(tx: Executor, id: number, jobId: number): Promise<void> {
    await tx.updateTable('retention_tasks').set({ job_id: jobId }).where('id', '=', id).execute();
  }

  async task(id: number): Promise<TaskRow | undefined> {
    const r = await this.db.selectFrom('retention_tasks').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toTask(r);
  }

  async tasks(executionId: number, paging?: { offset: number; limit: number }): Promise<{ items: TaskRow[]; total: number }> {
    const total = await this.db
      .selectFrom('retention_tasks')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('execution_id', '=', executionId)
      .executeTakeFirstOrThrow();
    let q = this.db.selectFrom('retention_tasks').selectAll().where('execution_id', '=', executionId).orderBy('id');
    if (paging) q = q.limit(paging.limit).offset(paging.offset);
    return { items: (await q.execute()).map(toTask), total: Number(total.n) };
  }

  async startTask(id: number, now: string): Promise<void> {
    await this.db
      .updateTable('retention_tasks')
      .set({ status: 'Running', start_time: now })
      .where('id', '=', id)
      .where('status', 'in', ['Pending', 'Running'])
      .execute();
  }

  /**
   * Records a task's candidate count before anything is removed, so that an attempt cut short
   * (the instance killed mid-way) leaves it behind for the attempt that runs again.
   */
  async recordTaskTotal(id: number, total: number): Promise<void> {
    await this.db.updateTable('retention_tasks').set({ total }).where('id', '=', id).where('total', '<', total).execute();
  }

  async finishTask(
    id: number,
    f: { status: string; total: number; retained: number; log: string; now: string },
    executor: Executor = this.db,
  ): Promise<void> {
    await executor
      .updateTable('retention_tasks')
      .set({ status: f.status, total: f.total, retained: f.retained, log: f.log, end_time: f.now })
      .where('id', '=', id)
      .execute();
  }

  /** Marks every task not yet ended as Stopped; returns their job ids. */
  async stopTasks(executionId: number, now: string): Promise<number[]> {
    const open = await this.db
      .selectFrom('retention_tasks')
      .select(['id', 'job_id'])
      .where('execution_id', '=', executionId)
      .where('status', 'in', ['Pending', 'Running'])
      .execute();
    await this.db
      .updateTable('retention_tasks')
      .set({ status: 'Stopped', end_time: now })
      .where('execution_id', '=', executionId)
      .where('status', 'in', ['Pending', 'Running'])
      .execute();
    return open.map((r) => Number(r.job_id)).filter((id) => id > 0);
  }

  /** The project's repositories, with their names without the project. */
  async repositories(projectId: number): Promise<Array<{ id: number; name: string; fullName: string }>> {
    const rows = await this.db
      .selectFrom('repositories')
      .select(['id', 'name'])
      .where('project_id', '=', projectId)
      .orderBy('name')
      .execute();
    return rows.map((r) => ({ id: Number(r.id), fullName: r.name, name: r.name.slice(r.name.indexOf('/') + 1) }));
  }

  /** Every artifact of the repository with its tags, labels and the indexes listing it. */
  async artifactsOf(repositoryId: number, withLabels: boolean): Promise<RepositoryArtifact[]> {
    const rows = await this.db
      .selectFrom('artifacts')
      .select(['id', 'digest', 'push_time', 'pull_time', 'accessory_of'])
      .where('repository_id', '=', repositoryId)
      .orderBy('id')
      .execute();
    const byId = new Map<number, RepositoryArtifact>();
    for (const r of rows) {
      byId.set(Number(r.id), {
        id: Number(r.id),
        digest: r.digest,
        pushTime: r.push_time,
        pullTime: r.pull_time,
        accessoryOf: r.accessory_of,
        tags: [],
        labels: [],
        parents: [],
      });
    }
    const tags = await this.db
      .selectFrom('tags')
      .select(['artifact_id', 'name', 'push_time', 'pull_time'])
      .where('repository_id', '=', repositoryId)
      .orderBy('name')
      .execute();
    for (const t of tags) byId.get(Number(t.artifact_id))?.tags.push({ name: t.name, pushTime: t.push_time, pullTime: t.pull_time });
    const refs = await this.db
      .selectFrom('artifact_references')
      .innerJoin('artifacts', 'artifacts.id', 'artifact_references.parent_id')
      .select(['artifact_references.parent_id', 'artifact_references.child_id'])
      .where('artifacts.repository_id', '=', repositoryId)
      .execute();
    for (const r of refs) byId.get(Number(r.child_id))?.parents.push(Number(r.parent_id));
    if (withLabels) {
      const labels = await this.db
        .selectFrom('artifact_labels')
        .innerJoin('labels', 'labels.id', 'artifact_labels.label_id')
        .innerJoin('artifacts', 'artifacts.id', 'artifact_labels.artifact_id')
        .select(['artifact_labels.artifact_id', 'labels.name'])
        .where('artifacts.repository_id', '=', repositoryId)
        .execute();
      for (const l of labels) byId.get(Number(l.artifact_id))?.labels.push(l.name);
    }
    return [...byId.values()];
  }

  async audit(entry: AuditEntry): Promise<void> {
    await writeAudit(this.db, entry);
  }
}

function toExecution(r: {
  id: number;
  policy_id: number;
  job_id: number | null;
  trigger: string;
  dry_run: number;
  status: string;
  policy: string;
  start_time: string;
  end_time: string | null;
}): ExecutionRow {
  return {
    id: Number(r.id),
    policyId: Number(r.policy_id),
    jobId: r.job_id === null ? null : Number(r.job_id),
    trigger: r.trigger,
    dryRun: Number(r.dry_run) === 1,
    status: r.status,
    policy: r.policy,
    startTime: r.start_time,
    endTime: r.end_time,
  };
}

function toTask(r: {
  id: number;
  execution_id: number;
  repository: string;
  repository_id: number;
  job_id: number | null;
  status: string;
  start_time: string | null;
  end_time: string | null;
  total: number;
  retained: number;
  log: string | null;
}): TaskRow {
  return {
    id: Number(r.id),
    executionId: Number(r.execution_id),
    repository: r.repository,
    repositoryId: Number(r.repository_id),
    jobId: r.job_id === null ? null : Number(r.job_id),
    status: r.status,
    startTime: r.start_time,
    endTime: r.end_time,
    total: Number(r.total),
    retained: Number(r.retained),
    log: r.log,
  };
}
