import type { Db } from '../db/index.js';
import type { AuditEntry } from '../events/audit.js';
import { apiError } from '../lib/errors.js';
import { secretKeys, type SettingKey, type SystemSettings } from '../settings/keys.js';
import type { Settings } from '../settings/settings.js';
import { SettingError, validateSettings } from '../settings/validate.js';

/** One entry of Harbor's ConfigurationsResponse. */
export interface ConfigurationValue {
  value: unknown;
  editable: boolean;
}

const adminUsername = 'admin';

/** GET/PUT /configurations over the Settings store. */
export class ConfigurationService {
  constructor(
    private readonly db: Db,
    private readonly settings: Settings,
    private readonly hooks: {
      /** Before an audit log forward endpoint is stored where there was none: forwarding starts with the records written from now on. */
      forwardingSwitchedOn?: () => Promise<void>;
    } = {},
  ) {}

  /** Harbor's rule: the authentication mode is fixed once a user other than admin exists. */
  async authModeEditable(): Promise<boolean> {
    const row = await this.db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number | string | bigint>().as('n'))
      .where('username', '!=', adminUsername)
      .executeTakeFirstOrThrow();
    return Number(row.n) === 0;
  }

  /** Every setting but the secrets, with whether PUT may change it. */
  async view(): Promise<Record<string, ConfigurationValue>> {
    const current = this.settings.current();
    const authModeEditable = await this.authModeEditable();
    const out: Record<string, ConfigurationValue> = {};
    for (const [key, value] of Object.entries(current) as Array<[SettingKey, unknown]>) {
      if (secretKeys.has(key)) continue;
      const editable = key === 'auth_mode' ? authModeEditable : true;
      out[key] = { value, editable };
    }
    return out;
  }

  /** Validates every key first; stores all of them with one audit record, or nothing (400). */
  async update(body: unknown, audit: Omit<AuditEntry, 'operation' | 'resourceType' | 'resource'>): Promise<void> {
    if (!body || typeof body !== 'object' || Array.isArray(body)) {
      throw apiError('BAD_REQUEST', 'the body must be a JSON object of configuration keys and values');
    }
    const current = this.settings.current();
    let changes: Partial<SystemSettings>;
    try {
      changes = validateSettings(body as Record<string, unknown>, current);
    } catch (err) {
      if (err instanceof SettingError) throw apiError('BAD_REQUEST', err.message);
      throw err;
    }
    if (changes.auth_mode !== undefined && changes.auth_mode !== current.auth_mode && !(await this.authModeEditable())) {
      throw apiError('BAD_REQUEST', 'the auth mode cannot be modified as new users have been inserted into database');
    }
    if (changes.audit_log_forward_endpoint) {
      // Read afresh: another instance may have switched forwarding on in the last seconds.
      await this.settings.load();
      if (this.settings.current().audit_log_forward_endpoint.trim() === '') await this.hooks.forwardingSwitchedOn?.();
    }
    await this.settings.write(changes, { ...audit, operation: 'update', resourceType: 'configuration', resource: 'configurations' });
  }
}
