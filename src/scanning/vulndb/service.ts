import type { JobQueue } from '../../jobs/queue.js';
import type { JobContext } from '../../jobs/runner.js';
import { apiError } from '../../lib/errors.js';
import { summary, VulnDbImporter, type ImportResult } from './import.js';
import type { VulnDbStore } from './store.js';
import { updateFromUrl } from './update.js';

/** The job that downloads and imports the configured OSV archives. */
export const vulnDbUpdateJob = 'VULNDB_UPDATE';

export interface VulnDbOptions {
  url: string;
  ecosystems: readonly string[];
  tempDir: string;
}

const statusNames: Record<string, string> = {
  pending: 'Pending',
  running: 'Running',
  success: 'Success',
  error: 'Error',
  stopped: 'Stopped',
};

/** The vulnerability database's status, as GET /vulndb answers. */
export interface VulnDbStatus {
  /** The newest `modified` of the imported records (what scanners report as the database's age); null when empty. */
  updated_at: string | null;
  /** Records stored (each OSV record once). */
  advisories: number;
  url: string;
  ecosystems: Array<{ ecosystem: string; records: number; imported_at: string; source: string; newest_modified: string | null }>;
  last_update: { id: number; status: string; creation_time: string; update_time: string; error?: string } | null;
}

export class VulnDbService {
  constructor(
    readonly store: VulnDbStore,
    private readonly queue: JobQueue,
    readonly options: VulnDbOptions,
  ) {}

  async status(): Promise<VulnDbStatus> {
    const [sources, advisories, updatedAt, job] = await Promise.all([
      this.store.sources(),
      this.store.advisoryCount(),
      this.store.newestModified(),
      this.store.lastJob(vulnDbUpdateJob),
    ]);
    return {
      updated_at: updatedAt,
      advisories,
      url: this.options.url,
      ecosystems: sources.map((s) => ({
        ecosystem: s.ecosystem,
        records: s.records,
        imported_at: s.importedAt,
        source: s.source,
        newest_modified: s.newestModified,
      })),
      last_update: job
        ? {
            id: Number(job.id),
            status: statusNames[job.status] ?? job.status,
            creation_time: job.created_at,
            update_time: job.updated_at,
            ...(job.last_error && { error: job.last_error }),
          }
        : null,
    };
  }

  /** Queues an update; 409 while another one is pending or running. Returns the job id. */
  async startUpdate(operator: string): Promise<number> {
    const last = await this.store.lastJob(vulnDbUpdateJob);
    if (last && (last.status === 'pending' || last.status === 'running')) {
      throw apiError('CONFLICT', `vulnerability database update ${last.id} is still ${last.status}; wait for it to end`);
    }
    const id = await this.queue.enqueue(vulnDbUpdateJob, { operator }, { maxAttempts: 1 });
    this.queue.notify(vulnDbUpdateJob);
    return id;
  }

  /** Downloads and imports every configured ecosystem (the job, and `berth vulndb update`). */
  update(options: { signal?: AbortSignal; log?: (message: string) => void | Promise<void> } = {}): Promise<ImportResult[]> {
    const importer = new VulnDbImporter(this.store, { signal: options.signal, log: options.log });
    return updateFromUrl(importer, { ...this.options, ...options });
  }

  /** Imports a directory laid out as the OSV export (`berth vulndb import DIR`). */
  importDirectory(dir: string, options: { log?: (message: string) => void | Promise<void> } = {}) {
    return new VulnDbImporter(this.store, { log: options.log }).importDirectory(dir);
  }

  /** The VULNDB_UPDATE job: fails (after trying every ecosystem) when any ecosystem could not be updated. */
  async handle(ctx: JobContext<unknown>): Promise<unknown> {
    const results = await this.update({ signal: ctx.signal, log: (m) => ctx.log(m) });
    const failed = results.filter((r) => r.error);
    if (failed.length > 0) throw new Error(failed.map(summary).join('\n'));
    return results.map(({ ecosystem, imported, unchanged, removed, skipped }) => ({ ecosystem, imported, unchanged, removed, skipped }));
  }
}
