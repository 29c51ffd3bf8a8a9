import { createHash } from 'node:crypto';
import { randomUUID } from 'node:crypto';
import { apiError } from '../lib/errors.js';
import { nowIso } from '../lib/clock.js';
import type { QueryTerm } from '../lib/query.js';
import { renderDelivery } from './formats/index.js';
import { parsePolicy, type PolicyInput, type TargetInput } from './policy.js';
import { sendDelivery } from './sender.js';
import type { ExecutionRow, Page, Paging, PolicyRow, TaskCounts, TaskRow, WebhookStore } from './store.js';
import { webhookEventTypes, type DeliveryOutcome, type RenderContext, type WebhookTargetSpec } from './types.js';
import { executionMetrics } from '../lib/executions.js';

/** What the service needs to know about where it runs. */
export interface WebhookServiceOptions {
  /** Seconds one delivery (and a test send) waits for the receiver. */
  timeoutSeconds: number;
  /** Registry host and external URL for links in payloads (resolved late: the listen URL is known after start). */
  urls(): { registryHost: string; externalUrl: string };
}

export interface ProjectInfo {
  id: number;
  name: string;
  public: boolean;
}

/** Harbor's answer for a time not reached yet (Go's zero time in RFC 3339). */
const notYet = '0001-01-01T00:00:00Z';

export function storedTargets(row: PolicyRow): TargetInput[] {
  return JSON.parse(row.targets) as TargetInput[];
}

export function storedEventTypes(row: PolicyRow): string[] {
  return JSON.parse(row.event_types) as string[];
}

/** A target as the renderer and the sender see it. */
export function targetSpec(t: TargetInput): WebhookTargetSpec {
  return {
    type: t.type,
    address: t.address,
    // Harbor's Slack job sends no Authorization header.
    ...(t.type === 'http' && t.auth_header && { authHeader: t.auth_header }),
    skipCertVerify: t.skip_cert_verify,
    payloadFormat: t.payload_format || 'Default',
  };
}

/** Harbor's WebhookPolicy. */
export function policyView(row: PolicyRow) {
  return {
    id: Number(row.id),
    name: row.name,
    description: row.description,
    project_id: Number(row.project_id),
    targets: storedTargets(row).map((t) => ({
      type: t.type,
      address: t.address,
      ...(t.auth_header && { auth_header: t.auth_header }),
      skip_cert_verify: t.skip_cert_verify,
      ...(t.payload_format && { payload_format: t.payload_format }),
    })),
    event_types: storedEventTypes(row),
    creator: row.creator,
    creation_time: row.created_at,
    update_time: row.updated_at,
    enabled: row.enabled === 1,
  };
}

/** Harbor's Execution (vendor WEBHOOK, trigger EVENT). */
export function executionView(e: ExecutionRow, c: TaskCounts) {
  return {
    id: Number(e.id),
    vendor_type: e.vendor_type,
    vendor_id: Number(e.policy_id),
    status: e.status,
    status_message: e.status_message,
    metrics: executionMetrics(c),
    trigger: e.trigger,
    extra_attrs: JSON.parse(e.extra_attrs) as Record<string, unknown>,
    start_time: e.start_time,
    end_time: e.end_time ?? notYet,
  };
}

/** Harbor's Task; extra_attrs carries the delivery: where, what, and the last attempt's answer. */
export function taskView(t: TaskRow) {
  return {
    id: Number(t.id),
    execution_id: Number(t.execution_id),
    status: t.status,
    status_message: t.status_message,
    run_count: Number(t.run_count),
    extra_attrs: {
      event_type: t.event_type,
      address: t.address,
      notify_type: t.notify_type,
      payload_format: t.payload_format,
      delivery_id: t.delivery_id,
      status_code: t.status_code === null ? null : Number(t.status_code),
      duration_ms: t.duration_ms === null ? null : Number(t.duration_ms),
      response: t.response,
      payload: t.body,
    },
    creation_time: t.creation_time,
    update_time: t.update_time,
    start_time: t.start_time ?? notYet,
    end_time: t.end_time ?? notYet,
  };
}

/** Harbor's deprecated WebhookJob, from a task. */
export function webhookJobView(t: TaskRow) {
  return {
    id: Number(t.id),
    policy_id: Number(t.policy_id),
    event_type: t.event_type,
    notify_type: t.notify_type,
    status: t.status,
    job_detail: t.body,
    creation_time: t.creation_time,
    update_time: t.update_time,
  };
}

/** The outcome of one attempt in words, for logs, task messages and the test send. */
export function describeOutcome(o: DeliveryOutcome): string {
  if (o.statusCode === 0) return o.response || 'no answer';
  const excerpt = o.response.trim();
  return `HTTP ${o.statusCode}${excerpt ? `: ${excerpt.length > 200 ? `${excerpt.slice(0, 200)}…` : excerpt}` : ''}`;
}

/** Webhook policies (Harbor's notification policies), their executions, tasks and the test send. */
export class WebhookService {
  constructor(
    readonly store: WebhookStore,
    private readonly options: WebhookServiceOptions,
  ) {}

  async createPolicy(projectId: number, body: Record<string, unknown>, creator: string): Promise<number> {
    const input = parsePolicy(body);
    const now = nowIso();
    const id = await this.store.insertPolicy({
      project_id: projectId,
      name: input.name,
      description: input.description,
      targets: JSON.stringify(input.targets),
      event_types: JSON.stringify(input.eventTypes),
      creator,
      enabled: input.enabled ? 1 : 0,
      created_at: now,
      updated_at: now,
    });
    if (id === undefined) throw apiError('CONFLICT', `notification policy named ${input.name} already exists`);
    return id;
  }

  /** The policy when it belongs to the project; 404 otherwise, as Harbor's requirePolicyInProject. */
  async policy(projectId: number, policyId: number): Promise<PolicyRow> {
    const row = await this.store.policy(policyId);
    if (!row) throw apiError('NOT_FOUND', `notificationPolicy ${policyId} not found`);
    if (Number(row.project_id) !== projectId)
      throw apiError('NOT_FOUND', `project id:${projectId}, webhook policy id: ${policyId} not found`);
    return row;
  }

  async updatePolicy(projectId: number, policyId: number, body: Record<string, unknown>): Promise<void> {
    await this.policy(projectId, policyId);
    const input: PolicyInput = parsePolicy(body);
    const ok = await this.store.updatePolicy(policyId, projectId, {
      name: input.name,
      description: input.description,
      targets: JSON.stringify(input.targets),
      event_types: JSON.stringify(input.eventTypes),
      enabled: input.enabled ? 1 : 0,
      updated_at: nowIso(),
    });
    if (!ok) throw apiError('CONFLICT', `notification policy named ${input.name} already exists`);
  }

  async deletePolicy(projectId: number, policyId: number): Promise<void> {
    await this.policy(projectId, policyId);
    await this.store.deletePolicy(policyId);
  }

  policies(projectId: number, terms: QueryTerm[], sort: string | undefined, paging: Paging): Promise<Page<PolicyRow>> {
    return this.store.policies(projectId, terms, sort, paging);
  }

  async executions(projectId: number, policyId: number, terms: QueryTerm[], sort: string | undefined, paging: Paging) {
    await this.policy(projectId, policyId);
    const page = await this.store.executions(policyId, terms, sort, paging);
    const counts = await this.store.taskCounts(page.items.map((e) => Number(e.id)));
    return { total: page.total, items: page.items.map((e) => executionView(e, counts.get(Number(e.id))!)) };
  }

  private async execution(projectId: number, policyId: number, executionId: number): Promise<ExecutionRow> {
    await this.policy(projectId, policyId);
    const e = await this.store.execution(executionId);
    if (!e || Number(e.policy_id) !== policyId) throw apiError('NOT_FOUND', `execution ${executionId} not found in policy ${policyId}`);
    return e;
  }

  async tasks(projectId: number, policyId: number, executionId: number, terms: QueryTerm[], sort: string | undefined, paging: Paging) {
    await this.execution(projectId, policyId, executionId);
    const page = await this.store.tasks(executionId, terms, sort, paging);
    return { total: page.total, items: page.items.map(taskView) };
  }

  /** The task, when it is the execution's, the execution the policy's and the policy the project's. */
  async task(projectId: number, policyId: number, executionId: number, taskId: number): Promise<TaskRow> {
    await this.execution(projectId, policyId, executionId);
    const t = await this.store.task(taskId);
    if (!t || Number(t.execution_id) !== executionId) throw apiError('NOT_FOUND', `task ${taskId} not found in execution ${executionId}`);
    return t;
  }

  async webhookJobs(projectId: number, policyId: number, statuses: string[], terms: QueryTerm[], sort: string | undefined, paging: Paging) {
    await this.policy(projectId, policyId);
    const page = await this.store.tasksOfPolicy(policyId, statuses, terms, sort, paging);
    return { total: page.total, items: page.items.map(webhookJobView) };
  }

  /** Harbor's WebhookLastTrigger list: one entry per (policy, event type). */
  async lastTriggers(projectId: number) {
    const policies = await this.store.allPolicies(projectId);
    const last = await this.store.lastTriggers(policies.map((p) => Number(p.id)));
    return policies.flatMap((p) =>
      storedEventTypes(p).map((eventType) => {
        const at = last.get(`${Number(p.id)}:${eventType}`);
        return {
          policy_name: p.name,
          event_type: eventType,
          enabled: p.enabled === 1,
          creation_time: p.created_at,
          ...(at && { last_trigger_time: at }),
        };
      }),
    );
  }

  /**
   * The portal's "test": renders an artifact push for every target of the body (not stored)
   * and sends it now; 400 naming each target that did not answer 2xx, and why.
   */
  async testSend(project: ProjectInfo, body: Record<string, unknown>, operator: string): Promise<void> {
    const input = parsePolicy(body, { forTest: true });
    const now = nowIso();
    const { registryHost, externalUrl } = this.options.urls();
    const digest = `sha256:${createHash('sha256').update(`berth webhook test ${project.name}`).digest('hex')}`;
    const failures: string[] = [];
    await Promise.all(
      input.targets.map(async (t) => {
        const target = targetSpec(t);
        const ctx: RenderContext = {
          event: {
            id: 0,
            type: webhookEventTypes.pushArtifact,
            payload: {
              project_id: project.id,
              repository: `${project.name}/webhook-test`,
              digest,
              media_type: 'application/vnd.oci.image.manifest.v1+json',
              tags: ['latest'],
              operator,
              occurred_at: now,
            },
            createdAt: now,
          },
          project,
          policy: { id: 0, name: input.name || 'test' },
          target,
          deliveryId: randomUUID(),
          registryHost,
          externalUrl,
        };
        const rendered = renderDelivery(ctx);
        const outcome = await sendDelivery({
          address: target.address,
          body: rendered.body,
          headers: rendered.headers,
          ...(target.authHeader && { authHeader: target.authHeader }),
          skipCertVerify: target.skipCertVerify,
          timeoutMs: this.options.timeoutSeconds * 1000,
        });
        if (!outcome.ok) failures.push(`target ${target.address}: ${describeOutcome(outcome)}`);
      }),
    );
    if (failures.length > 0) throw apiError('BAD_REQUEST', failures.join('; '));
  }
}
