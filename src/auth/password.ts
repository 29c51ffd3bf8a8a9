import { hash, verify } from '@node-rs/argon2';
import { randomBytes } from 'node:crypto';
import { apiError } from '../lib/errors.js';

/** Harbor's rule: 8–128 characters with at least one upper-case letter, one lower-case letter and one digit. */
export function passwordProblem(password: unknown): string | null {
  if (typeof password !== 'string') return 'password must be a string';
  if (password.length < 8 || password.length > 128) return 'password must be 8 to 128 characters long';
  if (!/[A-Z]/.test(password) || !/[a-z]/.test(password) || !/[0-9]/.test(password)) {
    return 'password must contain at least one upper-case letter, one lower-case letter and one digit';
  }
  return null;
}

export function checkPassword(password: unknown): string {
  const problem = passwordProblem(password);
  if (problem) throw apiError('BAD_REQUEST', problem);
  return password as string;
}

/** argon2id with the library's defaults (19 MiB, 2 passes). */
export function hashSecret(secret: string): Promise<string> {
  return hash(secret);
}

export async function verifySecret(hashed: string, secret: string): Promise<boolean> {
  try {
    return await verify(hashed, secret);
  } catch {
    return false;
  }
}

/** A hash of nothing anyone knows, verified when an account does not exist so that both paths cost the same. */
let decoyHash: Promise<string> | null = null;
export async function verifyDecoy(secret: string): Promise<false> {
  decoyHash ??= hash(randomBytes(16).toString('hex'));
  await verifySecret(await decoyHash, secret);
  return false;
}

/** A random secret that satisfies the password rule (for robots and the first admin). */
export function generateSecret(): string {
  for (;;) {
    const candidate = randomBytes(24).toString('base64url').replace(/[-_]/g, '').slice(0, 24);
    if (passwordProblem(candidate) === null) return candidate;
  }
}
