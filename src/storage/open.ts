import type { Config } from '../config/schema.js';
import type { BlobStore } from './blobstore.js';
import { FilesystemBlobStore } from './filesystem.js';

export interface OpenBlobStoreOptions {
  /** The filesystem driver's root (resolved from storage.filesystem.root or data_dir). */
  root: string;
  warn?: (message: string) => void;
}

/**
 * The blob store `storage.driver` names. The S3 driver (and the AWS SDK) is loaded only
 * when it is used, so an embedded Berth starts without it.
 */
export async function openBlobStore(storage: Config['storage'], options: OpenBlobStoreOptions): Promise<BlobStore> {
  if (storage.driver === 's3') {
    const { S3BlobStore } = await import('./s3.js');
    const s3 = storage.s3;
    if (!s3.bucket) throw new Error('storage.s3.bucket is required when storage.driver is s3');
    return new S3BlobStore({
      bucket: s3.bucket,
      prefix: s3.prefix,
      region: s3.region,
      endpoint: s3.endpoint,
      forcePathStyle: s3.force_path_style,
      credentials: s3.access_key && s3.secret_key ? { accessKeyId: s3.access_key, secretAccessKey: s3.secret_key } : undefined,
      redirectExpirySeconds: s3.redirect.enabled ? s3.redirect.expiry_seconds : undefined,
      timeoutMs: s3.timeout_seconds * 1000,
      warn: options.warn,
    });
  }
  const store = new FilesystemBlobStore(options.root);
  await store.init();
  return store;
}
