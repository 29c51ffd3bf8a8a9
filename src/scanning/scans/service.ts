import type { Kysely } from 'kysely';
import type { Database } from '../../db/types.js';
import { writeEvent } from '../../events/outbox.js';
import type { JobQueue } from '../../jobs/queue.js';
import type { JobContext } from '../../jobs/runner.js';
import { apiError } from '../../lib/errors.js';
import { reportMimeTypes, type SbomMediaType } from '../types.js';
import { executeScan, type ExecuteDeps } from './execute.js';
import { eventOverviews } from './results.js';
import type { RegistrationLookup, SbomAccessories, ScanRegistration, ScanType } from './ports.js';
import { finalStatuses, type Executor, type ReportRow, type ScanStore } from './store.js';
import { scannableKind, type ArtifactRef, type ScanTargets } from './targets.js';

export const imageScanJobType = 'IMAGE_SCAN';

/** Outbox events when a scan ends (webhooks deliver them). */
export const scanEventTypes = {
  completed: 'SCANNING_COMPLETED',
  failed: 'SCANNING_FAILED',
  stopped: 'SCANNING_STOPPED',
} as const;

export interface ImageScanPayload {
  reports: string[];
  repository: string;
  repositoryId: number;
  projectId: number;
  digest: string;
  mediaType: string;
  tag?: string;
  registrationUuid: string;
  scanType: ScanType;
  operator: string;
  /** The SBOM accessory of the report this scan replaces (removed once the new one is attached). */
  previousSbom?: string | null;
  /** A scan-all's scan: it waits while the registry is answering requests (see ScanServiceDeps.busy). */
  background?: boolean;
}

export function mimeTypesOf(scanType: ScanType): string[] {
  return scanType === 'sbom' ? [reportMimeTypes.sbom] : [reportMimeTypes.vulnerability];
}

export interface ScanServiceDeps extends Omit<ExecuteDeps, 'log'> {
  db: Kysely<Database>;
  store: ScanStore;
  targets: ScanTargets;
  queue: JobQueue;
  registrations: RegistrationLookup;
  sboms: SbomAccessories;
  /**
   * Whether /v2 requests are being answered. Background scans (scan all) wait while it says
   * so, up to a bound, so that scanning thousands of artifacts slows pushes and pulls little:
   * on a small machine the scan's decompression and parsing share the CPU with them.
   */
  busy?: () => boolean;
}

/** Waits while `busy()` holds, at most `maxMs`; returns early when the signal fires. */
export async function yieldWhileBusy(busy: (() => boolean) | undefined, signal: AbortSignal, maxMs: number): Promise<void> {
  if (!busy) return;
  const until = Date.now() + maxMs;
  while (busy() && Date.now() < until && !signal.aborted) await new Promise((resolve) => setTimeout(resolve, 25));
}

export interface ScanOptions {
  scanType?: ScanType;
  operator: string;
  /** The tag the request named (the scanner's `artifact.tag`). */
  tag?: string;
  /** An automatic scan (push, scan-all): unscannable and already-scanned artifacts are skipped quietly. */
  quiet?: boolean;
  /** Scan on push: digests that already have a report of this scanner are not scanned again. */
  skipScanned?: boolean;
  scanAllRunId?: number | null;
  /**
   * Write in the caller's transaction (the scan-all batch's). The registration must then be
   * given too: looking it up would query outside that transaction (on SQLite, wait for it).
   */
  tx?: Executor;
  registration?: ScanRegistration;
}

/**
 * Harbor's scan controller: placeholders (reports Pending, one per digest, registration and
 * MIME type) and one IMAGE_SCAN job per image manifest, written in one transaction; the job
 * scans and stores the report, or ends it Error or Stopped, and writes the outbox event.
 */
export class ScanService {
  constructor(private readonly deps: ScanServiceDeps) {}

  /** The registration that scans the project's artifacts; 412 as Harbor when there is none or it is deactivated. */
  async registrationFor(projectId: number): Promise<ScanRegistration> {
    const registration = await this.deps.registrations.forProject(projectId);
    if (!registration) throw apiError('PRECONDITION', `no available scanner for project: ${projectId}`);
    if (registration.disabled) throw apiError('PRECONDITION', `scanner ${registration.name} is deactivated`);
    return registration;
  }

  /**
   * Starts a scan of the artifact (an index: of its image children). Returns the job ids
   * enqueued. 400 when the artifact cannot be scanned, 409 when a scan of it is under way.
   */
  async scan(artifact: ArtifactRef, options: ScanOptions): Promise<number[]> {
    const scanType = options.scanType ?? 'vulnerability';
    let registration: ScanRegistration;
    if (options.registration) registration = options.registration;
    else if (options.tx) throw new Error("a scan written in a caller's transaction needs its registration");
    else {
      try {
        registration = await this.registrationFor(artifact.projectId);
      } catch (err) {
        if (options.quiet) return [];
        throw err;
      }
    }
    const run = async (tx: Executor) => {
      const targets = await this.deps.targets.targetsOf(artifact, tx);
      if (targets.length === 0) {
        if (options.quiet) return [];
        throw apiError(
          'BAD_REQUEST',
          scannableKind(artifact)
            ? `the index ${artifact.digest} lists no image the scanner ${registration.name} can scan`
            : `the configured scanner ${registration.name} does not support scanning artifact with mime type ${artifact.mediaType}` +
                (artifact.accessoryOf ? ' (it is an accessory)' : artifact.type !== 'IMAGE' ? ` (type ${artifact.type})` : ''),
        );
      }
      const mimeTypes = mimeTypesOf(scanType);
      const jobs: number[] = [];
      let conflict: string | undefined;
      for (const target of targets) {
        if (options.skipScanned && (await this.deps.store.byDigests([target.digest], registration.uuid, mimeTypes, tx)).length > 0)
          continue;
        const placed = await this.deps.store.replace(tx, {
          digest: target.digest,
          registrationUuid: registration.uuid,
          mimeTypes,
          repository: artifact.repository,
          scanAllRunId: options.scanAllRunId,
        });
        if ('conflict' in placed) {
          conflict ??= placed.conflict;
          continue;
        }
        const tag =
          target.digest === artifact.digest && options.tag
            ? options.tag
            : await this.deps.targets.latestTag(artifact.repositoryId, target.digest, tx);
        const payload: ImageScanPayload = {
          reports: placed.reports.map((r) => r.uuid),
          repository: artifact.repository,
          repositoryId: artifact.repositoryId,
          projectId: artifact.projectId,
          digest: target.digest,
          mediaType: target.mediaType,
          ...(tag && { tag }),
          registrationUuid: registration.uuid,
          scanType,
          operator: options.operator,
          previousSbom: placed.previousSbom,
          ...(options.scanAllRunId && { background: true }),
        };
        const jobId = await this.deps.queue.enqueue(imageScanJobType, payload, { tx, maxAttempts: 2 });
        await this.deps.store.setJob(
          tx,
          placed.reports.map((r) => r.id),
          jobId,
        );
        jobs.push(jobId);
      }
      if (jobs.length === 0 && conflict && !options.quiet) throw apiError('CONFLICT', `a previous scan process is ${conflict}`);
      return jobs;
    };
    const jobs = options.tx ? await run(options.tx) : await this.deps.db.transaction().execute(run);
    if (!options.tx && jobs.length > 0) this.deps.queue.notify(imageScanJobType);
    return jobs;
  }

  /** The artifact's reports (an index: its children's) of the project's registration for a scan type. */
  async reportsOf(artifact: ArtifactRef, scanType: ScanType): Promise<ReportRow[]> {
    const registration = await this.deps.registrations.forProject(artifact.projectId);
    if (!registration) return [];
    const digests = [artifact.digest, ...(await this.deps.targets.targetsOf(artifact)).map((t) => t.digest)];
    return this.deps.store.byDigests([...new Set(digests)], registration.uuid, mimeTypesOf(scanType));
  }

  /** Stops the artifact's scans under way; 400 as Harbor when there is none. */
  async stop(artifact: ArtifactRef, scanType: ScanType): Promise<void> {
    const ongoing = (await this.reportsOf(artifact, scanType)).filter((r) => !finalStatuses.includes(r.status) && r.jobId !== null);
    if (ongoing.length === 0) throw apiError('BAD_REQUEST', `no scan job for artifact digest=${artifact.digest}`);
    for (const jobId of new Set(ongoing.map((r) => r.jobId!))) {
      const result = await this.deps.queue.cancel(jobId);
      // A job stopped before it ran never writes its reports: end them here.
      if (result === 'stopped' || result === 'finished' || result === undefined)
        await this.endAndAnnounce(jobId, 'Stopped', 'stopped before it ran');
    }
  }

  /** The scan log of one report of the artifact (its job's log), or 404. */
  async log(artifact: ArtifactRef, reportUuid: string): Promise<string> {
    const report = await this.deps.store.byUuid(reportUuid);
    const digests = new Set([artifact.digest, ...(await this.deps.targets.targetsOf(artifact)).map((t) => t.digest)]);
    if (!report || !digests.has(report.digest)) throw apiError('NOT_FOUND', `report with uuid ${reportUuid} does not exist`);
    const text = report.jobId === null ? undefined : await this.deps.queue.logText(report.jobId);
    if (text === undefined) throw apiError('NOT_FOUND', `scan log with uuid: ${reportUuid} not found`);
    return text;
  }

  /** Ends a job's reports that are still open, with the outbox event, in one transaction. */
  private async endAndAnnounce(jobId: number, status: 'Error' | 'Stopped', message: string, payload?: ImageScanPayload): Promise<void> {
    const job = payload ?? ((await this.deps.queue.get(jobId))?.payload as ImageScanPayload | undefined);
    if (!job) return;
    const reports = await this.deps.store.byUuids(job.reports);
    await this.deps.db.transaction().execute(async (tx) => {
      const ended = await this.deps.store.end(
        tx,
        reports.map((r) => r.id),
        status,
        message,
      );
      if (ended > 0) await this.announce(tx, job, status === 'Stopped' ? scanEventTypes.stopped : scanEventTypes.failed, status, message);
    });
  }

  private async announce(tx: Executor, job: ImageScanPayload, type: string, status: string, message?: string): Promise<void> {
    // The summary as it stands once this scan ended (webhooks send it as Harbor's scan_overview).
    const overviews = eventOverviews(await this.deps.store.byUuids(job.reports, tx));
    await writeEvent(tx, type, {
      project_id: job.projectId,
      repository: job.repository,
      digest: job.digest,
      tag: job.tag ?? null,
      scan_type: job.scanType,
      registration_uuid: job.registrationUuid,
      reports: job.reports,
      status,
      ...(message && { message }),
      ...overviews,
      operator: job.operator,
      occurred_at: new Date().toISOString(),
    });
  }

  /** The IMAGE_SCAN job. */
  handle = async (ctx: JobContext<ImageScanPayload>): Promise<void> => {
    const job = ctx.payload;
    const reports = await this.deps.store.byUuids(job.reports);
    const open = reports.filter((r) => r.status === 'Pending' || r.status === 'Running');
    if (open.length === 0) {
      await ctx.log('the reports of this scan were replaced or ended meanwhile; nothing to do');
      return;
    }
    const registration = await this.deps.registrations.byUuid(job.registrationUuid);
    const fail = async (status: 'Error' | 'Stopped', message: string) => {
      await ctx.log(message, status === 'Error' ? 'ERROR' : 'INFO');
      await this.endAndAnnounce(ctx.id, status, message, job);
    };
    if (!registration) return fail('Error', `the scanner registration ${job.registrationUuid} no longer exists`);
    if (registration.disabled) return fail('Error', `scanner ${registration.name} is deactivated`);
    if (job.background) await yieldWhileBusy(this.deps.busy, ctx.signal, 20_000);
    if (
      (await this.deps.store.markRunning(
        open.map((r) => r.id),
        null,
      )) === 0
    )
      return;
    const started = Date.now();
    try {
      const { output, scanner } = await executeScan(
        { ...this.deps, log: (m) => ctx.log(m) },
        {
          registration,
          artifact: { repository: job.repository, digest: job.digest, mime_type: job.mediaType, ...(job.tag && { tag: job.tag }) },
          scanType: job.scanType,
          reportUuid: open[0].uuid,
          signal: ctx.signal,
        },
      );
      if (ctx.signal.aborted) throw ctx.signal.reason ?? new Error('stopped');
      if (job.background) await yieldWhileBusy(this.deps.busy, ctx.signal, 5_000);
      if (job.scanType === 'sbom') await this.storeSbom(ctx, job, open, output.sbom, scanner);
      else await this.storeVulnerabilities(ctx, job, open, output.vulnerability, scanner);
      await ctx.log(`done in ${Date.now() - started} ms`);
    } catch (err) {
      const reason = ctx.signal.aborted ? (ctx.signal.reason as { kind?: string } | undefined) : undefined;
      if (reason?.kind === 'stopped') return fail('Stopped', 'the scan was stopped');
      // Shutdown or a lost lease: the job runs again elsewhere; the reports stay open.
      if (reason?.kind === 'shutdown' || reason?.kind === 'lease-lost') throw err;
      const message = err instanceof Error ? err.message : String(err);
      if (ctx.attempt < ctx.maxAttempts) {
        await ctx.log(`the scan failed: ${message}; it will be tried again`, 'WARNING');
        throw err;
      }
      await fail('Error', `the scan failed: ${message}`);
    }
  };

  private async storeVulnerabilities(
    ctx: JobContext,
    job: ImageScanPayload,
    reports: ReportRow[],
    report: import('../types.js').VulnerabilityReport | undefined,
    scanner: object | null,
  ): Promise<void> {
    if (!report || !Array.isArray(report.vulnerabilities)) throw new Error('the scanner returned no vulnerability report');
    await this.deps.db.transaction().execute(async (tx) => {
      let stored = 0;
      for (const r of reports)
        if (await this.deps.store.finishVulnerability(tx, r, report as never, scanner ?? report.scanner ?? null)) stored++;
      if (stored > 0) await this.announce(tx, job, scanEventTypes.completed, 'Success');
      // Committed with the report: whoever sees the report finished finds this line in its log.
      await ctx.log(
        `${report.vulnerabilities.length} vulnerabilities found, overall severity ${report.vulnerabilities.length === 0 ? 'None' : report.severity}`,
        'INFO',
        tx,
      );
    });
  }

  private async storeSbom(
    ctx: JobContext,
    job: ImageScanPayload,
    reports: ReportRow[],
    report: import('../types.js').SbomReport | undefined,
    scanner: object | null,
  ): Promise<void> {
    if (!report || typeof report.sbom !== 'object' || report.sbom === null) throw new Error('the scanner returned no SBOM');
    const mediaType = (report.media_type ?? 'application/spdx+json') as SbomMediaType;
    const attached = await this.deps.sboms.attach({
      repository: job.repository,
      subjectDigest: job.digest,
      mediaType,
      document: report.sbom,
    });
    await ctx.log(`SBOM (${mediaType}) attached as accessory ${attached.digest}`);
    // The SBOM the replaced report named goes before the new report shows, so that a reader who
    // sees it Success finds one SBOM accessory of this scanner.
    if (job.previousSbom && job.previousSbom !== attached.digest) {
      try {
        await this.deps.sboms.remove(job.repository, job.previousSbom);
        await ctx.log(`the previous SBOM accessory ${job.previousSbom} was removed`);
      } catch (err) {
        await ctx.log(`the previous SBOM accessory ${job.previousSbom} could not be removed: ${(err as Error).message}`, 'WARNING');
      }
    }
    const { sbom: _document, ...withoutDocument } = report;
    let stored = 0;
    await this.deps.db.transaction().execute(async (tx) => {
      for (const r of reports) {
        if (
          await this.deps.store.finishSbom(
            tx,
            r,
            withoutDocument,
            { digest: attached.digest, mediaType },
            scanner ?? report.scanner ?? null,
          )
        )
          stored++;
      }
      if (stored > 0) await this.announce(tx, job, scanEventTypes.completed, 'Success');
    });
    if (stored === 0) {
      // The scan was stopped or replaced meanwhile: the accessory just made has no report.
      await this.deps.sboms.remove(job.repository, attached.digest);
    }
  }
}
