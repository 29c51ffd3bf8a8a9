// Builds a directory under test-output/js/: the repository's src/ and test/ transpiled to JavaScript (esbuild,
// types stripped, as tsx does per file; source maps inline so failures point at the .ts lines),
// every other file of theirs linked beside, and the repository's other top-level entries linked
// in (package.json, bin/, docs/, web/…), so that paths computed from import.meta.url land where
// they would in the checkout. The tests then run as plain JavaScript: a test file's process
// spends no time in a TypeScript loader (about half of its start-up CPU on this machine).
import { mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { transform } from 'esbuild';

const transpiled = new Set(['src', 'test']);
const leftOut = new Set(['.git', 'node_modules', 'test-output']);

/** Builds the mirror of `root` at `mirror`; returns the path in it of each of `files` (relative .ts paths). */
export async function buildTestMirror(root, mirror, files) {
  rmSync(mirror, { recursive: true, force: true });
  mkdirSync(mirror, { recursive: true });
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    if (leftOut.has(entry.name) || transpiled.has(entry.name)) continue;
    symlinkSync(path.join(root, entry.name), path.join(mirror, entry.name));
  }
  const jobs = [];
  const walk = (relative) => {
    mkdirSync(path.join(mirror, relative), { recursive: true });
    for (const entry of readdirSync(path.join(root, relative), { withFileTypes: true })) {
      const from = path.join(relative, entry.name);
      if (entry.isDirectory()) {
        walk(from);
        continue;
      }
      symlinkSync(path.join(root, from), path.join(mirror, from));
      if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) jobs.push(from);
    }
  };
  for (const dir of transpiled) walk(dir);
  await Promise.all(
    jobs.map(async (from) => {
      const source = readFileSync(path.join(root, from), 'utf8');
      const { code } = await transform(source, {
        loader: 'ts',
        format: 'esm',
        platform: 'node',
        target: 'node20',
        sourcemap: 'inline',
        sourcefile: path.join(root, from),
      });
      writeFileSync(path.join(mirror, from.replace(/\.ts$/, '.js')), code);
    }),
  );
  return files.map((f) => path.join(mirror, f.replace(/\.ts$/, '.js')));
}
