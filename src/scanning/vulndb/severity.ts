import { createRequire } from 'node:module';
import type * as CvssCalculator from 'ae-cvss-calculator';
import type { Severity } from '../types.js';

// A CommonJS bundle whose named exports Node's ESM loader cannot see.
const { Cvss2, Cvss3P0, Cvss3P1, Cvss4P0 } = createRequire(import.meta.url)('ae-cvss-calculator') as typeof CvssCalculator;

export interface OsvSeverity {
  type: string;
  score: string;
}

export interface Rated {
  severity: Severity;
  cvss: { V2Score?: number; V2Vector?: string; V3Score?: number; V3Vector?: string; V4Score?: number; V4Vector?: string };
}

function baseScore(type: string, vector: string): number | null {
  try {
    if (type === 'CVSS_V2') return new Cvss2(vector.replace(/^\(|\)$/g, '')).calculateScores().base ?? null;
    if (type === 'CVSS_V3') {
      return (vector.startsWith('CVSS:3.0/') ? new Cvss3P0(vector) : new Cvss3P1(vector)).calculateScores().base ?? null;
    }
    if (type === 'CVSS_V4') return new Cvss4P0(vector).calculateScores().base ?? null;
  } catch {
    // A vector the calculator cannot read rates nothing.
  }
  return null;
}

/** CVSS v3/v4 qualitative ratings; 0.0 ("None") is reported as Negligible. */
function fromScore(score: number, v2: boolean): Severity {
  if (!v2 && score >= 9) return 'Critical';
  if (score >= 7) return 'High';
  if (score >= 4) return 'Medium';
  if (score > 0) return 'Low';
  return 'Negligible';
}

const words: Record<string, Severity> = {
  critical: 'Critical',
  high: 'High',
  important: 'High',
  moderate: 'Medium',
  medium: 'Medium',
  low: 'Low',
  negligible: 'Negligible',
  unimportant: 'Negligible',
};

/** A severity word (GHSA's LOW/MODERATE/HIGH/CRITICAL, Ubuntu priorities, Debian urgencies, Red Hat impacts). */
export function severityOfWord(word: unknown): Severity | null {
  if (typeof word !== 'string') return null;
  return words[word.trim().toLowerCase()] ?? null;
}

const scoreCache = new Map<string, number | null>();

function cachedScore(type: string, vector: string): number | null {
  const key = `${type} ${vector}`;
  let score = scoreCache.get(key);
  if (score === undefined) {
    score = baseScore(type, vector);
    if (scoreCache.size > 20_000) scoreCache.clear();
    scoreCache.set(key, score);
  }
  return score;
}

/**
 * The severity of an advisory for one package: from its CVSS vectors (v3 first, as Harbor's
 * reports use, then v4, then v2), else the advisory's own word (GHSA's database_specific
 * severity, an Ubuntu priority), else Unknown.
 */
export function rate(vectors: OsvSeverity[], words: unknown[]): Rated {
  const cvss: Rated['cvss'] = {};
  for (const { type, score: vector } of vectors) {
    if (typeof vector !== 'string') continue;
    const score = cachedScore(type, vector);
    if (score === null) continue;
    if (type === 'CVSS_V3' && cvss.V3Score === undefined) Object.assign(cvss, { V3Score: score, V3Vector: vector });
    if (type === 'CVSS_V2' && cvss.V2Score === undefined) Object.assign(cvss, { V2Score: score, V2Vector: vector });
    if (type === 'CVSS_V4' && cvss.V4Score === undefined) Object.assign(cvss, { V4Score: score, V4Vector: vector });
  }
  let severity: Severity | null = null;
  if (cvss.V3Score !== undefined) severity = fromScore(cvss.V3Score, false);
  else if (cvss.V4Score !== undefined) severity = fromScore(cvss.V4Score, false);
  else if (cvss.V2Score !== undefined) severity = fromScore(cvss.V2Score, true);
  if (severity === null) {
    for (const v of vectors) if (v.type === 'Ubuntu') words = [...words, v.score];
    for (const word of words) {
      severity = severityOfWord(word);
      if (severity !== null) break;
    }
  }
  return { severity: severity ?? 'Unknown', cvss };
}
