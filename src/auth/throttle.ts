/**
 * Slows and then locks repeated failed logins per account name. The same rules apply to
 * names that do not exist, so the answers reveal nothing about which accounts exist.
 * State is per process (an attacker spread over instances gets at most N× the attempts).
 */
export interface ThrottleOptions {
  /** Failures before the account name is locked. */
  maxFailures: number;
  lockMs: number;
  /** Delay added per consecutive failure, capped at maxDelayMs. */
  delayStepMs: number;
  maxDelayMs: number;
}

interface Entry {
  failures: number;
  lockedUntil: number;
  lastFailure: number;
}

export class LoginThrottle {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly options: ThrottleOptions = { maxFailures: 5, lockMs: 5 * 60_000, delayStepMs: 300, maxDelayMs: 1500 }) {}

  private key(name: string): string {
    return name.toLowerCase();
  }

  isLocked(name: string, now = Date.now()): boolean {
    const entry = this.entries.get(this.key(name));
    return entry !== undefined && entry.lockedUntil > now;
  }

  /** Records a failure; returns how long to hold the answer back. */
  fail(name: string, now = Date.now()): number {
    const key = this.key(name);
    const entry = this.entries.get(key) ?? { failures: 0, lockedUntil: 0, lastFailure: 0 };
    if (now - entry.lastFailure > this.options.lockMs) entry.failures = 0;
    entry.failures += 1;
    entry.lastFailure = now;
    if (entry.failures >= this.options.maxFailures) {
      entry.lockedUntil = now + this.options.lockMs;
      entry.failures = 0;
    }
    this.entries.set(key, entry);
    if (this.entries.size > 100_000) this.prune(now);
    return Math.min(entry.failures * this.options.delayStepMs, this.options.maxDelayMs);
  }

  succeed(name: string): void {
    this.entries.delete(this.key(name));
  }

  private prune(now: number): void {
    for (const [key, entry] of this.entries) {
      if (entry.lockedUntil < now && now - entry.lastFailure > this.options.lockMs) this.entries.delete(key);
    }
  }
}
