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

/**
 * Where blob bytes live. Content addressed: a blob is written once, under its digest,
 * by publishing a finished upload. Every driver passes test/storage/blobstore.suite.ts.
 * The store never checks digests itself: the registry hashes bytes as they stream in.
 */
export interface BlobStore {
  stat(digest: string): Promise<BlobInfo | null>;
  read(digest: string, range?: ByteRange): Promise<Readable>;
  delete(digest: string): Promise<void>;
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
  /** Makes the upload durable and atomically visible as `digest`; the upload is gone after. */
  publishUpload(id: string, digest: string): Promise<void>;
  deleteUpload(id: string): Promise<void>;
  listUploads(): AsyncIterable<UploadInfo>;
}
