import type { Readable } from 'node:stream';

export interface BlobInfo {
  digest: string;
  size: number;
  modified: Date;
}

export interface UploadInfo {
  id: string;
  size: number;
  modified: Date;
}

/** Inclusive byte range, as HTTP ranges are. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface PublishOptions {
  /** Replace a blob already published under the digest (its bytes are known to be wrong). */
  replace?: boolean;
}

/** Size and free space of the volume a store writes to, in bytes. */
export interface Capacity {
  total: number;
  free: number;
}

/**
 * Where blob bytes live. Content addressed: a blob is written once, under its digest,
 * by publishing a finished upload. Every driver passes test/storage/blobstore.suite.ts.
 * The store never checks digests itself: the registry hashes bytes as they stream in.
 */
export interface BlobStore {
  /** Throws, saying why, when the store cannot be read and written (the storage health check). */
  check(): Promise<void>;
  /** The volume holding the blobs, or null when the store has no volume to measure (a bucket). */
  capacity(): Promise<Capacity | null>;
  /**
   * A URL a client may fetch the blob from directly, or null to serve the bytes through
   * Berth. Only drivers that can sign such URLs have it (s3, when redirects are enabled).
   */
  redirectUrl?(digest: string): Promise<string | null>;

  stat(digest: string): Promise<BlobInfo | null>;
  read(digest: string, range?: ByteRange): Promise<Readable>;
  delete(digest: string): Promise<void>;
  /**
   * Deletes several blobs (garbage collection's sweep): in as few requests as the store
   * allows. Missing blobs are not an error; any other failure throws. Both drivers have it;
   * a wrapper without it gets one delete per blob.
   */
  deleteMany?(digests: string[]): Promise<void>;
  /** Every stored blob, for garbage collection and scrubbing. */
  list(): AsyncIterable<BlobInfo>;

  createUpload(id: string): Promise<void>;
  /** Bytes held by an upload, or null when there is no such upload. */
  uploadSize(id: string): Promise<number | null>;
  /**
   * Appends a stream to an upload that currently holds `offset` bytes; returns the bytes
   * appended. If the stream fails, the upload is left exactly as it was.
   */
  appendUpload(id: string, offset: number, source: AsyncIterable<Uint8Array>): Promise<number>;
  /** The first `length` bytes of an upload (to recompute a hash). */
  readUpload(id: string, length: number): Promise<Readable>;
  /**
   * Makes the first `size` bytes of the upload (all of it when size is absent) durable and
   * atomically visible as `digest`; the upload is gone after. Bytes beyond `size` were left
   * by a request that died before the session recorded them, and are dropped. A blob
   * already published under `digest` stands (same digest, same bytes) unless `replace` is
   * set: then the upload atomically takes its place (a heal of a blob scrub found corrupt).
   */
  publishUpload(id: string, digest: string, size?: number, options?: PublishOptions): Promise<void>;
  deleteUpload(id: string): Promise<void>;
  listUploads(): AsyncIterable<UploadInfo>;
}
