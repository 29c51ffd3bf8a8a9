#!/usr/bin/env node
// Transpiles src/ to plain JavaScript in dist/ (esbuild strips types; `npm run typecheck`
// checks them). bin/berth.js runs dist/ when it is at least as new as src/, so a served
// Berth carries no TypeScript loader (about 50 MiB less resident memory).
// Then builds the portal (web/) with Vite into web/dist, with gzip and brotli copies of
// each asset that `berth serve` sends to browsers that accept them.
import { readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { build as viteBuild } from 'vite';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const sources = [];
const walk = (dir) => {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(full);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) sources.push(full);
  }
};
walk(path.join(root, 'src'));
rmSync(path.join(root, 'dist'), { recursive: true, force: true });
await build({
  entryPoints: sources,
  outdir: path.join(root, 'dist'),
  outbase: path.join(root, 'src'),
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  logLevel: 'error',
});
writeFileSync(path.join(root, 'dist', '.built'), new Date().toISOString());

{
  // Built beside web/dist and swapped in, so a running Berth never serves a half-built portal.
  const next = path.join(root, 'web', 'dist.next');
  await viteBuild({ root: path.join(root, 'web'), logLevel: 'warn', build: { outDir: next, emptyOutDir: true } });
  const assets = path.join(next, 'assets');
  for (const name of readdirSync(assets)) {
    if (!/\.(js|css|svg|json)$/.test(name)) continue;
    const bytes = readFileSync(path.join(assets, name));
    writeFileSync(path.join(assets, `${name}.gz`), gzipSync(bytes, { level: 9 }));
    writeFileSync(path.join(assets, `${name}.br`), brotliCompressSync(bytes));
  }
  rmSync(path.join(root, 'web', 'dist'), { recursive: true, force: true });
  renameSync(next, path.join(root, 'web', 'dist'));
}
