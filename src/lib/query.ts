import { apiError } from './errors.js';

/**
 * Harbor's `q` list filter: comma-separated terms, each `key=value` (exact), `key=~value`
 * (fuzzy), `key=[min~max]` (range, either end may be empty), `key={a b}` (any of) or
 * `key=(a b)` (all of).
 */
export type QueryTerm =
  | { key: string; op: 'exact'; value: string }
  | { key: string; op: 'fuzzy'; value: string }
  | { key: string; op: 'range'; min: string | null; max: string | null }
  | { key: string; op: 'or'; values: string[] }
  | { key: string; op: 'and'; values: string[] };

function bad(message: string) {
  return apiError('BAD_REQUEST', `invalid q: ${message}`);
}

/** Splits on commas that are not inside [], {} or (). */
function splitTerms(q: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of q) {
    if (ch === '[' || ch === '{' || ch === '(') depth += 1;
    if (ch === ']' || ch === '}' || ch === ')') depth -= 1;
    if (depth < 0) throw bad(`unbalanced "${ch}" in "${q}"`);
    if (ch === ',' && depth === 0) {
      terms.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  if (depth !== 0) throw bad(`unclosed bracket in "${q}"`);
  terms.push(current);
  return terms.map((t) => t.trim()).filter((t) => t !== '');
}

/**
 * A query parameter's value: the last one when the parameter is given more than once (the
 * query-string parser then gives a list), as Harbor's API reads a repeated `q` or `sort`.
 */
export function lastValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[value.length - 1] : value;
}

export function parseQuery(param: string | string[] | undefined): QueryTerm[] {
  const q = lastValue(param);
  if (q === undefined || q.trim() === '') return [];
  let decoded = q;
  try {
    decoded = decodeURIComponent(q);
  } catch {
    // already decoded by the query-string parser
  }
  return splitTerms(decoded).map((term): QueryTerm => {
    const eq = term.indexOf('=');
    if (eq <= 0) throw bad(`"${term}" is not key=value`);
    const key = term.slice(0, eq).trim();
    const raw = term.slice(eq + 1).trim();
    if (!/^[A-Za-z_][A-Za-z0-9_.]*$/.test(key)) throw bad(`"${key}" is not a valid key`);
    if (raw.startsWith('~')) return { key, op: 'fuzzy', value: raw.slice(1) };
    if (raw.startsWith('[')) {
      if (!raw.endsWith(']')) throw bad(`range for ${key} must end with "]"`);
      const inner = raw.slice(1, -1);
      const sep = inner.indexOf('~');
      if (sep < 0) throw bad(`range for ${key} must be [min~max]`);
      const min = inner.slice(0, sep).trim();
      const max = inner.slice(sep + 1).trim();
      return { key, op: 'range', min: min === '' ? null : min, max: max === '' ? null : max };
    }
    if (raw.startsWith('{') || raw.startsWith('(')) {
      const close = raw.startsWith('{') ? '}' : ')';
      if (!raw.endsWith(close)) throw bad(`list for ${key} must end with "${close}"`);
      const values = raw
        .slice(1, -1)
        .split(/\s+/)
        .filter((v) => v !== '');
      if (values.length === 0) throw bad(`list for ${key} is empty`);
      return { key, op: close === '}' ? 'or' : 'and', values };
    }
    return { key, op: 'exact', value: raw };
  });
}
