import { createHash } from 'node:crypto';

const MiB = 1024 * 1024;

/** A 1 MiB buffer of pseudo-random bytes from a fixed seed (xorshift32): the same on every run. */
function seededMiB(seed: number): Buffer {
  const words = new Uint32Array(MiB / 4);
  let x = seed >>> 0 || 0x9e3779b9;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    words[i] = x;
  }
  return Buffer.from(words.buffer);
}

const base = seededMiB(0x5eed);

/**
 * A deterministic blob of `size` bytes (a whole number of MiB): one shared random MiB
 * repeated, the first MiB stamped with `salt` so that every salt gives a distinct digest.
 * Never held whole in memory.
 */
export class SyntheticBlob {
  readonly size: number;
  private readonly first: Buffer;
  private digestValue: string | null = null;

  constructor(sizeMiB: number, salt: string) {
    if (!Number.isInteger(sizeMiB) || sizeMiB < 1) throw new Error(`blob size must be a whole number of MiB, not ${sizeMiB}`);
    this.size = sizeMiB * MiB;
    this.first = Buffer.from(base);
    this.first.write(`berth-bench:${salt}:`, 0, 'latin1');
  }

  *chunks(): Generator<Buffer> {
    yield this.first;
    for (let sent = MiB; sent < this.size; sent += MiB) yield base;
  }

  /** sha256 of the content, computed once by streaming it through the hash. */
  digest(): string {
    if (this.digestValue) return this.digestValue;
    const hash = createHash('sha256');
    for (const chunk of this.chunks()) hash.update(chunk);
    this.digestValue = `sha256:${hash.digest('hex')}`;
    return this.digestValue;
  }
}

export function sha256(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** A small random-looking buffer (for a layer that manifests reference). */
export function smallBlob(bytes: number, seed: number): Buffer {
  return seededMiB(seed).subarray(0, bytes);
}
