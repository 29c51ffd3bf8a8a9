import type { Logger } from 'pino';
import type { SecretSealer } from '../auth/secret-box.js';
import type { Db } from '../db/index.js';
import { writeAudit, type AuditEntry } from '../events/audit.js';
import { nowIso } from '../lib/clock.js';
import { secretKeys, type SettingKey, type SystemSettings } from './keys.js';

/** What every reader of the system settings needs: the current values, without I/O. */
export interface SettingsReader {
  current(): SystemSettings;
}

export interface SettingsOptions {
  /** How often the values are read again from the database, so another instance's change shows here. */
  refreshMs?: number;
  logger?: Logger;
}

type Listener = (next: SystemSettings, previous: SystemSettings) => void;

/**
 * The system settings of /configurations: stored in the `configurations` table, so every
 * instance sees a change within `refreshMs` (at once on the instance that made it). Readers
 * call current(), which never touches the database.
 */
export class Settings implements SettingsReader {
  private values: SystemSettings;
  private readonly listeners = new Set<Listener>();
  private timer: NodeJS.Timeout | null = null;
  private loading: Promise<void> | null = null;

  constructor(
    private readonly db: Db,
    private readonly box: SecretSealer,
    /** Values when the database holds none: the configuration file's, then the defaults. */
    private readonly base: SystemSettings,
    private readonly options: SettingsOptions = {},
  ) {
    this.values = { ...base };
  }

  current(): SystemSettings {
    return this.values;
  }

  /** The keys set in the database (the rest come from the configuration file or defaults). */
  async storedKeys(): Promise<Set<SettingKey>> {
    const rows = await this.db.selectFrom('configurations').select('name').execute();
    return new Set(rows.map((r) => r.name as SettingKey));
  }

  /** Reads the stored values again; listeners hear of a change. */
  load(): Promise<void> {
    this.loading ??= this.read().finally(() => {
      this.loading = null;
    });
    return this.loading;
  }

  private async read(): Promise<void> {
    const rows = await this.db.selectFrom('configurations').select(['name', 'value']).execute();
    const next: Record<string, unknown> = { ...this.base };
    for (const row of rows) {
      if (!(row.name in this.base)) continue;
      try {
        const parsed = JSON.parse(row.value) as unknown;
        next[row.name] =
          secretKeys.has(row.name as SettingKey) && typeof parsed === 'string' && parsed !== '' ? this.box.open(parsed) : parsed;
      } catch (err) {
        this.options.logger?.warn({ err, setting: row.name }, 'a stored setting could not be read; using its default');
      }
    }
    const previous = this.values;
    const changed = Object.keys(next).some((k) => next[k] !== (previous as unknown as Record<string, unknown>)[k]);
    if (!changed) return;
    this.values = next as unknown as SystemSettings;
    for (const listener of this.listeners) {
      try {
        listener(this.values, previous);
      } catch (err) {
        this.options.logger?.warn({ err }, 'a settings listener failed');
      }
    }
  }

  /**
   * Stores already validated values (secrets sealed) and the audit record in one
   * transaction, then reloads. An empty secret clears it.
   */
  async write(changes: Partial<SystemSettings>, audit?: AuditEntry): Promise<void> {
    const now = nowIso();
    await this.db.transaction().execute(async (tx) => {
      for (const [name, value] of Object.entries(changes)) {
        if (value === undefined) continue;
        const stored = secretKeys.has(name as SettingKey) && typeof value === 'string' && value !== '' ? this.box.seal(value) : value;
        const text = JSON.stringify(stored);
        await tx
          .insertInto('configurations')
          .values({ name, value: text, update_time: now })
          .onConflict((oc) => oc.column('name').doUpdateSet({ value: text, update_time: now }))
          .execute();
      }
      if (audit) await writeAudit(tx, audit);
    });
    await this.load();
  }

  /** Called after each change, on every instance, with the new and the old values. */
  onChange(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  start(): void {
    if (this.timer) return;
    const every = this.options.refreshMs ?? 2000;
    this.timer = setInterval(() => {
      this.load().catch((err) => this.options.logger?.warn({ err }, 'reading the system settings failed'));
    }, every);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
