import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { VulnDbError, type ImportResult, type VulnDbImporter } from './import.js';

export interface UpdateOptions {
  /** Base URL of an OSV export: `<url>/<Ecosystem>/all.zip` is downloaded. */
  url: string;
  ecosystems: readonly string[];
  /** Where archives are written while they are imported (removed after). */
  tempDir: string;
  signal?: AbortSignal;
  log?: (message: string) => void | Promise<void>;
}

/** The archive URL of one ecosystem (`Red Hat` → `Red%20Hat/all.zip`). */
export function archiveUrl(base: string, ecosystem: string): string {
  return `${base.replace(/\/+$/, '')}/${encodeURIComponent(ecosystem)}/all.zip`;
}

/** Downloads one archive to a file, streaming: it is never held in memory. */
async function download(url: string, file: string, signal?: AbortSignal): Promise<number> {
  let response: Response;
  try {
    response = await fetch(url, { signal, redirect: 'follow' });
  } catch (err) {
    const cause = (err as { cause?: { message?: string; code?: string } }).cause;
    throw new VulnDbError(`could not download ${url}: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
  }
  if (!response.ok || !response.body) {
    await response.body?.cancel().catch(() => undefined);
    throw new VulnDbError(`could not download ${url}: HTTP ${response.status} ${response.statusText}`.trim());
  }
  let bytes = 0;
  const counted = Readable.fromWeb(response.body as WebReadableStream<Uint8Array>).on('data', (chunk: Buffer) => {
    bytes += chunk.length;
  });
  await pipeline(counted, createWriteStream(file), { signal });
  return bytes;
}

/**
 * Downloads each ecosystem's all.zip from the configured OSV export and imports it. Every
 * ecosystem is tried; one that fails (unreachable, not a zip) is reported with its error and
 * leaves the records it had before.
 */
export async function updateFromUrl(importer: VulnDbImporter, options: UpdateOptions): Promise<ImportResult[]> {
  await mkdir(options.tempDir, { recursive: true });
  const dir = await mkdtemp(path.join(options.tempDir, 'vulndb-'));
  const results: ImportResult[] = [];
  try {
    for (const ecosystem of options.ecosystems) {
      options.signal?.throwIfAborted();
      const url = archiveUrl(options.url, ecosystem);
      const file = path.join(dir, `${ecosystem.replace(/[^A-Za-z0-9.-]/g, '_')}.zip`);
      try {
        await options.log?.(`${ecosystem}: downloading ${url}`);
        const bytes = await download(url, file, options.signal);
        await options.log?.(`${ecosystem}: downloaded ${bytes} bytes; importing`);
      } catch (err) {
        if (options.signal?.aborted) throw err;
        const message = (err as Error).message;
        await options.log?.(`${ecosystem}: ${message}`);
        results.push(failed(ecosystem, url, message));
        continue;
      }
      results.push(await importer.importZip(ecosystem, file, url));
      await rm(file, { force: true });
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return results;
}

function failed(ecosystem: string, source: string, error: string): ImportResult {
  return {
    ecosystem,
    source,
    read: 0,
    imported: 0,
    unchanged: 0,
    removed: 0,
    irrelevant: 0,
    skipped: 0,
    problems: [],
    newestModified: null,
    error,
  };
}
