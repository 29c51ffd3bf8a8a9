import { compilePattern, includesUntagged, type ActOn, type Rule, type Selector } from './policy.js';

/**
 * The retention decision for one repository, pure: which artifacts (or tags) the rules
 * retain and what goes. An artifact (a tag, when acting on tags) is retained if any rule
 * retains it; everything else among the candidates goes, except what must never go.
 */

export interface CandidateTag {
  name: string;
  pushTime: string;
  pullTime: string | null;
}

export interface RepositoryArtifact {
  id: number;
  digest: string;
  pushTime: string;
  pullTime: string | null;
  /** An accessory (signature, SBOM…) goes and stays with its subject: never a candidate. */
  accessoryOf: string | null;
  tags: CandidateTag[];
  labels: string[];
  /** Ids of the indexes in this repository that list it. */
  parents: number[];
}

export interface Decision {
  artifact: RepositoryArtifact;
  retained: boolean;
  /** Why it stays: the rules (by their number) that retain it, or a protection. */
  reasons: string[];
  /** Tags to remove from a retained artifact (acting on tags). */
  removeTags: string[];
  /** The whole artifact goes (with its tags and accessories). */
  remove: boolean;
}

export interface Plan {
  /** Candidates considered (artifacts that are not accessories, nor untagged children of an index). */
  total: number;
  retained: number;
  decisions: Decision[];
}

interface Unit {
  artifact: RepositoryArtifact;
  tags: string[];
  pushTime: string;
  pullTime: string | null;
}

const dayMs = 86_400_000;

/** True when the rule's repository selector takes this repository (its name without the project). */
export function ruleAppliesTo(rule: Rule, repository: string): boolean {
  if (rule.disabled) return false;
  const s = rule.scope_selectors.repository[0];
  const match = compilePattern(s.pattern)(repository);
  return s.decoration === 'repoExcludes' ? !match : match;
}

function selects(selector: Selector, unit: Unit): boolean {
  if (selector.kind === 'label') {
    const wanted = selector.pattern
      .split(',')
      .map((l) => l.trim())
      .filter((l) => l !== '');
    const has = new Set(unit.artifact.labels);
    return selector.decoration === 'withLabels' ? wanted.every((l) => has.has(l)) : !wanted.some((l) => has.has(l));
  }
  if (unit.tags.length === 0) return includesUntagged(selector);
  const match = compilePattern(selector.pattern);
  return selector.decoration === 'excludes' ? unit.tags.some((t) => !match(t)) : unit.tags.some((t) => match(t));
}

const byNewest = (key: 'pushTime' | 'pullTime') => (a: Unit, b: Unit) => {
  const x = a[key] ?? '';
  const y = b[key] ?? '';
  if (x !== y) return x < y ? 1 : -1;
  return b.artifact.id - a.artifact.id;
};

function applyTemplate(rule: Rule, units: Unit[], now: number): Unit[] {
  const n = rule.params[rule.template] ?? 0;
  switch (rule.template) {
    case 'always':
      return units;
    case 'latestPushedK':
      return [...units].sort(byNewest('pushTime')).slice(0, n);
    case 'latestPulledN':
      return [...units].sort(byNewest('pullTime')).slice(0, n);
    case 'nDaysSinceLastPush':
      return units.filter((u) => Date.parse(u.pushTime) >= now - n * dayMs);
    case 'nDaysSinceLastPull':
      return units.filter((u) => u.pullTime !== null && Date.parse(u.pullTime) >= now - n * dayMs);
  }
}

/**
 * Decides for one repository. `rules` are the policy's rules that apply to it (see
 * ruleAppliesTo); `immutable(artifact)` names its tags that tag immutability protects.
 */
export function evaluate(
  artifacts: RepositoryArtifact[],
  rules: Array<{ rule: Rule; number: number }>,
  options: { actOn: ActOn; now: number; immutable: (a: RepositoryArtifact) => Set<string> },
): Plan {
  // Accessories follow their subject; an untagged child follows the index that lists it.
  const candidates = artifacts.filter((a) => a.accessoryOf === null && !(a.tags.length === 0 && a.parents.length > 0));
  const units: Unit[] = [];
  for (const a of candidates) {
    if (options.actOn === 'tags' && a.tags.length > 0) {
      for (const t of a.tags) units.push({ artifact: a, tags: [t.name], pushTime: t.pushTime, pullTime: t.pullTime });
    } else {
      units.push({ artifact: a, tags: a.tags.map((t) => t.name), pushTime: a.pushTime, pullTime: a.pullTime });
    }
  }
  const reasons = new Map<Unit, string[]>();
  const keep = (u: Unit, why: string) => {
    const list = reasons.get(u) ?? [];
    list.push(why);
    reasons.set(u, list);
  };
  for (const { rule, number } of rules) {
    const selected = units.filter((u) => rule.tag_selectors.every((s) => selects(s, u)));
    for (const u of applyTemplate(rule, selected, options.now)) keep(u, `rule ${number}`);
  }
  const immutableTags = new Map<RepositoryArtifact, Set<string>>();
  for (const a of candidates) immutableTags.set(a, options.immutable(a));
  for (const u of units) if (u.tags.some((t) => immutableTags.get(u.artifact)!.has(t))) keep(u, 'immutable tag');

  const decisions = new Map<number, Decision>();
  for (const a of candidates) decisions.set(a.id, { artifact: a, retained: false, reasons: [], removeTags: [], remove: false });
  for (const u of units) {
    const d = decisions.get(u.artifact.id)!;
    const why = reasons.get(u);
    if (why) {
      d.retained = true;
      for (const w of why) if (!d.reasons.includes(w)) d.reasons.push(w);
    } else if (options.actOn === 'tags') {
      d.removeTags.push(...u.tags);
    }
  }
  // An index's children stay while the index does (fixpoint: indexes of indexes).
  const staying = (id: number) => decisions.get(id)?.retained ?? artifacts.some((a) => a.id === id);
  for (let changed = true; changed;) {
    changed = false;
    for (const d of decisions.values()) {
      if (d.retained) continue;
      const parent = d.artifact.parents.find((p) => staying(p));
      if (parent !== undefined) {
        d.retained = true;
        d.reasons.push('listed by a retained index');
        changed = true;
      }
    }
  }
  let retained = 0;
  for (const d of decisions.values()) {
    if (d.retained) retained++;
    else {
      d.remove = true;
      d.removeTags = [];
    }
  }
  return { total: candidates.length, retained, decisions: [...decisions.values()] };
}
