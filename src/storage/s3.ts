import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  UploadPartCopyCommand,
  paginateListObjectsV2,
  type CompletedPart,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { parseDigest } from '../oci/digest.js';
import type { BlobInfo, BlobStore, ByteRange, PublishOptions, UploadInfo } from './blobstore.js';

export interface S3BlobStoreOptions {
  bucket: string;
  /** Key prefix for everything Berth writes ("" or e.g. "berth/"); a missing trailing slash is added. */
  prefix?: string;
  region: string;
  /** For S3-compatible servers (MinIO, Ceph, …); empty means AWS. */
  endpoint?: string;
  forcePathStyle?: boolean;
  /** Static keys; without them the SDK's standard chain (environment, profile, instance role, …) applies. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** When set, blob GETs may be answered with a presigned URL valid this long. */
  redirectExpirySeconds?: number;
  /** Told once when the server lacks a capability and the store falls back. */
  warn?: (message: string) => void;
  /** Connecting, and waiting with no byte moving, fail a request after this long (default 60 s). */
  timeoutMs?: number;
}

/** S3's multipart limits. */
export interface PartLimits {
  /** Smallest part but the last (5 MiB). */
  minPart: number;
  /** Largest part, and largest source of one CopyObject or UploadPartCopy (5 GiB). */
  maxPart: number;
  /** Most parts in one multipart upload (10,000). */
  maxParts: number;
}

export const s3Limits: PartLimits = { minPart: 5 * 1024 * 1024, maxPart: 5 * 1024 * 1024 * 1024, maxParts: 10_000 };

/** A chunk of an upload: the object `key` holds the upload's bytes [offset, offset + size). */
export interface ChunkRef {
  key: string;
  offset: number;
  size: number;
}

/** Bytes [start, end] (inclusive) of the object `key`. */
export interface Segment {
  key: string;
  start: number;
  end: number;
}

/** One part of the multipart upload that builds a blob: copied inside the server, or streamed through Berth. */
export type PartPlan = { kind: 'copy'; segment: Segment } | { kind: 'stream'; segments: Segment[] };

export function segmentLength(segment: Segment): number {
  return segment.end - segment.start + 1;
}

export function partLength(part: PartPlan): number {
  return part.kind === 'copy' ? segmentLength(part.segment) : part.segments.reduce((n, s) => n + segmentLength(s), 0);
}

/**
 * The contiguous run of chunks from offset 0. A chunk that does not continue the run (left
 * by a request that died before the session recorded its bytes, and since overwritten or
 * never followed) ends it.
 */
export function chainOf(chunks: ChunkRef[]): { chain: ChunkRef[]; size: number } {
  const sorted = [...chunks].sort((a, b) => a.offset - b.offset);
  const chain: ChunkRef[] = [];
  let size = 0;
  for (const chunk of sorted) {
    if (chunk.offset > size) break;
    if (chunk.offset === size && chunk.size > 0) {
      chain.push(chunk);
      size += chunk.size;
    }
  }
  return { chain, size };
}

/** The first `length` bytes of a chain, as segments. */
export function cutChain(chain: ChunkRef[], length: number): Segment[] {
  const segments: Segment[] = [];
  for (const chunk of chain) {
    if (chunk.offset >= length) break;
    segments.push({ key: chunk.key, start: 0, end: Math.min(chunk.size, length - chunk.offset) - 1 });
  }
  return segments;
}

/**
 * Plans the parts of a multipart upload that joins `segments` (the first bytes of each
 * chunk, in order) into one object. A segment of at least T bytes is copied inside the
 * server (UploadPartCopy); runs of smaller segments are streamed together into one part.
 * T is 5 MiB, or more for blobs so large that 5 MiB parts would exceed 10,000 of them.
 * Every part but the last holds at least T bytes (so at least 5 MiB) and at most
 * min(2T, 5 GiB); a copy is split when its segment is larger than 5 GiB.
 */
export function planParts(segments: Segment[], limits: PartLimits = s3Limits): PartPlan[] {
  const total = segments.reduce((n, s) => n + segmentLength(s), 0);
  // Leaves room under maxParts for the split copies and the last part.
  const target = Math.max(limits.minPart, Math.ceil(total / (limits.maxParts * 0.9)));
  if (2 * target > limits.maxPart) throw new Error(`a blob of ${total} bytes is larger than S3 can hold`);
  const parts: PartPlan[] = [];
  let pending: Segment[] = [];
  let pendingLength = 0;
  const flush = () => {
    if (pendingLength > 0) parts.push({ kind: 'stream', segments: pending });
    pending = [];
    pendingLength = 0;
  };
  const addPending = (segment: Segment) => {
    pending.push(segment);
    pendingLength += segmentLength(segment);
  };
  segments.forEach((segment, index) => {
    const length = segmentLength(segment);
    if (length < target) {
      addPending(segment);
      if (pendingLength >= target) flush();
      return;
    }
    let start = segment.start;
    if (pendingLength > 0) {
      // The run before this segment is too small to stand alone: top it up from this segment.
      const need = target - pendingLength;
      addPending({ key: segment.key, start, end: start + need - 1 });
      flush();
      start += need;
    }
    const rest = segment.end - start + 1;
    if (rest <= 0) return;
    if (rest < target && index < segments.length - 1) {
      addPending({ key: segment.key, start, end: segment.end });
      return;
    }
    const pieces = Math.ceil(rest / limits.maxPart);
    for (let i = 0; i < pieces; i++) {
      const from = start + Math.floor((rest * i) / pieces);
      const to = start + Math.floor((rest * (i + 1)) / pieces) - 1;
      parts.push({ kind: 'copy', segment: { key: segment.key, start: from, end: to } });
    }
  });
  flush();
  return parts;
}

/** Yields exactly `length` bytes of `source`: more (a server that ignored a Range) are cut, fewer fail. */
async function* exactly(source: AsyncIterable<Uint8Array>, length: number, what: string): AsyncGenerator<Uint8Array> {
  let left = length;
  for await (const chunk of source) {
    if (left === 0) break;
    if (chunk.byteLength > left) {
      yield chunk.subarray(0, left);
      left = 0;
      break;
    }
    left -= chunk.byteLength;
    yield chunk;
  }
  if (left > 0) throw new Error(`${what} ended ${left} bytes early`);
}

/**
 * Runs `work` over `items`, at most `limit` at a time. After a failure no new item starts;
 * the first failure is thrown once the items already started have settled (so that nothing
 * is still writing when the caller cleans up).
 */
async function forEachLimit<T>(items: T[], limit: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const failures: unknown[] = [];
  const worker = async () => {
    while (failures.length === 0 && next < items.length) {
      const index = next++;
      try {
        await work(items[index], index);
      } catch (err) {
        failures.push(err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failures.length > 0) throw failures[0];
}

interface S3ErrorShape {
  name?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
}

function isNotFound(err: unknown): boolean {
  const e = err as S3ErrorShape;
  return e.name === 'NotFound' || e.name === 'NoSuchKey';
}

function isNotImplemented(err: unknown): boolean {
  const e = err as S3ErrorShape;
  return e.name === 'NotImplemented' || e.Code === 'NotImplemented' || e.$metadata?.httpStatusCode === 501;
}

/** The error a missing file gives, which callers of BlobStore already recognise. */
function missing(message: string): Error {
  return Object.assign(new Error(message), { code: 'ENOENT' });
}

/** Upload parts are read from the request into buffers of this size (S3's smallest part). */
const appendPartSize = 5 * 1024 * 1024;
/** Parts of one append in flight at once: one uploading while the next fills. */
const appendQueueSize = 2;
/** Parts of one publish in flight at once. */
const publishConcurrency = 4;
/** Attempts for a streamed part (the SDK cannot retry a request whose body is a stream). */
const streamPartAttempts = 3;
/** Connections per S3 endpoint: each blob download in flight holds one for its whole length. */
const maxSockets = 512;
const markerName = 'started';
const chunkName = /^\d{16}$/;

interface UploadListing {
  started: boolean;
  chunks: ChunkRef[];
  chain: ChunkRef[];
  size: number;
  modified: Date;
}

/**
 * Blobs in an S3 bucket at `<prefix>blobs/<algorithm>/<first two hex>/<hex>`.
 *
 * S3 objects cannot be appended to, so an upload is a folder of objects:
 * `<prefix>uploads/<id>/started` (empty; the upload exists) and one object per appended
 * chunk, `<prefix>uploads/<id>/<offset, 16 digits>`, written whole (a small chunk with one
 * PUT, a large one as a multipart upload completed at the end), so that a chunk is visible
 * only once all its bytes are stored. The upload's bytes are the chunks from offset 0 on.
 * Publishing joins the chunks inside the server where it can (CopyObject, UploadPartCopy)
 * and streams the rest. Everything lives in the bucket, so any instance can continue an
 * upload another instance started; this relies on S3's read-after-write consistency for
 * PUT and LIST.
 */
export class S3BlobStore implements BlobStore {
  readonly client: S3Client;
  readonly bucket: string;
  readonly prefix: string;
  /** Presigned GET URL for a blob, when redirects are enabled. */
  readonly redirectUrl?: (digest: string) => Promise<string | null>;
  /** False once the server has answered UploadPartCopy with NotImplemented. */
  private partCopy = true;
  private readonly warn: (message: string) => void;

  constructor(options: S3BlobStoreOptions) {
    this.bucket = options.bucket;
    const prefix = (options.prefix ?? '').replace(/^\/+/, '');
    this.prefix = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
    this.warn = options.warn ?? (() => undefined);
    this.client = new S3Client({
      region: options.region,
      endpoint: options.endpoint || undefined,
      forcePathStyle: options.forcePathStyle ?? false,
      credentials: options.credentials,
      // A bucket in another region than configured still works (at one extra round trip).
      followRegionRedirects: true,
      // Checksums only where S3 requires them: streamed uploads then go as plain bodies
      // (S3-compatible servers that lack aws-chunked trailers accept them), and downloads
      // are not checksummed twice (the registry's clients verify digests themselves).
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: {
        // A server that stops answering (no byte moving either way, headers or body) fails the
        // request, which the SDK retries, instead of holding it forever.
        connectionTimeout: options.timeoutMs ?? 60_000,
        socketTimeout: options.timeoutMs ?? 60_000,
        httpAgent: new http.Agent({ keepAlive: true, maxSockets }),
        httpsAgent: new https.Agent({ keepAlive: true, maxSockets }),
      },
    });
    const expiresIn = options.redirectExpirySeconds;
    if (expiresIn !== undefined) {
      this.redirectUrl = (digest) =>
        getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.bucket, Key: this.blobKey(digest) }), { expiresIn });
    }
  }

  private blobKey(digest: string): string {
    const parsed = parseDigest(digest);
    if (!parsed) throw new Error(`not a digest: ${digest}`);
    return `${this.prefix}blobs/${parsed.algorithm}/${parsed.hex.slice(0, 2)}/${parsed.hex}`;
  }

  private uploadDir(id: string): string {
    if (!/^[A-Za-z0-9-]+$/.test(id)) throw new Error(`not an upload id: ${id}`);
    return `${this.prefix}uploads/${id}/`;
  }

  private chunkKey(id: string, offset: number): string {
    return `${this.uploadDir(id)}${String(offset).padStart(16, '0')}`;
  }

  private async *listObjects(prefix: string): AsyncGenerator<{ key: string; size: number; modified: Date }> {
    for await (const page of paginateListObjectsV2({ client: this.client }, { Bucket: this.bucket, Prefix: prefix })) {
      for (const object of page.Contents ?? []) {
        if (object.Key === undefined) continue;
        yield { key: object.Key, size: object.Size ?? 0, modified: object.LastModified ?? new Date(0) };
      }
    }
  }

  private async deleteKey(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  private async uploadListing(id: string): Promise<UploadListing> {
    const dir = this.uploadDir(id);
    const chunks: ChunkRef[] = [];
    let started = false;
    let modified = new Date(0);
    for await (const object of this.listObjects(dir)) {
      if (object.modified > modified) modified = object.modified;
      const name = object.key.slice(dir.length);
      if (name === markerName) started = true;
      else if (chunkName.test(name)) chunks.push({ key: object.key, offset: Number(name), size: object.size });
    }
    return { started, chunks, modified, ...chainOf(chunks) };
  }

  private async existingUpload(id: string): Promise<UploadListing> {
    const listing = await this.uploadListing(id);
    if (!listing.started) throw missing(`upload ${id} does not exist`);
    return listing;
  }

  /** Streams the segments one object at a time. */
  private async *readSegments(segments: Segment[]): AsyncGenerator<Uint8Array> {
    for (const segment of segments) {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: segment.key, Range: `bytes=${segment.start}-${segment.end}` }),
      );
      yield* exactly(out.Body as Readable, segmentLength(segment), segment.key);
    }
  }

  async check(): Promise<void> {
    await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
  }

  /** A bucket has no size to report. */
  async capacity(): Promise<null> {
    return null;
  }

  async stat(digest: string): Promise<BlobInfo | null> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.blobKey(digest) }));
      return { digest, size: head.ContentLength ?? 0, modified: head.LastModified ?? new Date(0) };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async read(digest: string, range?: ByteRange): Promise<Readable> {
    const key = this.blobKey(digest);
    let body: Readable;
    try {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: range ? `bytes=${range.start}-${range.end}` : undefined }),
      );
      body = out.Body as Readable;
    } catch (err) {
      if (isNotFound(err)) throw missing(`blob ${digest} is not in bucket ${this.bucket}`);
      throw err;
    }
    if (!range) return body;
    return Readable.from(exactly(body, range.end - range.start + 1, key), { objectMode: false });
  }

  async delete(digest: string): Promise<void> {
    await this.deleteKey(this.blobKey(digest));
  }

  /** DeleteObjects, 1000 keys a request (S3's most), up to 4 requests at once. */
  async deleteMany(digests: string[]): Promise<void> {
    const batches: string[][] = [];
    for (let i = 0; i < digests.length; i += 1000) batches.push(digests.slice(i, i + 1000));
    await forEachLimit(batches, 4, async (batch) => {
      const result = await this.client.send(
        new DeleteObjectsCommand({
          Bucket: this.bucket,
          Delete: { Objects: batch.map((d) => ({ Key: this.blobKey(d) })), Quiet: true },
        }),
      );
      const failed = (result.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
      if (failed.length > 0) {
        throw new Error(
          `deleting ${failed.length} of ${batch.length} blobs failed; the first: ${failed[0].Key}: ${failed[0].Code} ${failed[0].Message ?? ''}`,
        );
      }
    });
  }

  async *list(): AsyncIterable<BlobInfo> {
    const dir = `${this.prefix}blobs/`;
    for await (const object of this.listObjects(dir)) {
      const m = /^([a-z0-9]+)\/[0-9a-f]{2}\/([0-9a-f]+)$/.exec(object.key.slice(dir.length));
      if (m) yield { digest: `${m[1]}:${m[2]}`, size: object.size, modified: object.modified };
    }
  }

  async createUpload(id: string): Promise<void> {
    await this.client.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: `${this.uploadDir(id)}${markerName}`, Body: new Uint8Array(0) }),
    );
  }

  async uploadSize(id: string): Promise<number | null> {
    const listing = await this.uploadListing(id);
    return listing.started ? listing.size : null;
  }

  async appendUpload(id: string, offset: number, source: AsyncIterable<Uint8Array>): Promise<number> {
    const listing = await this.existingUpload(id);
    const iterator = source[Symbol.asyncIterator]();
    let head = await iterator.next();
    while (!head.done && head.value.byteLength === 0) head = await iterator.next();
    let written = 0;
    if (!head.done) {
      const first = head.value;
      async function* all(): AsyncGenerator<Uint8Array> {
        written += first.byteLength;
        yield first;
        for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
          written += next.value.byteLength;
          yield next.value;
        }
      }
      const upload = new Upload({
        client: this.client,
        params: {
          Bucket: this.bucket,
          Key: this.chunkKey(id, offset),
          Body: Readable.from(all(), { objectMode: false }),
          ContentType: 'application/octet-stream',
        },
        partSize: appendPartSize,
        queueSize: appendQueueSize,
        // Aborted below, so that a server that cannot abort does not hide the real error.
        leavePartsOnError: true,
      });
      try {
        await upload.done();
      } catch (err) {
        if (upload.uploadId) await this.abortQuietly(this.chunkKey(id, offset), upload.uploadId);
        throw err;
      }
    }
    // Chunks beyond this one were left by requests that died before the session recorded them.
    const stale = listing.chunks.filter((c) => c.offset > offset || (c.offset === offset && written === 0));
    await forEachLimit(stale, 8, (c) => this.deleteKey(c.key));
    return written;
  }

  async readUpload(id: string, length: number): Promise<Readable> {
    if (length === 0) return Readable.from([]);
    const listing = await this.existingUpload(id);
    if (listing.size < length) throw new Error(`upload ${id} holds ${listing.size} bytes, fewer than ${length}`);
    return Readable.from(this.readSegments(cutChain(listing.chain, length)), { objectMode: false });
  }

  async publishUpload(id: string, digest: string, size?: number, options: PublishOptions = {}): Promise<void> {
    const listing = await this.existingUpload(id);
    const total = size ?? listing.size;
    if (listing.size < total) throw new Error(`upload ${id} holds ${listing.size} bytes, fewer than ${total}`);
    const key = this.blobKey(digest);
    // Same digest, same bytes: a published copy stands, unless it is to be replaced (a PUT over it is atomic).
    if (options.replace || !(await this.stat(digest))) {
      const segments = cutChain(listing.chain, total);
      if (segments.length === 0) {
        await this.client.send(
          new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: new Uint8Array(0), ContentType: 'application/octet-stream' }),
        );
      } else if (segments.length === 1 && segments[0].end + 1 === listing.chain[0].size && total <= s3Limits.maxPart) {
        await this.client.send(new CopyObjectCommand({ Bucket: this.bucket, Key: key, CopySource: this.copySource(segments[0].key) }));
      } else {
        await this.multipart(key, planParts(segments));
      }
    }
    await this.deleteUpload(id);
  }

  private copySource(key: string): string {
    return `${this.bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
  }

  private async multipart(key: string, plan: PartPlan[]): Promise<void> {
    const { UploadId } = await this.client.send(
      new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key, ContentType: 'application/octet-stream' }),
    );
    if (!UploadId) throw new Error(`the server started no multipart upload for ${key}`);
    try {
      const parts: CompletedPart[] = new Array(plan.length);
      await forEachLimit(plan, publishConcurrency, async (part, index) => {
        parts[index] = { PartNumber: index + 1, ETag: await this.uploadPart(key, UploadId, index + 1, part) };
      });
      await this.client.send(
        new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId, MultipartUpload: { Parts: parts } }),
      );
    } catch (err) {
      await this.abortQuietly(key, UploadId);
      throw err;
    }
  }

  private async uploadPart(key: string, uploadId: string, partNumber: number, part: PartPlan): Promise<string | undefined> {
    if (part.kind === 'copy' && this.partCopy) {
      try {
        const out = await this.client.send(
          new UploadPartCopyCommand({
            Bucket: this.bucket,
            Key: key,
            UploadId: uploadId,
            PartNumber: partNumber,
            CopySource: this.copySource(part.segment.key),
            CopySourceRange: `bytes=${part.segment.start}-${part.segment.end}`,
          }),
        );
        return out.CopyPartResult?.ETag;
      } catch (err) {
        if (!isNotImplemented(err)) throw err;
        // Parts run side by side: only the first to learn it says so.
        if (this.partCopy)
          this.warn(`the S3 server does not implement UploadPartCopy; large upload chunks are streamed through Berth instead`);
        this.partCopy = false;
      }
    }
    const segments = part.kind === 'copy' ? [part.segment] : part.segments;
    for (let attempt = 1; ; attempt++) {
      try {
        const out = await this.client.send(
          new UploadPartCommand({
            Bucket: this.bucket,
            Key: key,
            UploadId: uploadId,
            PartNumber: partNumber,
            Body: Readable.from(this.readSegments(segments), { objectMode: false }),
            ContentLength: partLength(part),
          }),
        );
        return out.ETag;
      } catch (err) {
        if (attempt >= streamPartAttempts) throw err;
      }
    }
  }

  /** A multipart upload left behind costs storage until aborted; a bucket lifecycle rule catches what this misses. */
  private async abortQuietly(key: string, uploadId: string): Promise<void> {
    try {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }));
    } catch {
      // The original error matters more; see the lifecycle rule in docs/CONFIGURATION.md.
    }
  }

  async deleteUpload(id: string): Promise<void> {
    const marker = `${this.uploadDir(id)}${markerName}`;
    const keys: string[] = [];
    let started = false;
    for await (const object of this.listObjects(this.uploadDir(id))) {
      if (object.key === marker) started = true;
      else keys.push(object.key);
    }
    await forEachLimit(keys, 8, (key) => this.deleteKey(key));
    // Last, so that an interrupted delete leaves an upload that can be deleted again.
    if (started) await this.deleteKey(marker);
  }

  async *listUploads(): AsyncIterable<UploadInfo> {
    const dir = `${this.prefix}uploads/`;
    let current: { id: string; chunks: ChunkRef[]; modified: Date } | null = null;
    const done = (u: { id: string; chunks: ChunkRef[]; modified: Date }): UploadInfo => ({
      id: u.id,
      size: chainOf(u.chunks).size,
      modified: u.modified,
    });
    for await (const object of this.listObjects(dir)) {
      const [id, name] = object.key.slice(dir.length).split('/', 2);
      if (!id || name === undefined) continue;
      if (current && current.id !== id) {
        yield done(current);
        current = null;
      }
      current ??= { id, chunks: [], modified: new Date(0) };
      if (object.modified > current.modified) current.modified = object.modified;
      if (chunkName.test(name)) current.chunks.push({ key: object.key, offset: Number(name), size: object.size });
    }
    if (current) yield done(current);
  }
}
