/**
 * What the image walk asks of a package analyzer: which paths it wants, how many bytes it will
 * read of one, and what it makes of the file. The walk keeps each result under its path so that
 * a later layer's file or a whiteout replaces or removes it.
 */
import type { Readable } from 'node:stream';
import type { OsInfo, Package } from '../types.js';

export interface AnalyzerResult {
  packages?: Package[];
  os?: OsInfo;
  notes?: string[];
}

export interface AnalyzedFile {
  /** Path inside the image, no leading slash (`var/lib/dpkg/status`). */
  path: string;
  /** Index of the layer (0 = base) the file comes from. */
  layer: number;
  bytes: Buffer;
}

export interface StreamedFile {
  path: string;
  layer: number;
  /** The file's size from its tar header. */
  size: number;
  /** The file's body; the analyzer must consume it or drain it (`stream.resume()`). */
  stream: Readable;
}

export interface Analyzer {
  /** Stable name, part of the layer cache key together with `version`. */
  name: string;
  /** Bump when the analyzer's output for the same bytes changes (invalidates cached layer results). */
  version?: number;
  /**
   * Called for every regular file (path without leading slash; size and mode from the tar
   * header, so a binary analyzer can pick executables); must be cheap.
   */
  wants(path: string, entry: { size: number; mode: number }): boolean;
  /** Files larger than this are skipped with a note (not used when `analyzeStream` is present). */
  maxBytes: number;
  analyze(file: AnalyzedFile): Promise<AnalyzerResult> | AnalyzerResult;
  /** When present, the walk streams the file here instead of buffering it (large binaries). */
  analyzeStream?(file: StreamedFile): Promise<AnalyzerResult>;
}
