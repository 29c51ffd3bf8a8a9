/**
 * Scanner registrations (Harbor's scanner controller): CRUD with Harbor's rules (a ping
 * before a create, the first registration the default, the immutable built-in one), the
 * adapter metadata cached for 30 s, the scanner of a project, and a client for each one.
 */
import { apiError } from '../../lib/errors.js';
import type { Paging } from '../../lib/paging.js';
import type { QueryTerm } from '../../lib/query.js';
import { HttpScannerClient, ScannerAdapterError, type AdapterClient } from './client.js';
import { isReservedName, type RegistrationInput, type ScannerRegistration } from './registration.js';
import { capabilityFlags, metadataProblem, type ScannerAdapterMetadata } from './spec.js';
import type { ScannerStore } from './store.js';

export const builtinScannerName = 'Berth';

export interface RegistrationView {
  uuid: string;
  name: string;
  description: string;
  url: string;
  disabled: boolean;
  is_default: boolean;
  auth: string;
  skip_certVerify: boolean;
  use_internal_addr: boolean;
  create_time: string;
  update_time: string;
  /** Berth: the built-in registration, which cannot be edited or deleted (Harbor keeps this flag out of its JSON). */
  immutable: boolean;
  adapter?: string;
  vendor?: string;
  version?: string;
  health?: string;
  capabilities?: Record<string, boolean>;
}

const metadataTtlMs = 30_000;

export class ScannerService {
  private readonly metadataCache = new Map<string, { at: number; key: string; result: Promise<ScannerAdapterMetadata> }>();
  private readonly clients = new Map<string, { key: string; client: HttpScannerClient }>();

  constructor(
    private readonly store: ScannerStore,
    /** The built-in scanner without an HTTP hop. */
    private readonly local: AdapterClient,
    private readonly options: { timeoutMs?: number } = {},
  ) {}

  /** Creates the built-in registration at first start (default unless another one is). */
  async ensureBuiltin(): Promise<void> {
    await this.store.ensureBuiltin({
      name: builtinScannerName,
      description:
        "Berth's built-in scanner: OS and language packages matched against the OSV vulnerability database, SPDX and CycloneDX SBOMs",
    });
  }

  async builtin(): Promise<ScannerRegistration> {
    const reg = await this.store.builtin();
    if (!reg) throw new Error('the built-in scanner registration is missing');
    return reg;
  }

  byUuid(uuid: string): Promise<ScannerRegistration | null> {
    return this.store.byUuid(uuid);
  }

  async get(uuid: string): Promise<ScannerRegistration> {
    const reg = await this.store.byUuid(uuid);
    if (!reg) throw apiError('NOT_FOUND', `scanner ${uuid} not found`);
    return reg;
  }

  list(terms: QueryTerm[], sort: string | undefined, paging: Paging) {
    return this.store.list(terms, sort, paging);
  }

  /** The registration a project scans with: its own choice, else the system default; null when there is none. */
  async forProject(projectId: number): Promise<ScannerRegistration | null> {
    const chosen = await this.store.projectScanner(projectId);
    if (chosen) {
      const reg = await this.store.byUuid(chosen);
      if (reg) return reg;
    }
    return this.store.byDefault();
  }

  /** The uuid of the system default registration, null when there is none. */
  async defaultRegistration(): Promise<string | null> {
    return (await this.store.byDefault())?.uuid ?? null;
  }

  async setForProject(projectId: number, uuid: string): Promise<void> {
    const reg = await this.store.byUuid(uuid);
    if (!reg) throw apiError('BAD_REQUEST', `scanner registration ${uuid} not found`);
    if (reg.disabled) throw apiError('BAD_REQUEST', `scanner registration ${reg.name} is disabled`);
    await this.store.setProjectScanner(projectId, uuid);
  }

  /** How to talk to a registration's adapter: in-process for the built-in one, over HTTP otherwise. */
  clientFor(reg: ScannerRegistration): AdapterClient {
    if (reg.builtin) return this.local;
    const key = `${reg.url}\0${reg.auth}\0${reg.accessCredential}\0${reg.skipCertVerify}`;
    const cached = this.clients.get(reg.uuid);
    if (cached?.key === key) return cached.client;
    cached?.client.close();
    const client = new HttpScannerClient({
      url: reg.url,
      auth: reg.auth,
      accessCredential: reg.accessCredential,
      skipCertVerify: reg.skipCertVerify,
      timeoutMs: this.options.timeoutMs,
    });
    this.clients.set(reg.uuid, { key, client });
    return client;
  }

  /** The adapter's metadata, checked as Harbor checks it, cached 30 s per registration (failures too). */
  metadataOf(reg: ScannerRegistration): Promise<ScannerAdapterMetadata> {
    const key = `${reg.url}\0${reg.auth}\0${reg.accessCredential}\0${reg.skipCertVerify}`;
    const cached = this.metadataCache.get(reg.uuid);
    if (cached && cached.key === key && Date.now() - cached.at < metadataTtlMs) return cached.result;
    const result = this.fetchMetadata(this.clientFor(reg));
    result.catch(() => undefined);
    this.metadataCache.set(reg.uuid, { at: Date.now(), key, result });
    return result;
  }

  private async fetchMetadata(client: AdapterClient): Promise<ScannerAdapterMetadata> {
    let meta: ScannerAdapterMetadata;
    try {
      meta = await client.metadata();
    } catch (err) {
      throw apiError('INTERNAL_SERVER_ERROR', `scanner controller: ping: ${err instanceof Error ? err.message : String(err)}`);
    }
    const problem = metadataProblem(meta);
    if (problem) throw apiError('INTERNAL_SERVER_ERROR', `scanner controller: ping: ${problem}`);
    return meta;
  }

  /** POST /scanners/ping: the settings' adapter answers its metadata, and it is usable (else 500 with the reason, as Harbor). */
  async ping(
    settings: Pick<RegistrationInput, 'url' | 'auth' | 'accessCredential'> & { skipCertVerify?: boolean },
  ): Promise<ScannerAdapterMetadata> {
    const client = new HttpScannerClient({
      ...settings,
      skipCertVerify: settings.skipCertVerify ?? false,
      timeoutMs: this.options.timeoutMs,
    });
    try {
      return await this.fetchMetadata(client);
    } finally {
      client.close();
    }
  }

  async create(input: RegistrationInput): Promise<string> {
    if (isReservedName(input.name, builtinScannerName))
      throw apiError('BAD_REQUEST', `name "${input.name}" is reserved, please try a different name`);
    // A taken name or URL is told before the adapter is asked anything.
    await this.store.refuseTaken(this.store.db, input, null);
    await this.ping(input);
    return this.store.create(input);
  }

  /** Harbor's 403 for the immutable (built-in) registration. */
  assertMutable(reg: ScannerRegistration, what: 'update' | 'delete'): void {
    if (reg.immutable)
      throw apiError('FORBIDDEN', `registration ${reg.name} is not allowed to ${what} as it is immutable: scanner API: ${what}`);
  }

  async update(uuid: string, input: RegistrationInput): Promise<void> {
    const reg = await this.get(uuid);
    this.assertMutable(reg, 'update');
    if (reg.isDefault && input.disabled) throw apiError('BAD_REQUEST', `default registration ${uuid} can not be marked to deactivated`);
    if (isReservedName(input.name, builtinScannerName))
      throw apiError('BAD_REQUEST', `name "${input.name}" is reserved, please try a different name`);
    await this.store.update(uuid, input);
    this.metadataCache.delete(uuid);
  }

  async delete(uuid: string): Promise<ScannerRegistration> {
    const reg = await this.get(uuid);
    this.assertMutable(reg, 'delete');
    await this.store.delete(uuid);
    // Harbor leaves no default then; Berth's built-in scanner takes the place, so scanning goes on.
    if (reg.isDefault) {
      const builtin = await this.store.builtin();
      if (builtin && !builtin.disabled) await this.store.setDefault(builtin.uuid);
    }
    this.metadataCache.delete(uuid);
    this.clients.get(uuid)?.client.close();
    this.clients.delete(uuid);
    return reg;
  }

  async setDefault(uuid: string): Promise<void> {
    if (!(await this.store.setDefault(uuid))) {
      const reg = await this.store.byUuid(uuid);
      throw reg
        ? apiError('BAD_REQUEST', `registration ${reg.name} is disabled and cannot be the default`)
        : apiError('NOT_FOUND', `registration ${uuid} not found`);
    }
  }

  /**
   * Harbor's view: never the credential; capabilities from the adapter's metadata, and (beyond
   * Harbor's list, which leaves them out) adapter, vendor, version and health.
   */
  async view(reg: ScannerRegistration): Promise<RegistrationView> {
    const base = this.plainView(reg);
    try {
      const meta = await this.metadataOf(reg);
      return {
        ...base,
        adapter: meta.scanner.name,
        vendor: meta.scanner.vendor,
        version: meta.scanner.version,
        health: 'healthy',
        capabilities: capabilityFlags(meta),
      };
    } catch {
      return { ...base, health: 'unhealthy' };
    }
  }

  /** The view without asking the adapter anything (what a delete answers). */
  plainView(reg: ScannerRegistration): RegistrationView {
    return {
      uuid: reg.uuid,
      name: reg.name,
      description: reg.description,
      url: reg.url,
      disabled: reg.disabled,
      is_default: reg.isDefault,
      auth: reg.auth,
      skip_certVerify: reg.skipCertVerify,
      use_internal_addr: reg.useInternalAddr,
      create_time: reg.createTime,
      update_time: reg.updateTime,
      immutable: reg.immutable,
    };
  }

  close(): void {
    for (const { client } of this.clients.values()) client.close();
    this.clients.clear();
  }
}

export { ScannerAdapterError };
