import type { Transaction } from 'kysely';
import type { Database } from '../../db/types.js';
import { EventTypes, type OutboxEvent } from '../../events/outbox.js';
import type { JobQueue } from '../../jobs/queue.js';
import type { ReplicationExecutionStore } from '../executions/store.js';
import { replicationJobTypes, type ReplicationJobPayload, type ReplicationPolicy, type SourceArtifact } from '../types.js';
import { applyFilters } from './filters.js';
import { planMaxAttempts } from './jobs.js';

/** The outbox subscriber's name (its cursor is stored under it; never change it). */
export const replicationSubscriber = 'replication.events';

interface ArtifactEvent {
  repository?: string;
  digest?: string;
  media_type?: string;
  tags?: string[];
  /** Label names, when the event carries them (a deletion's: the artifact is gone when the job reads it). */
  labels?: string[];
  operator?: string;
}

export interface EventPorts {
  queue: JobQueue;
  executions: ReplicationExecutionStore;
  /** Enabled event-based policies, read through the outbox transaction. */
  eventPolicies(tx: Transaction<Database>): Promise<ReplicationPolicy[]>;
}

/**
 * Event-based replication (Harbor's event_based trigger): for a PUSH_ARTIFACT, and for a
 * DELETE_ARTIFACT when the policy replicates deletions, every enabled event-based policy
 * whose source is Berth and whose name and tag filters match gets an execution and its
 * REPLICATION job, written with the outbox's transaction: the event is handed over exactly
 * once, and an instance that dies before the commit hands it over again, so no replication is
 * lost. The job plans the one task (labels are checked there) and runs it with retries.
 */
export function replicationEventHandler(ports: EventPorts) {
  return async (event: OutboxEvent, tx: Transaction<Database>): Promise<void> => {
    const deleted = event.type === EventTypes.artifactDeleted;
    if (event.type !== EventTypes.artifactPushed && !deleted) return;
    const e = event.payload as ArtifactEvent;
    if (typeof e?.repository !== 'string' || typeof e.digest !== 'string') return;
    const policies = (await ports.eventPolicies(tx)).filter(
      (p) => p.enabled && p.trigger.type === 'event_based' && p.srcRegistryId === null && (!deleted || p.replicateDeletion),
    );
    if (policies.length === 0) return;
    const resource = {
      repository: e.repository,
      digest: e.digest,
      mediaType: e.media_type ?? '',
      tags: Array.isArray(e.tags) ? e.tags.filter((t): t is string => typeof t === 'string') : [],
      deleted,
      ...(Array.isArray(e.labels) && { labels: e.labels.filter((l): l is string => typeof l === 'string') }),
    };
    // Name and tag filters here; labels are read by the job (outside this transaction).
    const candidate: SourceArtifact = { ...resource, labels: resource.labels ?? [], resourceType: 'image' };
    for (const policy of policies) {
      const cheap = policy.filters.filter((f) => f.type === 'name' || f.type === 'tag');
      if (applyFilters(cheap, [candidate]).length === 0) continue;
      const executionId = await ports.executions.createExecution(policy.id, 'event_based', tx, {
        operator: e.operator ?? '',
        singleActive: policy.singleActiveReplication,
      });
      const payload: ReplicationJobPayload = { policyId: policy.id, executionId, trigger: 'event_based', resource };
      const jobId = await ports.queue.enqueue(replicationJobTypes.execution, payload, { tx, maxAttempts: planMaxAttempts });
      await ports.executions.setExecutionJob(executionId, jobId, tx);
    }
  };
}
