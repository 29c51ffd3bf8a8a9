import { RateLimiterMemory, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { Db } from '../db/index.js';
import { DatabaseRateLimiter, purgeExpiredRateLimits } from './store.js';

export type RateLimitConfig = Config['rate_limits'];
/** What is limited: the token service, sign-in failures, the Harbor API, the /v2 data path. */
export type Scope = 'token' | 'login' | 'api' | 'registry';
export const scopes: readonly Scope[] = ['token', 'login', 'api', 'registry'];

/** Who a request counts against: its client address, and its account when it has one. */
export interface Client {
  ip: string;
  user?: string;
}

/** A refused request: when to come back, and which limit it ran into. */
export interface Refusal {
  retryAfterSeconds: number;
  limit: string;
}

type Dimension = 'ip' | 'user';

interface Limiter {
  limiter: RateLimiterAbstract;
  points: number;
  duration: number;
}

/**
 * The configured limits (rate_limits). Counters live in memory on SQLite (one instance) and
 * in the database on PostgreSQL, so that instances behind one load balancer enforce one limit;
 * there each instance keeps a key found over its limit blocked in memory until its window ends
 * (no database trip for a client already refused), and counts in memory if the database fails.
 */
export class RateLimits {
  private readonly limiters = new Map<string, Limiter>();
  private readonly purge: NodeJS.Timeout | undefined;
  readonly store: 'memory' | 'database';

  constructor(
    readonly config: RateLimitConfig,
    private readonly deps: { db: Db; shared: boolean; logger: Pick<Logger, 'warn'> },
  ) {
    // auto: in the database when other processes serve the same data (PostgreSQL, or workers).
    this.store = config.store === 'auto' ? (deps.shared ? 'database' : 'memory') : config.store;
    for (const scope of scopes) {
      const rule = config[scope];
      for (const dimension of ['ip', 'user'] as const) {
        const points = dimension === 'ip' ? rule.per_ip : rule.per_user;
        if (points <= 0) continue;
        const options = { keyPrefix: `${scope}:${dimension}`, points, duration: rule.window_seconds };
        const limiter =
          this.store === 'memory'
            ? new RateLimiterMemory(options)
            : new DatabaseRateLimiter(deps.db, {
                ...options,
                inMemoryBlockOnConsumed: points,
                insuranceLimiter: new RateLimiterMemory(options),
              });
        this.limiters.set(`${scope}:${dimension}`, { limiter, points, duration: rule.window_seconds });
      }
    }
    if (this.store === 'database' && this.limiters.size > 0) {
      this.purge = setInterval(() => {
        purgeExpiredRateLimits(deps.db).catch((err) => deps.logger.warn({ err }, 'removing ended rate limit windows failed'));
      }, 10 * 60_000);
      this.purge.unref();
    }
  }

  /** Whether anything is limited at all in this scope. */
  limits(scope: Scope): boolean {
    return this.limiters.has(`${scope}:ip`) || this.limiters.has(`${scope}:user`);
  }

  private keys(scope: Scope, client: Client): Array<[Limiter, string, Dimension]> {
    const out: Array<[Limiter, string, Dimension]> = [];
    const ip = this.limiters.get(`${scope}:ip`);
    if (ip) out.push([ip, client.ip, 'ip']);
    const user = this.limiters.get(`${scope}:user`);
    if (user && client.user) out.push([user, client.user, 'user']);
    return out;
  }

  private refusal(scope: Scope, dimension: Dimension, entry: Limiter, msBeforeNext: number): Refusal {
    const who = dimension === 'ip' ? 'client address' : 'user';
    return {
      retryAfterSeconds: Math.max(1, Math.ceil(msBeforeNext / 1000)),
      limit: `${entry.points} ${scope === 'login' ? 'failed sign-ins' : 'requests'} per ${entry.duration} s per ${who}`,
    };
  }

  /** Counts one request; a refusal when any of its counters is past its limit. */
  async consume(scope: Scope, client: Client): Promise<Refusal | null> {
    const results = await Promise.all(
      this.keys(scope, client).map(async ([entry, key, dimension]) => {
        try {
          await entry.limiter.consume(key);
          return null;
        } catch (err) {
          if (err instanceof RateLimiterRes) return this.refusal(scope, dimension, entry, err.msBeforeNext);
          // The counters could not be reached at all: the request goes through.
          this.deps.logger.warn({ err }, 'rate limit counters unavailable; request allowed');
          return null;
        }
      }),
    );
    return results.find((r) => r !== null) ?? null;
  }

  /**
   * Whether a client is refused without counting (sign-in failures are counted only when they
   * fail). Memory counters are read; database counters are not read here (that would cost a
   * query per request with credentials): a key is known blocked once a failure counted on this
   * instance reached the limit.
   */
  async blocked(scope: Scope, client: Client): Promise<Refusal | null> {
    for (const [entry, key, dimension] of this.keys(scope, client)) {
      const limiter = entry.limiter;
      if (limiter instanceof DatabaseRateLimiter) {
        const ms = limiter.blockedMs(key);
        if (ms > 0) return this.refusal(scope, dimension, entry, ms);
        continue;
      }
      const res = await limiter.get(key);
      if (res && res.consumedPoints >= entry.points) return this.refusal(scope, dimension, entry, res.msBeforeNext);
    }
    return null;
  }

  close(): void {
    clearInterval(this.purge);
  }
}
