import type { BlobStore } from '../storage/blobstore.js';

/** What the decorator reports each call to (BerthMetrics.observeBlob). */
export type BlobObserver = (operation: string, seconds: number, failed: boolean) => void;

function seconds(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/**
 * The blob store, each call timed and its failures counted by operation: one hrtime at the
 * start and one observation at the end. A read is timed until its stream is open (its bytes
 * are the /v2 byte counters'); the listings, which run for a whole GC or scrub, are passed on.
 */
export function instrumentBlobStore(store: BlobStore, observe: BlobObserver): BlobStore {
  async function timed<T>(operation: string, call: () => Promise<T>): Promise<T> {
    const start = process.hrtime.bigint();
    try {
      const result = await call();
      observe(operation, seconds(start), false);
      return result;
    } catch (err) {
      observe(operation, seconds(start), true);
      throw err;
    }
  }
  const wrapped: BlobStore = {
    check: () => timed('check', () => store.check()),
    capacity: () => timed('capacity', () => store.capacity()),
    stat: (digest) => timed('stat', () => store.stat(digest)),
    read: (digest, range) => timed('read', () => store.read(digest, range)),
    delete: (digest) => timed('delete', () => store.delete(digest)),
    list: () => store.list(),
    createUpload: (id) => timed('create_upload', () => store.createUpload(id)),
    uploadSize: (id) => timed('upload_size', () => store.uploadSize(id)),
    appendUpload: (id, offset, source) => timed('append_upload', () => store.appendUpload(id, offset, source)),
    readUpload: (id, length) => timed('read_upload', () => store.readUpload(id, length)),
    publishUpload: (id, digest, size, options) => timed('publish_upload', () => store.publishUpload(id, digest, size, options)),
    deleteUpload: (id) => timed('delete_upload', () => store.deleteUpload(id)),
    listUploads: () => store.listUploads(),
  };
  // Optional capabilities stay optional: callers test for them.
  if (store.redirectUrl) wrapped.redirectUrl = (digest) => timed('redirect_url', () => store.redirectUrl!(digest));
  if (store.deleteMany) wrapped.deleteMany = (digests) => timed('delete_many', () => store.deleteMany!(digests));
  return wrapped;
}
