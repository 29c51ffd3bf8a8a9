import type { DialectHelpers } from '../db/dialect.js';
import type { Db } from '../db/index.js';
import type { JobQueue } from '../jobs/queue.js';
import type { Scheduler } from '../jobs/scheduler.js';
import type { RegistryService } from '../registry/service.js';
import type { BlobStore } from '../storage/blobstore.js';
import { gcJobType, GcService } from './service.js';
import { GcStore, type OnUnlinked } from './store.js';

export interface GcDeps {
  db: Db;
  dialect: DialectHelpers;
  blobs: BlobStore;
  queue: JobQueue;
  scheduler: Scheduler;
  /** Untagged artifacts are deleted through the registry, as any delete (audit, events, quota). */
  registry: RegistryService;
  /** The quota hook for links GC removes, called in the removing transaction. */
  onUnlinked: OnUnlinked;
  timeWindowHours: number;
  /** Whether registry requests are being answered: a run then paces itself (see collector.ts). */
  busy?: () => boolean;
}

/** The GC feature, assembled the same way by the server (app.ts) and by `berth gc`. */
export function createGc(deps: GcDeps) {
  const service = new GcService(
    new GcStore(deps.db, deps.dialect),
    deps.queue,
    deps.scheduler,
    {
      blobs: deps.blobs,
      onUnlinked: deps.onUnlinked,
      // SQLite's queries run on the thread that answers requests: a run yields more there.
      ...(deps.busy && { pace: { busy: deps.busy, factor: deps.dialect.name === 'sqlite' ? 8 : 4 } }),
      deleteUntagged: (a, operator) =>
        deps.registry.deleteUntaggedArtifact({ id: a.id, repository: a.repository, digest: a.digest, projectId: a.projectId }, operator),
    },
    { timeWindowHours: deps.timeWindowHours },
  );
  deps.queue.declareType(gcJobType);
  return { service, jobType: gcJobType, handle: (ctx: Parameters<GcService['handle']>[0]) => service.handle(ctx) };
}
