/**
 * What each layer contributed, kept by layer digest and analyzer set, so that a scan of an
 * image whose layers were seen before (the same base image, a rescan after a database
 * update) reads none of them again. Bounded by entries, least recently used out first.
 */
import { LRUCache } from 'lru-cache';
import type { Analyzer } from './analyzer.js';
import type { LayerResult } from './layers.js';

export interface LayerCacheStats {
  hits: number;
  misses: number;
  entries: number;
}

export class LayerCache {
  private readonly entries: LRUCache<string, LayerResult>;
  /** Layers being read right now: a second scan of the same layer waits for the first. */
  private readonly reading = new Map<string, Promise<LayerResult>>();
  private hits = 0;
  private misses = 0;

  constructor(maxEntries: number) {
    this.entries = new LRUCache({ max: Math.max(1, maxEntries) });
  }

  /** The cached result for the key, or the one `read` produces (cached once it succeeds). */
  async get(key: string, read: () => Promise<LayerResult>): Promise<{ result: LayerResult; cached: boolean }> {
    const hit = this.entries.get(key);
    if (hit) {
      this.hits++;
      return { result: hit, cached: true };
    }
    const pending = this.reading.get(key);
    if (pending) {
      // The first reader failing (or being stopped) is no answer for this one: read it here then.
      const shared = await pending.then(
        (result) => result,
        () => null,
      );
      if (shared) {
        this.hits++;
        return { result: shared, cached: true };
      }
      return this.get(key, read);
    }
    this.misses++;
    const promise = read();
    this.reading.set(key, promise);
    try {
      const result = await promise;
      this.entries.set(key, result);
      return { result, cached: false };
    } finally {
      this.reading.delete(key);
    }
  }

  stats(): LayerCacheStats {
    return { hits: this.hits, misses: this.misses, entries: this.entries.size };
  }

  clear(): void {
    this.entries.clear();
  }
}

/** The cache key of a layer read by a set of analyzers (their names and versions). */
export function layerCacheKey(layerDigest: string, analyzers: readonly Analyzer[]): string {
  return `${layerDigest}|${analyzers.map((a) => `${a.name}@${a.version ?? 0}`).join(',')}`;
}

/** The process-wide cache inventories use unless given another (or none). */
export const sharedLayerCache = new LayerCache(256);
