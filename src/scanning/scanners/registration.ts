/**
 * A scanner registration (Harbor's ScannerRegistration) and the rules its request body
 * follows (Harbor's Registration.Validate and the scanner handler): name and URL required,
 * the URL reduced to scheme://host/path, auth one of Harbor's values with a credential.
 */
import { apiError } from '../../lib/errors.js';
import type { ScannerAuth } from './client.js';

export interface ScannerRegistration {
  id: number;
  uuid: string;
  name: string;
  description: string;
  /** The adapter's base URL (for the built-in scanner: where this Berth serves /scanner). */
  url: string;
  auth: ScannerAuth;
  /** Never shown by the API. */
  accessCredential: string;
  skipCertVerify: boolean;
  useInternalAddr: boolean;
  disabled: boolean;
  isDefault: boolean;
  immutable: boolean;
  builtin: boolean;
  createTime: string;
  updateTime: string;
}

/** What a create or update sets (ScannerRegistrationReq). */
export interface RegistrationInput {
  name: string;
  description: string;
  url: string;
  auth: ScannerAuth;
  accessCredential: string;
  skipCertVerify: boolean;
  useInternalAddr: boolean;
  disabled: boolean;
}

const authTypes: readonly string[] = ['', 'Basic', 'Bearer', 'APIKey'];

/** Harbor's lib.ValidateHTTPURL: trimmed, http:// when no scheme, http or https only, kept as scheme://host/path. */
export function normalizeScannerUrl(raw: string): string {
  let s = raw.trim().replace(/\/+$/, '');
  if (s === '') throw apiError('BAD_REQUEST', 'scanner registration validate: empty string');
  if (!s.includes('://')) s = `http://${s}`;
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    throw apiError('BAD_REQUEST', `scanner registration validate: invalid URL: ${raw}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw apiError('BAD_REQUEST', `scanner registration validate: invalid HTTP scheme: ${url.protocol.replace(/:$/, '')}`);
  }
  if (url.username || url.password)
    throw apiError('BAD_REQUEST', 'scanner registration validate: the URL must not carry credentials; use auth and access_credential');
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
}

function optionalString(body: Record<string, unknown>, key: string, max: number): string {
  const v = body[key];
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw apiError('BAD_REQUEST', `${key} must be a string`);
  if (v.length > max) throw apiError('BAD_REQUEST', `${key} must be at most ${max} characters`);
  return v;
}

function optionalBool(body: Record<string, unknown>, key: string): boolean {
  const v = body[key];
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw apiError('BAD_REQUEST', `${key} must be true or false`);
  return v;
}

/** The settings of a ping (ScannerRegistrationSettings): name, url, auth, access_credential. */
export function parseSettings(body: Record<string, unknown>): Pick<RegistrationInput, 'name' | 'url' | 'auth' | 'accessCredential'> {
  const name = optionalString(body, 'name', 128).trim();
  if (name === '') throw apiError('BAD_REQUEST', 'missing registration name');
  const url = normalizeScannerUrl(optionalString(body, 'url', 512));
  // The header name is accepted for APIKey too: Harbor's swagger describes the mode by it.
  const given = optionalString(body, 'auth', 32).trim();
  const auth = given.toLowerCase() === 'x-scanneradapter-api-key' ? 'APIKey' : given;
  if (!authTypes.includes(auth)) throw apiError('BAD_REQUEST', `auth type ${auth} is not supported; use "", Basic, Bearer or APIKey`);
  const accessCredential = optionalString(body, 'access_credential', 1024);
  if (auth !== '' && accessCredential === '') throw apiError('BAD_REQUEST', `access_credential is required for auth type ${auth}`);
  return { name, url, auth: auth as ScannerAuth, accessCredential };
}

/**
 * A ScannerRegistrationReq. On update, an empty access_credential keeps the stored one while
 * auth still needs one (Harbor: GET never returns it, so a client cannot send it back).
 */
export function parseRegistration(body: Record<string, unknown>, existing?: ScannerRegistration): RegistrationInput {
  const auth = optionalString(body, 'auth', 32).trim();
  const keep = existing && auth !== '' && optionalString(body, 'access_credential', 1024) === '' && existing.accessCredential !== '';
  const settings = parseSettings(keep ? { ...body, access_credential: existing.accessCredential } : body);
  return {
    ...settings,
    description: optionalString(body, 'description', 1024),
    skipCertVerify: optionalBool(body, 'skip_certVerify'),
    useInternalAddr: optionalBool(body, 'use_internal_addr'),
    disabled: optionalBool(body, 'disabled'),
  };
}

/**
 * Harbor reserves its built-in scanner's name (Trivy); Berth reserves its own instead, so a
 * real Trivy adapter can be registered under its usual name.
 */
export function isReservedName(name: string, builtinName: string): boolean {
  return name === builtinName;
}
