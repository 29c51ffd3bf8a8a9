import type { Db } from '../db/index.js';
import type { JobQueue } from '../jobs/queue.js';
import type { Scheduler } from '../jobs/scheduler.js';
import { BlobIntegrity } from '../registry/integrity.js';
import type { BlobStore } from '../storage/blobstore.js';
import { Scrubber } from './scrubber.js';
import { scrubJob, ScrubService } from './service.js';
import { ScrubStore } from './store.js';

/** The scrub feature, assembled the same way by the server (app.ts) and by `berth scrub`. */
export function createScrub(deps: { db: Db; blobs: BlobStore; queue: JobQueue; scheduler: Scheduler; workers: number }) {
  const scrubber = new Scrubber(new BlobIntegrity(deps.db), deps.blobs, () => deps.queue.clock.iso());
  const service = new ScrubService(new ScrubStore(deps.db), scrubber, deps.queue, deps.scheduler, { defaultWorkers: deps.workers });
  return { service, jobType: scrubJob };
}
