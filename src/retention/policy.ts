import { compileDoublestar } from '../lib/doublestar.js';
import { nextTick } from '../jobs/scheduler.js';
import { apiError } from '../lib/errors.js';

/**
 * Harbor's RetentionPolicy and its rules: the shapes, the metadata the portal builds its
 * editor from, and the checks a policy passes before anything is saved (pure, no I/O).
 */

export const maxRules = 15;

export type TemplateId = 'latestPushedK' | 'latestPulledN' | 'nDaysSinceLastPush' | 'nDaysSinceLastPull' | 'always';

/** Harbor's templates: each takes at most one parameter, named like the template. */
export const templates: Array<{ id: TemplateId; display: string; unit: string | null }> = [
  { id: 'latestPushedK', display: 'the most recently pushed # artifacts', unit: 'count' },
  { id: 'latestPulledN', display: 'the most recently pulled # artifacts', unit: 'count' },
  { id: 'nDaysSinceLastPush', display: 'pushed within the last # days', unit: 'days' },
  { id: 'nDaysSinceLastPull', display: 'pulled within the last # days', unit: 'days' },
  { id: 'always', display: 'always', unit: null },
];

/** GET /retentions/metadatas (Harbor's RetentionMetadata). */
export function retentionMetadata() {
  return {
    templates: templates.map((t) => ({
      rule_template: t.id,
      display_text: t.display,
      action: 'retain',
      params: t.unit ? [{ type: 'int', unit: t.unit, required: true }] : [],
    })),
    scope_selectors: [{ display_text: 'Repositories', kind: 'doublestar', decorations: ['repoMatches', 'repoExcludes'] }],
    tag_selectors: [{ display_text: 'Tags', kind: 'doublestar', decorations: ['matches', 'excludes'] }],
  };
}

export interface Selector {
  kind: 'doublestar' | 'label';
  decoration: string;
  pattern: string;
  extras: string;
}

export interface Rule {
  id: number;
  priority: number;
  disabled: boolean;
  action: 'retain';
  template: TemplateId;
  params: Record<string, number>;
  tag_selectors: Selector[];
  scope_selectors: { repository: Selector[] };
}

/** Berth's own (Harbor #16157): remove whole artifacts (Harbor's way) or only the tags no rule retains. */
export type ActOn = 'artifacts' | 'tags';

export interface Policy {
  algorithm: 'or';
  rules: Rule[];
  trigger: { kind: 'Schedule'; settings: { cron: string }; references?: Record<string, unknown> };
  scope: { level: 'project'; ref: number };
  act_on: ActOn;
}

function bad(message: string) {
  return apiError('BAD_REQUEST', message);
}

const show = (v: unknown) => {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Compiles a doublestar pattern (`*` within a path segment, `**` across, `?`, `[…]`, `{a,b}`),
 * throwing on the syntax errors Go's doublestar refuses (unclosed brackets or braces, a
 * trailing escape).
 */
export function compilePattern(pattern: string): (name: string) => boolean {
  return compileDoublestar(pattern);
}

function selector(raw: unknown, field: string, allowed: Record<string, string[]>): Selector {
  if (!isObject(raw)) throw bad(`${field} must be an object like {"kind":"doublestar","decoration":"…","pattern":"**"}`);
  const kind = raw.kind ?? 'doublestar';
  if (typeof kind !== 'string' || !Object.hasOwn(allowed, kind))
    throw bad(`${field}.kind must be one of ${Object.keys(allowed).join(', ')}, not ${show(kind)}`);
  const decoration = raw.decoration;
  if (typeof decoration !== 'string' || !allowed[kind].includes(decoration)) {
    throw bad(`${field}.decoration must be one of ${allowed[kind].join(', ')}, not ${show(decoration)}`);
  }
  const pattern = raw.pattern ?? '';
  if (typeof pattern !== 'string') throw bad(`${field}.pattern must be a string, not ${show(pattern)}`);
  if (kind === 'doublestar') {
    if (pattern === '') throw bad(`${field}.pattern is required (use "**" for everything)`);
    try {
      compilePattern(pattern);
    } catch (err) {
      throw bad(`${field}.pattern ${show(pattern)} is not a valid doublestar pattern: ${(err as Error).message}`);
    }
  } else if (pattern.split(',').every((p) => p.trim() === '')) {
    throw bad(`${field}.pattern must name at least one label (names separated by commas)`);
  }
  const extras = raw.extras ?? '';
  if (typeof extras !== 'string') throw bad(`${field}.extras must be a JSON string such as "{\\"untagged\\":true}", not ${show(extras)}`);
  if (extras !== '') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(extras);
    } catch {
      throw bad(`${field}.extras must be a JSON object text such as {"untagged":true}, not ${show(extras)}`);
    }
    if (!isObject(parsed)) throw bad(`${field}.extras must be a JSON object text such as {"untagged":true}`);
    if (parsed.untagged !== undefined && typeof parsed.untagged !== 'boolean') throw bad(`${field}.extras untagged must be true or false`);
  }
  return { kind: kind as Selector['kind'], decoration, pattern, extras };
}

/** True when a tag selector's extras include untagged artifacts. */
export function includesUntagged(s: Selector): boolean {
  if (!s.extras) return false;
  try {
    return (JSON.parse(s.extras) as { untagged?: boolean }).untagged === true;
  } catch {
    return false;
  }
}

function rule(raw: unknown, index: number): Rule {
  const field = `rules[${index}]`;
  if (!isObject(raw)) throw bad(`${field} must be an object`);
  const template = raw.template;
  const known = templates.find((t) => t.id === template);
  if (!known) throw bad(`${field}.template ${show(template)} is unknown; use one of ${templates.map((t) => t.id).join(', ')}`);
  const action = raw.action ?? 'retain';
  if (action !== 'retain') throw bad(`${field}.action must be "retain", not ${show(action)}`);
  const disabled = raw.disabled ?? false;
  if (typeof disabled !== 'boolean') throw bad(`${field}.disabled must be true or false, not ${show(disabled)}`);
  const priority = raw.priority ?? 0;
  if (typeof priority !== 'number' || !Number.isInteger(priority))
    throw bad(`${field}.priority must be a whole number, not ${show(priority)}`);
  const rawParams = raw.params ?? {};
  if (!isObject(rawParams)) throw bad(`${field}.params must be an object like {"${known.id}": 10}`);
  const params: Record<string, number> = {};
  for (const [key, value] of Object.entries(rawParams)) {
    if (key !== known.id)
      throw bad(`${field}.params.${key} is not a parameter of ${known.id}${known.unit ? `; it takes ${known.id}` : '; it takes none'}`);
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 2 ** 31 - 1) {
      throw bad(`${field}.params.${key} must be a whole number of ${known.unit} from 0 to ${2 ** 31 - 1}, not ${show(value)}`);
    }
    params[key] = value;
  }
  if (known.unit && params[known.id] === undefined) throw bad(`${field}.params.${known.id} is required (a whole number of ${known.unit})`);
  const rawTags = raw.tag_selectors;
  if (!Array.isArray(rawTags) || rawTags.length === 0) throw bad(`${field}.tag_selectors must be a list with one doublestar selector`);
  const tagSelectors = rawTags.map((s, i) =>
    selector(s, `${field}.tag_selectors[${i}]`, { doublestar: ['matches', 'excludes'], label: ['withLabels', 'withoutLabels'] }),
  );
  if (tagSelectors.filter((s) => s.kind === 'doublestar').length !== 1)
    throw bad(`${field}.tag_selectors must hold exactly one doublestar selector`);
  const scope = raw.scope_selectors;
  if (!isObject(scope) || !Array.isArray(scope.repository) || scope.repository.length !== 1) {
    throw bad(`${field}.scope_selectors must be {"repository":[{"kind":"doublestar","decoration":"repoMatches","pattern":"**"}]}`);
  }
  for (const key of Object.keys(scope)) if (key !== 'repository') throw bad(`${field}.scope_selectors.${key} is unknown; only repository`);
  const repository = [
    selector(scope.repository[0], `${field}.scope_selectors.repository[0]`, { doublestar: ['repoMatches', 'repoExcludes'] }),
  ];
  return {
    id: index + 1,
    priority,
    disabled,
    action: 'retain',
    template: known.id,
    params,
    tag_selectors: tagSelectors,
    scope_selectors: { repository },
  };
}

/**
 * Checks a RetentionPolicy body; every refusal names the field. `projectId` is the project the
 * policy is for when it is known (PUT); otherwise scope.ref names it.
 */
export function parsePolicy(body: unknown): Policy {
  if (!isObject(body)) throw bad('the body must be a RetentionPolicy object');
  const algorithm = body.algorithm ?? 'or';
  if (algorithm !== 'or') throw bad(`algorithm must be "or", not ${show(algorithm)}`);
  const scope = body.scope;
  if (!isObject(scope)) throw bad('scope is required: {"level":"project","ref":<project id>}');
  if (scope.level !== 'project') throw bad(`scope.level must be "project", not ${show(scope.level)}`);
  if (typeof scope.ref !== 'number' || !Number.isInteger(scope.ref) || scope.ref < 1)
    throw bad(`scope.ref must be a project id, not ${show(scope.ref)}`);
  const rawRules = body.rules ?? [];
  if (!Array.isArray(rawRules)) throw bad('rules must be a list');
  if (rawRules.length > maxRules) throw bad(`rules: at most ${maxRules} rules, not ${rawRules.length}`);
  const rules = rawRules.map(rule);
  const trigger = body.trigger ?? { kind: 'Schedule', settings: {} };
  if (!isObject(trigger)) throw bad('trigger must be {"kind":"Schedule","settings":{"cron":"…"}}');
  if ((trigger.kind ?? 'Schedule') !== 'Schedule') throw bad(`trigger.kind must be "Schedule", not ${show(trigger.kind)}`);
  const settings = trigger.settings ?? {};
  if (!isObject(settings)) throw bad('trigger.settings must be an object like {"cron":"0 0 0 * * *"}');
  const cron = settings.cron ?? '';
  if (typeof cron !== 'string') throw bad(`trigger.settings.cron must be a string, not ${show(cron)}`);
  if (cron.trim() !== '') {
    try {
      nextTick(cron.trim(), new Date());
    } catch (err) {
      throw bad(`trigger.settings.cron "${cron}" is not a valid cron expression: ${(err as Error).message}`);
    }
  }
  const actOn = body.act_on ?? 'artifacts';
  if (actOn !== 'artifacts' && actOn !== 'tags') throw bad(`act_on must be "artifacts" or "tags", not ${show(actOn)}`);
  return {
    algorithm: 'or',
    rules,
    trigger: { kind: 'Schedule', settings: { cron: cron.trim() }, ...(isObject(trigger.references) && { references: trigger.references }) },
    scope: { level: 'project', ref: scope.ref },
    act_on: actOn,
  };
}
