import { createHash } from 'node:crypto';

/** Digest algorithms Berth verifies, with the length of their hex encoding. */
export const digestAlgorithms = { sha256: 64, sha512: 128 } as const;
export type DigestAlgorithm = keyof typeof digestAlgorithms;

export interface ParsedDigest {
  algorithm: DigestAlgorithm;
  hex: string;
}

const digestPattern = /^(sha256|sha512):([a-f0-9]+)$/;
/** The grammar of the image spec, for telling "a digest we can't verify" from "not a digest". */
const anyDigestPattern = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

export function parseDigest(value: string): ParsedDigest | null {
  const m = digestPattern.exec(value);
  if (!m) return null;
  const algorithm = m[1] as DigestAlgorithm;
  if (m[2].length !== digestAlgorithms[algorithm]) return null;
  return { algorithm, hex: m[2] };
}

export function isDigest(value: string): boolean {
  return parseDigest(value) !== null;
}

/** True for strings shaped like a digest at all (used to route references). */
export function looksLikeDigest(value: string): boolean {
  return anyDigestPattern.test(value);
}

export function isDigestAlgorithm(value: string): value is DigestAlgorithm {
  return Object.prototype.hasOwnProperty.call(digestAlgorithms, value);
}

export function digestOf(data: Uint8Array, algorithm: DigestAlgorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}`;
}
