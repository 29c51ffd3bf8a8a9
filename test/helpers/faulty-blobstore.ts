import type { Readable } from 'node:stream';
import type { BlobInfo, BlobStore, ByteRange, Capacity, PublishOptions, UploadInfo } from '../../src/storage/blobstore.js';

/** The error a write to a full disk fails with, as node:fs raises it. */
export function enospc(syscall = 'write'): NodeJS.ErrnoException {
  return Object.assign(new Error(`ENOSPC: no space left on device, ${syscall}`), { code: 'ENOSPC', errno: -28, syscall });
}

/**
 * A real BlobStore (the one the configuration opens) with faults switched on and off by a
 * test: a disk that fills up part-way through an upload, a publish that fails for want of
 * space or takes its time. Everything else goes to the real store, so its own clean-up on
 * failure is what the test sees.
 */
export class FaultyBlobStore implements BlobStore {
  /** While true, an append writes `fullAfterBytes` bytes (to the real store) and then fails with ENOSPC. */
  full = false;
  fullAfterBytes = 0;
  /** While true, publishing an upload fails with ENOSPC before it changes anything. */
  publishFails = false;
  /** How long a publish waits before it starts (work that sends the client nothing). */
  publishDelayMs = 0;
  /** Appends that failed with ENOSPC. */
  failedAppends = 0;

  readonly redirectUrl?: (digest: string) => Promise<string | null>;

  constructor(readonly inner: BlobStore) {
    if (inner.redirectUrl) this.redirectUrl = (digest) => inner.redirectUrl!(digest);
  }

  check(): Promise<void> {
    return this.inner.check();
  }
  capacity(): Promise<Capacity | null> {
    return this.inner.capacity();
  }
  stat(digest: string): Promise<BlobInfo | null> {
    return this.inner.stat(digest);
  }
  read(digest: string, range?: ByteRange): Promise<Readable> {
    return this.inner.read(digest, range);
  }
  delete(digest: string): Promise<void> {
    return this.inner.delete(digest);
  }
  list(): AsyncIterable<BlobInfo> {
    return this.inner.list();
  }
  createUpload(id: string): Promise<void> {
    return this.inner.createUpload(id);
  }
  uploadSize(id: string): Promise<number | null> {
    return this.inner.uploadSize(id);
  }
  readUpload(id: string, length: number): Promise<Readable> {
    return this.inner.readUpload(id, length);
  }
  deleteUpload(id: string): Promise<void> {
    return this.inner.deleteUpload(id);
  }
  listUploads(): AsyncIterable<UploadInfo> {
    return this.inner.listUploads();
  }

  appendUpload(id: string, offset: number, source: AsyncIterable<Uint8Array>): Promise<number> {
    if (!this.full) return this.inner.appendUpload(id, offset, source);
    const room = this.fullAfterBytes;
    const onFull = () => this.failedAppends++;
    async function* fillingUp(): AsyncIterable<Uint8Array> {
      let written = 0;
      for await (const chunk of source) {
        if (written + chunk.byteLength > room) {
          if (room > written) yield chunk.subarray(0, room - written);
          onFull();
          throw enospc();
        }
        written += chunk.byteLength;
        yield chunk;
      }
    }
    return this.inner.appendUpload(id, offset, fillingUp());
  }

  async publishUpload(id: string, digest: string, size?: number, options?: PublishOptions): Promise<void> {
    if (this.publishDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.publishDelayMs));
    if (this.publishFails) throw enospc('rename');
    return this.inner.publishUpload(id, digest, size, options);
  }
}
