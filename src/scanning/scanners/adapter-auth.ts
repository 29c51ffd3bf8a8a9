/**
 * Who may use Berth's Pluggable Scanner API: a caller with the adapter's API key (in
 * `X-ScannerAdapter-API-Key`, or as a Bearer token: Harbor's APIKey and Bearer auth modes),
 * or, when `scanning.adapter.basic_auth` is on, a system administrator's Basic credentials
 * (Harbor's Basic mode). The key is `scanning.adapter.api_key` when configured; otherwise the
 * first start generates one and keeps it in the database, shared by every instance.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { parseBasic, type Authenticator } from '../../auth/authenticator.js';
import { isSysadmin } from '../../auth/identity.js';
import type { Db } from '../../db/index.js';
import { nowIso } from '../../lib/clock.js';

const settingName = 'scanner_adapter_api_key';

export interface AdapterAuthOptions {
  apiKey?: string;
  basicAuth: boolean;
}

export class AdapterAuth {
  private key: Promise<string> | null = null;

  constructor(
    private readonly db: Db,
    private readonly options: AdapterAuthOptions,
    private readonly authenticator: Pick<Authenticator, 'login'>,
  ) {}

  /** The API key callers present. */
  apiKey(): Promise<string> {
    this.key ??= this.options.apiKey ? Promise.resolve(this.options.apiKey) : this.storedKey();
    return this.key;
  }

  /** Where the key comes from, for the documentation endpoint. */
  get keySource(): 'configuration' | 'generated' {
    return this.options.apiKey ? 'configuration' : 'generated';
  }

  private async storedKey(): Promise<string> {
    const stored = await this.db.selectFrom('settings').select('value').where('name', '=', settingName).executeTakeFirst();
    if (stored) return stored.value;
    await this.db
      .insertInto('settings')
      .values({ name: settingName, value: randomBytes(24).toString('base64url'), created_at: nowIso() })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
    const winner = await this.db.selectFrom('settings').select('value').where('name', '=', settingName).executeTakeFirstOrThrow();
    return winner.value;
  }

  /** Null when the request may go on; otherwise why not (for a 401). */
  async check(headers: IncomingHttpHeaders): Promise<string | null> {
    const apiKeyHeader = headers['x-scanneradapter-api-key'];
    const authorization = headers.authorization;
    if (typeof apiKeyHeader === 'string' && apiKeyHeader !== '') {
      return (await this.matches(apiKeyHeader)) ? null : 'the X-ScannerAdapter-API-Key is not valid';
    }
    if (typeof authorization === 'string') {
      if (/^bearer /i.test(authorization)) {
        return (await this.matches(authorization.slice(7).trim())) ? null : 'the Bearer token is not valid';
      }
      const basic = parseBasic(authorization);
      if (basic) {
        if (!this.options.basicAuth) return 'Basic authentication is turned off for the scanner adapter (scanning.adapter.basic_auth)';
        try {
          const identity = await this.authenticator.login(basic.username, basic.password);
          return isSysadmin(identity) ? null : 'only a system administrator may use the scanner adapter with Basic credentials';
        } catch {
          return 'invalid username or password';
        }
      }
      return 'unsupported Authorization scheme; use X-ScannerAdapter-API-Key, Bearer or Basic';
    }
    return 'authentication is required: send the adapter API key in X-ScannerAdapter-API-Key or as a Bearer token';
  }

  private async matches(presented: string): Promise<boolean> {
    const digest = (s: string) => createHash('sha256').update(s).digest();
    return timingSafeEqual(digest(presented), digest(await this.apiKey()));
  }
}
