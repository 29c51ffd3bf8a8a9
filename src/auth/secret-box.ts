import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { Db } from '../db/index.js';
import { nowIso } from '../lib/clock.js';

/*
 * Secrets Berth keeps for talking to other systems (registry endpoints' passwords, preheat
 * instances' credentials) are stored sealed: AES-256-GCM with a random 96-bit IV, prefixed with
 * the id of the key that sealed them, so that keys can rotate. The current key seals; it and
 * the previous keys open. A sealed value reads `bsec1:<key id>:<base64url of iv | ciphertext | tag>`.
 *
 * The key comes from `secrets.encryption_key` (32 bytes, base64 or hex). When none is
 * configured, one is generated once and kept in the `settings` table (shared by every
 * instance, like the token signing key): that keeps the secrets out of the database in clear
 * text only against someone who reads a row, not the whole database, so production sets its own.
 * A stored generated key also opens (never seals) once a key is configured, so that moving from
 * the generated key to a configured one needs nothing but `berth secrets rotate`.
 */

const prefix = 'bsec1';
const ivBytes = 12;
const tagBytes = 16;
/** The `settings` row holding the generated key (base64). */
export const generatedKeySetting = 'secrets_encryption_key';

/** What features need to seal and open a secret (tests and preheat code against this). */
export interface SecretSealer {
  seal(plain: string): string;
  open(sealed: string): string;
}

export class SecretBoxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretBoxError';
  }
}

/** A 32-byte key from 64 hex digits or base64 (standard or url-safe); throws on anything else. */
export function decodeKey(text: string): Buffer {
  const trimmed = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return Buffer.from(trimmed, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(trimmed)) {
    const key = Buffer.from(trimmed.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (key.length === 32) return key;
  }
  throw new SecretBoxError('an encryption key must be 32 bytes, written as 64 hex digits or in base64 (44 characters)');
}

/** A new random key in base64, as `berth secrets new-key` prints it. */
export function newKeyText(): string {
  return randomBytes(32).toString('base64');
}

/** The id a key is known by in sealed values: derived from the key, so instances agree without configuring ids. */
export function keyIdOf(key: Buffer): string {
  return createHash('sha256').update('berth secret box key id\0').update(key).digest('hex').slice(0, 12);
}

/** The id of the key a sealed value was sealed with, or null when the text is not a sealed value. */
export function sealedKeyId(sealed: string): string | null {
  const match = /^bsec1:([0-9a-f]{12}):/.exec(sealed);
  return match ? match[1] : null;
}

export class SecretBox implements SecretSealer {
  readonly keyId: string;
  private readonly current: Buffer;
  private readonly keys = new Map<string, Buffer>();

  /** `current` seals and opens; `previous` only open. */
  constructor(current: Buffer, previous: Buffer[] = []) {
    if (current.length !== 32) throw new SecretBoxError('the encryption key must be 32 bytes');
    this.current = current;
    this.keyId = keyIdOf(current);
    for (const key of previous) {
      if (key.length !== 32) throw new SecretBoxError('a previous encryption key must be 32 bytes');
      this.keys.set(keyIdOf(key), key);
    }
    this.keys.set(this.keyId, current);
  }

  /** Ids of every key that can open (the current one first). */
  get keyIds(): string[] {
    return [this.keyId, ...[...this.keys.keys()].filter((id) => id !== this.keyId)];
  }

  seal(plain: string): string {
    const iv = randomBytes(ivBytes);
    const cipher = createCipheriv('aes-256-gcm', this.current, iv);
    const body = Buffer.concat([iv, cipher.update(plain, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return `${prefix}:${this.keyId}:${body.toString('base64url')}`;
  }

  open(sealed: string): string {
    const id = sealedKeyId(sealed);
    if (!id) throw new SecretBoxError('the stored secret is not a sealed value');
    const key = this.keys.get(id);
    if (!key) {
      throw new SecretBoxError(
        `the stored secret was sealed with key ${id}, which is neither secrets.encryption_key nor one of secrets.previous_keys`,
      );
    }
    const body = Buffer.from(sealed.slice(prefix.length + id.length + 2), 'base64url');
    if (body.length < ivBytes + tagBytes) throw new SecretBoxError('the stored secret is truncated');
    const decipher = createDecipheriv('aes-256-gcm', key, body.subarray(0, ivBytes));
    decipher.setAuthTag(body.subarray(body.length - tagBytes));
    try {
      return Buffer.concat([decipher.update(body.subarray(ivBytes, body.length - tagBytes)), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretBoxError(`the stored secret does not open with key ${id} (altered, or sealed by another key with the same id)`);
    }
  }

  /** True when `sealed` was sealed with the current key (rotation leaves it as it is). */
  isCurrent(sealed: string): boolean {
    return sealedKeyId(sealed) === this.keyId;
  }

  /** `sealed` re-sealed with the current key, or null when it already is. */
  reseal(sealed: string): string | null {
    return this.isCurrent(sealed) ? null : this.seal(this.open(sealed));
  }
}

export interface SecretsConfig {
  encryption_key?: string;
  previous_keys: string[];
}

/**
 * The box for this instance: the configured key (with the previous keys and a stored generated
 * key opening), or the generated key kept in `settings` (created by the first instance to start;
 * a concurrent start loses the insert race and reads the winner's).
 */
export async function openSecretBox(db: Db, config: SecretsConfig): Promise<SecretBox> {
  const previous = config.previous_keys.map(decodeKey);
  const stored = await db.selectFrom('settings').select('value').where('name', '=', generatedKeySetting).executeTakeFirst();
  if (config.encryption_key) {
    return new SecretBox(decodeKey(config.encryption_key), stored ? [...previous, decodeKey(stored.value)] : previous);
  }
  if (stored) return new SecretBox(decodeKey(stored.value), previous);
  await db
    .insertInto('settings')
    .values({ name: generatedKeySetting, value: newKeyText(), created_at: nowIso() })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();
  const winner = await db.selectFrom('settings').select('value').where('name', '=', generatedKeySetting).executeTakeFirstOrThrow();
  return new SecretBox(decodeKey(winner.value), previous);
}

/** Re-seals one feature's stored secrets with the current key; returns how many it re-sealed. */
export type SecretResealer = (box: SecretBox) => Promise<number>;

/**
 * The box and every feature's resealer: registries and preheat instances register theirs in
 * their compose functions; `berth secrets rotate` runs them all.
 */
export class Secrets {
  private readonly resealers = new Map<string, SecretResealer>();

  constructor(readonly box: SecretBox) {}

  /** `name` names what is re-sealed (e.g. 'registries'); registering a name twice replaces it. */
  onRotate(name: string, reseal: SecretResealer): void {
    this.resealers.set(name, reseal);
  }

  /** Re-seals every registered feature's secrets with the current key. */
  async rotate(): Promise<Array<{ name: string; resealed: number }>> {
    const results: Array<{ name: string; resealed: number }> = [];
    for (const [name, reseal] of this.resealers) results.push({ name, resealed: await reseal(this.box) });
    return results;
  }
}
