import type { SecretBox, SecretSealer } from '../auth/secret-box.js';
import { apiError } from '../lib/errors.js';
import type { QueryTerm } from '../lib/query.js';
import { parseName } from './policy.js';
import { providerFor, type Driver } from './providers/index.js';
import type { InstanceRow, Page, Paging, PreheatStore } from './store.js';
import { authModes, type AuthMode, type Instance } from './types.js';

const bad = (message: string) => apiError('BAD_REQUEST', message);
const show = (v: unknown) => (v === undefined ? 'nothing' : JSON.stringify(v));
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const headerName = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** What a create or update body carries once checked (Harbor's Instance). */
export interface InstanceInput {
  name: string;
  description: string;
  vendor: string;
  endpoint: string;
  authMode: AuthMode;
  /** Undefined: not sent (an update keeps the stored one, as Harbor's mergePreheatInstanceAuthOnUpdate). */
  authInfo: Record<string, string> | undefined;
  enabled: boolean;
  default: boolean;
  insecure: boolean;
}

function flag(body: Record<string, unknown>, field: string, fallback: boolean): boolean {
  const v = body[field];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'boolean') throw bad(`${field} must be true or false, not ${show(v)}`);
  return v;
}

/** The endpoint as stored: an http(s) URL without a trailing slash. */
export function parseEndpoint(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '')
    throw bad('endpoint is required: the URL of the provider (Dragonfly manager, Kraken proxy)');
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw bad(`endpoint ${show(value)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw bad(`endpoint ${show(value)} must be an http or https URL`);
  if (url.username || url.password) throw bad('endpoint must not carry credentials; use auth_mode and auth_info');
  if (url.search || url.hash) throw bad(`endpoint ${show(value)} must not have a query or fragment`);
  return value.trim().replace(/\/+$/, '');
}

/** Checks the credential a mode needs (BASIC: username and password; OAUTH: token; CUSTOM: one header). */
export function checkAuthInfo(mode: AuthMode, info: Record<string, string>): void {
  switch (mode) {
    case 'NONE':
      return;
    case 'BASIC':
      if (!info.username || !info.password) throw bad('auth_info needs "username" and "password" for auth_mode BASIC');
      return;
    case 'OAUTH':
      if (!info.token) throw bad('auth_info needs "token" for auth_mode OAUTH (e.g. a Dragonfly personal access token)');
      return;
    case 'CUSTOM': {
      const keys = Object.keys(info);
      if (keys.length !== 1) throw bad('auth_info needs exactly one entry, {"<header name>": "<value>"}, for auth_mode CUSTOM');
      if (!headerName.test(keys[0])) throw bad(`auth_info key ${show(keys[0])} is not an HTTP header name`);
      return;
    }
  }
}

/** Checks a create or update body; 400 naming the field on anything wrong. */
export function parseInstance(body: unknown): InstanceInput {
  if (!isObject(body)) throw bad('request body must be a JSON object (a preheat instance)');
  const name = parseName(body.name, 'instance');
  const description = body.description ?? '';
  if (typeof description !== 'string') throw bad('description must be a string');
  const vendor = body.vendor;
  if (typeof vendor !== 'string' || !providerFor(vendor))
    throw bad(`vendor must be one of dragonfly, kraken (a provider id), not ${show(vendor)}`);
  const endpoint = parseEndpoint(body.endpoint);
  const mode = body.auth_mode ?? 'NONE';
  if (typeof mode !== 'string' || !(authModes as readonly string[]).includes(mode))
    throw bad(`auth_mode must be one of ${authModes.join(', ')}, not ${show(mode)}`);
  let authInfo: Record<string, string> | undefined;
  const raw = body.auth_info;
  if (raw !== undefined && raw !== null) {
    if (!isObject(raw) || Object.values(raw).some((v) => typeof v !== 'string'))
      throw bad('auth_info must be an object of strings, e.g. {"token": "…"}');
    authInfo = Object.keys(raw).length > 0 ? (raw as Record<string, string>) : undefined;
  }
  return {
    name,
    description,
    vendor,
    endpoint,
    authMode: mode as AuthMode,
    authInfo,
    enabled: flag(body, 'enabled', true),
    default: flag(body, 'default', false),
    insecure: flag(body, 'insecure', false),
  };
}

/** Harbor's Instance as the API answers it (the credential is never answered). */
export function instanceView(i: Instance) {
  return {
    id: i.id,
    name: i.name,
    description: i.description,
    vendor: i.vendor,
    endpoint: i.endpoint,
    auth_mode: i.authMode,
    status: i.status,
    enabled: i.enabled,
    default: i.default,
    insecure: i.insecure,
    setup_timestamp: i.setupTimestamp,
  };
}

/** Provider instances (/p2p/preheat/instances): rules, credentials sealed at rest, health. */
export class InstanceService {
  constructor(
    private readonly store: PreheatStore,
    private readonly box: SecretSealer,
  ) {}

  private toInstance(row: InstanceRow): Instance {
    let authInfo: Record<string, string> = {};
    if (row.auth_info_sealed !== null) authInfo = JSON.parse(this.box.open(row.auth_info_sealed)) as Record<string, string>;
    return {
      id: Number(row.id),
      name: row.name,
      description: row.description,
      vendor: row.vendor,
      endpoint: row.endpoint,
      authMode: row.auth_mode as AuthMode,
      authInfo,
      enabled: row.enabled === 1,
      default: row.is_default === 1,
      insecure: row.insecure === 1,
      status: row.status,
      setupTimestamp: Number(row.setup_timestamp),
    };
  }

  /** An instance without opening its credential (for listings). */
  private summary(row: InstanceRow): Instance {
    return { ...this.toInstance({ ...row, auth_info_sealed: null }), authInfo: {} };
  }

  async list(terms: QueryTerm[], sort: string | undefined, paging: Paging): Promise<Page<Instance>> {
    const page = await this.store.instances(terms, sort, paging);
    return { total: page.total, items: page.items.map((r) => this.summary(r)) };
  }

  async all(): Promise<Instance[]> {
    return (await this.store.allInstances()).map((r) => this.summary(r));
  }

  async byName(name: string): Promise<Instance> {
    const row = await this.store.instanceByName(name);
    if (!row) throw apiError('NOT_FOUND', `preheat instance ${name} not found`);
    return this.summary(row);
  }

  /** The instance with its credential opened, or undefined. */
  async open(id: number): Promise<Instance | undefined> {
    const row = await this.store.instance(id);
    return row && this.toInstance(row);
  }

  async summaryById(id: number): Promise<Instance | undefined> {
    const row = await this.store.instance(id);
    return row && this.summary(row);
  }

  private sealed(mode: AuthMode, info: Record<string, string> | undefined): string | null {
    return mode === 'NONE' || !info ? null : this.box.seal(JSON.stringify(info));
  }

  async create(input: InstanceInput): Promise<Instance> {
    checkAuthInfo(input.authMode, input.authInfo ?? {});
    if (await this.store.instanceByName(input.name)) throw apiError('CONFLICT', `preheat instance ${input.name} already exists`);
    const sameEndpoint = await this.store.instanceByEndpoint(input.endpoint);
    if (sameEndpoint) throw apiError('CONFLICT', `preheat instance ${sameEndpoint.name} already has the endpoint ${input.endpoint}`);
    const now = new Date().toISOString();
    const id = await this.store.insertInstance({
      name: input.name,
      description: input.description,
      vendor: input.vendor,
      endpoint: input.endpoint,
      auth_mode: input.authMode,
      auth_info_sealed: this.sealed(input.authMode, input.authInfo),
      enabled: input.enabled ? 1 : 0,
      is_default: input.default ? 1 : 0,
      insecure: input.insecure ? 1 : 0,
      setup_timestamp: Math.floor(Date.now() / 1000),
      created_at: now,
      updated_at: now,
    });
    if (id === undefined) throw apiError('CONFLICT', `preheat instance ${input.name} already exists`);
    return (await this.summaryById(id))!;
  }

  /**
   * PUT by name: the vendor cannot change; an instance a policy uses cannot be disabled
   * (Harbor's 412); auth_info omitted keeps the stored credential unless auth_mode is NONE.
   */
  async update(name: string, input: InstanceInput): Promise<void> {
    const row = await this.store.instanceByName(name);
    if (!row) throw apiError('NOT_FOUND', `preheat instance ${name} not found`);
    const id = Number(row.id);
    if (input.vendor !== row.vendor) throw bad(`provider [${name}] vendor cannot be changed (it is ${row.vendor})`);
    let info = input.authInfo;
    if (info === undefined && input.authMode !== 'NONE') {
      info = row.auth_info_sealed !== null ? (JSON.parse(this.box.open(row.auth_info_sealed)) as Record<string, string>) : {};
    }
    checkAuthInfo(input.authMode, info ?? {});
    if (input.name !== name && (await this.store.instanceByName(input.name)))
      throw apiError('CONFLICT', `preheat instance ${input.name} already exists`);
    const sameEndpoint = await this.store.instanceByEndpoint(input.endpoint);
    if (sameEndpoint && Number(sameEndpoint.id) !== id)
      throw apiError('CONFLICT', `preheat instance ${sameEndpoint.name} already has the endpoint ${input.endpoint}`);
    if (!input.enabled && row.enabled === 1 && (await this.store.policiesUsing(id)) > 0)
      throw apiError('PRECONDITION', `Provider [${name}] cannot be disabled as some preheat policies are using it`);
    const changedTarget = input.endpoint !== row.endpoint || input.authMode !== row.auth_mode || input.authInfo !== undefined;
    await this.store.updateInstance(id, {
      name: input.name,
      description: input.description,
      endpoint: input.endpoint,
      auth_mode: input.authMode,
      auth_info_sealed: this.sealed(input.authMode, info),
      enabled: input.enabled ? 1 : 0,
      is_default: input.default ? 1 : 0,
      insecure: input.insecure ? 1 : 0,
      ...(changedTarget && { status: 'Unknown' }),
      updated_at: new Date().toISOString(),
    });
  }

  async delete(name: string): Promise<void> {
    const row = await this.store.instanceByName(name);
    if (!row) throw apiError('NOT_FOUND', `preheat instance ${name} not found`);
    if ((await this.store.policiesUsing(Number(row.id))) > 0)
      throw apiError('PRECONDITION', `Provider [${name}] cannot be deleted as some preheat policies are using it`);
    await this.store.deleteInstance(Number(row.id));
  }

  /** A driver for the instance (the caller closes it). */
  driver(instance: Instance): Driver {
    const provider = providerFor(instance.vendor);
    if (!provider) throw new Error(`no driver registered for provider ${instance.vendor}`);
    return provider.create(instance);
  }

  /** Asks the instance's health endpoint; records the status of a stored instance. Throws the reason. */
  async checkHealth(instance: Instance): Promise<void> {
    const driver = this.driver(instance);
    try {
      await driver.health();
      if (instance.id > 0) await this.store.setInstanceStatus(instance.id, 'Healthy');
    } catch (err) {
      if (instance.id > 0) await this.store.setInstanceStatus(instance.id, 'Unhealthy');
      throw err;
    } finally {
      driver.close();
    }
  }

  /**
   * POST /p2p/preheat/instances/ping: by id (404 when there is none) or by the body's vendor,
   * endpoint and credential. 400 with the reason when the instance does not answer.
   */
  async ping(body: unknown): Promise<void> {
    if (!isObject(body)) throw bad('request body must be a JSON object (a preheat instance, by id or by endpoint)');
    let instance: Instance | undefined;
    if (typeof body.id === 'number' && body.id > 0) {
      instance = await this.open(body.id);
      if (!instance) throw apiError('NOT_FOUND', `preheat instance ${body.id} not found`);
    } else {
      if (body.endpoint === undefined || body.endpoint === '') throw bad('ping needs the id of an instance, or its vendor and endpoint');
      const vendor = body.vendor;
      if (typeof vendor !== 'string' || !providerFor(vendor)) throw bad(`vendor must be one of dragonfly, kraken, not ${show(vendor)}`);
      const mode = body.auth_mode ?? 'NONE';
      if (typeof mode !== 'string' || !(authModes as readonly string[]).includes(mode))
        throw bad(`auth_mode must be one of ${authModes.join(', ')}, not ${show(mode)}`);
      const info = body.auth_info ?? {};
      if (!isObject(info) || Object.values(info).some((v) => typeof v !== 'string')) throw bad('auth_info must be an object of strings');
      checkAuthInfo(mode as AuthMode, info as Record<string, string>);
      instance = {
        id: 0,
        name: typeof body.name === 'string' ? body.name : '',
        description: '',
        vendor,
        endpoint: parseEndpoint(body.endpoint),
        authMode: mode as AuthMode,
        authInfo: info as Record<string, string>,
        enabled: true,
        default: false,
        insecure: body.insecure === true,
        status: 'Unknown',
        setupTimestamp: 0,
      };
    }
    try {
      await this.checkHealth(instance);
    } catch (err) {
      throw bad(
        `failed to ping the preheat instance ${instance.name || instance.endpoint} (${instance.vendor}): ${(err as Error).message}`,
      );
    }
  }

  /** Re-seals every stored credential with the current key (`berth secrets rotate`). */
  async reseal(box: SecretBox): Promise<number> {
    let count = 0;
    for (const { id, sealed } of await this.store.sealedCredentials()) {
      const next = box.reseal(sealed);
      if (next !== null && (await this.store.replaceSealed(id, sealed, next))) count += 1;
    }
    return count;
  }
}
