import { LRUCache } from 'lru-cache';
import { pipeline } from 'node:stream';
import { digestOf, parseDigest } from '../../oci/digest.js';
import { parseManifest, type Descriptor } from '../../oci/manifest.js';
import { isForeignLayer } from '../../oci/mediatypes.js';
import { RemoteRegistryError, type RegistryAdapter } from '../types.js';
import type { Throttle } from './throttle.js';

/*
 * Copies one artifact from a source registry to a destination registry, as Harbor's image
 * transfer does (src/controller/replication/transfer/image/transfer.go), faster:
 * - the destination is asked first, by tag: a tag already on the same digest is done, a tag
 *   on another digest is left alone unless the policy overrides;
 * - the manifest tree is walked depth first: an index's children (each skipped whole when
 *   the destination has it by digest), an image's config and layers (foreign layers skipped);
 * - a blob the destination repository has is skipped (HEAD); one this process has put into
 *   another repository of the same destination is mounted; the rest stream from the source to
 *   the destination, several at a time, paced by the task's throttle, in chunks when asked;
 * - manifests are pushed after everything they reference, the tags last.
 * Every step asks the destination before writing, so a task run again (a retry, another
 * instance after a crash) redoes only what did not arrive.
 */

export interface CopyRequest {
  srcRepository: string;
  digest: string;
  /** Tags to give the artifact at the destination; none: it is copied by digest. */
  tags: string[];
  dstRepository: string;
}

export interface CopyOptions {
  override: boolean;
  /** Blobs copied at once (default 4). */
  parallelBlobs?: number;
  /** Copy by chunk: PATCH chunks of this many bytes. */
  chunkSize?: number;
  throttle?: Throttle | null;
  signal?: AbortSignal;
  log?: (message: string, level?: 'INFO' | 'WARNING' | 'ERROR') => Promise<void> | void;
  /** A key naming the destination registry (for the mount hints shared by the tasks of this process). */
  destinationKey?: string;
}

export interface CopyResult {
  /** 'skipped': nothing to do (every tag there already, or kept because override is off). */
  outcome: 'copied' | 'skipped';
  tagsPushed: string[];
  tagsKept: string[];
  manifestsPushed: number;
  blobsCopied: number;
  blobsSkipped: number;
  blobsMounted: number;
  bytesCopied: number;
}

/**
 * Where this process last put a blob on a destination, so that a copy into another
 * repository of the same destination mounts it instead of sending it again.
 */
const mountHints = new LRUCache<string, string>({ max: 20_000 });

export class CopyError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CopyError';
  }
}

function describe(err: unknown): string {
  if (err instanceof RemoteRegistryError) return `${err.message}${err.status ? ` (HTTP ${err.status})` : ''}`;
  return err instanceof Error ? err.message : String(err);
}

/** A failure that may pass by itself: the registry unreachable for a moment, limiting, or a 5xx. */
export function isTransient(err: unknown): boolean {
  if (!(err instanceof RemoteRegistryError)) return false;
  if (err.failure === 'unreachable' || err.failure === 'rate_limited') return true;
  return err.failure === 'failed' && (err.status === undefined || err.status >= 500);
}

/** Tries of one blob within a task before the task itself fails (and is retried by the queue), and the pause before each retry. */
const blobTries = [0, 1000, 3000];

function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    signal?.throwIfAborted();
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', abort);
      resolve();
    }, ms);
    const abort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', abort, { once: true });
  });
}

async function pool<T>(items: T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: unknown = null;
  const lanes = Array.from({ length: Math.max(1, Math.min(width, items.length)) }, async () => {
    while (failed === null && next < items.length) {
      const item = items[next++];
      try {
        await work(item);
      } catch (err) {
        failed ??= err;
      }
    }
  });
  await Promise.all(lanes);
  if (failed !== null) throw failed;
}

export class Copier {
  private readonly result: CopyResult = {
    outcome: 'copied',
    tagsPushed: [],
    tagsKept: [],
    manifestsPushed: 0,
    blobsCopied: 0,
    blobsSkipped: 0,
    blobsMounted: 0,
    bytesCopied: 0,
  };
  /**
   * Every child manifest and blob this copy handles, by digest, as the promise of its arrival:
   * a blob shared by two images of an index is copied once, and the second image's manifest
   * waits for it before it is pushed.
   */
  private readonly arrivals = new Map<string, Promise<void>>();

  private once(digest: string, work: () => Promise<void>): Promise<void> {
    let arrival = this.arrivals.get(digest);
    if (!arrival) {
      arrival = work();
      this.arrivals.set(digest, arrival);
    }
    return arrival;
  }

  constructor(
    private readonly src: RegistryAdapter,
    private readonly dst: RegistryAdapter,
    private readonly options: CopyOptions,
  ) {}

  private async log(message: string, level: 'INFO' | 'WARNING' | 'ERROR' = 'INFO'): Promise<void> {
    await this.options.log?.(message, level);
  }

  private check(): void {
    this.options.signal?.throwIfAborted();
  }

  async copy(request: CopyRequest): Promise<CopyResult> {
    const { srcRepository, digest, dstRepository } = request;
    const signal = this.options.signal;
    this.check();
    // Which tags still need the artifact.
    const toPush: string[] = [];
    for (const tag of request.tags) {
      const there = await this.dst.headManifest(dstRepository, tag, signal);
      if (there && there.digest === digest) {
        await this.log(`${dstRepository}:${tag} is already ${digest} on the destination, skipped`);
        continue;
      }
      if (there && !this.options.override) {
        await this.log(`${dstRepository}:${tag} is ${there.digest} on the destination and the policy does not override, kept`, 'WARNING');
        this.result.tagsKept.push(tag);
        continue;
      }
      toPush.push(tag);
    }
    if (request.tags.length > 0 && toPush.length === 0) {
      this.result.outcome = 'skipped';
      return this.result;
    }
    if (request.tags.length === 0 && (await this.dst.headManifest(dstRepository, digest, signal))) {
      await this.log(`${dstRepository}@${digest} is already on the destination, skipped`);
      this.result.outcome = 'skipped';
      return this.result;
    }
    await this.dst.prepareRepository?.(dstRepository, signal);
    const manifest = await this.fetchManifest(srcRepository, digest);
    await this.copyReferences(srcRepository, dstRepository, manifest.bytes, manifest.mediaType);
    this.check();
    if (toPush.length === 0) {
      await this.putManifest(dstRepository, digest, manifest.mediaType, manifest.bytes);
      this.result.manifestsPushed++;
      await this.log(`pushed the manifest ${dstRepository}@${digest}`);
    }
    for (const tag of toPush) {
      this.check();
      const pushed = await this.putManifest(dstRepository, tag, manifest.mediaType, manifest.bytes);
      this.result.manifestsPushed++;
      this.result.tagsPushed.push(tag);
      if (pushed && pushed !== digest)
        await this.log(`the destination gave ${dstRepository}:${tag} the digest ${pushed}, not ${digest}`, 'WARNING');
      await this.log(`pushed the manifest ${dstRepository}:${tag}`);
    }
    return this.result;
  }

  private async fetchManifest(repository: string, digest: string): Promise<{ mediaType: string; bytes: Buffer }> {
    this.check();
    const manifest = await this.src.getManifest(repository, digest, this.options.signal);
    if (!manifest) throw new RemoteRegistryError('not_found', `the manifest ${repository}@${digest} is no longer on the source`, 404);
    const algorithm = parseDigest(digest)?.algorithm ?? 'sha256';
    const actual = digestOf(manifest.bytes, algorithm);
    if (actual !== digest) throw new CopyError(`the source sent a manifest for ${repository}@${digest} whose digest is ${actual}`);
    return { mediaType: manifest.mediaType, bytes: manifest.bytes };
  }

  /** Everything a manifest references, before the manifest: children (depth first), then blobs. */
  private async copyReferences(srcRepository: string, dstRepository: string, bytes: Buffer, mediaType: string): Promise<void> {
    const parsed = parseManifest(bytes, mediaType);
    const width = this.options.parallelBlobs ?? 4;
    // An index's children side by side (each of their blobs still through the same width per image).
    await pool(parsed.manifests, Math.min(width, 2), (child) =>
      this.once(child.digest, () => this.copyChild(srcRepository, dstRepository, child)),
    );
    const blobs = [...(parsed.config ? [parsed.config] : []), ...parsed.layers].filter((d) => !isForeignLayer(d.mediaType));
    await pool(blobs, width, (d) => this.once(d.digest, () => this.copyBlobWithRetry(srcRepository, dstRepository, d)));
  }

  private async copyChild(srcRepository: string, dstRepository: string, child: Descriptor): Promise<void> {
    this.check();
    if (await this.dst.headManifest(dstRepository, child.digest, this.options.signal)) {
      await this.log(`${dstRepository}@${child.digest} is already on the destination, skipped`);
      return;
    }
    const manifest = await this.fetchManifest(srcRepository, child.digest);
    await this.copyReferences(srcRepository, dstRepository, manifest.bytes, manifest.mediaType);
    this.check();
    await this.putManifest(dstRepository, child.digest, manifest.mediaType, manifest.bytes);
    this.result.manifestsPushed++;
    await this.log(`pushed the manifest ${dstRepository}@${child.digest}`);
  }

  /**
   * Puts a manifest whose blobs are all at the destination. A manifest refused for a blob the
   * destination just confirmed is asked again after a pause: docker-registry rewrites a
   * repository's blob link in place, so while another task links the same blob into the same
   * repository the link reads empty for a moment. A blob really missing is still refused
   * after the last try.
   */
  private async putManifest(repository: string, reference: string, mediaType: string, bytes: Buffer): Promise<string> {
    for (let i = 0; ; i++) {
      try {
        return await this.dst.putManifest(repository, reference, mediaType, bytes, this.options.signal);
      } catch (err) {
        const blobUnknown = err instanceof RemoteRegistryError && err.status === 400 && /\bMANIFEST_BLOB_UNKNOWN\b/.test(err.message);
        if (this.options.signal?.aborted || !blobUnknown || i + 1 >= blobTries.length) throw err;
        await this.log(`${repository}:${reference}: ${describe(err)}; asking again in ${blobTries[i + 1] / 1000} s`, 'WARNING');
        await pause(blobTries[i + 1], this.options.signal);
      }
    }
  }

  /** A blob whose copy meets a passing failure is tried again (as Harbor's copyBlobWithRetry), without failing the whole task. */
  private async copyBlobWithRetry(srcRepository: string, dstRepository: string, d: Descriptor): Promise<void> {
    for (let i = 0; ; i++) {
      try {
        return await this.copyBlob(srcRepository, dstRepository, d);
      } catch (err) {
        if (this.options.signal?.aborted || !isTransient(err) || i + 1 >= blobTries.length) throw err;
        await this.log(`blob ${d.digest}: ${describe(err)}; trying again in ${blobTries[i + 1] / 1000} s`, 'WARNING');
        await pause(blobTries[i + 1], this.options.signal);
      }
    }
  }

  private async copyBlob(srcRepository: string, dstRepository: string, d: Descriptor): Promise<void> {
    const signal = this.options.signal;
    this.check();
    if (await this.dst.blobExists(dstRepository, d.digest, signal)) {
      this.result.blobsSkipped++;
      await this.log(`blob ${d.digest} is already in ${dstRepository} on the destination, skipped`);
      return;
    }
    const hintKey = this.options.destinationKey ? `${this.options.destinationKey}|${d.digest}` : null;
    const from = hintKey ? mountHints.get(hintKey) : undefined;
    if (from && from !== dstRepository) {
      try {
        if (await this.dst.mountBlob(dstRepository, d.digest, from, signal)) {
          this.result.blobsMounted++;
          await this.log(`blob ${d.digest} mounted from ${from} on the destination`);
          return;
        }
      } catch (err) {
        await this.log(`mounting blob ${d.digest} from ${from} failed (${describe(err)}); sending it`, 'WARNING');
      }
    }
    const blob = await this.src.getBlob(srcRepository, d.digest, signal);
    const size = blob.size > 0 ? blob.size : d.size;
    let stream = blob.stream;
    if (this.options.throttle) {
      const paced = this.options.throttle.stream(signal);
      pipeline(blob.stream, paced, () => undefined);
      stream = paced;
    }
    try {
      await this.dst.putBlob(dstRepository, d.digest, { stream, size }, { chunkSize: this.options.chunkSize, signal });
    } finally {
      if (!blob.stream.destroyed) blob.stream.destroy();
    }
    this.result.blobsCopied++;
    this.result.bytesCopied += size;
    if (hintKey) mountHints.set(hintKey, dstRepository);
    await this.log(`blob ${d.digest} (${size} bytes) copied`);
  }
}

/** Deletes an artifact at the destination, as Harbor's deletion does: each tag that is there, or the digest. */
export async function deleteAtDestination(
  dst: RegistryAdapter,
  repository: string,
  digest: string,
  tags: string[],
  options: { signal?: AbortSignal; log?: CopyOptions['log'] } = {},
): Promise<number> {
  let deleted = 0;
  const references = tags.length > 0 ? tags : [digest];
  for (const reference of references) {
    options.signal?.throwIfAborted();
    const there = await dst.headManifest(repository, reference, options.signal);
    if (!there) {
      await options.log?.(`${repository}${reference === digest ? '@' : ':'}${reference} is not on the destination, skipped`);
      continue;
    }
    await dst.deleteManifest(repository, reference, options.signal);
    deleted++;
    await options.log?.(`deleted ${repository}${reference === digest ? '@' : ':'}${reference} on the destination`);
  }
  return deleted;
}
