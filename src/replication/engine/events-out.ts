import { nowIso } from '../../lib/clock.js';
import type { ReplicationEventPayload } from '../../webhooks/types.js';
import type { ExecutionRow, TaskRow } from '../executions/store.js';
import type { ReplicationPolicy } from '../types.js';
import type { CopyDetail } from './jobs.js';

/** What a REPLICATION event is told about besides the task: read before the task's closing transaction. */
export interface ReplicationEventFacts {
  /** A remote registry's name, URL, type and credential type; null when it is gone. */
  registry(id: number): Promise<{ name: string; url: string; type: string; credential: { type?: string } } | null>;
  /** The local project's id by name; undefined when there is none (a pull into a project never created). */
  projectId(name: string): Promise<number | undefined>;
}

/** The project a repository name belongs to. */
function projectOf(repository: string): string {
  return repository.split('/', 1)[0];
}

/**
 * The payload of the REPLICATION event of a task that ended (Harbor sends one per status change
 * of a task; Berth, per task, when it ends). The project is the local side's: the source's on
 * a push, the destination's on a pull. Undefined when that project does not exist, as Harbor
 * then sends nothing.
 */
export async function replicationEventPayload(
  task: TaskRow,
  status: 'Succeed' | 'Failed' | 'Stopped',
  policy: (ReplicationPolicy & { creator?: string }) | undefined,
  execution: ExecutionRow | undefined,
  facts: ReplicationEventFacts,
): Promise<ReplicationEventPayload | undefined> {
  const d = task.detail as CopyDetail;
  const pull = d.srcRegistryId !== null;
  const localRepository = pull ? d.dstRepository : d.srcRepository;
  const projectId = await facts.projectId(projectOf(localRepository));
  if (projectId === undefined) return undefined;
  const remoteId = pull ? d.srcRegistryId : d.destRegistryId;
  const remote = remoteId === null ? null : await facts.registry(remoteId);
  return {
    project_id: projectId,
    policy_id: task.policyId,
    policy_name: policy?.name ?? '',
    execution_id: task.executionId,
    task_id: task.id,
    trigger: execution?.trigger ?? '',
    status,
    direction: pull ? 'pull' : 'push',
    src_resource: task.srcResource,
    dest_resource: task.dstResource,
    registry: { name: remote?.name ?? '', url: remote?.url ?? '', type: remote?.type ?? '' },
    repository: localRepository,
    digest: d.digest,
    tags: d.tags,
    resource_type: task.resourceType,
    ...(task.operation === 'deletion' && { operation: 'deletion' }),
    ...(policy?.description && { description: policy.description }),
    ...(policy?.creator && { policy_creator: policy.creator }),
    override: d.override,
    ...(remote?.credential.type && { authentication_type: remote.credential.type }),
    ...(execution?.startTime && { execution_started_at: execution.startTime }),
    ...(execution?.operator && { operator: execution.operator }),
    occurred_at: nowIso(),
  };
}
