import { createHash } from 'node:crypto';
import type { AccessGuard, ProjectRef } from '../../auth/guard.js';
import { isSysadmin, type Identity } from '../../auth/identity.js';
import type { JobQueue } from '../../jobs/queue.js';
import { JobAbortError, type JobContext } from '../../jobs/runner.js';
import { nowIso } from '../../lib/clock.js';
import { compileDoublestar } from '../../lib/doublestar.js';
import { apiError } from '../../lib/errors.js';
import { reportMimeTypes } from '../types.js';
import { csvColumns, csvLine, findingLine } from './csv.js';
import type { ExecutionRow, ExportCriteria, ExportStore } from './store.js';

export const cveExportJobType = 'CVE_EXPORT';
export const cveExportPurgeJobType = 'CVE_EXPORT_PURGE';
/** The only X-Scan-Data-Type Harbor accepts: the generic vulnerability report. */
export const exportScanDataType = reportMimeTypes.vulnerability;

/** Harbor's ScanDataExportExecution. */
export interface ExecutionView {
  id: number;
  user_id: number;
  status: string;
  trigger: string;
  start_time: string;
  end_time?: string;
  status_text: string;
  user_name: string;
  file_present: boolean;
}

export interface ExportOptions {
  /** Bytes per stored piece of a CSV. */
  chunkBytes?: number;
  /** How long a finished export's CSV stays downloadable (Harbor: 24 h). */
  keepFileMs?: number;
  /** How long an execution stays listed. */
  keepExecutionMs?: number;
}

export interface ExportPayload {
  executionId: number;
}

function bad(message: string) {
  return apiError('BAD_REQUEST', message);
}

/** A doublestar pattern as Harbor's filters use it ('' matches everything), checked up front. */
function matcher(pattern: string, what: string): ((value: string) => boolean) | null {
  if (pattern === '') return null;
  try {
    return compileDoublestar(pattern);
  } catch (err) {
    throw bad(`${what} "${pattern}" is not a valid pattern: ${(err as Error).message}`);
  }
}

function criteriaOf(body: Record<string, unknown>): { jobName: string; projectIds: number[]; criteria: ExportCriteria } {
  const projects = body.projects;
  if (!Array.isArray(projects) || projects.length !== 1 || !projects.every((p) => Number.isSafeInteger(p) && p > 0)) {
    throw bad(`only support export single project, invalid value: ${JSON.stringify(projects ?? null)}`);
  }
  const labels = body.labels ?? [];
  if (!Array.isArray(labels) || !labels.every((l) => Number.isSafeInteger(l) && l > 0))
    throw bad(`labels must be a list of label ids, not ${JSON.stringify(labels)}`);
  const text = (key: string): string => {
    const value = body[key] ?? '';
    if (typeof value !== 'string') throw bad(`${key} must be a string, such as "{a,b}", not ${JSON.stringify(value)}`);
    if (value.includes(' ')) throw bad(`invalid criteria value, please remove additional spaces for input: ${value}`);
    return value;
  };
  const criteria = { labels: labels as number[], repositories: text('repositories'), tags: text('tags'), cveIds: text('cveIds') };
  matcher(criteria.repositories, 'repositories');
  matcher(criteria.tags, 'tags');
  matcher(criteria.cveIds, 'cveIds');
  const jobName = body.job_name ?? '';
  if (typeof jobName !== 'string' || jobName.length > 255) throw bad('job_name must be a string of at most 255 characters');
  return { jobName, projectIds: projects as number[], criteria };
}

/** A CSV written in pieces of `size` bytes, hashed as it goes. */
class ChunkWriter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private seq = 0;
  size = 0;
  private readonly hash = createHash('sha256');

  constructor(
    private readonly store: ExportStore,
    private readonly executionId: number,
    private readonly chunkBytes: number,
  ) {}

  async write(text: string): Promise<void> {
    const bytes = Buffer.from(text, 'utf8');
    this.hash.update(bytes);
    this.size += bytes.byteLength;
    this.pending.push(bytes);
    this.pendingBytes += bytes.byteLength;
    if (this.pendingBytes >= this.chunkBytes) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const data = Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    await this.store.appendChunk(this.executionId, this.seq++, data);
  }

  digest(): string {
    return `sha256:${this.hash.digest('hex')}`;
  }
}

/**
 * CVE export (Harbor's scan data export): a user asks for the findings of one project's
 * artifacts (filtered by repository, tag, label and CVE id patterns), a CVE_EXPORT job on the
 * durable queue writes them as CSV into the database in pieces, and the same user downloads it.
 */
export class CveExportService {
  private readonly chunkBytes: number;
  private readonly keepFileMs: number;
  private readonly keepExecutionMs: number;

  constructor(
    private readonly store: ExportStore,
    private readonly queue: JobQueue,
    private readonly deps: { guard: AccessGuard; projectById(id: number): Promise<ProjectRef | null> },
    options: ExportOptions = {},
  ) {
    this.chunkBytes = options.chunkBytes ?? 256 * 1024;
    this.keepFileMs = options.keepFileMs ?? 24 * 3600_000;
    this.keepExecutionMs = options.keepExecutionMs ?? 30 * 24 * 3600_000;
  }

  /** POST /export/cve: checks the request and enqueues the export; the execution id. */
  async start(identity: Identity, scanDataType: string | undefined, body: Record<string, unknown>): Promise<number> {
    if (scanDataType !== exportScanDataType)
      throw bad(`Unsupported MIME type : ${scanDataType ?? ''}; X-Scan-Data-Type must be "${exportScanDataType}"`);
    const { jobName, projectIds, criteria } = criteriaOf(body);
    const project = await this.deps.projectById(projectIds[0]);
    if (!project) throw apiError('NOT_FOUND', `project ${projectIds[0]} not found`);
    await this.deps.guard.require(identity, project, 'export-cve', 'create');
    if (identity.kind !== 'user') throw apiError('FORBIDDEN', 'only users can export CVEs: the export belongs to the user who asks for it');
    return this.store.db.transaction().execute(async (tx) => {
      const id = await this.store.create(tx, {
        userId: identity.userId,
        userName: identity.username,
        jobName,
        projectIds,
        criteria,
        now: nowIso(),
      });
      const jobId = await this.queue.enqueue(cveExportJobType, { executionId: id } satisfies ExportPayload, { tx });
      await this.store.setJob(tx, id, jobId);
      return id;
    });
  }

  /** The caller's own executions, newest first; 403 when the caller lost export-cve on one of their projects. */
  async list(identity: Identity): Promise<{ items: ExecutionView[] }> {
    const user = this.user(identity);
    const rows = await this.store.listForUser(user);
    await this.requireRead(identity, [...new Set(rows.flatMap((r) => r.projectIds))]);
    return { items: rows.map(view) };
  }

  async execution(identity: Identity, id: number): Promise<ExecutionView> {
    return view(await this.owned(identity, id));
  }

  /** The CSV of a finished export: its name and size, and its bytes piece by piece. */
  async download(identity: Identity, id: number): Promise<{ fileName: string; size: number; body: AsyncGenerator<Buffer> }> {
    const row = await this.owned(identity, id);
    if (!row.filePresent) throw apiError('NOT_FOUND', `export ${id} has no file: ${row.statusText || `its status is ${view(row).status}`}`);
    return { fileName: `scandata_export_${id}.csv`, size: row.fileSize, body: this.store.chunks(id) };
  }

  private user(identity: Identity): string {
    if (identity.kind === 'anonymous') throw apiError('UNAUTHORIZED', 'authentication is required');
    if (identity.kind !== 'user') throw apiError('FORBIDDEN', 'CVE exports belong to users; this caller is not one');
    return identity.username;
  }

  private async owned(identity: Identity, id: number): Promise<ExecutionRow> {
    const user = this.user(identity);
    const row = await this.store.get(id);
    if (!row) throw apiError('NOT_FOUND', `execution with id: ${id} not found`);
    await this.requireRead(identity, row.projectIds);
    if (row.userName !== user) throw apiError('FORBIDDEN', `export ${id} belongs to another user`);
    return row;
  }

  private async requireRead(identity: Identity, projectIds: number[]): Promise<void> {
    for (const id of projectIds) {
      const project = await this.deps.projectById(id);
      if (!project) {
        if (isSysadmin(identity)) continue;
        throw apiError('FORBIDDEN', `project ${id} of the export no longer exists`);
      }
      await this.deps.guard.require(identity, project, 'export-cve', 'read');
    }
  }

  /** The CVE_EXPORT job: one attempt writes the whole CSV again (earlier pieces are dropped first). */
  async handle(ctx: JobContext<ExportPayload>): Promise<void> {
    const id = ctx.payload.executionId;
    const row = await this.store.get(id);
    if (!row || ['Success', 'Error', 'Stopped'].includes(row.status)) return;
    await this.store.begin(id, nowIso());
    try {
      const rows = await this.write(row, ctx);
      const empty = rows === 0;
      await this.store.finish(id, {
        status: 'Success',
        statusText: empty ? 'No vulnerabilities found or matched' : '',
        filePresent: !empty,
        size: empty ? 0 : rows.size,
        rows: empty ? 0 : rows.count,
        digest: empty ? null : rows.digest,
        now: nowIso(),
      });
      await ctx.log(empty ? 'no vulnerabilities found or matched' : `exported ${rows.count} row(s), ${rows.size} bytes`);
    } catch (err) {
      const stopped = ctx.signal.aborted && ctx.signal.reason instanceof JobAbortError && ctx.signal.reason.kind === 'stopped';
      if (stopped || ctx.attempt >= ctx.maxAttempts) {
        await this.store.finish(id, {
          status: stopped ? 'Stopped' : 'Error',
          statusText: stopped ? 'the export was stopped' : (err as Error).message,
          filePresent: false,
          size: 0,
          rows: 0,
          digest: null,
          now: nowIso(),
        });
      }
      throw err;
    }
  }

  private async write(row: ExecutionRow, ctx: JobContext<ExportPayload>): Promise<0 | { count: number; size: number; digest: string }> {
    const { criteria } = row;
    const [projectId] = row.projectIds;
    const repoMatch = matcher(criteria.repositories, 'repositories');
    const tagMatch = matcher(criteria.tags, 'tags');
    const cveMatch = matcher(criteria.cveIds, 'cveIds');
    // As Harbor, the repository pattern is matched against the name without its project.
    const repositories = (await this.store.repositoriesOf(projectId)).filter(
      (r) => !repoMatch || repoMatch(r.name.slice(r.name.indexOf('/') + 1)),
    );
    const labels = new Set(criteria.labels);
    const candidates = (await this.store.candidates(repositories.map((r) => r.id)))
      .filter((c) => !tagMatch || c.tags.some((t) => tagMatch(t)))
      .filter((c) => labels.size === 0 || c.labels.some((l) => labels.has(l)));
    await ctx.log(`${repositories.length} repositories and ${candidates.length} artifacts match`);
    const writer = new ChunkWriter(this.store, row.id, this.chunkBytes);
    let count = 0;
    for (let i = 0; i < candidates.length; i += 200) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      for (const finding of await this.store.findings(candidates.slice(i, i + 200).map((c) => c.id))) {
        if (cveMatch && !cveMatch(finding.cve_id)) continue;
        if (count === 0) await writer.write(csvLine(csvColumns));
        await writer.write(findingLine(finding));
        count += 1;
      }
    }
    await writer.flush();
    return count === 0 ? 0 : { count, size: writer.size, digest: writer.digest() };
  }

  /** The CVE_EXPORT_PURGE job: files past their day, executions past their month. */
  async purge(ctx: JobContext): Promise<void> {
    const now = Date.now();
    const result = await this.store.purge(
      new Date(now - this.keepFileMs).toISOString(),
      new Date(now - this.keepExecutionMs).toISOString(),
    );
    await ctx.log(`removed ${result.files} export file(s) and ${result.executions} old execution(s)`);
  }
}

/** The execution as Harbor shows it; one the queue ended without a word shows the queue's ending. */
function view(row: ExecutionRow): ExecutionView {
  let status: string = row.status;
  if ((status === 'Pending' || status === 'Running') && (row.jobStatus === 'error' || row.jobStatus === 'stopped')) {
    status = row.jobStatus === 'error' ? 'Error' : 'Stopped';
  }
  const statusText =
    status === 'Error' && row.statusText === ''
      ? 'Please contact the system administrator to check the logs of jobservice.'
      : row.statusText;
  return {
    id: row.id,
    user_id: row.userId,
    status,
    trigger: row.trigger,
    start_time: row.startTime,
    ...(row.endTime && { end_time: row.endTime }),
    status_text: statusText,
    user_name: row.userName,
    file_present: row.filePresent,
  };
}
