import { createHash, type Hash } from 'node:crypto';
import { once } from 'node:events';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { parseDigest } from '../oci/digest.js';
import type { ChunkChannel } from './channel.js';

/**
 * One blob on its way from the upstream: its bytes go to storage and to every client
 * attached before the first byte arrived, at the pace of the slowest (backpressure: each
 * side's bounded buffer), never held whole. The bytes are hashed once, here, as they pass;
 * clients always lag one chunk behind, and that last chunk is released only once the digest
 * and size are right, so no client ever receives a complete wrong blob (a wrong one ends
 * their transfer short). `verified` carries that verdict to storage (UploadService.storeVerified),
 * which publishes the bytes it was given only when it resolves to the digest: a mismatch
 * publishes nothing, and storage does not hash them again. The clients do not wait for storage
 * to finish (its fsync and rows): the proxy cache keeps the flight until it has, so a client
 * asking again meanwhile waits for it rather than fetching twice.
 */
export class BlobTee {
  private readonly clients = new Set<PassThrough>();
  private started = false;
  private storageOpen = true;
  private settle!: { resolve: (digest: string) => void; reject: (err: Error) => void };
  /** The digest of the bytes written to storage once they all passed and were right; rejects otherwise. */
  readonly verified: Promise<string>;

  constructor(
    readonly digest: string,
    readonly size: number,
    private readonly source: Readable,
  ) {
    this.verified = new Promise<string>((resolve, reject) => (this.settle = { resolve, reject }));
    this.verified.catch(() => undefined);
  }

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
   * The source is read by its 'data' events (each chunk as the socket gave it, no joining),
   * paused while storage or a client has no room.
   */
  async run(storage: ChunkChannel, storageDone: Promise<unknown>): Promise<string | null> {
    const algorithm = parseDigest(this.digest)?.algorithm ?? 'sha256';
    const hash = createHash(algorithm);
    // Storage that stops reading (a failure of its own) must not stall the clients.
    storageDone.then(
      () => undefined,
      () => {
        this.storageOpen = false;
        storage.destroy();
      },
    );
    const source = this.source;
    let held: Buffer | null = null;
    let received = 0;
    const problem = await new Promise<string | null>((resolve) => {
      let settled = false;
      const finish = (reason: string | null) => {
        if (settled) return;
        settled = true;
        source.off('data', onData);
        source.off('end', onEnd);
        source.off('error', onError);
        source.off('close', onClose);
        resolve(reason);
      };
      const onData = (chunk: Buffer) => {
        if (settled) return;
        this.started = true;
        received += chunk.byteLength;
        if (received > this.size) {
          finish(`the upstream sent more than the ${this.size} bytes it announced`);
          return;
        }
        hash.update(chunk);
        // Storage gets this chunk and the clients the one before, at once; then each side's room is awaited.
        const waits: Promise<unknown>[] = [];
        if (this.storageOpen && !storage.write(chunk)) waits.push(storage.room());
        if (held) for (const client of this.clients) write(client, held, waits);
        held = chunk;
        if (waits.length > 0) {
          source.pause();
          void Promise.all(waits).then(() => {
            if (!settled) source.resume();
          });
        }
      };
      const onEnd = () => finish(null);
      const onError = (err: Error) => finish(`the upstream transfer failed: ${err.message}`);
      const onClose = () => finish(`the upstream transfer ended after ${received} of the ${this.size} bytes`);
      source.on('data', onData);
      source.once('end', onEnd);
      source.once('error', onError);
      source.once('close', onClose);
      source.resume();
    }).then((reason) => reason ?? this.check(received, hash));
    this.started = true;
    if (problem) {
      const err = new Error(problem);
      this.settle.reject(err);
      source.destroy();
      storage.destroy(err);
      for (const client of this.clients) client.destroy(err);
      return problem;
    }
    // Right: storage may publish, and the clients get their last chunk without waiting for it.
    this.settle.resolve(this.digest);
    if (this.storageOpen) storage.end();
    for (const client of this.clients) {
      if (client.destroyed || client.writableEnded) continue;
      if (held) client.write(held);
      client.end();
    }
    return null;
  }

  /** Null when the whole blob came and its digest is right, else what was wrong. */
  private check(received: number, hash: Hash): string | null {
    if (received !== this.size) return `the upstream sent ${received} of the ${this.size} bytes it announced`;
    const actual = `${parseDigest(this.digest)?.algorithm ?? 'sha256'}:${hash.digest('hex')}`;
    return actual === this.digest ? null : `the upstream's bytes have digest ${actual}, not ${this.digest}`;
  }
}

/** Writes a chunk to a stream; when its buffer is full, adds the wait for its room (or its end) to `waits`. */
function write(target: Writable, chunk: Buffer, waits: Promise<unknown>[]): void {
  if (target.destroyed || target.writableEnded) return;
  if (!target.write(chunk)) waits.push(Promise.race([once(target, 'drain'), once(target, 'close')]).catch(() => undefined));
}
