import { constants, createReadStream } from 'node:fs';
import { access, mkdir, open, readdir, rename, rm, stat, statfs, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { parseDigest } from '../oci/digest.js';
import type { BlobInfo, BlobStore, ByteRange, Capacity, PublishOptions, UploadInfo } from './blobstore.js';

/**
 * Read size for blob downloads. Each read is a round trip through libuv's thread pool;
 * 1 MiB reads serve a blob from the page cache about a third faster than 256 KiB ones
 * (docs/PERFORMANCE.md), for at most 1 MiB held per download in flight.
 */
const readChunk = 1024 * 1024;
/**
 * How much of an upload may wait in memory for the disk (WriteBehind). With as little as a
 * write stream's default (16 KiB) every 64 KiB socket read waits for its own write to finish
 * before the next read, so receiving and writing never overlap; 1 MiB lets them run side by
 * side at a bounded cost per upload.
 */
const writeBuffer = 1024 * 1024;
/**
 * An upload's bytes are handed to the disk (fdatasync, in the background) every this many
 * bytes and when a chunk ends, so that the fsync that publishes the blob finds little left to
 * write: a 256 MiB blob's closing PUT waited 0.4 s for its whole writeback otherwise.
 */
const writebackEvery = 32 * 1024 * 1024;
/**
 * A chunk smaller than this is not handed to the disk when it ends: what the publishing
 * fsync finds left is small anyway, and a small blob (most of an image's configs and
 * manifests) would otherwise pay a second open, fdatasync and close for nothing.
 */
const writebackAtEndFrom = 1024 * 1024;

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === 'ENOENT';
}

async function fsyncPath(file: string, flags: string): Promise<void> {
  const handle = await open(file, flags);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Background writeback of an upload file: fdatasync on a handle of its own (the write
 * stream's continues meanwhile), one at a time, errors ignored (publishing syncs for real).
 */
class Writeback {
  private handle: Promise<FileHandle | null> | null = null;
  private running: Promise<void> | null = null;

  constructor(private readonly file: string) {}

  start(): void {
    if (this.running) return;
    this.handle ??= open(this.file, 'r+').catch(() => null);
    const handle = this.handle;
    this.running = handle
      .then((h) => h?.datasync())
      .catch(() => undefined)
      .finally(() => {
        this.running = null;
      });
  }

  /** Closes the handle once its sync is done, after starting a last one when `flush`; never waited for. */
  end(flush: boolean): void {
    if (flush) this.start();
    const handle = this.handle;
    if (!handle) return;
    void Promise.resolve(this.running).then(async () => (await handle)?.close().catch(() => undefined));
  }
}

/**
 * Writes a request's chunks to an upload file from `position` on: one write in flight, and the
 * chunks that arrive meanwhile wait behind it (then go in one writev) up to `limit` bytes, when
 * the reader waits. Receiving and writing overlap at a bounded cost per upload, without a
 * stream pipeline's set-up for every chunk of a small blob.
 */
class WriteBehind {
  private waiting: Uint8Array[] = [];
  private waitingBytes = 0;
  private inFlight: Promise<void> | null = null;
  private failure: { error: unknown } | null = null;

  constructor(
    private readonly handle: FileHandle,
    private position: number,
    private readonly limit: number,
  ) {}

  async add(chunk: Uint8Array): Promise<void> {
    this.waiting.push(chunk);
    this.waitingBytes += chunk.byteLength;
    if (this.inFlight && this.waitingBytes >= this.limit) await this.inFlight;
    this.throwIfFailed();
    if (!this.inFlight) this.startWrite();
  }

  /** Resolves once every chunk added is written; rejects with the first write's failure. */
  async finish(): Promise<void> {
    while (this.inFlight || this.waiting.length > 0) {
      if (this.inFlight) await this.inFlight;
      this.throwIfFailed();
      if (this.waiting.length > 0) this.startWrite();
    }
  }

  /** Resolves once no write is in flight, whatever its outcome. */
  async settled(): Promise<void> {
    await this.inFlight;
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }

  private startWrite(): void {
    const batch = this.waiting;
    const at = this.position;
    this.position += this.waitingBytes;
    this.waiting = [];
    this.waitingBytes = 0;
    this.inFlight = writeFully(this.handle, batch, at)
      .catch((error: unknown) => {
        this.failure ??= { error };
      })
      .finally(() => {
        this.inFlight = null;
      });
  }
}

/** Writes `chunks` at `position`, going on after a short write (which a regular file rarely gives). */
async function writeFully(handle: FileHandle, chunks: Uint8Array[], position: number): Promise<void> {
  const total = chunks.reduce((sum, c) => sum + c.byteLength, 0);
  const { bytesWritten } = await handle.writev(chunks, position);
  if (bytesWritten === total) return;
  let rest = Buffer.concat(chunks).subarray(bytesWritten);
  let at = position + bytesWritten;
  while (rest.byteLength > 0) {
    const { bytesWritten: n } = await handle.write(rest, 0, rest.byteLength, at);
    if (n === 0) throw new Error(`the file took none of the ${rest.byteLength} bytes left to write`);
    rest = rest.subarray(n);
    at += n;
  }
}

/**
 * Blobs under <root>/blobs/<algorithm>/<first two hex>/<hex>; uploads under
 * <root>/uploads/<id>, on the same file system so that publishing is one rename.
 */
export class FilesystemBlobStore implements BlobStore {
  private readonly blobsDir: string;
  private readonly uploadsDir: string;

  constructor(readonly root: string) {
    this.blobsDir = path.join(root, 'blobs');
    this.uploadsDir = path.join(root, 'uploads');
  }

  async check(): Promise<void> {
    await access(this.blobsDir, constants.W_OK);
    await access(this.uploadsDir, constants.W_OK);
  }

  /** Size and free space (for unprivileged writers) of the file system holding the root. */
  async capacity(): Promise<Capacity> {
    const stats = await statfs(this.root);
    return { total: stats.blocks * stats.bsize, free: stats.bavail * stats.bsize };
  }

  async init(): Promise<void> {
    await mkdir(this.blobsDir, { recursive: true });
    await mkdir(this.uploadsDir, { recursive: true });
  }

  private blobPath(digest: string): string {
    const parsed = parseDigest(digest);
    if (!parsed) throw new Error(`not a digest: ${digest}`);
    return path.join(this.blobsDir, parsed.algorithm, parsed.hex.slice(0, 2), parsed.hex);
  }

  private uploadPath(id: string): string {
    if (!/^[A-Za-z0-9-]+$/.test(id)) throw new Error(`not an upload id: ${id}`);
    return path.join(this.uploadsDir, id);
  }

  async stat(digest: string): Promise<BlobInfo | null> {
    try {
      const s = await stat(this.blobPath(digest));
      return { digest, size: s.size, modified: s.mtime };
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  async read(digest: string, range?: ByteRange): Promise<Readable> {
    // Opening first turns a missing blob into an error here, before any byte is sent.
    const handle = await open(this.blobPath(digest), 'r');
    return handle.createReadStream({ start: range?.start, end: range?.end, highWaterMark: readChunk, autoClose: true });
  }

  async delete(digest: string): Promise<void> {
    await rm(this.blobPath(digest), { force: true });
  }

  async deleteMany(digests: string[]): Promise<void> {
    // Two unlinks at a time: each takes one of libuv's four threads, which uploads need too.
    for (let i = 0; i < digests.length; i += 2) await Promise.all(digests.slice(i, i + 2).map((d) => this.delete(d)));
  }

  async *list(): AsyncIterable<BlobInfo> {
    for (const algorithm of await readdir(this.blobsDir).catch(() => [] as string[])) {
      const algoDir = path.join(this.blobsDir, algorithm);
      for (const prefix of await readdir(algoDir)) {
        for (const hex of await readdir(path.join(algoDir, prefix))) {
          const s = await stat(path.join(algoDir, prefix, hex)).catch(() => null);
          if (s) yield { digest: `${algorithm}:${hex}`, size: s.size, modified: s.mtime };
        }
      }
    }
  }

  async createUpload(id: string): Promise<void> {
    const handle = await open(this.uploadPath(id), 'wx');
    await handle.close();
  }

  async uploadSize(id: string): Promise<number | null> {
    try {
      return (await stat(this.uploadPath(id))).size;
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  async appendUpload(id: string, offset: number, source: AsyncIterable<Uint8Array>): Promise<number> {
    const file = this.uploadPath(id);
    const handle = await open(file, 'r+');
    let written = 0;
    const writeback = new Writeback(file);
    try {
      const held = (await handle.stat()).size;
      if (held < offset) throw new Error(`upload ${id} holds ${held} bytes, fewer than ${offset}`);
      // Bytes beyond the offset were left by a request that died before its size was recorded.
      if (held > offset) await handle.truncate(offset);
      const writer = new WriteBehind(handle, offset, writeBuffer);
      try {
        let unsynced = 0;
        for await (const chunk of source) {
          written += chunk.byteLength;
          unsynced += chunk.byteLength;
          await writer.add(chunk);
          if (unsynced >= writebackEvery) {
            writeback.start();
            unsynced = 0;
          }
        }
        await writer.finish();
      } catch (err) {
        writeback.end(false);
        // Leave the upload as it was before this chunk.
        await writer.settled();
        await handle.truncate(offset).catch(() => undefined);
        throw err;
      }
    } finally {
      await handle.close();
    }
    writeback.end(written >= writebackAtEndFrom);
    return written;
  }

  async readUpload(id: string, length: number): Promise<Readable> {
    if (length === 0) return Readable.from([]);
    return createReadStream(this.uploadPath(id), { start: 0, end: length - 1, highWaterMark: readChunk });
  }

  async publishUpload(id: string, digest: string, size?: number, options: PublishOptions = {}): Promise<void> {
    const source = this.uploadPath(id);
    const target = this.blobPath(digest);
    const handle = await open(source, 'r+');
    try {
      if (size !== undefined) {
        const held = (await handle.stat()).size;
        if (held < size) throw new Error(`upload ${id} holds ${held} bytes, fewer than ${size}`);
        if (held > size) await handle.truncate(size);
      }
      await handle.sync();
    } finally {
      await handle.close();
    }
    const dir = path.dirname(target);
    if (!options.replace && (await this.stat(digest))) {
      // Same digest, same bytes: the published copy stands.
      await unlink(source);
      return;
    }
    try {
      await rename(source, target);
    } catch (err) {
      // The blob's directory (one per two-hex prefix) is made on first use, or again after a removal.
      if (!isMissing(err)) throw err;
      await mkdir(dir, { recursive: true });
      await rename(source, target);
    }
    await fsyncPath(dir, 'r');
  }

  async deleteUpload(id: string): Promise<void> {
    await rm(this.uploadPath(id), { force: true });
  }

  async *listUploads(): AsyncIterable<UploadInfo> {
    for (const id of await readdir(this.uploadsDir).catch(() => [] as string[])) {
      const s = await stat(path.join(this.uploadsDir, id)).catch(() => null);
      if (s) yield { id, size: s.size, modified: s.mtime };
    }
  }
}
