import { createHash, type Hash } from 'node:crypto';
import { ociError, storageFullCause } from '../lib/errors.js';
import { nowIso } from '../lib/clock.js';
import { isUploadId, newUploadId } from '../lib/ids.js';
import { isDigestAlgorithm, parseDigest, type DigestAlgorithm } from '../oci/digest.js';
import type { BlobStore, ByteRange } from '../storage/blobstore.js';
import { QuotaExceeded } from '../quotas/usage.js';
import { BlobIntegrity } from './integrity.js';
import { checkDigest, checkRepositoryName, type RegistryService } from './service.js';
import type { RegistryStore, UploadRow } from './store.js';

/** A request body on its way into an upload. */
export interface UploadBody {
  stream: AsyncIterable<Uint8Array>;
  /** Content-Length, when the client sent one. */
  length: number | null;
  /** Content-Range, when the client sent one. */
  range: ByteRange | null;
}

export interface UploadState {
  id: string;
  repository: string;
  /** Bytes received so far. */
  size: number;
}

interface RunningHash {
  algorithm: DigestAlgorithm;
  hash: Hash;
  offset: number;
}

/** Parses a chunk's Content-Range ("0-99", also "bytes=0-99" and "bytes 0-99/*"). */
export function parseContentRange(header: string): ByteRange | null {
  const m = /^(?:bytes[ =])?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(header.trim());
  if (!m) return null;
  const start = Number(m[1]);
  const end = Number(m[2]);
  return end >= start ? { start, end } : null;
}

/**
 * Blob upload sessions. The session (its repository, algorithm and committed size) is a
 * database row and the bytes a temporary object in the BlobStore, so a session survives a
 * restart and can continue on another instance. The running hash is kept in memory as an
 * optimisation; when it is missing or behind, it is recomputed from the stored bytes.
 */
export class UploadService {
  private readonly hashes = new Map<string, RunningHash>();
  private readonly busy = new Set<string>();
  private readonly integrity: BlobIntegrity;

  constructor(
    private readonly store: RegistryStore,
    private readonly blobs: BlobStore,
    private readonly registry: RegistryService,
  ) {
    this.integrity = new BlobIntegrity(store.db);
  }

  async start(repositoryName: string, algorithmParam?: string): Promise<UploadState> {
    const algorithm = algorithmParam ?? 'sha256';
    if (!isDigestAlgorithm(algorithm)) {
      throw ociError('DIGEST_INVALID', `digest algorithm "${algorithm}" is not supported; use sha256 or sha512`);
    }
    const repo = await this.registry.repositoryForPush(repositoryName);
    const id = newUploadId();
    await this.blobs.createUpload(id);
    try {
      await this.store.insertUpload(id, repo.id, algorithm, nowIso());
    } catch (err) {
      await this.blobs.deleteUpload(id).catch(() => undefined);
      throw err;
    }
    this.hashes.set(id, { algorithm, hash: createHash(algorithm), offset: 0 });
    return { id, repository: repositoryName, size: 0 };
  }

  /** Links a blob from another repository; false when it cannot be mounted (the caller opens a session instead). */
  async mount(repositoryName: string, digest: string, from: string, actor?: string): Promise<boolean> {
    checkDigest(digest);
    checkRepositoryName(from);
    const size = await this.store.repositoryBlobSize(from, digest);
    if (size === undefined) return false;
    const repo = await this.registry.repositoryForPush(repositoryName);
    return this.store.linkBlob(repo.id, digest, size, nowIso(), this.who(actor, `${repositoryName}@${digest}`));
  }

  private get quota() {
    return this.store.quota;
  }

  private who(actor: string | undefined, resource: string) {
    return { username: actor ?? 'anonymous', resource };
  }

  /** For a mount without `from`: a repository that holds the blob and that `mayPull` allows, or null. */
  async mountSource(digest: string, mayPull: (repositoryName: string) => Promise<boolean>): Promise<string | null> {
    checkDigest(digest);
    for (const name of await this.store.repositoriesWithBlob(digest, 20)) {
      if (await mayPull(name)) return name;
    }
    return null;
  }

  async status(repositoryName: string, id: string): Promise<UploadState> {
    const row = await this.find(repositoryName, id);
    return { id, repository: repositoryName, size: Number(row.size) };
  }

  async append(repositoryName: string, id: string, body: UploadBody): Promise<UploadState> {
    return this.exclusive(id, async () => {
      const row = await this.find(repositoryName, id);
      const size = await this.appendBody(row, repositoryName, body);
      return { id, repository: repositoryName, size };
    });
  }

  /** Closes the session: appends the final chunk (if any), verifies the digest, publishes the blob. */
  async complete(
    repositoryName: string,
    id: string,
    digestParam: string | undefined,
    body: UploadBody | null,
    actor?: string,
  ): Promise<string> {
    const digest = this.requireDigest(digestParam);
    return this.exclusive(id, async () => {
      const row = await this.find(repositoryName, id);
      const size = body ? await this.appendBody(row, repositoryName, body) : Number(row.size);
      const actual = await this.digestOfUpload(id, size, parseDigest(digest)!.algorithm);
      if (actual !== digest) {
        await this.discard(id);
        throw ociError('DIGEST_INVALID', `uploaded content has digest ${actual}, not ${digest}; the upload was discarded`);
      }
      return this.publish(row, id, digest, size, repositoryName, actor);
    });
  }

  /**
   * For the proxy cache (src/proxycache/tee.ts), which hashes a blob's bytes on their way from
   * the upstream: the bytes of `body` are stored without being hashed a second time, and the blob
   * is published only when `verified` resolves to `digest` (the digest of exactly those bytes,
   * computed by the caller as they passed) and `body` held `body.length` bytes. A rejection or
   * any other digest publishes nothing. No /v2 route reaches this: a client's bytes are always
   * hashed here (complete, monolithic).
   */
  async storeVerified(
    repositoryName: string,
    digestParam: string,
    body: UploadBody & { length: number },
    verified: Promise<string>,
    actor?: string,
  ): Promise<string> {
    const digest = this.requireDigest(digestParam);
    const algorithm = parseDigest(digest)!.algorithm;
    const repo = await this.registry.repositoryForPush(repositoryName);
    const id = newUploadId();
    await this.blobs.createUpload(id);
    try {
      await this.store.insertUpload(id, repo.id, algorithm, nowIso());
    } catch (err) {
      await this.blobs.deleteUpload(id).catch(() => undefined);
      throw err;
    }
    try {
      return await this.exclusive(id, async () => {
        const row: UploadRow = { id, repository_id: repo.id, digest_algorithm: algorithm, size: 0 };
        // One append, never resumed: the session's row keeps size 0 (a session left by a crash is
        // purged whole), and the size is what the store wrote.
        const size = await this.blobs.appendUpload(id, 0, body.stream);
        const actual = await verified;
        if (actual !== digest || size !== body.length) {
          throw ociError('DIGEST_INVALID', `the fetched content has digest ${actual} (${size} bytes), not ${digest}; nothing was stored`);
        }
        return this.publish(row, id, digest, size, repositoryName, actor);
      });
    } catch (err) {
      await this.discard(id).catch(() => undefined);
      throw err;
    }
  }

  /** Publishes a session's verified bytes as the blob, with its rows (quota checked). */
  private async publish(row: UploadRow, id: string, digest: string, size: number, repositoryName: string, actor?: string): Promise<string> {
    const who = this.who(actor, `${repositoryName}@${digest}`);
    try {
      // Bytes the quota would refuse are not published; the transaction below decides for good.
      await this.quota.refusable(this.store.db, () => this.quota.precheck(this.store.db, Number(row.repository_id), digest, size), who);
    } catch (err) {
      await this.discard(id);
      throw err;
    }
    // A quarantined blob's stored copy is wrong: these verified bytes replace it (a heal).
    const heal = await this.integrity.isQuarantined(digest);
    // Published under the blob's lock, with the rows (see RegistryStore.completeUpload).
    try {
      await this.store.completeUpload(
        id,
        Number(row.repository_id),
        digest,
        size,
        nowIso(),
        () => this.blobs.publishUpload(id, digest, size, heal ? { replace: true } : undefined),
        who,
      );
    } catch (err) {
      // Refused for quota by a push that committed meanwhile: the session ends; the object
      // published without a row is garbage for GC.
      if (err instanceof QuotaExceeded) await this.discard(id);
      throw err;
    }
    if (heal) await this.integrity.healed(digest);
    this.hashes.delete(id);
    return digest;
  }

  /** POST with ?digest=: the whole blob in one request. */
  async monolithic(repositoryName: string, digestParam: string | undefined, body: UploadBody, actor?: string): Promise<string> {
    const digest = this.requireDigest(digestParam);
    const session = await this.start(repositoryName, parseDigest(digest)!.algorithm);
    try {
      return await this.complete(repositoryName, session.id, digest, body, actor);
    } catch (err) {
      await this.discard(session.id);
      throw err;
    }
  }

  async cancel(repositoryName: string, id: string): Promise<void> {
    await this.find(repositoryName, id);
    await this.discard(id);
  }

  /** Removes sessions idle since before `before` (a time string). Returns how many. */
  async purgeStale(before: string): Promise<number> {
    const ids = await this.store.staleUploads(before);
    for (const id of ids) await this.discard(id);
    return ids.length;
  }

  private requireDigest(value: string | undefined): string {
    if (!value) throw ociError('DIGEST_INVALID', 'the digest query parameter is required to finish an upload');
    return checkDigest(value);
  }

  private async find(repositoryName: string, id: string): Promise<UploadRow> {
    checkRepositoryName(repositoryName);
    const row = isUploadId(id) ? await this.store.findUpload(id, repositoryName) : undefined;
    if (!row) throw ociError('BLOB_UPLOAD_UNKNOWN', `upload ${id} is not an open upload of ${repositoryName}`);
    return row;
  }

  private async discard(id: string): Promise<void> {
    this.hashes.delete(id);
    await this.store.deleteUpload(id);
    await this.blobs.deleteUpload(id);
  }

  private async exclusive<T>(id: string, work: () => Promise<T>): Promise<T> {
    if (this.busy.has(id)) {
      throw ociError('BLOB_UPLOAD_INVALID', `another request is already writing to upload ${id}`, { status: 409 });
    }
    this.busy.add(id);
    try {
      return await work();
    } catch (err) {
      if (storageFullCause(err)) await this.discardOnFullStorage(id);
      throw err;
    } finally {
      this.busy.delete(id);
    }
  }

  /**
   * A session that ran out of space ends: its bytes go first (they take the space that is
   * short, and no partial file is left), then its row, each whatever the other does.
   */
  private async discardOnFullStorage(id: string): Promise<void> {
    this.hashes.delete(id);
    await this.blobs.deleteUpload(id).catch(() => undefined);
    await this.store.deleteUpload(id).catch(() => undefined);
  }

  /** Appends one chunk; the session is unchanged if anything about it is wrong. Returns the new size. */
  private async appendBody(row: UploadRow, repositoryName: string, body: UploadBody): Promise<number> {
    const offset = Number(row.size);
    const rangeHeaders = { Range: `0-${Math.max(offset - 1, 0)}`, Location: `/v2/${repositoryName}/blobs/uploads/${row.id}` };
    let expected = body.length;
    if (body.range) {
      if (body.range.start !== offset) {
        throw ociError('RANGE_INVALID', `chunk starts at byte ${body.range.start}, but the upload holds ${offset} bytes`, {
          headers: rangeHeaders,
        });
      }
      const rangeLength = body.range.end - body.range.start + 1;
      if (expected !== null && expected !== rangeLength) {
        throw ociError('SIZE_INVALID', `Content-Range covers ${rangeLength} bytes but Content-Length is ${expected}`);
      }
      expected = rangeLength;
    }
    if (expected === 0) return offset;

    const running = await this.runningHash(row);
    const hash = running.hash.copy();
    let received = 0;
    async function* counted(source: AsyncIterable<Uint8Array>) {
      for await (const chunk of source) {
        received += chunk.byteLength;
        if (expected !== null && received > expected) break;
        hash.update(chunk);
        yield chunk;
      }
      if (expected !== null && received !== expected) {
        throw ociError('SIZE_INVALID', `received ${received} bytes, but the request declared ${expected}`);
      }
    }
    await this.blobs.appendUpload(row.id, offset, counted(body.stream));
    const size = offset + received;
    if (!(await this.store.advanceUpload(row.id, offset, size, nowIso()))) {
      throw ociError('BLOB_UPLOAD_INVALID', `upload ${row.id} was changed by another request`, { status: 409 });
    }
    this.hashes.set(row.id, { algorithm: running.algorithm, hash, offset: size });
    return size;
  }

  private async runningHash(row: UploadRow): Promise<RunningHash> {
    const offset = Number(row.size);
    const known = this.hashes.get(row.id);
    if (known && known.offset === offset) return known;
    const algorithm = isDigestAlgorithm(row.digest_algorithm) ? row.digest_algorithm : 'sha256';
    const hash = await this.hashStored(row.id, offset, algorithm);
    const running = { algorithm, hash, offset };
    this.hashes.set(row.id, running);
    return running;
  }

  private async hashStored(id: string, length: number, algorithm: DigestAlgorithm): Promise<Hash> {
    const hash = createHash(algorithm);
    for await (const chunk of await this.blobs.readUpload(id, length)) hash.update(chunk as Uint8Array);
    return hash;
  }

  private async digestOfUpload(id: string, size: number, algorithm: DigestAlgorithm): Promise<string> {
    const running = this.hashes.get(id);
    const hash =
      running && running.offset === size && running.algorithm === algorithm
        ? running.hash.copy()
        : await this.hashStored(id, size, algorithm);
    return `${algorithm}:${hash.digest('hex')}`;
  }
}
