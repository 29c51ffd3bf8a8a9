/**
 * The request bodies of /registries (Harbor's Registry, RegistryUpdate and RegistryPing) and
 * the rules their values follow (Harbor's registry controller and handler): name 1–64
 * characters, URL reduced to scheme://host[:port]/path (lib.ValidateHTTPURL), a CA bundle of
 * PEM certificates, a credential type of Harbor's. Whether the adapter type exists is the
 * service's to say (it knows the adapters). Every problem is a 400 with nothing saved.
 */
import { X509Certificate } from 'node:crypto';
import { apiError } from '../../lib/errors.js';
import type { CredentialType } from '../types.js';

export const credentialTypes: readonly CredentialType[] = ['basic', 'oauth', 'secret'];

/** What the API answers in place of a stored secret; sent back on an update, it keeps the secret. */
export const maskedSecret = '*****';

/** A create (Registry). */
export interface RegistryInput {
  name: string;
  description: string;
  type: string;
  url: string;
  insecure: boolean;
  caCertificate: string | null;
  credential: { type: CredentialType; accessKey: string; accessSecret: string } | null;
}

/** An update (RegistryUpdate): absent fields keep their value. `accessSecret` undefined keeps the stored one. */
export interface RegistryPatch {
  name?: string;
  description?: string;
  url?: string;
  insecure?: boolean;
  caCertificate?: string | null;
  credentialType?: CredentialType;
  accessKey?: string;
  accessSecret?: string;
}

/** A ping (RegistryPing): a stored registry by id, with or without overrides, or settings alone. */
export interface PingInput {
  id?: number;
  type?: string;
  url?: string;
  insecure?: boolean;
  caCertificate?: string | null;
  credentialType?: CredentialType;
  accessKey?: string;
  accessSecret?: string;
}

const bad = (message: string) => apiError('BAD_REQUEST', message);

function optionalString(body: Record<string, unknown>, key: string, max: number, label = key): string | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw bad(`${label} must be a string`);
  if (v.length > max) throw bad(`${label} must be at most ${max} characters`);
  return v;
}

function optionalBool(body: Record<string, unknown>, key: string): boolean | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw bad(`${key} must be true or false`);
  return v;
}

/** Harbor's name rules: present, at most 64 characters. */
export function checkName(name: string | undefined): string {
  const trimmed = (name ?? '').trim();
  if (trimmed === '') throw bad('name cannot be empty');
  if (trimmed.length > 64) throw bad('the max length of name is 64');
  return trimmed;
}

/**
 * Harbor's lib.ValidateHTTPURL: trimmed, trailing slashes dropped, http:// when no scheme,
 * http or https only, kept as scheme://host[:port]/path (query and fragment dropped, against
 * SSRF tricks). Berth also refuses credentials in the URL (Harbor drops them silently).
 */
export function normalizeRegistryUrl(raw: string | undefined): string {
  let s = (raw ?? '').trim().replace(/\/+$/, '');
  if (s === '') throw bad('url cannot be empty');
  if (!s.includes('://')) s = `http://${s}`;
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    throw bad(`invalid URL: ${raw}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw bad(`invalid HTTP scheme: ${url.protocol.replace(/:$/, '')}`);
  if (url.username || url.password)
    throw bad('the URL must not carry credentials: give them as the credential (access_key, access_secret)');
  if (url.hostname === '') throw bad(`invalid URL: ${raw}`);
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
}

/**
 * Harbor's ValidateCACertificate: empty means none; otherwise at least one PEM CERTIFICATE
 * block, each a parsable X.509 certificate. Returns the normalized PEM or null.
 */
export function checkCaCertificate(raw: string | undefined | null): string | null {
  const pem = (raw ?? '').replace(/\r\n?/g, '\n').trim();
  if (pem === '') return null;
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw bad('invalid CA certificate: no valid certificates found in PEM data');
  for (const block of blocks) {
    try {
      new X509Certificate(block);
    } catch (err) {
      throw bad(`invalid CA certificate: failed to parse certificate: ${(err as Error).message}`);
    }
  }
  return pem;
}

function credentialType(raw: string | undefined, label: string): CredentialType | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (!(credentialTypes as readonly string[]).includes(raw)) {
    throw bad(`${label} "${raw}" is not supported; use ${credentialTypes.join(', ')}`);
  }
  return raw as CredentialType;
}

function secretOf(raw: string | undefined): string | undefined {
  return raw === maskedSecret ? undefined : raw;
}

/** A Registry body (create). */
export function parseCreate(body: Record<string, unknown>): RegistryInput {
  const name = checkName(optionalString(body, 'name', 256));
  const type = (optionalString(body, 'type', 64) ?? '').trim();
  if (type === '') throw bad('type cannot be empty');
  const url = normalizeRegistryUrl(optionalString(body, 'url', 512));
  const description = optionalString(body, 'description', 1024) ?? '';
  const insecure = optionalBool(body, 'insecure') ?? false;
  const caCertificate = checkCaCertificate(optionalString(body, 'ca_certificate', 65536));
  let credential: RegistryInput['credential'] = null;
  const raw = body.credential;
  if (raw !== undefined && raw !== null) {
    if (typeof raw !== 'object' || Array.isArray(raw)) throw bad('credential must be an object');
    const c = raw as Record<string, unknown>;
    const accessKey = optionalString(c, 'access_key', 1024, 'credential.access_key') ?? '';
    const accessSecret = secretOf(optionalString(c, 'access_secret', 8192, 'credential.access_secret')) ?? '';
    const ctype = credentialType(optionalString(c, 'type', 16, 'credential.type'), 'credential.type') ?? 'basic';
    if (accessKey !== '' || accessSecret !== '') credential = { type: ctype, accessKey, accessSecret };
  }
  return { name, description, type, url, insecure, caCertificate, credential };
}

/** A RegistryUpdate body: only the fields given (null is "not given", as Harbor's nullable fields). */
export function parseUpdate(body: Record<string, unknown>): RegistryPatch {
  const patch: RegistryPatch = {};
  const name = optionalString(body, 'name', 256);
  if (name !== undefined) patch.name = checkName(name);
  const description = optionalString(body, 'description', 1024);
  if (description !== undefined) patch.description = description;
  const url = optionalString(body, 'url', 512);
  if (url !== undefined) patch.url = normalizeRegistryUrl(url);
  const insecure = optionalBool(body, 'insecure');
  if (insecure !== undefined) patch.insecure = insecure;
  const ca = optionalString(body, 'ca_certificate', 65536);
  if (ca !== undefined) patch.caCertificate = checkCaCertificate(ca);
  const ctype = credentialType(optionalString(body, 'credential_type', 16), 'credential_type');
  if (ctype !== undefined) patch.credentialType = ctype;
  const accessKey = optionalString(body, 'access_key', 1024);
  if (accessKey !== undefined) patch.accessKey = accessKey;
  const accessSecret = secretOf(optionalString(body, 'access_secret', 8192));
  if (accessSecret !== undefined) patch.accessSecret = accessSecret;
  return patch;
}

/** A RegistryPing body. */
export function parsePing(body: Record<string, unknown>): PingInput {
  const ping: PingInput = {};
  const id = body.id;
  if (id !== undefined && id !== null) {
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) throw bad('id must be a registry id (a positive integer)');
    ping.id = id;
  }
  const type = optionalString(body, 'type', 64);
  if (type !== undefined && type.trim() !== '') ping.type = type.trim();
  const url = optionalString(body, 'url', 512);
  // The URL of a registry given by id is its stored one (Harbor ignores url/insecure/ca then).
  if (url !== undefined && ping.id === undefined) ping.url = normalizeRegistryUrl(url);
  const insecure = optionalBool(body, 'insecure');
  if (insecure !== undefined && ping.id === undefined) ping.insecure = insecure;
  const ca = optionalString(body, 'ca_certificate', 65536);
  if (ca !== undefined && ping.id === undefined) ping.caCertificate = checkCaCertificate(ca);
  const ctype = credentialType(optionalString(body, 'credential_type', 16), 'credential_type');
  if (ctype !== undefined) ping.credentialType = ctype;
  const accessKey = optionalString(body, 'access_key', 1024);
  if (accessKey !== undefined) ping.accessKey = accessKey;
  const accessSecret = secretOf(optionalString(body, 'access_secret', 8192));
  if (accessSecret !== undefined) ping.accessSecret = accessSecret;
  return ping;
}
