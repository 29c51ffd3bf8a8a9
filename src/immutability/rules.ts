import { compileDoublestar } from '../lib/doublestar.js';
import { apiError } from '../lib/errors.js';

/** Harbor's limit on immutability rules per project. */
export const maxRulesPerProject = 15;

export interface ImmutableSelector {
  kind: 'doublestar';
  decoration: string;
  pattern: string;
  extras?: string;
}

/** A rule as Harbor's API shows it (ImmutableRule). */
export interface ImmutableRule {
  id: number;
  priority: number;
  disabled: boolean;
  action: 'immutable';
  template: 'immutable_template';
  params: Record<string, unknown>;
  tag_selectors: ImmutableSelector[];
  scope_selectors: { repository: ImmutableSelector[] };
}

/** What a POST or PUT body says, checked. */
export interface RuleInput {
  id?: number;
  priority: number;
  disabled: boolean;
  tag_selectors: ImmutableSelector[];
  scope_selectors: { repository: ImmutableSelector[] };
}

const tagDecorations = ['matches', 'excludes'];
// Harbor's portal sends repoMatches/repoExcludes for the repository selector; its API also takes matches/excludes.
const repositoryDecorations = ['repoMatches', 'repoExcludes', 'matches', 'excludes'];

const bad = (message: string) => apiError('BAD_REQUEST', message);

// Compiled once and cached by compileDoublestar, so that a push does not compile its project's rules again.
function compile(pattern: string): (value: string) => boolean {
  return compileDoublestar(pattern);
}

function parseSelector(value: unknown, field: string, decorations: string[]): ImmutableSelector {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw bad(`${field} must be an object with kind, decoration and pattern`);
  const s = value as Record<string, unknown>;
  if (s.kind !== 'doublestar') throw bad(`${field}.kind must be "doublestar", not ${JSON.stringify(s.kind ?? null)}`);
  if (typeof s.decoration !== 'string' || !decorations.includes(s.decoration)) {
    throw bad(`${field}.decoration must be one of ${decorations.join(', ')}, not ${JSON.stringify(s.decoration ?? null)}`);
  }
  if (typeof s.pattern !== 'string' || s.pattern.trim() === '') throw bad(`${field}.pattern must be a non-empty string`);
  if (s.pattern.length > 1024) throw bad(`${field}.pattern is longer than 1024 characters`);
  try {
    compile(s.pattern);
  } catch (err) {
    throw bad(`${field}.pattern ${JSON.stringify(s.pattern)} is not a valid doublestar pattern: ${(err as Error).message}`);
  }
  if (s.extras !== undefined && s.extras !== null && typeof s.extras !== 'string') throw bad(`${field}.extras must be a string`);
  return {
    kind: 'doublestar',
    decoration: s.decoration,
    pattern: s.pattern,
    ...(typeof s.extras === 'string' && { extras: s.extras }),
  };
}

function parseSelectors(value: unknown, field: string, decorations: string[]): ImmutableSelector[] {
  if (!Array.isArray(value) || value.length === 0) throw bad(`${field} must be a non-empty array of selectors`);
  if (value.length > 15) throw bad(`${field} has more than 15 selectors`);
  return value.map((s, i) => parseSelector(s, `${field}[${i}]`, decorations));
}

/** Checks a POST/PUT body (Harbor's ImmutableRule); 400 naming the field on anything wrong. */
export function parseRuleInput(body: unknown): RuleInput {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw bad('the body must be an ImmutableRule object');
  const b = body as Record<string, unknown>;
  if (b.id !== undefined && b.id !== null && (typeof b.id !== 'number' || !Number.isInteger(b.id))) throw bad('id must be an integer');
  if (b.priority !== undefined && b.priority !== null && (typeof b.priority !== 'number' || !Number.isInteger(b.priority))) {
    throw bad('priority must be an integer');
  }
  if (b.disabled !== undefined && b.disabled !== null && typeof b.disabled !== 'boolean') throw bad('disabled must be true or false');
  if (b.action !== undefined && b.action !== null && b.action !== 'immutable') {
    throw bad(`action must be "immutable", not ${JSON.stringify(b.action)}`);
  }
  if (b.template !== undefined && b.template !== null && b.template !== 'immutable_template') {
    throw bad(`template must be "immutable_template", not ${JSON.stringify(b.template)}`);
  }
  if (b.params !== undefined && b.params !== null && (typeof b.params !== 'object' || Array.isArray(b.params)))
    throw bad('params must be an object');
  const tags = parseSelectors(b.tag_selectors, 'tag_selectors', tagDecorations);
  const scope = b.scope_selectors;
  if (typeof scope !== 'object' || scope === null || Array.isArray(scope)) {
    throw bad('scope_selectors must be an object with a "repository" array of selectors');
  }
  const unknownScopes = Object.keys(scope).filter((k) => k !== 'repository');
  if (unknownScopes.length > 0) throw bad(`scope_selectors.${unknownScopes[0]} is not a known scope; only "repository" is`);
  const repository = parseSelectors((scope as Record<string, unknown>).repository, 'scope_selectors.repository', repositoryDecorations);
  return {
    ...(typeof b.id === 'number' && { id: b.id }),
    priority: typeof b.priority === 'number' ? b.priority : 0,
    disabled: b.disabled === true,
    tag_selectors: tags,
    scope_selectors: { repository },
  };
}

function selectorTest(s: ImmutableSelector): (value: string) => boolean {
  let match: (value: string) => boolean;
  try {
    match = compile(s.pattern);
  } catch {
    // A rule saved before its pattern was refused (a "}" that closes nothing, "[]a]", a trailing
    // "\\"): it matches nothing, as elsewhere, rather than failing every push to the project.
    match = () => false;
  }
  return s.decoration.toLowerCase().endsWith('excludes') ? (v) => !match(v) : match;
}

/** (full repository name `project/…`, tag) → protected by an enabled rule. */
export type TagMatcher = (repositoryName: string, tag: string) => boolean;

/**
 * One test over a project's rules: a tag is immutable when any enabled rule's repository
 * selectors and tag selectors all hold. Repository patterns see the name without the
 * project (Harbor: `**` or `app/*` in project `p` for `p/app/x`).
 */
export function matcherOf(rules: Array<Pick<ImmutableRule, 'disabled' | 'tag_selectors' | 'scope_selectors'>>): TagMatcher {
  const tests = rules
    .filter((r) => !r.disabled)
    .map((r) => {
      const repo = r.scope_selectors.repository.map(selectorTest);
      const tag = r.tag_selectors.map(selectorTest);
      return (repository: string, t: string) => repo.every((f) => f(repository)) && tag.every((f) => f(t));
    });
  if (tests.length === 0) return () => false;
  return (repositoryName, tag) => {
    const short = repositoryName.slice(repositoryName.indexOf('/') + 1);
    return tests.some((f) => f(short, tag));
  };
}
