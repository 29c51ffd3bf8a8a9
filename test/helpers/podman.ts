import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { requireTools, requireWorking, runTool } from './tools.js';

/**
 * podman with its own image store under a temp dir, for every podman test:
 * vfs (needs no overlay or fuse), no events journal, TMPDIR there too.
 */
export function podmanGlobalArgs(dir: string): string[] {
  return [
    '--storage-driver',
    'vfs',
    '--root',
    path.join(dir, 'root'),
    '--runroot',
    path.join(dir, 'run'),
    '--tmpdir',
    path.join(dir, 'libpod'),
    '--events-backend',
    'none',
  ];
}

export function podmanEnv(dir: string): NodeJS.ProcessEnv {
  return { ...process.env, TMPDIR: dir, REGISTRY_AUTH_FILE: path.join(dir, 'auth.json') };
}

/** A podman bound to the store under `dir` (which must hold a `tmp` directory). */
export function podmanIn(dir: string) {
  const env = podmanEnv(path.join(dir, 'tmp'));
  const global = podmanGlobalArgs(dir);
  return (...args: string[]) => runTool('podman', [...global, ...args], { env, timeoutMs: 180_000 });
}

/** false when podman (and tar) are here and podman's vfs store works; otherwise a skip message (a failure under CI=true). */
export function podmanSkip(): false | string {
  const missing = requireTools('podman', 'tar');
  if (missing) return missing;
  const dir = mkdtempSync(path.join(tmpdir(), 'berth-podman-probe-'));
  try {
    return requireWorking('its image store (vfs)', 'podman', [...podmanGlobalArgs(dir), 'images'], podmanEnv(dir));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
