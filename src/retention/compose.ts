import type { ArtifactService } from '../artifacts/service.js';
import type { Db } from '../db/index.js';
import type { JobQueue } from '../jobs/queue.js';
import type { Scheduler } from '../jobs/scheduler.js';
import { isAppError } from '../lib/errors.js';
import type { JobContext } from '../jobs/runner.js';
import { retentionJobType, RetentionService, retentionTaskJobType, type ExecutionJobPayload, type TaskJobPayload } from './service.js';
import { RetentionStore } from './store.js';

export interface RetentionDeps {
  db: Db;
  queue: JobQueue;
  scheduler: Scheduler;
  /** Removals go through the artifact service, as a user's delete (audit, events, quota, immutability's 412). */
  artifacts: ArtifactService;
  /** Tag immutability's test for a project: (repository full name, tag) → protected. */
  immutableMatcher: (projectId: number) => Promise<(repository: string, tag: string) => boolean>;
}

const gone = (err: unknown) => isAppError(err) && err.code === 'NOT_FOUND';

/** The retention feature, assembled by the server (app.ts). */
export function createRetention(deps: RetentionDeps) {
  const { artifacts } = deps;
  const service = new RetentionService(new RetentionStore(deps.db), deps.queue, deps.scheduler, {
    async removeArtifact(repository, digest, actor) {
      try {
        const repo = await artifacts.repository(repository);
        await artifacts.delete(repo, await artifacts.resolve(repo, digest), actor);
        return 'removed';
      } catch (err) {
        if (gone(err)) return 'gone';
        throw err;
      }
    },
    async removeTag(repository, digest, tag, actor) {
      try {
        const repo = await artifacts.repository(repository);
        await artifacts.deleteTag(repo, await artifacts.resolve(repo, digest), tag, actor);
        return 'removed';
      } catch (err) {
        if (gone(err)) return 'gone';
        throw err;
      }
    },
    immutableMatcher: deps.immutableMatcher,
  });
  deps.queue.declareType(retentionJobType);
  deps.queue.declareType(retentionTaskJobType);
  return {
    service,
    /** Job type → handler, for the runner. */
    handlers: {
      [retentionJobType]: (ctx: JobContext) => service.handleExecution(ctx as JobContext<ExecutionJobPayload>),
      [retentionTaskJobType]: (ctx: JobContext) => service.handleTask(ctx as JobContext<TaskJobPayload>),
    } as Record<string, (ctx: JobContext) => Promise<void>>,
  };
}
