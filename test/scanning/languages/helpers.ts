import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Analyzer, AnalyzerResult } from '../../../src/scanning/inventory/analyzer.js';
import type { Package } from '../../../src/scanning/types.js';

/**
 * Runs an analyzer over a real directory the way the image walk does: every regular file the
 * analyzer wants (path relative to `root`, no leading slash), its bytes whole.
 */
export async function analyzeTree(
  analyzer: Analyzer,
  root: string,
  under = '',
): Promise<{ packages: Package[]; notes: string[]; files: string[] }> {
  const packages: Package[] = [];
  const notes: string[] = [];
  const files: string[] = [];
  for (const entry of readdirSync(path.join(root, under), { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = path.join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name);
    const rel = path.relative(root, full).split(path.sep).join('/');
    const { size, mode } = statSync(full);
    if (!analyzer.wants(rel, { size, mode })) continue;
    files.push(rel);
    const result: AnalyzerResult = await analyzer.analyze({ path: rel, layer: 0, bytes: readFileSync(full) });
    packages.push(...(result.packages ?? []));
    notes.push(...(result.notes ?? []));
  }
  return { packages, notes, files };
}

export const nameAtVersion = (p: { name: string; version: string }) => `${p.name}@${p.version}`;
