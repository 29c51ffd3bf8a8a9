import { nowIso } from '../lib/clock.js';
import type { RetentionEventPayload } from '../webhooks/types.js';
import type { Plan } from './evaluate.js';
import type { Outcome } from './log.js';
import type { Rule } from './policy.js';

/** What one finished task tells its TAG_RETENTION event. */
export interface FinishedTask {
  projectId: number;
  policyId: number;
  executionId: number;
  taskId: number;
  trigger: string;
  dryRun: boolean;
  status: string;
  repository: string;
  total: number;
  retained: number;
  rules: Rule[];
  plan: Plan;
  outcomes: Map<number, Outcome>;
  operator: string;
}

/**
 * TAG_RETENTION, as Harbor sends it: one per finished task (one repository), only when it
 * removed something and was not a dry run (Harbor's handler drops both); undefined otherwise.
 * Deleted: whole artifacts removed with their tags, and on act_on "tags" the tags removed from
 * an artifact that stays.
 */
export function retentionEventPayload(t: FinishedTask): RetentionEventPayload | undefined {
  if (t.dryRun) return undefined;
  const deleted: RetentionEventPayload['deleted'] = [];
  for (const d of t.plan.decisions) {
    if (t.outcomes.get(d.artifact.id)?.kind !== 'removed') continue;
    const tags = d.remove ? d.artifact.tags.map((tag) => tag.name) : d.removeTags;
    deleted.push({ repository: t.repository, digest: d.artifact.digest, tags });
  }
  if (deleted.length === 0) return undefined;
  return {
    project_id: t.projectId,
    policy_id: t.policyId,
    execution_id: t.executionId,
    task_id: t.taskId,
    repository: t.repository,
    status: t.status,
    trigger: t.trigger,
    dry_run: false,
    total: t.total,
    retained: t.retained,
    deleted,
    // Harbor's retention_rule entries: template, params, tag_selectors, scope_selectors (empty ones left out).
    rules: t.rules.map((r) => ({
      template: r.template,
      ...(Object.keys(r.params).length > 0 && { params: r.params }),
      ...(r.tag_selectors.length > 0 && { tag_selectors: r.tag_selectors }),
      ...(r.scope_selectors.repository.length > 0 && { scope_selectors: r.scope_selectors }),
    })),
    operator: t.operator,
    occurred_at: nowIso(),
  };
}
