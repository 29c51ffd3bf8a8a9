import { isIP } from 'node:net';
import { rootCertificates, type ConnectionOptions } from 'node:tls';
import { Client, InvalidCredentialsError, ResultCodeError, type Entry } from 'ldapts';

/** How to reach the directory: the connection part of the LDAP settings. */
export interface ConnectionSettings {
  ldap_url: string;
  ldap_start_tls: boolean;
  ldap_verify_cert: boolean;
  ldap_ca_cert: string;
  /** Seconds, for the connection and each operation. */
  ldap_timeout: number;
  ldap_search_dn: string;
  ldap_search_password: string;
}

/**
 * The directory could not be used: unreachable, TLS refused, the search account refused, a
 * configured DN or filter refused. Not the signing-in user's fault, so never a wrong password.
 */
export class DirectoryError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DirectoryError';
  }
}

/**
 * `ldap://host:port` or `ldaps://host:port` from the setting, as Harbor reads it: no scheme
 * means ldap://, port 636 means ldaps://, no port means the scheme's.
 */
export function directoryUrl(setting: string): string {
  const value = setting.trim();
  if (value === '') throw new DirectoryError('LDAP is not configured: ldap_url is empty');
  const match = /^(?:([A-Za-z]+):\/\/)?(\[[^\]]+\]|[^:/?#\s]+)(?::(\d+))?\/?$/.exec(value);
  if (!match) throw new DirectoryError(`ldap_url "${value}" is not an LDAP URL (ldap://host:port or ldaps://host:port)`);
  let scheme = (match[1] ?? 'ldap').toLowerCase();
  if (scheme !== 'ldap' && scheme !== 'ldaps')
    throw new DirectoryError(`ldap_url "${value}": the scheme must be ldap or ldaps, not ${scheme}`);
  const port = match[3] ? Number(match[3]) : scheme === 'ldaps' ? 636 : 389;
  if (port < 1 || port > 65535) throw new DirectoryError(`ldap_url "${value}": port ${port} is out of range`);
  if (port === 636) scheme = 'ldaps';
  return `${scheme}://${match[2]}:${port}`;
}

function tlsOptions(settings: ConnectionSettings): ConnectionOptions {
  const extra = settings.ldap_ca_cert.trim();
  return {
    rejectUnauthorized: settings.ldap_verify_cert,
    // An extra CA adds to the system's roots instead of replacing them.
    ...(extra !== '' && { ca: [...rootCertificates, extra] }),
  };
}

/** What went wrong talking to the directory, in words an administrator can act on. */
export function describeFailure(err: unknown): string {
  const e = err as NodeJS.ErrnoException & { code?: unknown };
  const message = e?.message ?? String(err);
  if (typeof e?.code === 'string') {
    if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME|UNABLE_TO_GET_ISSUER/.test(e.code)) {
      return `the directory's TLS certificate was not accepted (${e.code}: ${message}); trust its CA with ldap_ca_cert or turn off ldap_verify_cert`;
    }
    if (e.code === 'ECONNREFUSED') return `connection refused (${message})`;
    if (e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN') return `host not found (${message})`;
  }
  if (/timeout|timed out/i.test(message)) return `no answer in time (${message})`;
  return message;
}

function isResultError(err: unknown): err is ResultCodeError {
  return err instanceof ResultCodeError;
}

export type SearchScope = 'base' | 'one' | 'sub';

export function scopeOf(scope: number): SearchScope {
  return scope === 0 ? 'base' : scope === 1 ? 'one' : 'sub';
}

/** The values of an attribute of an entry, its name matched case-insensitively (servers choose the case). */
export function attributeValues(entry: Entry, name: string): string[] {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(entry)) {
    if (key.toLowerCase() !== wanted || key === 'dn') continue;
    const values = Array.isArray(value) ? value : [value];
    return values.map((v) => (Buffer.isBuffer(v) ? v.toString('utf8') : String(v)).trim()).filter((v) => v !== '');
  }
  return [];
}

/**
 * One connection to the directory (StartTLS done when configured), bound as the search
 * account. Close it when done.
 */
export class DirectorySession {
  private constructor(
    private readonly client: Client,
    private readonly settings: ConnectionSettings,
    readonly url: string,
  ) {}

  static async open(settings: ConnectionSettings): Promise<DirectorySession> {
    const url = directoryUrl(settings.ldap_url);
    const timeoutMs = Math.max(1, settings.ldap_timeout || 5) * 1000;
    const tls = tlsOptions(settings);
    // ldapts speaks TLS from the start whenever tlsOptions are given, so only ldaps:// gets them here.
    const client = new Client({
      url,
      timeout: timeoutMs,
      connectTimeout: timeoutMs,
      strictDN: false,
      ...(url.startsWith('ldaps:') && { tlsOptions: tls }),
    });
    const session = new DirectorySession(client, settings, url);
    try {
      if (settings.ldap_start_tls) {
        if (url.startsWith('ldaps:')) throw new DirectoryError('ldap_start_tls is for ldap:// URLs; an ldaps:// connection is already TLS');
        // ldapts upgrades the socket without naming the server: name it, or Node checks the certificate against "localhost".
        const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
        await client.startTLS({ ...tls, host, ...(isIP(host) === 0 && { servername: host }) }).catch((err: unknown) => {
          throw new DirectoryError(`StartTLS with the LDAP directory at ${url} failed: ${describeFailure(err)}`, { cause: err });
        });
      }
      await session.bindAsSearcher();
      return session;
    } catch (err) {
      await session.close();
      if (err instanceof DirectoryError) throw err;
      throw new DirectoryError(`the LDAP directory at ${url} cannot be reached: ${describeFailure(err)}`, { cause: err });
    }
  }

  /** Binds as ldap_search_dn (anonymously when it is empty); a refusal is a DirectoryError. */
  async bindAsSearcher(): Promise<void> {
    const { ldap_search_dn: dn, ldap_search_password: password } = this.settings;
    if (dn.trim() === '') {
      // Anonymous: no bind, but connect now (reading the root DSE) so that an unreachable directory shows here.
      await this.client.search('', { scope: 'base', filter: '(objectClass=*)', attributes: ['1.1'] }).catch((err: unknown) => {
        if (!isResultError(err)) throw err;
      });
      return;
    }
    try {
      await this.client.bind(dn, password);
    } catch (err) {
      if (isResultError(err)) {
        const why = err instanceof InvalidCredentialsError ? 'invalid credentials' : err.message;
        throw new DirectoryError(`the LDAP directory at ${this.url} refused the search DN "${dn}": ${why}`, { cause: err });
      }
      throw err;
    }
  }

  /**
   * Binds as this entry with this password: true when the directory accepts them, false when it
   * refuses them. The session stays bound as that entry; bind as the searcher again to search.
   */
  async verifyBind(dn: string, password: string): Promise<boolean> {
    // An empty password would be an unauthenticated bind, which many directories accept.
    if (password === '') return false;
    try {
      await this.client.bind(dn, password);
      return true;
    } catch (err) {
      if (isResultError(err)) return false;
      throw new DirectoryError(`the LDAP directory at ${this.url} cannot be reached: ${describeFailure(err)}`, { cause: err });
    }
  }

  /**
   * Searches; a filter or base the directory refuses, or a lost connection, is a DirectoryError.
   * A base entry that does not exist answers no entries.
   */
  async search(base: string, options: { scope: SearchScope; filter: string; attributes: string[]; sizeLimit?: number }): Promise<Entry[]> {
    try {
      const result = await this.client.search(base, {
        scope: options.scope,
        filter: options.filter || '(objectClass=*)',
        attributes: options.attributes,
        sizeLimit: options.sizeLimit ?? 0,
      });
      return result.searchEntries;
    } catch (err) {
      if (isResultError(err) && err.code === 32) return []; // noSuchObject
      if (isResultError(err)) {
        throw new DirectoryError(`the LDAP directory refused the search under "${base}" with filter ${options.filter}: ${err.message}`, {
          cause: err,
        });
      }
      if (err instanceof Error && /filter/i.test(err.message) && !(err as NodeJS.ErrnoException).code) {
        throw new DirectoryError(`the LDAP filter ${options.filter} is not valid: ${err.message}`, { cause: err });
      }
      throw new DirectoryError(`the LDAP directory at ${this.url} cannot be reached: ${describeFailure(err)}`, { cause: err });
    }
  }

  async close(): Promise<void> {
    await this.client.unbind().catch(() => undefined);
  }
}

/** Opens a session, runs `work`, closes the session. */
export async function withSession<T>(settings: ConnectionSettings, work: (session: DirectorySession) => Promise<T>): Promise<T> {
  const session = await DirectorySession.open(settings);
  try {
    return await work(session);
  } finally {
    await session.close();
  }
}
