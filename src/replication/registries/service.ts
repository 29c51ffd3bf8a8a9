/**
 * Registry endpoints (Harbor's registry controller): CRUD with Harbor's rules — a registry
 * is saved only when it answers a ping with its credential, its name is unique, it cannot be
 * deleted while a replication policy or a proxy-cache project uses it — plus the adapter of
 * each one for the replication engine and the proxy cache. The credential's secret is sealed
 * with the SecretBox before it is stored and opened only to build an adapter.
 */
import { SecretBoxError, type SecretBox, type Secrets } from '../../auth/secret-box.js';
import { apiError } from '../../lib/errors.js';
import type { Paging } from '../../lib/paging.js';
import type { QueryTerm } from '../../lib/query.js';
import { RemoteRegistryError, type CredentialType, type RegistryAdapter, type RegistryEndpoint, type RegistryInfo } from '../types.js';
import { maskedSecret, type PingInput, type RegistryInput, type RegistryPatch } from './input.js';
import type { RegistryColumns, RegistryRecord, RegistryStore } from './store.js';

/** The adapters Berth has (replication/adapters), as the service needs them. */
export interface AdapterCatalog {
  /** Adapter type names (/replication/adapters). */
  types(): string[];
  /** Harbor's /replication/adapterinfos body: type → {endpoint_pattern, credential_pattern}. */
  infos(): Record<string, unknown>;
  isType(type: string): boolean;
  /** An adapter for the endpoint; throws for an unknown type. */
  create(endpoint: RegistryEndpoint): RegistryAdapter;
}

/** Harbor's Registry object as the API answers it (the secret masked). */
export interface RegistryView {
  id: number;
  name: string;
  description: string;
  type: string;
  url: string;
  insecure: boolean;
  ca_certificate?: string;
  credential: { type?: string; access_key?: string; access_secret?: string };
  status: string;
  creation_time: string;
  update_time: string;
}

/** Harbor's RegistryInfo in its JSON names. */
export interface RegistryInfoView {
  type: string;
  description: string;
  supported_resource_filters: Array<{ type: string; style: string; values?: string[] }>;
  supported_triggers: string[];
  supported_copy_by_chunk?: boolean;
}

/** Says why a registry cannot be deleted (a message), or null when the caller does not use it. */
export type UsageCheck = (registryId: number) => Promise<string | null>;

export interface RegistryServiceOptions {
  /** How long a ping may take before the registry counts as unhealthy. */
  pingTimeoutMs?: number;
  /** Berth itself as registry 0 (Harbor's "Local"): its info, e.g. the local adapter's (labels listed). */
  localInfo?: () => Promise<RegistryInfo> | RegistryInfo;
  /** The URL registry 0 shows (the external URL), '' when unknown. */
  localUrl?: () => string;
}

export const healthy = 'healthy';
export const unhealthy = 'unhealthy';

/** Berth's own capabilities as a replication source or destination (registry 0). */
export const localRegistryInfo: RegistryInfo = {
  type: 'harbor',
  description: 'Berth itself',
  supportedResourceFilters: [
    { type: 'name', style: 'input' },
    { type: 'tag', style: 'input' },
    { type: 'label', style: 'list', values: [] },
    { type: 'resource', style: 'radio', values: ['image', 'artifact'] },
  ],
  supportedTriggers: ['manual', 'scheduled', 'event_based'],
  supportedCopyByChunk: true,
};

const notFound = (id: number) => apiError('NOT_FOUND', `registry ${id} not found`);

/** Why a ping failed, in words for the API and the status message. */
function reasonOf(err: unknown): string {
  if (err instanceof RemoteRegistryError) return err.message;
  if (err instanceof Error)
    return err.name === 'TimeoutError' || err.name === 'AbortError' ? 'the registry did not answer in time' : err.message;
  return String(err);
}

export class RegistryEndpointService {
  private readonly usageChecks: UsageCheck[] = [];
  private readonly createdListeners: Array<(id: number) => Promise<void> | void> = [];
  private readonly pingTimeoutMs: number;

  constructor(
    private readonly store: RegistryStore,
    private readonly adapters: AdapterCatalog,
    private readonly secrets: Secrets,
    private readonly options: RegistryServiceOptions = {},
  ) {
    this.pingTimeoutMs = options.pingTimeoutMs ?? 15_000;
    secrets.onRotate('registries', (box) => this.reseal(box));
  }

  // ----- for other features (replication engine, policies, proxy cache) -----

  /** A feature that refers to registries registers here; delete is refused (412) while any says the registry is used. */
  onUsageCheck(check: UsageCheck): void {
    this.usageChecks.push(check);
  }

  /** The endpoint as adapters need it (credential opened), undefined when there is no such registry (0 is Berth itself: none). */
  async endpoint(id: number): Promise<RegistryEndpoint | undefined> {
    if (id <= 0) return undefined;
    const rec = await this.store.byId(id);
    return rec ? this.endpointOf(rec) : undefined;
  }

  /** The adapter of registry `id`; 404 when there is none. */
  async adapterFor(id: number): Promise<RegistryAdapter> {
    const endpoint = await this.endpoint(id);
    if (!endpoint) throw notFound(id);
    return this.adapters.create(endpoint);
  }

  /** Harbor's Registry object for registry `id` (0: Berth itself, "Local"), for embedding in policies; null when there is none. */
  async view(id: number): Promise<RegistryView | null> {
    if (id === 0) return this.localView();
    const rec = await this.store.byId(id);
    return rec ? this.toView(rec) : null;
  }

  /** Called after each create (the assembly defines the health-check schedule on the first). */
  onCreated(listener: (id: number) => Promise<void> | void): void {
    this.createdListeners.push(listener);
  }

  /** Whether any registry is stored. */
  async any(): Promise<boolean> {
    return (await this.store.list([], undefined, { page: 1, pageSize: 1, offset: 0 })).total > 0;
  }

  /** Whether registry `id` exists (0, Berth itself, always does). */
  async exists(id: number): Promise<boolean> {
    return id === 0 || (await this.store.byId(id)) !== null;
  }

  // ----- the API -----

  async get(id: number): Promise<RegistryRecord> {
    const rec = id > 0 ? await this.store.byId(id) : null;
    if (!rec) throw notFound(id);
    return rec;
  }

  list(terms: QueryTerm[], sort: string | undefined, paging: Paging) {
    return this.store.list(terms, sort, paging);
  }

  adapterTypes(): string[] {
    return this.adapters.types();
  }

  adapterInfos(): Record<string, unknown> {
    return this.adapters.infos();
  }

  toView(rec: RegistryRecord): RegistryView {
    const credential: RegistryView['credential'] = {};
    if (rec.credentialType) credential.type = rec.credentialType;
    if (rec.accessKey) credential.access_key = rec.accessKey;
    if (rec.sealedSecret) credential.access_secret = maskedSecret;
    return {
      id: rec.id,
      name: rec.name,
      description: rec.description,
      type: rec.type,
      url: rec.url,
      insecure: rec.insecure,
      ...(rec.caCertificate ? { ca_certificate: rec.caCertificate } : {}),
      credential,
      status: rec.status,
      creation_time: rec.createTime,
      update_time: rec.updateTime,
    };
  }

  /** Saves a registry that answers a ping; returns its id. 400 (nothing saved) when invalid or unhealthy, 409 for a name taken. */
  async create(input: RegistryInput): Promise<number> {
    this.checkType(input.type);
    if (await this.store.nameTaken(input.name, null)) throw apiError('CONFLICT', `registry ${input.name} already exists`);
    const endpoint: RegistryEndpoint = {
      id: 0,
      name: input.name,
      type: input.type,
      url: input.url,
      insecure: input.insecure,
      caCertificate: input.caCertificate,
      credential: input.credential,
    };
    await this.requireHealthy(endpoint);
    const id = await this.store.insert({
      name: input.name,
      description: input.description,
      type: input.type,
      url: input.url,
      insecure: input.insecure,
      caCertificate: input.caCertificate,
      credentialType: input.credential?.type ?? null,
      accessKey: input.credential?.accessKey || null,
      sealedSecret: input.credential?.accessSecret ? this.secrets.box.seal(input.credential.accessSecret) : null,
      status: healthy,
      statusMessage: '',
    });
    for (const listener of this.createdListeners) await listener(id);
    return id;
  }

  /**
   * Applies a RegistryUpdate as Harbor does: absent fields keep their value; a new URL without
   * a new secret drops the stored secret (so a saved password is never sent to another host);
   * the result must answer a ping. 404, 400 (nothing saved), 409.
   */
  async update(id: number, patch: RegistryPatch): Promise<void> {
    const rec = await this.get(id);
    const name = patch.name ?? rec.name;
    if (name !== rec.name && (await this.store.nameTaken(name, id))) throw apiError('CONFLICT', `registry ${name} already exists`);
    const url = patch.url ?? rec.url;
    let secret: { sealed: string | null; plain: string | null };
    if (patch.accessSecret !== undefined) secret = { sealed: null, plain: patch.accessSecret };
    // A new URL, or the access key cleared (Harbor then stores no credential), drops the stored secret.
    else if (url !== rec.url || patch.accessKey === '') secret = { sealed: null, plain: null };
    else secret = { sealed: rec.sealedSecret, plain: null };
    const accessKey = patch.accessKey ?? rec.accessKey ?? '';
    const plainSecret = secret.plain ?? (secret.sealed ? this.openSecret(rec) : '');
    const hasCredential = accessKey !== '' || plainSecret !== '';
    const credentialType = patch.credentialType ?? (rec.credentialType as CredentialType | null) ?? 'basic';
    const columns: RegistryColumns = {
      name,
      description: patch.description ?? rec.description,
      type: rec.type,
      url,
      insecure: patch.insecure ?? rec.insecure,
      caCertificate: patch.caCertificate !== undefined ? patch.caCertificate : rec.caCertificate,
      credentialType: hasCredential ? credentialType : null,
      accessKey: accessKey || null,
      sealedSecret: plainSecret === '' ? null : (secret.sealed ?? this.secrets.box.seal(plainSecret)),
      status: healthy,
      statusMessage: '',
    };
    this.checkType(columns.type);
    await this.requireHealthy({
      id,
      name,
      type: columns.type,
      url,
      insecure: columns.insecure,
      caCertificate: columns.caCertificate,
      credential: hasCredential ? { type: credentialType, accessKey, accessSecret: plainSecret } : null,
    });
    if (!(await this.store.update(id, columns))) throw notFound(id);
  }

  /** Deletes a registry no feature uses: 404, or Harbor's 412 naming what uses it. */
  async delete(id: number): Promise<void> {
    await this.get(id);
    for (const check of this.usageChecks) {
      const reason = await check(id);
      if (reason) throw apiError('PRECONDITION', reason);
    }
    if (!(await this.store.delete(id))) throw notFound(id);
  }

  /**
   * Harbor's /registries/ping: a stored registry (its URL and TLS settings; type and
   * credential may be overridden) or settings alone. 400 "the registry is unhealthy: <why>".
   * A ping of a stored registry as stored also records its status.
   */
  async ping(input: PingInput): Promise<void> {
    if (input.id === 0) return; // Berth itself
    const rec = input.id !== undefined ? await this.get(input.id) : null;
    const stored = rec ? this.endpointOf(rec) : null;
    const type = input.type ?? stored?.type ?? '';
    const url = stored?.url ?? input.url ?? '';
    if (type === '' || url === '') throw apiError('BAD_REQUEST', 'type or url cannot be empty');
    this.checkType(type);
    let credential = stored?.credential ?? null;
    if (input.credentialType !== undefined || input.accessKey !== undefined || input.accessSecret !== undefined) {
      credential = {
        type: input.credentialType ?? credential?.type ?? 'basic',
        accessKey: input.accessKey ?? credential?.accessKey ?? '',
        accessSecret: input.accessSecret ?? credential?.accessSecret ?? '',
      };
      if (credential.accessKey === '' && credential.accessSecret === '') credential = null;
    }
    const endpoint: RegistryEndpoint = {
      id: rec?.id ?? 0,
      name: rec?.name ?? '',
      type,
      url,
      insecure: stored?.insecure ?? input.insecure ?? false,
      caCertificate: stored ? stored.caCertificate : (input.caCertificate ?? null),
      credential,
    };
    const asStored = rec !== null && type === rec.type && credential === stored?.credential;
    const problem = await this.problemOf(endpoint);
    if (asStored) await this.store.setStatus(rec.id, problem === null ? healthy : unhealthy, problem ?? '');
    if (problem !== null) throw apiError('BAD_REQUEST', `the registry is unhealthy: ${problem}`);
  }

  /** Harbor's /registries/{id}/info: the adapter's capabilities; registry 0 is Berth itself (with event_based). */
  async info(id: number): Promise<RegistryInfoView> {
    if (id === 0) {
      const local = this.options.localInfo ? await this.options.localInfo() : localRegistryInfo;
      // Only Berth itself sees its own pushes and deletes (Harbor adds event_based to registry 0 alone).
      const triggers = local.supportedTriggers.includes('event_based')
        ? local.supportedTriggers
        : [...local.supportedTriggers, 'event_based'];
      return infoView({ ...local, supportedTriggers: triggers });
    }
    const adapter = await this.adapterFor(id);
    return infoView(adapter.info());
  }

  /** Pings every registry and records its status (the periodic health check); returns how many are unhealthy. */
  async checkHealth(log?: (line: string) => Promise<void> | void, signal?: AbortSignal): Promise<{ checked: number; unhealthy: number }> {
    let page = 1;
    let checked = 0;
    let bad = 0;
    for (;;) {
      const { items } = await this.store.list([], undefined, { page, pageSize: 100, offset: (page - 1) * 100 });
      for (const rec of items) {
        if (signal?.aborted) return { checked, unhealthy: bad };
        let problem: string | null;
        try {
          problem = await this.problemOf(this.endpointOf(rec));
        } catch (err) {
          problem = reasonOf(err);
        }
        checked += 1;
        if (problem !== null) bad += 1;
        const status = problem === null ? healthy : unhealthy;
        if (status !== rec.status || (problem ?? '') !== rec.statusMessage) {
          await this.store.setStatus(rec.id, status, problem ?? '');
          await log?.(`registry ${rec.name} (${rec.id}): ${status}${problem ? `: ${problem}` : ''}`);
        }
      }
      if (items.length < 100) return { checked, unhealthy: bad };
      page += 1;
    }
  }

  /** Seals every stored secret with the current key (berth secrets rotate); returns how many changed. */
  async reseal(box: SecretBox): Promise<number> {
    let count = 0;
    for (const { id, sealed } of await this.store.sealedSecrets()) {
      const next = box.reseal(sealed);
      if (next !== null && (await this.store.replaceSecret(id, sealed, next))) count += 1;
    }
    return count;
  }

  // ----- inside -----

  private checkType(type: string): void {
    if (!this.adapters.isType(type)) {
      throw apiError('BAD_REQUEST', `adapter type "${type}" is not supported; supported: ${this.adapters.types().join(', ')}`);
    }
  }

  private endpointOf(rec: RegistryRecord): RegistryEndpoint {
    const accessSecret = this.openSecret(rec);
    const hasCredential = (rec.accessKey ?? '') !== '' || accessSecret !== '';
    return {
      id: rec.id,
      name: rec.name,
      type: rec.type,
      url: rec.url,
      insecure: rec.insecure,
      caCertificate: rec.caCertificate,
      credential: hasCredential
        ? { type: (rec.credentialType ?? 'basic') as CredentialType, accessKey: rec.accessKey ?? '', accessSecret }
        : null,
    };
  }

  /** The stored secret opened ('' when there is none). */
  private openSecret(rec: RegistryRecord): string {
    if (!rec.sealedSecret) return '';
    try {
      return this.secrets.box.open(rec.sealedSecret);
    } catch (err) {
      // A key missing from the configuration: say so, without the stored value.
      if (err instanceof SecretBoxError)
        throw apiError('INTERNAL_SERVER_ERROR', `the credential of registry ${rec.name} cannot be read: ${err.message}`);
      throw err;
    }
  }

  /** Null when the endpoint answers a ping in time, else why not. */
  private async problemOf(endpoint: RegistryEndpoint): Promise<string | null> {
    try {
      const adapter = this.adapters.create(endpoint);
      await adapter.ping(AbortSignal.timeout(this.pingTimeoutMs));
      return null;
    } catch (err) {
      return reasonOf(err);
    }
  }

  private async requireHealthy(endpoint: RegistryEndpoint): Promise<void> {
    const problem = await this.problemOf(endpoint);
    if (problem !== null) throw apiError('BAD_REQUEST', `the registry is unhealthy: ${problem}`);
  }

  private localView(): RegistryView {
    const epoch = new Date(0).toISOString();
    return {
      id: 0,
      name: 'Local',
      description: '',
      type: 'harbor',
      url: this.options.localUrl?.() ?? '',
      insecure: false,
      credential: {},
      status: healthy,
      creation_time: epoch,
      update_time: epoch,
    };
  }
}

function infoView(info: RegistryInfo): RegistryInfoView {
  return {
    type: info.type,
    description: info.description,
    supported_resource_filters: info.supportedResourceFilters.map((f) => ({
      type: f.type,
      style: f.style,
      ...(f.values ? { values: f.values } : {}),
    })),
    supported_triggers: info.supportedTriggers,
    ...(info.supportedCopyByChunk ? { supported_copy_by_chunk: true } : {}),
  };
}
