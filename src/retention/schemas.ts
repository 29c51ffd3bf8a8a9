import { arrayOf, bool, int, object, ref, str, type SharedSchema } from '../http/schema-helpers.js';

/** Harbor's retention definitions (documentation, and the shapes answers are serialised with). */

const open = (schema: Record<string, unknown>) => ({ ...schema, additionalProperties: true });

export const RetentionSelector: SharedSchema = {
  $id: 'RetentionSelector',
  description: 'A selector: kind doublestar (or label), decoration, pattern and extras (a JSON text such as {"untagged":true})',
  ...object({
    kind: str('doublestar, or label'),
    decoration: str('matches, excludes, repoMatches, repoExcludes, withLabels, withoutLabels'),
    pattern: str('Doublestar pattern, or label names separated by commas'),
    extras: str('JSON text: {"untagged":true} takes untagged artifacts too'),
  }),
};

export const RetentionRule: SharedSchema = {
  $id: 'RetentionRule',
  description: 'One rule: a template, its parameter, a tag selector and a repository selector',
  ...object({
    id: int('Number of the rule in the policy'),
    priority: int('Priority (kept, unused: any rule retaining an artifact keeps it)'),
    disabled: bool('A disabled rule retains nothing'),
    action: str('retain'),
    template: str('latestPushedK, latestPulledN, nDaysSinceLastPush, nDaysSinceLastPull or always'),
    params: open({ type: 'object', description: 'The template parameter, named like the template, e.g. {"latestPushedK": 10}' }),
    tag_selectors: arrayOf(ref('RetentionSelector')),
    scope_selectors: open({ type: 'object', description: '{"repository":[selector]}' }),
  }),
};

export const RetentionPolicy: SharedSchema = {
  $id: 'RetentionPolicy',
  description: "A project's tag retention policy",
  ...object({
    id: int('Id of the policy (the project metadata retention_id)'),
    algorithm: str('or: an artifact is retained if any rule retains it'),
    rules: arrayOf(ref('RetentionRule'), 'At most 15 rules'),
    trigger: open({ type: 'object', description: '{"kind":"Schedule","settings":{"cron":"…"}} (an empty cron: manual runs only)' }),
    scope: open({ type: 'object', description: '{"level":"project","ref":<project id>}' }),
    act_on: str('Berth: artifacts (Harbor: remove whole artifacts) or tags (remove only tags no rule retains)', {
      enum: ['artifacts', 'tags'],
    }),
  }),
};

export const RetentionMetadata: SharedSchema = {
  $id: 'RetentionMetadata',
  description: 'The templates and selectors a rule may use',
  ...object({
    templates: arrayOf(open({ type: 'object' })),
    scope_selectors: arrayOf(open({ type: 'object' })),
    tag_selectors: arrayOf(open({ type: 'object' })),
  }),
};

export const RetentionExecution: SharedSchema = {
  $id: 'RetentionExecution',
  description: 'One execution of a retention policy',
  ...object({
    id: int('Id of the execution'),
    policy_id: int('Id of the policy'),
    start_time: str('When it started'),
    end_time: str('When it ended (empty while running)'),
    status: str('Pending, Running, Success, Error or Stopped'),
    trigger: str('MANUAL or SCHEDULE'),
    dry_run: bool('A dry run removes nothing'),
  }),
};

export const RetentionExecutionTask: SharedSchema = {
  $id: 'RetentionExecutionTask',
  description: 'One task of an execution: one repository',
  ...object({
    id: int('Id of the task'),
    execution_id: int('Id of the execution'),
    repository: str('The repository, without the project'),
    job_id: str('Id of the job that runs it'),
    status: str('Pending, Running, Success, Error or Stopped'),
    status_code: int('0 pending, 2 running, 3 ended'),
    status_revision: int('Revision of the status'),
    start_time: str('When it started'),
    end_time: str('When it ended'),
    total: int('Candidates considered'),
    retained: int('Candidates retained'),
  }),
};

export const retentionSchemas = [
  RetentionSelector,
  RetentionRule,
  RetentionPolicy,
  RetentionMetadata,
  RetentionExecution,
  RetentionExecutionTask,
];
