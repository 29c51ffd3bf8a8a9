/**
 * Alpine (apk-tools) version order: `digit{.digit}…{letter}{_suffix{N}}…{~hash}{-rN}`.
 * Tokens are compared in turn while both versions have the same kind of token: numbers as
 * numbers, except that a component after a dot with a leading zero compares as a string (as
 * Gentoo does); suffixes by rank (alpha < beta < pre < rc < the release < cvs < svn < git <
 * hg < p). When one version runs out of matching tokens first, it is older, unless the other
 * continues with a pre-release suffix.
 */
const enum T {
  InitialDigit,
  Digit,
  Letter,
  Suffix,
  SuffixNo,
  CommitHash,
  RevisionNo,
  End,
  Invalid,
}

const suffixRank: Record<string, number> = { alpha: 1, beta: 2, pre: 3, rc: 4, cvs: 6, svn: 7, git: 8, hg: 9, p: 10 };
const releaseRank = 5;

interface Token {
  type: T;
  text: string;
  number: bigint;
  suffix: number;
}

const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';
const isLower = (c: string | undefined) => c !== undefined && c >= 'a' && c <= 'z';
const isHex = (c: string | undefined) => c !== undefined && (isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'));

class Tokens {
  private pos = 0;
  token: Token = { type: T.InitialDigit, text: '', number: 0n, suffix: 0 };
  constructor(private readonly s: string) {
    this.digits(T.InitialDigit);
  }

  private span(ok: (c: string | undefined) => boolean): string {
    const start = this.pos;
    while (this.pos < this.s.length && ok(this.s[this.pos])) this.pos++;
    return this.s.slice(start, this.pos);
  }

  private digits(type: T): void {
    const text = this.span(isDigit);
    this.token = text === '' ? { ...this.token, type: T.Invalid } : { type, text, number: BigInt(text), suffix: 0 };
  }

  private invalid(): void {
    this.token = { ...this.token, type: T.Invalid };
  }

  next(): void {
    const prev = this.token.type;
    if (this.pos >= this.s.length) {
      this.token = { ...this.token, type: T.End };
      return;
    }
    const c = this.s[this.pos];
    if (isLower(c)) {
      if (prev > T.Digit) return this.invalid();
      this.pos++;
      this.token = { type: T.Letter, text: c, number: 0n, suffix: 0 };
    } else if (c === '.' || isDigit(c)) {
      if (c === '.') {
        if (prev > T.Digit) return this.invalid();
        this.pos++;
      }
      if (prev === T.InitialDigit || prev === T.Digit) this.digits(T.Digit);
      else if (prev === T.Suffix) this.digits(T.SuffixNo);
      else this.invalid();
    } else if (c === '_') {
      if (prev > T.SuffixNo) return this.invalid();
      this.pos++;
      const text = this.span(isLower);
      const rank = suffixRank[text];
      if (rank === undefined) return this.invalid();
      this.token = { type: T.Suffix, text, number: 0n, suffix: rank };
    } else if (c === '~') {
      if (prev >= T.CommitHash) return this.invalid();
      this.pos++;
      const text = this.span(isHex);
      if (text === '') return this.invalid();
      this.token = { type: T.CommitHash, text, number: 0n, suffix: 0 };
    } else if (c === '-') {
      if (prev >= T.RevisionNo || this.s[this.pos + 1] !== 'r') return this.invalid();
      this.pos += 2;
      this.digits(T.RevisionNo);
    } else {
      this.invalid();
    }
  }
}

const sign = (a: bigint | number | string, b: bigint | number | string) => (a < b ? -1 : a > b ? 1 : 0);

function compareTokens(a: Token, b: Token): number {
  switch (a.type) {
    case T.Digit:
      if (a.text.startsWith('0') || b.text.startsWith('0')) return sign(a.text, b.text);
      return sign(a.number, b.number);
    case T.InitialDigit:
    case T.SuffixNo:
    case T.RevisionNo:
      return sign(a.number, b.number);
    case T.Suffix:
      return sign(a.suffix, b.suffix);
    default:
      return sign(a.text, b.text);
  }
}

export function compareApk(a: string, b: string): number {
  const x = new Tokens(a.trim());
  const y = new Tokens(b.trim());
  while (x.token.type === y.token.type && x.token.type < T.End) {
    const c = compareTokens(x.token, y.token);
    if (c !== 0) return c;
    x.next();
    y.next();
  }
  const ta = x.token;
  const tb = y.token;
  if (ta.type === tb.type) return 0;
  if (ta.type === T.Suffix && ta.suffix < releaseRank) return -1;
  if (tb.type === T.Suffix && tb.suffix < releaseRank) return 1;
  if (ta.type > tb.type) return -1;
  if (tb.type > ta.type) return 1;
  return 0;
}
