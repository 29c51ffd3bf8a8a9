import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { parseDigest } from '../oci/digest.js';

/**
 * One blob on its way from the upstream: its bytes go to storage and to every client
 * attached before the first byte arrived, at the pace of the slowest (backpressure), never
 * held whole. The bytes are hashed as they pass; clients always lag one chunk behind, and
 * that last chunk is released only once the digest and size are right (and storage has
 * settled), so no client ever receives a complete wrong blob (a wrong one ends their transfer short). Storage verifies
 * the digest again before it publishes anything (UploadService), so a mismatch publishes nothing.
 */
export class BlobTee {
  private readonly clients = new Set<PassThrough>();
  private started = false;
  private storageOpen = true;

  constructor(
    readonly digest: string,
    readonly size: number,
    private readonly source: Readable,
  ) {}

  /** A stream of the blob for one more client, or null once bytes have flowed (read it from storage after). */
  attach(): PassThrough | null {
    if (this.started) return null;
    const client = new PassThrough({ highWaterMark: 1 << 20 });
    // The response that reads it sees the failure through the stream; no unheard 'error' event.
    client.on('error', () => undefined);
    this.clients.add(client);
    client.once('close', () => this.clients.delete(client));
    return client;
  }

  /**
   * Pumps the source into `storage` and the clients. Resolves with null when the bytes were
   * right, or the reason they were not (the clients' streams and storage's are then destroyed).
   */
  async run(storage: PassThrough, storageDone: Promise<unknown>): Promise<string | null> {
    const algorithm = parseDigest(this.digest)?.algorithm ?? 'sha256';
    const hash = createHash(algorithm);
    storage.on('error', () => undefined);
    // Storage that stops reading (a failure of its own) must not stall the clients.
    storageDone.then(
      () => undefined,
      () => {
        this.storageOpen = false;
        storage.destroy();
      },
    );
    let held: Buffer | null = null;
    let received = 0;
    let problem: string | null = null;
    try {
      for await (const chunk of this.source) {
        const bytes = chunk as Buffer;
        this.started = true;
        received += bytes.byteLength;
        if (received > this.size) {
          problem = `the upstream sent more than the ${this.size} bytes it announced`;
          break;
        }
        hash.update(bytes);
        const targets: Writable[] = this.storageOpen ? [storage] : [];
        await writeAll(targets, bytes);
        if (held) await writeAll([...this.clients], held);
        held = bytes;
      }
    } catch (err) {
      problem = `the upstream transfer failed: ${(err as Error).message}`;
    }
    this.started = true;
    if (!problem && received !== this.size) problem = `the upstream sent ${received} of the ${this.size} bytes it announced`;
    if (!problem) {
      const actual = `${algorithm}:${hash.digest('hex')}`;
      if (actual !== this.digest) problem = `the upstream's bytes have digest ${actual}, not ${this.digest}`;
    }
    if (problem) {
      const err = new Error(problem);
      this.source.destroy();
      storage.destroy(err);
      for (const client of this.clients) client.destroy(err);
      return problem;
    }
    storage.end();
    // The clients' last bytes wait for storage to settle: a client that has the whole blob
    // finds it in the cache when it asks again (storage failing does not fail the clients).
    await storageDone.then(
      () => undefined,
      () => undefined,
    );
    if (held) await writeAll([...this.clients], held);
    for (const client of this.clients) client.end();
    return null;
  }
}

/** Writes a chunk to every stream and waits until each has room again (or is gone). */
async function writeAll(targets: Writable[], chunk: Buffer): Promise<void> {
  const waits: Promise<unknown>[] = [];
  for (const target of targets) {
    if (target.destroyed || target.writableEnded) continue;
    if (!target.write(chunk)) {
      waits.push(Promise.race([once(target, 'drain'), once(target, 'close')]).catch(() => undefined));
    }
  }
  if (waits.length > 0) await Promise.all(waits);
}
