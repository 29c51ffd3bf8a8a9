import { randomUUID } from 'node:crypto';
import type { Kysely, Selectable, Transaction } from 'kysely';
import type { Database, ScanReportsTable } from '../../db/types.js';
import { nowIso } from '../../lib/clock.js';
import { severityRank, type Finding, type Severity } from '../types.js';

export type Executor = Kysely<Database> | Transaction<Database>;

/** Harbor's report statuses. */
export type ScanStatus = 'Pending' | 'Running' | 'Success' | 'Error' | 'Stopped';
export const finalStatuses: readonly ScanStatus[] = ['Success', 'Error', 'Stopped'];

export interface ReportRow {
  id: number;
  uuid: string;
  digest: string;
  registrationUuid: string;
  mimeType: string;
  /** The report's status read together with its job's (see effectiveStatus). */
  status: ScanStatus;
  /** 'None' when a finished vulnerability scan found nothing. */
  severity: Severity | 'None' | null;
  summary: VulnerabilitySummary | null;
  report: string | null;
  sbomDigest: string | null;
  sbomMediaType: string | null;
  repository: string;
  jobId: number | null;
  scanAllRunId: number | null;
  scanner: { name: string; vendor: string; version: string } | null;
  message: string | null;
  startTime: string;
  endTime: string | null;
  completePercent: number;
}

export interface VulnerabilitySummary {
  total: number;
  fixable: number;
  summary: Partial<Record<Severity, number>>;
}

/**
 * A Pending or Running report whose job ended without recording an outcome (stopped before it
 * ran, lost its last attempt, pruned) takes its job's outcome.
 */
export function effectiveStatus(reportStatus: string, jobStatus: string | null | undefined): ScanStatus {
  if (finalStatuses.includes(reportStatus as ScanStatus)) return reportStatus as ScanStatus;
  switch (jobStatus) {
    case 'pending':
      return 'Pending';
    case 'running':
      return 'Running';
    case 'stopped':
      return 'Stopped';
    default:
      // error, success without a result, or the job is gone.
      return 'Error';
  }
}

function parse<T>(text: string | null): T | null {
  if (!text) return null;
  try {
    return JSON.parse(text) as T;
  } catch {
    return null;
  }
}

function toReport(r: Selectable<ScanReportsTable> & { job_status: string | null }): ReportRow {
  return {
    id: Number(r.id),
    uuid: r.uuid,
    digest: r.digest,
    registrationUuid: r.registration_uuid,
    mimeType: r.mime_type,
    status: effectiveStatus(r.status, r.job_status),
    severity: r.severity as Severity | 'None' | null,
    summary: parse<VulnerabilitySummary>(r.summary),
    report: r.report,
    sbomDigest: r.sbom_digest,
    sbomMediaType: r.sbom_media_type,
    repository: r.repository,
    jobId: r.job_id === null ? null : Number(r.job_id),
    scanAllRunId: r.scan_all_run_id === null ? null : Number(r.scan_all_run_id),
    scanner: parse(r.scanner),
    message: r.message,
    startTime: r.start_time,
    endTime: r.end_time,
    completePercent: Number(r.complete_percent),
  };
}

/** Summary counts of a vulnerability report, as Harbor's NativeReportSummary carries them. */
export function summarize(findings: Finding[]): VulnerabilitySummary {
  const summary: Partial<Record<Severity, number>> = {};
  let fixable = 0;
  for (const f of findings) {
    summary[f.severity] = (summary[f.severity] ?? 0) + 1;
    if (f.fix_version) fixable++;
  }
  return { total: findings.length, fixable, summary };
}

/** The tables of scans: reports, their findings and the scan-all runs. */
export class ScanStore {
  constructor(readonly db: Kysely<Database>) {}

  private reports(executor: Executor = this.db) {
    return executor
      .selectFrom('scan_reports as r')
      .leftJoin('jobs as j', 'j.id', 'r.job_id')
      .selectAll('r')
      .select('j.status as job_status');
  }

  /** Reports of the digests for one registration (and MIME types when given). */
  async byDigests(digests: string[], registrationUuid: string, mimeTypes?: string[], executor: Executor = this.db): Promise<ReportRow[]> {
    if (digests.length === 0) return [];
    let q = this.reports(executor).where('r.digest', 'in', digests).where('r.registration_uuid', '=', registrationUuid);
    if (mimeTypes) q = q.where('r.mime_type', 'in', mimeTypes);
    return (await q.orderBy('r.id').execute()).map(toReport);
  }

  async byUuid(uuid: string, executor: Executor = this.db): Promise<ReportRow | undefined> {
    const row = await this.reports(executor).where('r.uuid', '=', uuid).executeTakeFirst();
    return row && toReport(row);
  }

  async byUuids(uuids: string[], executor: Executor = this.db): Promise<ReportRow[]> {
    if (uuids.length === 0) return [];
    return (await this.reports(executor).where('r.uuid', 'in', uuids).orderBy('r.id').execute()).map(toReport);
  }

  /**
   * Harbor's placeholders: the digest's earlier reports of these MIME types are replaced by
   * new Pending ones (new uuids), unless one is still Pending or Running (the conflict is
   * answered). Returns the new reports and the SBOM accessory of the replaced ones.
   */
  async replace(
    tx: Executor,
    input: { digest: string; registrationUuid: string; mimeTypes: string[]; repository: string; scanAllRunId?: number | null },
  ): Promise<{ reports: ReportRow[]; previousSbom: string | null } | { conflict: ScanStatus }> {
    const old = await this.byDigests([input.digest], input.registrationUuid, input.mimeTypes, tx);
    const ongoing = old.find((r) => !finalStatuses.includes(r.status));
    if (ongoing) return { conflict: ongoing.status };
    const previousSbom = old.find((r) => r.sbomDigest !== null)?.sbomDigest ?? null;
    if (old.length > 0) {
      await tx
        .deleteFrom('scan_vulnerabilities')
        .where(
          'report_id',
          'in',
          old.map((r) => r.id),
        )
        .execute();
      await tx
        .deleteFrom('scan_reports')
        .where(
          'id',
          'in',
          old.map((r) => r.id),
        )
        .execute();
    }
    const now = nowIso();
    const rows = await tx
      .insertInto('scan_reports')
      .values(
        input.mimeTypes.map((mime) => ({
          uuid: randomUUID(),
          digest: input.digest,
          registration_uuid: input.registrationUuid,
          mime_type: mime,
          status: 'Pending',
          severity: null,
          summary: null,
          report: null,
          sbom_digest: null,
          sbom_media_type: null,
          repository: input.repository,
          job_id: null,
          scan_all_run_id: input.scanAllRunId ?? null,
          scanner: null,
          message: null,
          start_time: now,
          end_time: null,
        })),
      )
      .returningAll()
      .execute();
    return { reports: rows.map((r) => toReport({ ...r, job_status: null })), previousSbom };
  }

  async setJob(tx: Executor, reportIds: number[], jobId: number): Promise<void> {
    await tx.updateTable('scan_reports').set({ job_id: jobId }).where('id', 'in', reportIds).execute();
  }

  /** Running, unless the report was ended meanwhile (a stopped scan-all). Returns the ones now Running. */
  async markRunning(ids: number[], scanner: object | null): Promise<number> {
    const result = await this.db
      .updateTable('scan_reports')
      .set({ status: 'Running', start_time: nowIso(), scanner: scanner ? JSON.stringify(scanner) : null, complete_percent: 0 })
      .where('id', 'in', ids)
      .where('status', 'in', ['Pending', 'Running'])
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  async setProgress(ids: number[], percent: number): Promise<void> {
    await this.db
      .updateTable('scan_reports')
      .set({ complete_percent: percent })
      .where('id', 'in', ids)
      .where('status', '=', 'Running')
      .execute();
  }

  /** Stores a vulnerability report and its findings; false when the report is gone or already ended. */
  async finishVulnerability(
    tx: Executor,
    report: ReportRow,
    body: { severity: Severity; vulnerabilities: Finding[] } & Record<string, unknown>,
    scanner: object | null,
  ): Promise<boolean> {
    const summary = summarize(body.vulnerabilities);
    const updated = await tx
      .updateTable('scan_reports')
      .set({
        status: 'Success',
        severity: body.vulnerabilities.length === 0 ? 'None' : body.severity,
        summary: JSON.stringify(summary),
        report: JSON.stringify(body),
        scanner: scanner ? JSON.stringify(scanner) : null,
        end_time: nowIso(),
        complete_percent: 100,
        message: null,
      })
      .where('id', '=', report.id)
      .where('status', 'in', ['Pending', 'Running'])
      .executeTakeFirst();
    if (Number(updated.numUpdatedRows) !== 1) return false;
    const rows = body.vulnerabilities.map((f) => ({
      report_id: report.id,
      digest: report.digest,
      registration_uuid: report.registrationUuid,
      cve_id: f.id.slice(0, 128),
      package: f.package.slice(0, 255),
      version: f.version.slice(0, 255),
      fixed_version: (f.fix_version ?? '').slice(0, 255),
      severity: f.severity,
      severity_rank: Math.max(0, severityRank(f.severity)),
      cvss_score_v3: f.preferred_cvss?.score_v3 ?? null,
      cvss_score_v2: f.preferred_cvss?.score_v2 ?? null,
      cvss_vector_v3: f.preferred_cvss?.vector_v3?.slice(0, 255) ?? null,
      cvss_vector_v2: f.preferred_cvss?.vector_v2?.slice(0, 255) ?? null,
      description: f.description ?? null,
      links: JSON.stringify(f.links ?? []),
      cwe_ids: JSON.stringify(f.cwe_ids ?? []),
    }));
    for (let i = 0; i < rows.length; i += 200)
      await tx
        .insertInto('scan_vulnerabilities')
        .values(rows.slice(i, i + 200))
        .execute();
    return true;
  }

  async finishSbom(
    tx: Executor,
    report: ReportRow,
    body: Record<string, unknown>,
    sbom: { digest: string; mediaType: string },
    scanner: object | null,
  ): Promise<boolean> {
    const updated = await tx
      .updateTable('scan_reports')
      .set({
        status: 'Success',
        report: JSON.stringify(body),
        sbom_digest: sbom.digest,
        sbom_media_type: sbom.mediaType,
        scanner: scanner ? JSON.stringify(scanner) : null,
        end_time: nowIso(),
        complete_percent: 100,
        message: null,
      })
      .where('id', '=', report.id)
      .where('status', 'in', ['Pending', 'Running'])
      .executeTakeFirst();
    return Number(updated.numUpdatedRows) === 1;
  }

  /** Ends reports that are still Pending or Running as Error or Stopped. Returns how many ended. */
  async end(tx: Executor, ids: number[], status: 'Error' | 'Stopped', message: string): Promise<number> {
    if (ids.length === 0) return 0;
    const result = await tx
      .updateTable('scan_reports')
      .set({ status, message: message.slice(0, 4000), end_time: nowIso() })
      .where('id', 'in', ids)
      .where('status', 'in', ['Pending', 'Running'])
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  // Scan-all runs.

  async createRun(tx: Executor, trigger: string, operator: string): Promise<number> {
    const row = await tx
      .insertInto('scan_all_runs')
      .values({ job_id: null, trigger, operator, status: 'Running', start_time: nowIso(), end_time: null })
      .returning('id')
      .executeTakeFirstOrThrow();
    return Number(row.id);
  }

  async setRunJob(tx: Executor, runId: number, jobId: number): Promise<void> {
    await tx.updateTable('scan_all_runs').set({ job_id: jobId }).where('id', '=', runId).execute();
  }

  async run(id: number, executor: Executor = this.db) {
    return executor.selectFrom('scan_all_runs').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** The newest run (of a trigger, when given). */
  async latestRun(trigger?: string) {
    let q = this.db.selectFrom('scan_all_runs').selectAll();
    if (trigger) q = q.where('trigger', '=', trigger);
    return q.orderBy('id', 'desc').limit(1).executeTakeFirst();
  }

  async advanceRun(tx: Executor, runId: number, cursor: number, enqueued: number): Promise<void> {
    await tx
      .updateTable('scan_all_runs')
      .set((eb) => ({ cursor, enqueued: eb('enqueued', '+', enqueued) }))
      .where('id', '=', runId)
      .execute();
  }

  async endRun(runId: number, status: 'Success' | 'Error' | 'Stopped'): Promise<void> {
    await this.db
      .updateTable('scan_all_runs')
      .set({ status, end_time: nowIso() })
      .where('id', '=', runId)
      .where('status', '=', 'Running')
      .execute();
  }

  /** The run's scans by effective status. */
  async runCounts(runId: number): Promise<Record<ScanStatus, number>> {
    const rows = await this.db
      .selectFrom('scan_reports as r')
      .leftJoin('jobs as j', 'j.id', 'r.job_id')
      .select((eb) => ['r.status', 'j.status as job_status', eb.fn.countAll<number>().as('n')])
      .where('r.scan_all_run_id', '=', runId)
      .groupBy(['r.status', 'j.status'])
      .execute();
    const counts: Record<ScanStatus, number> = { Pending: 0, Running: 0, Success: 0, Error: 0, Stopped: 0 };
    for (const r of rows) counts[effectiveStatus(r.status, r.job_status)] += Number(r.n);
    return counts;
  }

  /** Ends the run's reports that have not started (the stop of a scan-all). */
  async stopRunPending(runId: number): Promise<number> {
    const result = await this.db
      .updateTable('scan_reports')
      .set({ status: 'Stopped', message: 'the scan-all run was stopped', end_time: nowIso() })
      .where('scan_all_run_id', '=', runId)
      .where('status', '=', 'Pending')
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  /** Job ids of the run's reports that are Running (their jobs get a stop). */
  async runningJobsOfRun(runId: number): Promise<number[]> {
    const rows = await this.db
      .selectFrom('scan_reports')
      .select('job_id')
      .distinct()
      .where('scan_all_run_id', '=', runId)
      .where('status', '=', 'Running')
      .where('job_id', 'is not', null)
      .execute();
    return rows.map((r) => Number(r.job_id));
  }
}
