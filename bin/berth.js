#!/usr/bin/env node
// Runs the transpiled dist/ (built by `npm ci`/`npm run build`) when it is at least as new
// as every file in src/; otherwise runs the TypeScript sources through tsx, so an edited
// checkout never runs a stale copy.
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const marker = path.join(root, 'dist', '.built');

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(full) : statSync(full).mtimeMs);
  }
  return newest;
}

const fresh = existsSync(marker) && statSync(marker).mtimeMs >= newestSource(path.join(root, 'src'));
if (fresh && process.env.BERTH_FROM_SOURCE !== '1') {
  await import(path.join(root, 'dist', 'main.js'));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(path.join(root, 'src', 'main.ts'));
}
