/**
 * LDAP strings: filter values escaped as RFC 4515 says, DNs parsed and compared as RFC 4514
 * writes them (attribute types and values case-insensitively, escapes resolved).
 */

/** Escapes a value for an LDAP filter: `*`, `(`, `)`, `\` and NUL become \2a, \28, \29, \5c, \00. */
export function escapeFilterValue(value: string): string {
  return value.replace(/[*()\\\0]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** Escapes a value for a DN's attribute value (RFC 4514 section 2.4). */
export function escapeDnValue(value: string): string {
  return value
    .replace(/[\\,+"<>;=]/g, (c) => `\\${c}`)
    .replace(/\0/g, '\\00')
    .replace(/^[ #]/, (c) => `\\${c}`)
    .replace(/ $/, '\\ ');
}

/** An attribute description as a filter or search may name it: a name (`mail`, `sAMAccountName`) or an OID. */
export function isAttributeName(value: string): boolean {
  return /^[A-Za-z][A-Za-z0-9-]*$/.test(value) || /^\d+(\.\d+)+$/.test(value);
}

/** A configured filter in parentheses (Harbor accepts `objectClass=person` as well as `(objectClass=person)`); '' when none. */
export function normalizeFilter(filter: string): string {
  const trimmed = filter.trim();
  if (trimmed === '') return '';
  return trimmed.startsWith('(') ? trimmed : `(${trimmed})`;
}

/** `(&<configured>(<attribute>=<value escaped>))`, or just the equality when nothing is configured. */
export function andEquals(configured: string, attribute: string, value: string, options: { escaped?: boolean } = {}): string {
  const equality = `(${attribute}=${options.escaped ? value : escapeFilterValue(value)})`;
  const base = normalizeFilter(configured);
  return base === '' ? equality : `(&${base}${equality})`;
}

type Rdn = Array<[type: string, value: string]>;

/**
 * Parses a DN string into its RDNs (each a list of type/value pairs), or null when it is not a
 * DN. Values come back with their escapes resolved; hex-string values (`#04…`) stay as written.
 */
export function parseDn(dn: string): Rdn[] | null {
  const rdns: Rdn[] = [];
  let rdn: Rdn = [];
  let i = 0;
  const s = dn.trim();
  if (s === '') return [];
  while (i <= s.length) {
    // attribute type
    while (s[i] === ' ') i++;
    const typeStart = i;
    while (i < s.length && s[i] !== '=' && s[i] !== ',' && s[i] !== '+') i++;
    const type = s.slice(typeStart, i).trim();
    if (s[i] !== '=' || !isAttributeName(type)) return null;
    i++;
    while (s[i] === ' ') i++;
    // attribute value
    let value = '';
    if (s[i] === '#') {
      const start = i;
      while (i < s.length && /[#0-9A-Fa-f]/.test(s[i]!)) i++;
      value = s.slice(start, i);
    } else if (s[i] === '"') {
      // Quoted values are RFC 2253's older form, still written by some servers.
      i++;
      while (i < s.length && s[i] !== '"') {
        if (s[i] === '\\') i++;
        value += s[i] ?? '';
        i++;
      }
      if (s[i] !== '"') return null;
      i++;
    } else {
      const bytes: number[] = [];
      let trailingSpaces = 0;
      while (i < s.length && s[i] !== ',' && s[i] !== '+' && s[i] !== ';') {
        if (s[i] === '\\') {
          const hex = s.slice(i + 1, i + 3);
          if (/^[0-9A-Fa-f]{2}$/.test(hex)) {
            bytes.push(parseInt(hex, 16));
            i += 3;
          } else if (i + 1 < s.length) {
            bytes.push(...Buffer.from(s[i + 1]!, 'utf8'));
            i += 2;
          } else return null;
          trailingSpaces = 0;
          continue;
        }
        if (s[i] === '=' || s[i] === '<' || s[i] === '>' || s[i] === '"') return null;
        trailingSpaces = s[i] === ' ' ? trailingSpaces + 1 : 0;
        bytes.push(...Buffer.from(s[i]!, 'utf8'));
        i++;
      }
      value = Buffer.from(bytes.slice(0, bytes.length - trailingSpaces)).toString('utf8');
    }
    while (s[i] === ' ') i++;
    rdn.push([type, value]);
    if (i >= s.length) {
      rdns.push(rdn);
      return rdns;
    }
    if (s[i] === '+') {
      i++;
      continue;
    }
    if (s[i] === ',' || s[i] === ';') {
      rdns.push(rdn);
      rdn = [];
      i++;
      continue;
    }
    return null;
  }
  return null;
}

/** The DN's RDNs in one spelling each (types and values lower-cased, escapes resolved); null when not a DN. */
function normalizedRdns(dn: string): string[] | null {
  const rdns = parseDn(dn);
  if (!rdns) return null;
  return rdns.map((rdn) =>
    rdn
      .map(([type, value]) => `${type.toLowerCase()}=${escapeDnValue(value.toLowerCase())}`)
      .sort()
      .join('+'),
  );
}

/** A DN in one spelling for comparisons; null when not a DN. */
export function normalizeDn(dn: string): string | null {
  return normalizedRdns(dn)?.join(',') ?? null;
}

/** Same entry? Compared case-insensitively with escapes resolved; texts that are not DNs compare trimmed and lower-cased. */
export function sameDn(a: string, b: string): boolean {
  return (normalizeDn(a) ?? a.trim().toLowerCase()) === (normalizeDn(b) ?? b.trim().toLowerCase());
}

/** Is `dn` the base itself or below it? An empty base holds everything. */
export function isUnderDn(dn: string, base: string): boolean {
  const child = normalizedRdns(dn);
  const parent = normalizedRdns(base);
  if (child === null || parent === null || child.length < parent.length) return false;
  const offset = child.length - parent.length;
  return parent.every((rdn, i) => child[offset + i] === rdn);
}
