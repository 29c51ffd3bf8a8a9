import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { LRUCache } from 'lru-cache';
import { apiError } from '../lib/errors.js';
import type { Identity } from './identity.js';
import type { Principals } from './principals.js';
import type { SessionStore } from './sessions.js';
import type { LoginThrottle, LoginTicket } from './throttle.js';
import { TokenError, tokenClockToleranceMs, type TokenClaims, type TokenService } from './tokens.js';

/** How long a verified password or robot secret is remembered, so Basic auth does not run argon2 on every request. */
export const credentialCacheMs = 10_000;

export function parseBasic(header: string): { username: string; password: string } | null {
  if (!/^basic /i.test(header)) return null;
  let decoded: string;
  try {
    decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  } catch {
    return null;
  }
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

type CheckOutcome =
  | { kind: 'verified'; identity: Identity }
  | { kind: 'wrong'; ticket: LoginTicket; delayMs: number }
  | { kind: 'locked' };

function lockedError() {
  return apiError('UNAUTHORIZED', 'too many failed logins for this account; try again later');
}

/**
 * Turns credentials into an Identity: Basic (users and robot accounts), registry Bearer
 * tokens, portal session cookies. Failed logins are slowed, then locked, per account name.
 */
export class Authenticator {
  private readonly verified: LRUCache<string, Identity>;
  /** Token subjects looked up recently: the account's creation time, or false when it is gone or disabled. */
  private readonly subjects: LRUCache<string, { createdAt: number } | false>;

  constructor(
    private readonly principals: Principals,
    readonly tokens: TokenService,
    readonly sessions: SessionStore,
    private readonly throttle: LoginThrottle,
    options: { now?: () => number } = {},
  ) {
    const clock = options.now ? { perf: { now: options.now }, ttlResolution: 0 } : {};
    this.verified = new LRUCache({ max: 10_000, ttl: credentialCacheMs, ...clock });
    this.subjects = new LRUCache({ max: 10_000, ttl: credentialCacheMs, ...clock });
  }

  /** Checks in progress by credential, so that concurrent requests with the same credentials share one check. */
  private readonly checking = new Map<string, Promise<CheckOutcome>>();

  /**
   * Requests per account name (lower case) whose credentials this instance has not verified
   * recently, counted from the moment they arrive: while there are any, remembered credentials
   * for that name answer only through the throttle, so a correct guess sent behind a burst of
   * wrong ones is no cheaper to test than they are.
   */
  private readonly unverified = new Map<string, number>();

  /** Forgets remembered credentials and token subjects (after a password change, a robot disabled or deleted, …). */
  invalidate(): void {
    this.verified.clear();
    this.subjects.clear();
  }

  /** One check admitted by the throttle, answered from remembered credentials when it can (see throttle.ts). */
  private async check(key: string, username: string, password: string): Promise<CheckOutcome> {
    const ticket = await this.throttle.admit(username);
    if (!ticket) return { kind: 'locked' };
    let identity: Identity | null | undefined = this.verified.get(key);
    try {
      identity ??= await (username.startsWith(this.principals.robotPrefix)
        ? this.principals.robotBySecret(username, password)
        : this.principals.userByPassword(username, password));
    } catch (err) {
      await this.throttle.succeeded(ticket).catch(() => undefined);
      throw err;
    }
    if (identity) {
      await this.throttle.succeeded(ticket);
      return { kind: 'verified', identity };
    }
    return { kind: 'wrong', ticket, delayMs: await this.throttle.failed(ticket) };
  }

  /**
   * Verifies a name and password or robot secret; throws 401 (after a delay) when they are
   * wrong. Remembered credentials answer at once only when no unverified request for the name
   * is in progress here and the name is quiet everywhere (not locked, no failure in the
   * window, no check in progress), which is looked at before the cache. Every other answer
   * takes a place from the throttle first, in the order the requests arrived.
   */
  async login(username: string, password: string): Promise<Identity> {
    const key = createHash('sha256').update(username).update('\0').update(password).digest('hex');
    const name = username.toLowerCase();
    const remembered = this.verified.has(key);
    const quietHere = (this.unverified.get(name) ?? 0) === 0;
    if (!remembered) this.unverified.set(name, (this.unverified.get(name) ?? 0) + 1);
    try {
      if (remembered && quietHere) {
        const state = await this.throttle.state(username);
        if (state === 'locked') throw lockedError();
        const cached = this.verified.get(key);
        if (cached && state === 'quiet') return cached;
      }
      let pending = this.checking.get(key);
      const shared = pending !== undefined;
      if (!pending) {
        pending = this.check(key, username, password).finally(() => this.checking.delete(key));
        this.checking.set(key, pending);
      }
      const outcome = await pending;
      if (outcome.kind === 'locked') throw lockedError();
      if (outcome.kind === 'wrong') {
        // The same wrong guess sent many times at once is checked once but counts each time.
        const delayMs = shared ? await this.throttle.failed(outcome.ticket, 1, { held: false }) : outcome.delayMs;
        await sleep(delayMs);
        throw apiError('UNAUTHORIZED', 'invalid username or password');
      }
      this.verified.set(key, outcome.identity);
      return outcome.identity;
    } finally {
      if (!remembered) {
        const left = (this.unverified.get(name) ?? 1) - 1;
        if (left > 0) this.unverified.set(name, left);
        else this.unverified.delete(name);
      }
    }
  }

  /**
   * A registry token's identity. Beyond its signature and expiry, the account it was issued to
   * must still exist and be enabled (and not be a later account of the same name): asked at
   * most once per credentialCacheMs per account on this instance, so a disabled or deleted
   * robot or user loses its tokens within that bound instead of at their expiry.
   */
  async bearer(token: string): Promise<Identity> {
    let claims: TokenClaims;
    try {
      claims = await this.tokens.verify(token);
    } catch (err) {
      if (err instanceof TokenError) throw apiError('UNAUTHORIZED', err.message);
      throw err;
    }
    if (claims.subject !== '') {
      const account = await this.tokenSubject(claims.subject);
      const issuedMs = claims.issuedAt === undefined ? undefined : claims.issuedAt * 1000;
      if (!account || (issuedMs !== undefined && account.createdAt > issuedMs + tokenClockToleranceMs)) {
        throw apiError('UNAUTHORIZED', `the account "${claims.subject}" this token was issued to no longer exists or is disabled`);
      }
    }
    return { kind: 'token', subject: claims.subject, access: claims.access };
  }

  private async tokenSubject(name: string): Promise<{ createdAt: number } | null> {
    const known = this.subjects.get(name);
    if (known !== undefined) return known === false ? null : known;
    const account = await this.principals.tokenSubject(name);
    this.subjects.set(name, account ?? false);
    return account;
  }

  /** The user of a session cookie, with its CSRF token; null when the session is gone. */
  async session(id: string): Promise<{ identity: Identity; csrfToken: string } | null> {
    const session = await this.sessions.find(id);
    if (!session) return null;
    const identity = await this.principals.userById(session.userId);
    if (!identity) return null;
    return { identity: { ...identity, via: 'session' }, csrfToken: session.csrfToken };
  }
}
