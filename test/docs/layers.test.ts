import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';

// The house's floors (docs/ARCHITECTURE.md): a file imports only from its own floor or the
// floors below it. Every top-level name under src/ not listed here is a feature (floor 3).
const floors: Record<string, number> = {
  'main.ts': 1,
  'app.ts': 1,
  'cluster.ts': 1,
  server: 2,
  auth: 4,
  jobs: 4,
  events: 4,
  settings: 4,
  http: 4,
  metrics: 4,
  tracing: 4,
  db: 5,
  storage: 5,
  oci: 6,
  config: 6,
  lib: 6,
  'version.ts': 6,
};
const featureFloor = 3;

const src = join(import.meta.dirname, '../../src');

function floorOf(path: string): number {
  return floors[path.split('/')[0]!] ?? featureFloor;
}

function* sourceFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) yield* sourceFiles(full);
    else if (entry.name.endsWith('.ts')) yield full;
  }
}

test('every import in src/ goes to the same floor or one below', () => {
  const wrong: string[] = [];
  let seen = 0;
  for (const file of sourceFiles(src)) {
    const from = relative(src, file);
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(/^\s*(?:import|export)\b[^;]*?from\s+'(\.[^']+)'/gms)) {
      const to = relative(src, join(file, '..', match[1]!));
      seen++;
      if (to.startsWith('..')) continue;
      if (floorOf(to) < floorOf(from)) wrong.push(`${from} (floor ${floorOf(from)}) imports ${to} (floor ${floorOf(to)})`);
    }
  }
  assert.ok(seen > 1000, `only ${seen} imports read`);
  assert.deepEqual(wrong, []);
});
