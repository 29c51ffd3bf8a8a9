/**
 * Reads one image layer as a stream: decompresses it (gzip, zstd or none, told apart by the
 * first bytes), walks its tar entries once, and hands the files analyzers want to them.
 * Nothing but those files is kept, each up to its analyzer's byte limit; every other body is
 * drained as it passes. The result is per path so that layers can be merged in order.
 */
import { once } from 'node:events';
import { PassThrough, Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import { Decompress } from 'fzstd';
import { extract, type Header } from 'tar-stream';
import { feedExtractor } from '../../lib/tar-feed.js';
import type { Analyzer, AnalyzerResult } from './analyzer.js';

/** One analyzer's result for one file. */
export interface FileResult {
  analyzer: string;
  result: AnalyzerResult;
}

/** What a layer contributes to the image: its analyzed files and what it deletes below it. */
export interface LayerResult {
  /**
   * Path → the results of the analyzers that read the file there. An empty list means the
   * layer puts something at that path nobody could analyze (a symlink, a file too large, a
   * failed read): it still hides a lower layer's file at the same path.
   */
  files: Map<string, FileResult[]>;
  /** Paths deleted from lower layers, with everything under them (`dir/.wh.name`). */
  whiteouts: string[];
  /** Directories whose lower-layer content is hidden (`dir/.wh..wh..opq`); '' is the root. */
  opaqueDirs: string[];
  /** Uncompressed tar bytes and entries read (for the figures). */
  tarBytes: number;
  entries: number;
  /**
   * A 53-bit hash of every path the layer puts anything at, sorted: a later layer that replaces
   * an analyzed file with one no analyzer wants (a Go binary overwritten by a small script)
   * removes the earlier result. Hashes, not paths, to keep cached layers small.
   */
  pathHashes: Float64Array;
}

export type Compression = 'gzip' | 'zstd' | 'none';

/** Media types of layer blobs the walk reads; anything else is not a filesystem layer. */
const readableLayerTypes = new Set([
  'application/vnd.oci.image.layer.v1.tar',
  'application/vnd.oci.image.layer.v1.tar+gzip',
  'application/vnd.oci.image.layer.v1.tar+zstd',
  'application/vnd.docker.image.rootfs.diff.tar',
  'application/vnd.docker.image.rootfs.diff.tar.gzip',
  'application/vnd.docker.image.rootfs.diff.tar.zstd',
]);

/** Layers whose bytes are usually not in the registry at all (Windows base layers and the like). */
const foreignLayerTypes = new Set([
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
]);

/** Why a layer descriptor is not read, or null when it is a filesystem layer. */
export function layerSkipReason(mediaType: string): string | null {
  if (readableLayerTypes.has(mediaType)) return null;
  if (foreignLayerTypes.has(mediaType)) return `a foreign (non-distributable) layer (${mediaType})`;
  return `not a filesystem layer (${mediaType})`;
}

/** How much of one file several analyzers, or one streaming analyzer that must share it, may hold. */
const sharedStreamLimit = 64 * 1024 * 1024;

const gzipMagic = [0x1f, 0x8b];
const zstdMagic = [0x28, 0xb5, 0x2f, 0xfd];

function startsWith(chunk: Uint8Array, magic: number[]): boolean {
  return chunk.length >= magic.length && magic.every((byte, i) => chunk[i] === byte);
}

/**
 * Zstandard decompression: Node's own (node:zlib, from Node 22.15 and 24) where there is one,
 * else a Node transform over fzstd's streaming decoder (Node 20).
 */
function zstdDecompress(): Transform {
  const native = (zlib as { createZstdDecompress?: (options?: object) => Transform }).createZstdDecompress;
  return native ? native() : new ZstdDecompress();
}

/** fzstd's streaming decoder as a Node transform. */
class ZstdDecompress extends Transform {
  private readonly decoder = new Decompress((data) => {
    if (data.length > 0) this.push(data);
  });

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.decoder.push(chunk);
      callback();
    } catch (err) {
      callback(asError(err, 'zstd'));
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.decoder.push(new Uint8Array(0), true);
      callback();
    } catch (err) {
      callback(asError(err, 'zstd'));
    }
  }
}

function asError(err: unknown, what: string): Error {
  return err instanceof Error ? new Error(`${what} decompression failed: ${err.message}`) : new Error(`${what} decompression failed`);
}

/**
 * The first `n` bytes of the stream (fewer if it is shorter), put back so that the stream
 * still starts at its beginning: the chunks a network hands over can be smaller than a magic number.
 */
function peek(blob: Readable, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      blob.off('readable', tryRead);
      blob.off('end', onEnd);
      blob.off('error', onError);
    };
    function tryRead() {
      const head = blob.read(n) as Buffer | null;
      if (head === null) return;
      cleanup();
      blob.unshift(head);
      resolve(head);
    }
    function onEnd() {
      cleanup();
      resolve(Buffer.alloc(0));
    }
    function onError(err: Error) {
      cleanup();
      reject(err);
    }
    blob.on('readable', tryRead);
    blob.once('end', onEnd);
    blob.once('error', onError);
  });
}

/** The layer's tar bytes: the compression is read off the first bytes, whatever the media type claims. */
async function decompressed(blob: Readable): Promise<{ tar: Readable; compression: Compression; done: Promise<void> }> {
  const head = await peek(blob, zstdMagic.length);
  const compression: Compression = startsWith(head, gzipMagic) ? 'gzip' : startsWith(head, zstdMagic) ? 'zstd' : 'none';
  if (compression === 'none') return { tar: blob, compression, done: Promise.resolve() };
  const decoder = compression === 'gzip' ? zlib.createGunzip({ chunkSize: 128 * 1024 }) : zstdDecompress();
  const out = new PassThrough({ highWaterMark: 64 * 1024 });
  const done = pipeline(blob, decoder, out).catch((err: Error) => {
    out.destroy(err.message.includes('decompression failed') ? err : asError(err, compression));
  });
  return { tar: out, compression, done };
}

/**
 * The path of a tar entry inside the image: no leading "/" or "./", no trailing "/",
 * "." and ".." resolved; null for a name that leaves the root.
 */
export function cleanPath(name: string): string | null {
  let p = name;
  while (p.startsWith('./')) p = p.slice(2);
  while (p.startsWith('/')) p = p.slice(1);
  if (p.includes('//') || p.includes('/.') || p.startsWith('.')) {
    const parts: string[] = [];
    for (const part of p.split('/')) {
      if (part === '' || part === '.') continue;
      if (part === '..') {
        if (parts.length === 0) return null;
        parts.pop();
      } else parts.push(part);
    }
    return parts.join('/');
  }
  return p.endsWith('/') ? p.slice(0, -1) : p;
}

/** Two 32-bit FNV-1a hashes (different offset bases) folded into 53 bits: collisions are negligible at image sizes. */
export function pathHash(path: string): number {
  let a = 0x811c9dc5;
  let b = 0x050c5d1f;
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193) ^ (b >>> 15);
  }
  return (a >>> 0) * 0x200000 + ((b >>> 0) & 0x1fffff);
}

/** Whether the layer put anything at the path (binary search of its sorted hashes). */
export function layerHasPath(result: LayerResult, path: string): boolean {
  const hashes = result.pathHashes;
  const h = pathHash(path);
  let lo = 0;
  let hi = hashes.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (hashes[mid] === h) return true;
    if (hashes[mid] < h) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

const whiteoutPrefix = '.wh.';
const opaqueMarker = '.wh..wh..opq';

export interface ReadLayerOptions {
  /** Where this layer sits (0 = base); analyzers see it on each file. */
  layer: number;
  /** Stops the walk between entries (a stopped scan). */
  signal?: AbortSignal;
}

/**
 * Walks one layer blob. Files wanted by analyzers are buffered (or streamed to a streaming
 * analyzer); all other entries are drained. Analyzer failures and oversized files become
 * notes on the file, so a whiteout of the file removes them too.
 */
export async function readLayer(blob: Readable, analyzers: readonly Analyzer[], options: ReadLayerOptions): Promise<LayerResult> {
  const result: LayerResult = { files: new Map(), whiteouts: [], opaqueDirs: [], tarBytes: 0, entries: 0, pathHashes: new Float64Array(0) };
  const hashes: number[] = [];
  const { tar, done } = await decompressed(blob);
  const entries = extract();
  const feeding = feedExtractor(tar, entries);
  try {
    for await (const entry of entries) {
      options.signal?.throwIfAborted();
      result.entries++;
      const header = entry.header;
      result.tarBytes += header.size ?? 0;
      await handleEntry(header, entry as unknown as AsyncIterable<Buffer> & EntryStream, analyzers, options.layer, result, hashes);
    }
    result.pathHashes = Float64Array.from(hashes).sort();
  } finally {
    tar.destroy();
    await feeding;
    await done;
  }
  return result;
}

interface EntryStream {
  resume(): unknown;
  once(event: string, listener: () => void): unknown;
  on(event: string, listener: (err: Error) => void): unknown;
}

async function handleEntry(
  header: Header,
  entry: AsyncIterable<Buffer> & EntryStream,
  analyzers: readonly Analyzer[],
  layer: number,
  result: LayerResult,
  hashes: number[],
): Promise<void> {
  const path = cleanPath(header.name);
  if (path === null || path === '') return drain(entry);
  hashes.push(pathHash(path));
  const slash = path.lastIndexOf('/');
  const base = slash < 0 ? path : path.slice(slash + 1);
  if (base.startsWith(whiteoutPrefix)) {
    const dir = slash < 0 ? '' : path.slice(0, slash);
    if (base === opaqueMarker) result.opaqueDirs.push(dir);
    else {
      const name = base.slice(whiteoutPrefix.length);
      result.whiteouts.push(dir === '' ? name : `${dir}/${name}`);
    }
    return drain(entry);
  }
  const type = header.type;
  const regular = type === 'file' || type === 'contiguous-file';
  const info = { size: header.size ?? 0, mode: header.mode ?? 0 };
  let wanting: Analyzer[] | undefined;
  for (const analyzer of analyzers) {
    if (analyzer.wants(path, info)) (wanting ??= []).push(analyzer);
  }
  if (!wanting) {
    // A later entry at a path that held an analyzed file (in this layer) replaces that file.
    if (result.files.has(path)) result.files.delete(path);
    return drain(entry);
  }
  if (!regular) {
    // A hard link to a file this layer already analyzed has that file's content.
    const target = type === 'link' ? cleanPath(header.linkname ?? '') : null;
    result.files.set(path, (target && result.files.get(target)) || []);
    return drain(entry);
  }
  result.files.set(path, await analyzeFile(path, layer, info.size, entry, wanting));
}

async function drain(entry: EntryStream): Promise<void> {
  const ended = new Promise<void>((resolve) => entry.once('end', resolve));
  entry.resume();
  await ended;
}

function note(analyzer: string, text: string): FileResult {
  return { analyzer, result: { notes: [text] } };
}

async function analyzeFile(
  path: string,
  layer: number,
  size: number,
  entry: AsyncIterable<Buffer> & EntryStream,
  wanting: Analyzer[],
): Promise<FileResult[]> {
  const out: FileResult[] = [];
  // One streaming analyzer alone gets the body as it comes; otherwise the body is read once into memory.
  if (wanting.length === 1 && wanting[0].analyzeStream) {
    out.push(await streamTo(wanting[0], path, layer, size, entry));
    return out;
  }
  const limitOf = (a: Analyzer) => (a.analyzeStream ? Math.min(sharedStreamLimit, a.maxBytes || sharedStreamLimit) : a.maxBytes);
  const readers = wanting.filter((a) => size <= limitOf(a));
  for (const a of wanting) {
    if (!readers.includes(a)) {
      out.push(
        note(a.name, `${path} (layer ${layer}) is ${size} bytes, more than the ${limitOf(a)} bytes the ${a.name} analyzer reads; skipped`),
      );
    }
  }
  if (readers.length === 0) {
    await drain(entry);
    return out;
  }
  const bytes = await readWhole(entry, size);
  for (const a of readers) {
    try {
      const result = a.analyzeStream
        ? await a.analyzeStream({ path, layer, size, stream: Readable.from([bytes], { objectMode: false }) })
        : await a.analyze({ path, layer, bytes });
      out.push({ analyzer: a.name, result });
    } catch (err) {
      out.push(note(a.name, `the ${a.name} analyzer could not read ${path} (layer ${layer}): ${(err as Error).message}`));
    }
  }
  return out;
}

/** The entry's body in one buffer of its declared size (allocated once, no concatenation). */
async function readWhole(entry: AsyncIterable<Buffer>, size: number): Promise<Buffer> {
  const bytes = Buffer.allocUnsafe(size);
  let offset = 0;
  for await (const chunk of entry) {
    const room = Math.min(chunk.length, size - offset);
    if (room > 0) chunk.copy(bytes, offset, 0, room);
    offset += chunk.length;
  }
  return offset < size ? bytes.subarray(0, offset) : bytes;
}

/**
 * Hands the body to a streaming analyzer through a Node stream it may consume, stop reading,
 * or destroy; the tar entry is always read to its end so the walk can go on.
 */
async function streamTo(
  analyzer: Analyzer,
  path: string,
  layer: number,
  size: number,
  entry: AsyncIterable<Buffer> & EntryStream,
): Promise<FileResult> {
  const body = new PassThrough({ highWaterMark: 256 * 1024 });
  // An analyzer that destroys its stream early is not a failure of the walk.
  body.on('error', () => undefined);
  const fed = (async () => {
    for await (const chunk of entry) {
      if (body.destroyed) continue;
      if (!body.write(chunk)) {
        await Promise.race([once(body, 'drain'), once(body, 'close')]).catch(() => undefined);
      }
    }
    if (!body.destroyed) body.end();
  })();
  try {
    const result = await analyzer.analyzeStream!({ path, layer, size, stream: body });
    return { analyzer: analyzer.name, result };
  } catch (err) {
    return note(analyzer.name, `the ${analyzer.name} analyzer could not read ${path} (layer ${layer}): ${(err as Error).message}`);
  } finally {
    // Whatever the analyzer left unread is dropped; the tar entry still runs to its end.
    if (!body.destroyed) body.resume();
    await fed;
  }
}
