import { createHash } from 'node:crypto';
import { isDigestAlgorithm, parseDigest } from '../oci/digest.js';
import { parseManifest, type ParsedManifest } from '../oci/manifest.js';
import { isForeignLayer } from '../oci/mediatypes.js';
import type { BlobIntegrity, BlobRecord, ManifestRecord } from '../registry/integrity.js';
import type { BlobStore } from '../storage/blobstore.js';

/** What a run counts; the names are the API's. */
export interface ScrubCounts {
  blobs_total: number;
  blobs_checked: number;
  bytes_checked: number;
  manifests_total: number;
  manifests_checked: number;
  /** Objects whose bytes hash to another digest. */
  digest_mismatches: number;
  /** Objects of another length than recorded. */
  size_mismatches: number;
  /** Blob rows whose object is not in the store. */
  missing_objects: number;
  /** Objects that could not be read to the end (not counted as corrupt, never quarantined). */
  read_errors: number;
  /** Manifests naming a blob with no row or another size, or an index child that is not in the repository. */
  broken_references: number;
  /** Stored manifests whose bytes do not hash to their digest, or do not parse. */
  manifest_mismatches: number;
  /** Artifacts whose manifest names a quarantined blob (pulls of them fail at that blob). */
  affected_artifacts: number;
  /** Blobs this run quarantined or found still quarantined. */
  quarantined: number;
  /** Quarantined blobs that verified again (their object was restored) and were released. */
  released: number;
}

export type FindingKind =
  | 'digest_mismatch'
  | 'size_mismatch'
  | 'missing_object'
  | 'read_error'
  | 'missing_blob'
  | 'reference_size_mismatch'
  | 'missing_child'
  | 'manifest_mismatch'
  | 'affected_artifact';

export interface Finding {
  kind: FindingKind;
  /** The blob (or manifest, for manifest_mismatch) the finding is about. */
  digest: string;
  repository: string | null;
  /** For findings about a manifest's references: the manifest. */
  artifactDigest: string | null;
  expectedSize: number | null;
  actualSize: number | null;
  actualDigest: string | null;
  quarantined: boolean;
  message: string;
}

export interface ScrubParams {
  /** Blobs hashed at once. */
  workers: number;
  /** Quarantine what is found corrupt or missing (false: report only). */
  quarantine: boolean;
}

/** Where a run reports to (the job's run row and log, or the terminal). */
export interface ScrubSink {
  finding(finding: Finding): Promise<void>;
  /** Called often; the sink decides how often to record. */
  progress(counts: ScrubCounts): Promise<void>;
  log(message: string, level?: 'INFO' | 'WARNING' | 'ERROR'): Promise<void>;
}

export function emptyCounts(): ScrubCounts {
  return {
    blobs_total: 0,
    blobs_checked: 0,
    bytes_checked: 0,
    manifests_total: 0,
    manifests_checked: 0,
    digest_mismatches: 0,
    size_mismatches: 0,
    missing_objects: 0,
    read_errors: 0,
    broken_references: 0,
    manifest_mismatches: 0,
    affected_artifacts: 0,
    quarantined: 0,
    released: 0,
  };
}

/** Problems a run found: what makes `berth scrub` exit non-zero. */
export function problemCount(c: ScrubCounts): number {
  return c.digest_mismatches + c.size_mismatches + c.missing_objects + c.read_errors + c.broken_references + c.manifest_mismatches;
}

type BlobVerdict =
  | { ok: true; bytes: number }
  | { ok: false; kind: 'digest_mismatch' | 'size_mismatch'; bytes: number; actualDigest: string }
  | { ok: false; kind: 'missing_object' | 'read_error'; bytes: number; error: string };

const blobPageSize = 500;
const manifestPageSize = 64;

/**
 * One integrity scrub: re-hashes every stored blob, streaming it from the BlobStore
 * (`workers` at a time, never a whole blob in memory), then checks every stored manifest:
 * its bytes against its digest, and that every blob it names has a row of the size it
 * gives and every child of an index is in the repository. A blob whose object is wrong or
 * missing is quarantined, at the generation that was read (see registry/integrity.ts).
 */
export class Scrubber {
  constructor(
    private readonly integrity: BlobIntegrity,
    private readonly blobs: BlobStore,
    private readonly now: () => string = () => new Date().toISOString(),
  ) {}

  async run(params: ScrubParams, runId: number | null, sink: ScrubSink, signal: AbortSignal): Promise<ScrubCounts> {
    const counts = emptyCounts();
    counts.blobs_total = await this.integrity.countBlobs();
    counts.manifests_total = await this.integrity.countManifests();
    await sink.log(
      `scrubbing ${counts.blobs_total} blob(s) and ${counts.manifests_total} manifest(s), ${params.workers} blob(s) at a time` +
        (params.quarantine ? '' : '; report only, nothing is quarantined'),
    );
    await sink.progress(counts);

    await forEachConcurrently(this.blobPages(signal), params.workers, signal, async (blob) => {
      const verdict = await this.verify(blob, signal);
      signal.throwIfAborted();
      counts.blobs_checked++;
      counts.bytes_checked += verdict.bytes;
      if (verdict.ok) {
        if (blob.quarantinedAt !== null && params.quarantine && (await this.integrity.release(blob.digest, blob.generation))) {
          counts.released++;
          await sink.log(`blob ${blob.digest} verifies again: its quarantine is lifted`);
        }
      } else {
        await this.report(blob, verdict, params, runId, counts, sink);
      }
      await sink.progress(counts);
    });
    await sink.log(`blobs done: ${counts.blobs_checked} checked, ${counts.bytes_checked} bytes hashed`);

    for await (const page of this.manifestPages(signal)) {
      await this.checkManifests(page, counts, sink);
      await sink.progress(counts);
    }
    await sink.log(`manifests done: ${counts.manifests_checked} checked`);
    return counts;
  }

  private async *blobPages(signal: AbortSignal): AsyncGenerator<BlobRecord> {
    let after: string | null = null;
    for (;;) {
      signal.throwIfAborted();
      const page = await this.integrity.blobPage(after, blobPageSize);
      yield* page;
      if (page.length < blobPageSize) return;
      after = page[page.length - 1].digest;
    }
  }

  private async *manifestPages(signal: AbortSignal): AsyncGenerator<ManifestRecord[]> {
    let after = 0;
    for (;;) {
      signal.throwIfAborted();
      const page = await this.integrity.manifestPage(after, manifestPageSize);
      if (page.length > 0) yield page;
      if (page.length < manifestPageSize) return;
      after = page[page.length - 1].id;
    }
  }

  /** Streams the object through its digest's hash. */
  private async verify(blob: BlobRecord, signal: AbortSignal): Promise<BlobVerdict> {
    const algorithm = parseDigest(blob.digest)?.algorithm;
    if (!algorithm || !isDigestAlgorithm(algorithm)) return { ok: false, kind: 'read_error', bytes: 0, error: 'not a supported digest' };
    const hash = createHash(algorithm);
    let bytes = 0;
    try {
      const stream = await this.blobs.read(blob.digest);
      try {
        for await (const chunk of stream) {
          signal.throwIfAborted();
          hash.update(chunk as Uint8Array);
          bytes += (chunk as Uint8Array).byteLength;
        }
      } finally {
        stream.destroy();
      }
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'ENOENT') return { ok: false, kind: 'missing_object', bytes, error: e.message };
      return { ok: false, kind: 'read_error', bytes, error: e.message || String(err) };
    }
    const actualDigest = `${algorithm}:${hash.digest('hex')}`;
    if (bytes !== blob.size) return { ok: false, kind: 'size_mismatch', bytes, actualDigest };
    if (actualDigest !== blob.digest) return { ok: false, kind: 'digest_mismatch', bytes, actualDigest };
    return { ok: true, bytes };
  }

  private async report(
    blob: BlobRecord,
    verdict: Exclude<BlobVerdict, { ok: true }>,
    params: ScrubParams,
    runId: number | null,
    counts: ScrubCounts,
    sink: ScrubSink,
  ) {
    let quarantined = false;
    if (verdict.kind !== 'read_error') {
      // Compare-and-set on the generation read: a blob healed or swept meanwhile is left alone.
      const current = params.quarantine
        ? await this.integrity.quarantine(blob.digest, blob.generation, verdict.kind, runId, this.now())
        : await this.integrity.unchanged(blob.digest, blob.generation);
      if (!current) return;
      quarantined = params.quarantine;
    }
    counts[
      verdict.kind === 'digest_mismatch'
        ? 'digest_mismatches'
        : verdict.kind === 'size_mismatch'
          ? 'size_mismatches'
          : verdict.kind === 'missing_object'
            ? 'missing_objects'
            : 'read_errors'
    ]++;
    if (quarantined) counts.quarantined++;
    const actualDigest = 'actualDigest' in verdict ? verdict.actualDigest : null;
    const what =
      verdict.kind === 'digest_mismatch'
        ? `its stored bytes hash to ${actualDigest}`
        : verdict.kind === 'size_mismatch'
          ? `its stored object is ${verdict.bytes} bytes, not the ${blob.size} recorded`
          : verdict.kind === 'missing_object'
            ? 'its object is missing from storage'
            : `its object could not be read (${'error' in verdict ? verdict.error : ''})`;
    const message = `blob ${blob.digest}: ${what}${quarantined ? '; quarantined' : ''}`;
    await sink.finding({
      kind: verdict.kind,
      digest: blob.digest,
      repository: null,
      artifactDigest: null,
      expectedSize: blob.size,
      actualSize: verdict.kind === 'missing_object' ? null : verdict.bytes,
      actualDigest,
      quarantined,
      message,
    });
  }

  private async checkManifests(page: ManifestRecord[], counts: ScrubCounts, sink: ScrubSink): Promise<void> {
    const parsed = new Map<number, ParsedManifest>();
    for (const m of page) {
      counts.manifests_checked++;
      const algorithm = parseDigest(m.digest)?.algorithm;
      const actual =
        algorithm && isDigestAlgorithm(algorithm) ? `${algorithm}:${createHash(algorithm).update(m.bytes).digest('hex')}` : null;
      let problem: string | null = actual === m.digest ? null : `its stored bytes hash to ${actual ?? 'nothing (unknown algorithm)'}`;
      if (problem === null) {
        try {
          parsed.set(m.id, parseManifest(m.bytes, m.mediaType));
        } catch (err) {
          problem = `its stored bytes do not parse: ${(err as Error).message}`;
        }
      }
      if (problem !== null) {
        counts.manifest_mismatches++;
        await sink.finding({
          ...noSizes,
          kind: 'manifest_mismatch',
          digest: m.digest,
          repository: m.repository,
          artifactDigest: m.digest,
          actualDigest: actual,
          message: `manifest ${m.repository}@${m.digest}: ${problem}`,
        });
      }
    }

    const descriptors = new Map<number, Array<{ digest: string; size: number }>>();
    for (const m of page) {
      const manifest = parsed.get(m.id);
      if (!manifest) continue;
      descriptors.set(
        m.id,
        [...(manifest.config ? [manifest.config] : []), ...manifest.layers].filter(
          (d) => !(isForeignLayer(d.mediaType) && d.urls && d.urls.length > 0),
        ),
      );
    }
    const rows = await this.integrity.blobRows([...new Set([...descriptors.values()].flat().map((d) => d.digest))]);
    for (const m of page) {
      const manifest = parsed.get(m.id);
      if (!manifest) continue;
      let affected = false;
      for (const d of descriptors.get(m.id) ?? []) {
        const row = rows.get(d.digest);
        const where = { repository: m.repository, artifactDigest: m.digest, digest: d.digest };
        if (!row) {
          counts.broken_references++;
          await sink.finding({
            ...noSizes,
            ...where,
            kind: 'missing_blob',
            expectedSize: d.size,
            message: `manifest ${m.repository}@${m.digest} names blob ${d.digest}, which is not stored`,
          });
        } else if (row.size !== d.size) {
          counts.broken_references++;
          await sink.finding({
            ...noSizes,
            ...where,
            kind: 'reference_size_mismatch',
            expectedSize: d.size,
            actualSize: row.size,
            message: `manifest ${m.repository}@${m.digest} gives blob ${d.digest} size ${d.size}, but ${row.size} bytes are recorded`,
          });
        } else if (row.quarantined && !affected) {
          affected = true;
          counts.affected_artifacts++;
          await sink.finding({
            ...noSizes,
            ...where,
            kind: 'affected_artifact',
            quarantined: true,
            message: `artifact ${m.repository}@${m.digest} names quarantined blob ${d.digest}: pulls of it fail at that blob until it is pushed again`,
          });
        }
      }
      if (manifest.manifests.length > 0) {
        const children = await this.integrity.manifestsIn(
          m.repositoryId,
          manifest.manifests.map((c) => c.digest),
        );
        for (const child of manifest.manifests) {
          if (children.has(child.digest)) continue;
          counts.broken_references++;
          await sink.finding({
            ...noSizes,
            kind: 'missing_child',
            digest: child.digest,
            repository: m.repository,
            artifactDigest: m.digest,
            message: `index ${m.repository}@${m.digest} names manifest ${child.digest}, which is not in the repository`,
          });
        }
      }
    }
  }
}

const noSizes = { expectedSize: null, actualSize: null, actualDigest: null, quarantined: false } as const;

/**
 * Runs `work` over the items, at most `limit` at once. Stops taking items once one fails
 * or the signal fires, waits for those in hand, then throws the first failure.
 */
export async function forEachConcurrently<T>(
  items: AsyncIterable<T>,
  limit: number,
  signal: AbortSignal,
  work: (item: T) => Promise<void>,
): Promise<void> {
  const iterator = items[Symbol.asyncIterator]();
  let failure: { error: unknown } | null = null;
  const worker = async () => {
    while (failure === null && !signal.aborted) {
      let next: IteratorResult<T>;
      try {
        next = await iterator.next();
      } catch (error) {
        failure ??= { error };
        return;
      }
      if (next.done) return;
      try {
        await work(next.value);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, limit) }, worker));
  await iterator.return?.(undefined);
  if (failure !== null) throw (failure as { error: unknown }).error;
  signal.throwIfAborted();
}
