import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { DialectHelpers } from '../db/dialect.js';
import type { Db } from '../db/index.js';
import { AuditForwardStore, type AuditRecordRow } from './forward-store.js';
import { forwardCursorName } from './purge-store.js';
import { formatSyslogMessage, frameOctetCounted, parseEndpoint, SyslogTcpClient, type SyslogHeader } from './forward-syslog.js';
import { describeOperation } from './service.js';

const cursorName = forwardCursorName;

export interface AuditForwarderLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface AuditForwarderOptions {
  /** host:port of the syslog server (Harbor's audit_log_forward_endpoint). */
  endpoint: string;
  /** Harbor's skip_audit_log_database: delete the records once forwarded. */
  skipDatabase: boolean;
  /** How often to look for new records when idle (ms). */
  pollIntervalMs?: number;
  /** Longest wait between two attempts while the syslog server fails (ms). */
  retryMaxMs?: number;
  /** How long the right to forward lasts without renewal (ms): after a crash, another instance takes over after this. */
  leaseMs?: number;
  /** Records per send. */
  batchSize?: number;
  /** Connect and send timeout (ms). */
  timeoutMs?: number;
  logger?: AuditForwarderLogger;
}

export interface AuditForwarderDeps {
  db: Db;
  dialect: DialectHelpers;
}

/**
 * Sends every audit record to a syslog server (RFC 5424 over TCP, RFC 6587 octet counting),
 * at least once across restarts: a cursor over audit_logs moves only after the system took
 * the records, and one instance at a time forwards (a lease in the cursor row). The writers
 * of audit records are never involved: a slow or dead syslog server delays forwarding only.
 */
export class AuditForwarder {
  private readonly store: AuditForwardStore;
  private readonly client: SyslogTcpClient;
  private readonly holder = randomUUID();
  private readonly header: SyslogHeader;
  private readonly options: Required<Omit<AuditForwarderOptions, 'logger'>>;
  private readonly logger: AuditForwarderLogger | undefined;
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private round: Promise<number> | null = null;
  private failures = 0;

  constructor(deps: AuditForwarderDeps, options: AuditForwarderOptions) {
    this.store = new AuditForwardStore(deps.db, deps.dialect);
    this.options = {
      endpoint: options.endpoint,
      skipDatabase: options.skipDatabase,
      pollIntervalMs: options.pollIntervalMs ?? 500,
      retryMaxMs: options.retryMaxMs ?? 10_000,
      leaseMs: options.leaseMs ?? 15_000,
      batchSize: options.batchSize ?? 200,
      timeoutMs: options.timeoutMs ?? 10_000,
    };
    this.logger = options.logger;
    this.client = new SyslogTcpClient(parseEndpoint(options.endpoint), this.options.timeoutMs);
    this.header = { hostname: hostname(), appName: 'audit', procId: String(process.pid) };
  }

  /** Creates the cursor if needed (at the newest record); call before anything writes records. */
  async prepare(): Promise<void> {
    await this.store.ensureCursor(cursorName);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    // A send in progress fails at once rather than after its timeout; its records stay for the next start.
    this.client.close();
    await this.round?.catch(() => undefined);
    await this.store.release(cursorName, this.holder).catch(() => undefined);
  }

  /** Forwards until nothing is left; returns how many records went. Throws when the syslog server fails. */
  async forwardNow(): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.once();
      total += n;
      if (n < this.options.batchSize) return total;
    }
  }

  /** Where it sends, and whether it deletes what it sent. */
  get target(): { endpoint: string; skipDatabase: boolean } {
    return { endpoint: this.options.endpoint, skipDatabase: this.options.skipDatabase };
  }

  /** How far forwarding got. */
  state() {
    return this.store.state(cursorName);
  }

  private schedule(delayMs: number): void {
    if (!this.running) return;
    this.timer = setTimeout(() => void this.tick(), delayMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    let delay = this.options.pollIntervalMs;
    try {
      const n = await this.forwardNow();
      if (this.failures > 0) this.logger?.info({ endpoint: this.options.endpoint, forwarded: n }, 'audit log forwarding works again');
      this.failures = 0;
    } catch (err) {
      this.failures++;
      delay = Math.min(this.options.pollIntervalMs * 2 ** this.failures, this.options.retryMaxMs);
      if (this.failures === 1 || this.failures % 20 === 0) {
        this.logger?.warn(
          { err, endpoint: this.options.endpoint, failures: this.failures, retryInMs: delay },
          'forwarding audit records to the syslog server failed; they are kept and sent when it answers',
        );
      }
    }
    this.schedule(delay);
  }

  /** One batch. */
  private async once(): Promise<number> {
    if (this.round) return this.round;
    this.round = this.forwardBatch().finally(() => (this.round = null));
    return this.round;
  }

  private async forwardBatch(): Promise<number> {
    // Idle: nothing is written (an idle instance lets its lease run out; whichever instance sees records next takes it).
    if (!(await this.store.pending(cursorName))) return 0;
    const cursor = await this.store.acquire(cursorName, this.holder, this.options.leaseMs);
    // Another instance forwards now.
    if (!cursor) return 0;
    const records = await this.store.after(cursor, this.options.batchSize);
    if (records.length === 0) return 0;
    await this.client.send(records.map((r) => frameOctetCounted(formatSyslogMessage(toForwarded(r), this.header))));
    const last = records[records.length - 1];
    const moved = await this.store.advance(
      cursorName,
      this.holder,
      { lastTxId: last.txId, lastId: last.id },
      records.map((r) => r.id),
      this.options.skipDatabase,
    );
    return moved ? records.length : 0;
  }
}

function toForwarded(r: AuditRecordRow) {
  return {
    id: r.id,
    username: r.username,
    operation: r.operation,
    resourceType: r.resourceType,
    resource: r.resource,
    result: r.result,
    projectId: r.projectId,
    clientIp: r.clientIp,
    opTime: r.opTime,
    description: describeOperation({ operation: r.operation, resource_type: r.resourceType, resource: r.resource }),
  };
}

/**
 * The forwarder the configuration asks for, or null when audit.forward_endpoint is empty.
 * Refuses (throws) an endpoint that is not host:port, and skip_database without an endpoint
 * (Harbor refuses that combination too).
 */
export function createAuditForwarder(
  deps: AuditForwarderDeps,
  config: { forward_endpoint: string; skip_database: boolean },
  options: Omit<AuditForwarderOptions, 'endpoint' | 'skipDatabase'> = {},
): AuditForwarder | null {
  if (config.forward_endpoint.trim() === '') {
    if (config.skip_database) {
      throw new Error('audit.skip_database needs audit.forward_endpoint: the records would be kept nowhere');
    }
    return null;
  }
  return new AuditForwarder(deps, { ...options, endpoint: config.forward_endpoint, skipDatabase: config.skip_database });
}
