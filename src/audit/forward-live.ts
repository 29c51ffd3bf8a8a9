import { createAuditForwarder, type AuditForwarder, type AuditForwarderDeps, type AuditForwarderOptions } from './forward.js';
import { AuditForwardStore } from './forward-store.js';
import { forwardCursorName } from './purge-store.js';

/** The two system settings the forwarder follows (Harbor's keys). */
export interface ForwardSettings {
  audit_log_forward_endpoint: string;
  skip_audit_log_database: boolean;
}

type Options = Omit<AuditForwarderOptions, 'endpoint' | 'skipDatabase'>;

/**
 * The audit forwarder that the system settings ask for, replaced when they change (on every
 * instance, as the settings are re-read): the old forwarder stops (its send in progress fails,
 * its records stay after the shared cursor) before one for the new endpoint starts from that
 * cursor, so a switch from one endpoint to another loses nothing. Switching forwarding on
 * through PUT /configurations first moves the cursor to the newest record (`forwardFromNow`):
 * what was written while no endpoint was set is not sent, as in Harbor.
 */
export class LiveAuditForwarding {
  private forwarder: AuditForwarder | null = null;
  private applied: ForwardSettings = { audit_log_forward_endpoint: '', skip_audit_log_database: false };
  private queue: Promise<void> = Promise.resolve();
  private running = false;
  private closed = false;

  constructor(
    private readonly deps: AuditForwarderDeps,
    private readonly options: Options = {},
  ) {}

  /**
   * Builds the startup forwarder and its cursor. The configuration file's values were checked
   * before (a bad one stops the start); a stored value that does not go with the file's (say,
   * the file's skip_database beside a stored empty endpoint) leaves forwarding off, logged.
   */
  async prepare(settings: ForwardSettings): Promise<void> {
    this.applied = pick(settings);
    try {
      this.forwarder = this.build(settings);
    } catch (err) {
      this.options.logger?.warn(
        { err, endpoint: settings.audit_log_forward_endpoint },
        'audit log forwarding is off: the setting is refused',
      );
      return;
    }
    await this.forwarder?.prepare();
  }

  /** The forwarder running now, or null. */
  current(): AuditForwarder | null {
    return this.forwarder;
  }

  start(): void {
    this.running = true;
    this.forwarder?.start();
  }

  /** Follows a settings change; changes apply one after the other. Never throws (a bad value is logged, forwarding is then off). */
  apply(settings: ForwardSettings): Promise<void> {
    const next = pick(settings);
    this.queue = this.queue
      .then(() => this.switchTo(next))
      .catch((err) => this.options.logger?.warn({ err }, 'switching audit log forwarding failed'));
    return this.queue;
  }

  async stop(): Promise<void> {
    this.closed = true;
    await this.queue;
    await this.forwarder?.stop();
    this.forwarder = null;
  }

  private async switchTo(next: ForwardSettings): Promise<void> {
    if (this.closed) return;
    if (
      next.audit_log_forward_endpoint === this.applied.audit_log_forward_endpoint &&
      next.skip_audit_log_database === this.applied.skip_audit_log_database
    ) {
      return;
    }
    const old = this.forwarder;
    this.forwarder = null;
    this.applied = next;
    await old?.stop();
    let fresh: AuditForwarder | null;
    try {
      fresh = this.build(next);
    } catch (err) {
      this.options.logger?.warn({ err, endpoint: next.audit_log_forward_endpoint }, 'audit log forwarding is off: the setting is refused');
      return;
    }
    if (!fresh) {
      if (old) this.options.logger?.info({}, 'audit log forwarding stopped');
      return;
    }
    await fresh.prepare();
    if (this.closed) return;
    this.forwarder = fresh;
    if (this.running) fresh.start();
    this.options.logger?.info(
      { endpoint: next.audit_log_forward_endpoint, skipDatabase: next.skip_audit_log_database },
      'audit log forwarding follows the new settings',
    );
  }

  private build(settings: ForwardSettings): AuditForwarder | null {
    return createAuditForwarder(
      this.deps,
      { forward_endpoint: settings.audit_log_forward_endpoint, skip_database: settings.skip_audit_log_database },
      this.options,
    );
  }
}

function pick(settings: ForwardSettings): ForwardSettings {
  return {
    audit_log_forward_endpoint: settings.audit_log_forward_endpoint.trim(),
    skip_audit_log_database: settings.skip_audit_log_database,
  };
}

/**
 * Called by PUT /configurations before it stores an endpoint where there was none: the
 * records written until now (while nothing was forwarded) are not sent.
 */
export function forwardFromNow(deps: AuditForwarderDeps): Promise<void> {
  return new AuditForwardStore(deps.db, deps.dialect).restartAtNewest(forwardCursorName);
}
