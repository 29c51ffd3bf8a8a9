import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { LRUCache } from 'lru-cache';
import { apiError } from '../lib/errors.js';
import type { Identity } from './identity.js';
import type { Principals } from './principals.js';
import type { SessionStore } from './sessions.js';
import type { LoginThrottle } from './throttle.js';
import { TokenError, type TokenService } from './tokens.js';

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

/**
 * Turns credentials into an Identity: Basic (users and robot accounts), registry Bearer
 * tokens, portal session cookies. Failed logins are slowed, then locked, per account name.
 */
export class Authenticator {
  private readonly verified = new LRUCache<string, Identity>({ max: 10_000, ttl: credentialCacheMs });

  constructor(
    private readonly principals: Principals,
    readonly tokens: TokenService,
    readonly sessions: SessionStore,
    private readonly throttle: LoginThrottle,
  ) {}

  /** Checks in progress by credential, so that concurrent requests with the same credentials share one argon2 check. */
  private readonly checking = new Map<string, Promise<Identity | null>>();

  /** Forgets remembered credentials (after a password change, a robot disabled or deleted, …). */
  invalidate(): void {
    this.verified.clear();
  }

  private check(key: string, username: string, password: string): Promise<Identity | null> {
    let pending = this.checking.get(key);
    if (!pending) {
      pending = (
        username.startsWith(this.principals.robotPrefix)
          ? this.principals.robotBySecret(username, password)
          : this.principals.userByPassword(username, password)
      ).finally(() => this.checking.delete(key));
      this.checking.set(key, pending);
    }
    return pending;
  }

  /** Verifies a name and password or robot secret; throws 401 (after a delay) when they are wrong. */
  async login(username: string, password: string): Promise<Identity> {
    const key = createHash('sha256').update(username).update('\0').update(password).digest('hex');
    const cached = this.verified.get(key);
    if (cached) return cached;
    if (this.throttle.isLocked(username)) {
      throw apiError('UNAUTHORIZED', 'too many failed logins for this account; try again later');
    }
    const identity = await this.check(key, username, password);
    if (!identity) {
      await sleep(this.throttle.fail(username));
      throw apiError('UNAUTHORIZED', 'invalid username or password');
    }
    this.throttle.succeed(username);
    this.verified.set(key, identity);
    return identity;
  }

  async bearer(token: string): Promise<Identity> {
    try {
      const claims = await this.tokens.verify(token);
      return { kind: 'token', subject: claims.subject, access: claims.access };
    } catch (err) {
      if (err instanceof TokenError) throw apiError('UNAUTHORIZED', err.message);
      throw err;
    }
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
