import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../../db/types.js';

export type Executor = Kysely<Database> | Transaction<Database>;
export type ExportStatus = 'Pending' | 'Running' | 'Success' | 'Error' | 'Stopped';

export interface ExportCriteria {
  labels: number[];
  repositories: string;
  tags: string;
  cveIds: string;
}

export interface ExecutionRow {
  id: number;
  jobId: number | null;
  userId: number;
  userName: string;
  jobName: string;
  projectIds: number[];
  criteria: ExportCriteria;
  status: ExportStatus;
  statusText: string;
  trigger: string;
  startTime: string;
  endTime: string | null;
  filePresent: boolean;
  fileSize: number;
  rowCount: number;
  fileDigest: string | null;
  /** The queue's view of the job, for an execution that never got to say how it ended. */
  jobStatus: string | null;
}

/** One row of the export: Harbor's CSV columns, plus what Additional Data is made of. */
export interface ExportFinding {
  repository: string;
  digest: string;
  cve_id: string;
  package: string;
  version: string;
  fixed_version: string;
  severity: string;
  cwe_ids: string | null;
  cvss_score_v3: number | null;
  cvss_vector_v3: string | null;
  cvss_score_v2: number | null;
  cvss_vector_v2: string | null;
  scanner: string;
}

/** The artifacts of a project an export chooses from. */
export interface ExportCandidate {
  id: number;
  digest: string;
  repository: string;
  tags: string[];
  labels: number[];
}

function toExecution(r: any): ExecutionRow {
  return {
    id: Number(r.id),
    jobId: r.job_id === null ? null : Number(r.job_id),
    userId: Number(r.user_id),
    userName: r.user_name,
    jobName: r.job_name,
    projectIds: JSON.parse(r.project_ids) as number[],
    criteria: JSON.parse(r.criteria) as ExportCriteria,
    status: r.status as ExportStatus,
    statusText: r.status_text,
    trigger: r.trigger,
    startTime: r.start_time,
    endTime: r.end_time,
    filePresent: Number(r.file_present) === 1,
    fileSize: Number(r.file_size),
    rowCount: Number(r.row_count),
    fileDigest: r.file_digest,
    jobStatus: r.job_status ?? null,
  };
}

/** cve_export_executions and cve_export_chunks, and the read-only queries an export makes. */
export class ExportStore {
  constructor(readonly db: Kysely<Database>) {}

  private executions(executor: Executor = this.db) {
    return executor
      .selectFrom('cve_export_executions as e')
      .leftJoin('jobs as j', 'j.id', 'e.job_id')
      .selectAll('e')
      .select('j.status as job_status');
  }

  async create(
    tx: Executor,
    values: { userId: number; userName: string; jobName: string; projectIds: number[]; criteria: ExportCriteria; now: string },
  ): Promise<number> {
    const row = await tx
      .insertInto('cve_export_executions')
      .values({
        job_id: null,
        user_id: values.userId,
        user_name: values.userName,
        job_name: values.jobName,
        project_ids: JSON.stringify(values.projectIds),
        criteria: JSON.stringify(values.criteria),
        status: 'Pending',
        trigger: 'MANUAL',
        start_time: values.now,
        end_time: null,
        file_digest: null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return Number(row.id);
  }

  async setJob(tx: Executor, id: number, jobId: number): Promise<void> {
    await tx.updateTable('cve_export_executions').set({ job_id: jobId }).where('id', '=', id).execute();
  }

  async get(id: number): Promise<ExecutionRow | undefined> {
    const row = await this.executions().where('e.id', '=', id).executeTakeFirst();
    return row ? toExecution(row) : undefined;
  }

  async listForUser(userName: string): Promise<ExecutionRow[]> {
    const rows = await this.executions().where('e.user_name', '=', userName).orderBy('e.id', 'desc').execute();
    return rows.map(toExecution);
  }

  /** Starts an attempt: any chunks of an earlier attempt go. */
  async begin(id: number, now: string): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('cve_export_chunks').where('execution_id', '=', id).execute();
      await tx
        .updateTable('cve_export_executions')
        .set({ status: 'Running', start_time: now, file_present: 0, file_size: 0, row_count: 0, file_digest: null, status_text: '' })
        .where('id', '=', id)
        .execute();
    });
  }

  async appendChunk(id: number, seq: number, data: Uint8Array): Promise<void> {
    await this.db.insertInto('cve_export_chunks').values({ execution_id: id, seq, data }).execute();
  }

  async finish(
    id: number,
    result: {
      status: ExportStatus;
      statusText: string;
      filePresent: boolean;
      size: number;
      rows: number;
      digest: string | null;
      now: string;
    },
  ): Promise<void> {
    await this.db
      .updateTable('cve_export_executions')
      .set({
        status: result.status,
        status_text: result.statusText,
        file_present: result.filePresent ? 1 : 0,
        file_size: result.size,
        row_count: result.rows,
        file_digest: result.digest,
        end_time: result.now,
      })
      .where('id', '=', id)
      .execute();
  }

  /** The CSV's chunks in order, one query each, so a large file is never held whole. */
  async *chunks(id: number): AsyncGenerator<Buffer> {
    for (let seq = 0; ; seq += 1) {
      const row = await this.db
        .selectFrom('cve_export_chunks')
        .select('data')
        .where('execution_id', '=', id)
        .where('seq', '=', seq)
        .executeTakeFirst();
      if (!row) return;
      yield Buffer.from(row.data);
    }
  }

  /** Drops the files of exports that ended before `before`, and executions older than `forgetBefore`. */
  async purge(before: string, forgetBefore: string): Promise<{ files: number; executions: number }> {
    return this.db.transaction().execute(async (tx) => {
      const stale = await tx
        .selectFrom('cve_export_executions')
        .select('id')
        .where('file_present', '=', 1)
        .where('end_time', '<', before)
        .execute();
      const ids = stale.map((r) => Number(r.id));
      if (ids.length > 0) {
        await tx.deleteFrom('cve_export_chunks').where('execution_id', 'in', ids).execute();
        await tx.updateTable('cve_export_executions').set({ file_present: 0 }).where('id', 'in', ids).execute();
      }
      const forgotten = await tx.deleteFrom('cve_export_executions').where('start_time', '<', forgetBefore).executeTakeFirst();
      return { files: ids.length, executions: Number(forgotten.numDeletedRows) };
    });
  }

  async repositoriesOf(projectId: number): Promise<Array<{ id: number; name: string }>> {
    const rows = await this.db
      .selectFrom('repositories')
      .select(['id', 'name'])
      .where('project_id', '=', projectId)
      .orderBy('name')
      .execute();
    return rows.map((r) => ({ id: Number(r.id), name: r.name }));
  }

  /** Every artifact of the repositories with its tags and labels; an index's children take their parent's too. */
  async candidates(repositoryIds: number[]): Promise<ExportCandidate[]> {
    if (repositoryIds.length === 0) return [];
    const artifacts = await this.db
      .selectFrom('artifacts as a')
      .innerJoin('repositories as r', 'r.id', 'a.repository_id')
      .select(['a.id', 'a.digest', 'r.name'])
      .where('a.repository_id', 'in', repositoryIds)
      .orderBy('a.id')
      .execute();
    const byId = new Map<number, ExportCandidate>();
    for (const a of artifacts) byId.set(Number(a.id), { id: Number(a.id), digest: a.digest, repository: a.name, tags: [], labels: [] });
    const ids = [...byId.keys()];
    for (let i = 0; i < ids.length; i += 500) {
      const batch = ids.slice(i, i + 500);
      for (const t of await this.db.selectFrom('tags').select(['artifact_id', 'name']).where('artifact_id', 'in', batch).execute()) {
        byId.get(Number(t.artifact_id))?.tags.push(t.name);
      }
      for (const l of await this.db
        .selectFrom('artifact_labels')
        .select(['artifact_id', 'label_id'])
        .where('artifact_id', 'in', batch)
        .execute()) {
        byId.get(Number(l.artifact_id))?.labels.push(Number(l.label_id));
      }
    }
    for (let i = 0; i < ids.length; i += 500) {
      const refs = await this.db
        .selectFrom('artifact_references')
        .select(['parent_id', 'child_id'])
        .where('parent_id', 'in', ids.slice(i, i + 500))
        .execute();
      for (const ref of refs) {
        const parent = byId.get(Number(ref.parent_id));
        const child = byId.get(Number(ref.child_id));
        if (!parent || !child) continue;
        child.tags.push(...parent.tags);
        child.labels.push(...parent.labels);
      }
    }
    return [...byId.values()];
  }

  /** The findings of these artifacts, every scanner's, one row per distinct finding. */
  async findings(artifactIds: number[]): Promise<ExportFinding[]> {
    if (artifactIds.length === 0) return [];
    return (await this.db
      .selectFrom('artifacts as a')
      .innerJoin('repositories as r', 'r.id', 'a.repository_id')
      .innerJoin('scan_vulnerabilities as v', 'v.digest', 'a.digest')
      .leftJoin('scanner_registrations as s', 's.uuid', 'v.registration_uuid')
      .select([
        'r.name as repository',
        'a.digest',
        'v.cve_id',
        'v.package',
        'v.version',
        'v.fixed_version',
        'v.severity',
        'v.cwe_ids',
        'v.cvss_score_v3',
        'v.cvss_vector_v3',
        'v.cvss_score_v2',
        'v.cvss_vector_v2',
        sql<string>`coalesce(s.name, v.registration_uuid)`.as('scanner'),
      ])
      .distinct()
      .where('a.id', 'in', artifactIds)
      .orderBy('r.name')
      .orderBy('a.digest')
      .orderBy('v.cve_id')
      .orderBy('v.package')
      .orderBy('v.version')
      .execute()) as ExportFinding[];
  }
}
