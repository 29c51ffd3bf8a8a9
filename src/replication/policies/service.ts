import type { Scheduler } from '../../jobs/scheduler.js';
import { nowIso } from '../../lib/clock.js';
import { apiError } from '../../lib/errors.js';
import type { QueryTerm } from '../../lib/query.js';
import { replicationJobTypes, type ReplicationJobPayload, type ReplicationPolicy } from '../types.js';
import { parsePolicy, type PolicyInput } from './rules.js';
import type { Executor, PolicyRecord, ReplicationPolicyStore } from './store.js';

/** What policies need from the registry endpoints (replication/registries' RegistryEndpointService). */
export interface RegistryDirectory {
  /**
   * Harbor's Registry object for the API (the credential's secret masked); id 0 is this Berth
   * (Harbor's "Local" registry); null or undefined when there is no such endpoint.
   */
  view(id: number): Promise<object | null | undefined>;
  /** Where the policies say whether a registry is in use (its delete is refused while one is). */
  onUsageCheck?(check: (registryId: number) => Promise<string | null>): void;
}

/** The schedule of a scheduled policy: one per policy, enqueuing REPLICATION {policyId, trigger: 'scheduled'}. */
export const scheduleName = (policyId: number) => `replication:${policyId}`;

const auditType = 'replication_policy';

/**
 * Harbor's replication policies: CRUD with Harbor's checks (replication/policies/rules.ts, and
 * the registries named must exist), the cron schedule of a scheduled policy kept with it, and
 * what the engine reads (a policy, the enabled event-based ones) and the registries feature
 * asks (is a registry in use).
 */
export class ReplicationPolicyService {
  constructor(
    private readonly store: ReplicationPolicyStore,
    private readonly scheduler: Scheduler,
    private readonly registries: RegistryDirectory,
    /** Ends what jobs left open in the policy's executions, before a delete decides whether one still runs. */
    private readonly settleExecutions: (policyId: number) => Promise<void> = async () => undefined,
  ) {
    registries.onUsageCheck?.((registryId) => this.registryUsage(registryId));
  }

  parse(body: unknown): PolicyInput {
    return parsePolicy(body);
  }

  async get(id: number): Promise<ReplicationPolicy | undefined> {
    return this.store.get(id);
  }

  /** The policy or a 404 with Harbor's message. */
  async require(id: number): Promise<PolicyRecord> {
    const policy = await this.store.get(id);
    if (!policy) throw apiError('NOT_FOUND', `replication policy ${id} not found`);
    return policy;
  }

  async list(terms: QueryTerm[], sort: string | undefined, paging: { offset: number; limit: number }) {
    return this.store.list(terms, sort, paging);
  }

  /** Enabled event-based policies whose source is this Berth; through `executor` when the caller is inside a transaction (the outbox's). */
  async enabledEventPolicies(executor?: Executor): Promise<ReplicationPolicy[]> {
    return this.store.enabledEventPolicies(executor);
  }

  async create(input: PolicyInput, operator: string): Promise<number> {
    await this.checkRegistries(input);
    const id = await this.store.create(input, operator, nowIso(), {
      username: operator,
      operation: 'create',
      resourceType: auditType,
      resource: input.name,
    });
    await this.applySchedule(id, input);
    return id;
  }

  async update(id: number, input: PolicyInput, operator: string): Promise<void> {
    await this.require(id);
    await this.checkRegistries(input);
    const updated = await this.store.update(id, input, nowIso(), {
      username: operator,
      operation: 'update',
      resourceType: auditType,
      resource: input.name,
    });
    if (!updated) throw apiError('NOT_FOUND', `replication policy ${id} not found`);
    await this.applySchedule(id, input);
  }

  /** Deletes the policy, its executions and its schedule; 412 while one of its executions runs. */
  async delete(id: number, operator: string): Promise<void> {
    const policy = await this.require(id);
    await this.settleExecutions(id);
    const result = await this.store.delete(id, { username: operator, operation: 'delete', resourceType: auditType, resource: policy.name });
    if (result.running !== undefined) {
      throw apiError(
        'PRECONDITION',
        `the execution ${result.running} of replication policy ${policy.name} is still in progress; stop it first (PUT /replication/executions/${result.running})`,
      );
    }
    if (!result.deleted) throw apiError('NOT_FOUND', `replication policy ${id} not found`);
    await this.scheduler.remove(scheduleName(id));
  }

  /** For the registries feature's delete: why the registry cannot go, or null (Harbor's message). */
  async registryUsage(registryId: number): Promise<string | null> {
    const { names, total } = await this.store.usingRegistry(registryId);
    if (total === 0) return null;
    const more = total > names.length ? ` and ${total - names.length} more` : '';
    return `the registry ${registryId} is referenced by replication policies, cannot delete it (${names.join(', ')}${more})`;
  }

  /** Harbor's ReplicationPolicy for the API, the registries embedded (this Berth as Harbor's "Local" registry, id 0). */
  async view(policy: ReplicationPolicy, cache = new Map<number, object | null | undefined>()): Promise<Record<string, unknown>> {
    const registry = async (id: number | null) => {
      const key = id ?? 0;
      if (!cache.has(key)) cache.set(key, await this.registries.view(key));
      return cache.get(key) ?? { id: key };
    };
    return {
      id: policy.id,
      name: policy.name,
      description: policy.description,
      src_registry: await registry(policy.srcRegistryId),
      dest_registry: await registry(policy.destRegistryId),
      dest_namespace: policy.destNamespace,
      dest_namespace_replace_count: policy.destNamespaceReplaceCount,
      trigger: { type: policy.trigger.type, trigger_settings: { cron: policy.trigger.cron ?? '' } },
      filters: policy.filters.map((f) => ({ type: f.type, value: f.value, ...(f.decoration && { decoration: f.decoration }) })),
      replicate_deletion: policy.replicateDeletion,
      deletion: policy.replicateDeletion,
      override: policy.override,
      enabled: policy.enabled,
      speed: policy.speed,
      copy_by_chunk: policy.copyByChunk,
      single_active_replication: policy.singleActiveReplication,
      creation_time: policy.creationTime,
      update_time: policy.updateTime,
    };
  }

  async views(policies: ReplicationPolicy[]): Promise<Array<Record<string, unknown>>> {
    const cache = new Map<number, object | null | undefined>();
    const out: Array<Record<string, unknown>> = [];
    for (const p of policies) out.push(await this.view(p, cache));
    return out;
  }

  private async checkRegistries(input: PolicyInput): Promise<void> {
    for (const [field, id] of [
      ['src_registry', input.srcRegistryId],
      ['dest_registry', input.destRegistryId],
    ] as const) {
      if (id !== 0 && ((await this.registries.view(id)) ?? undefined) === undefined) {
        throw apiError('BAD_REQUEST', `${field}: registry ${id} not found (create it with POST /registries first)`);
      }
    }
  }

  /** A scheduled, enabled policy has its schedule (Harbor: IsScheduledTrigger); any other has none. */
  private async applySchedule(id: number, input: PolicyInput): Promise<void> {
    if (input.enabled && input.trigger.type === 'scheduled') {
      const payload: ReplicationJobPayload = { policyId: id, trigger: 'scheduled' };
      await this.scheduler.define({
        name: scheduleName(id),
        jobType: replicationJobTypes.execution,
        cron: input.trigger.cron,
        payload,
        vendorId: id,
      });
    } else {
      await this.scheduler.remove(scheduleName(id));
    }
  }
}
