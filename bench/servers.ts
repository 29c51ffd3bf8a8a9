import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const dockerRegistryBin = '/usr/bin/docker-registry';

export interface Server {
  name: string;
  base: string;
  pid: number;
  dir: string;
  /** Peak and current resident set size in bytes, from /proc/<pid>/status. */
  memory(): { hwm: number; rss: number } | null;
  /** Resets the peak RSS to the current RSS (Linux ≥ 4.0); false when the kernel refused. */
  resetPeak(): boolean;
  stop(): Promise<void>;
}

const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();
/** Synchronous clean-ups run by cleanupSync after the children are killed (e.g. dropping a database). */
const cleanups: Array<{ run: () => void; kept: string }> = [];
let keep = false;

/** Registers a child process for cleanupSync to kill. */
export function track(child: ChildProcess): void {
  children.add(child);
  child.once('exit', () => children.delete(child));
}

/**
 * Registers a synchronous clean-up for cleanupSync (after the children are killed); with
 * --keep it is not run and `kept` (what is left behind) is printed instead. Returns a function
 * that unregisters it, for when the thing has been cleaned up normally.
 */
export function onCleanup(run: () => void, kept: string): () => void {
  const entry = { run, kept };
  cleanups.push(entry);
  return () => {
    const i = cleanups.indexOf(entry);
    if (i >= 0) cleanups.splice(i, 1);
  };
}

/** Whether --keep asked to leave what the bench made. */
export function keepingTempDirs(): boolean {
  return keep;
}

/** Leave the temp dirs in place at the end (to inspect a registry's data, e.g. with EXPLAIN QUERY PLAN). */
export function keepTempDirs(): void {
  keep = true;
}

/** Kills what this bench started and removes its temp dirs (unless kept); safe to call more than once. */
export function cleanupSync(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  children.clear();
  const pending = cleanups.splice(0);
  if (keep) {
    for (const dir of tempDirs) process.stderr.write(`kept ${dir}\n`);
    for (const c of pending) process.stderr.write(`kept ${c.kept}\n`);
    tempDirs.clear();
    return;
  }
  for (const c of pending) {
    try {
      c.run();
    } catch (err) {
      process.stderr.write(`clean-up failed (${c.kept}): ${err instanceof Error ? err.message : String(err)}\n`);
    }
  }
  for (const dir of tempDirs) {
    const t0 = performance.now();
    // GNU rm removes docker-registry's tens of thousands of small files ~1.5x faster than fs.rmSync.
    const r = spawnSync('rm', ['-rf', '--one-file-system', dir]);
    if (r.status !== 0) rmSync(dir, { recursive: true, force: true });
    if (process.env.BENCH_DEBUG) process.stderr.write(`removed ${dir} in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  }
  tempDirs.clear();
}

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

let clockTicks: number | undefined;

/** CPU time (user + system) a process has used so far, in seconds; null when /proc does not say. */
export function cpuSeconds(pid: number): number | null {
  const times = cpuTimes(pid);
  return times && times.user + times.system;
}

/** User and system CPU time a process has used so far, in seconds; null when /proc does not say. */
export function cpuTimes(pid: number): { user: number; system: number } | null {
  try {
    clockTicks ??= Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces; the fields after its closing parenthesis are fixed.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const times = { user: Number(fields[11]) / clockTicks, system: Number(fields[12]) / clockTicks };
    // A Berth with workers (--workers): the primary's and every living worker's.
    for (const child of childrenOf(pid)) {
      const c = cpuTimes(child);
      times.user += c?.user ?? 0;
      times.system += c?.system ?? 0;
    }
    return times;
  } catch {
    return null;
  }
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** `--workers=N`: every Berth the bench starts runs N worker processes (server.workers). */
const workersArg = process.argv.find((a) => a.startsWith('--workers='))?.slice('--workers='.length);
export const berthWorkers = workersArg === undefined ? 1 : Number(workersArg);
if (!Number.isInteger(berthWorkers) || berthWorkers < 1) throw new Error(`--workers must be a positive integer, not ${workersArg}`);

function readMemory(pid: number): { hwm: number; rss: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
    return { hwm: kb('VmHWM'), rss: kb('VmRSS') };
  } catch {
    return null;
  }
}

function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

async function waitReady(base: string, child: ChildProcess, name: string, logFile: () => string): Promise<void> {
  const until = Date.now() + 30_000;
  while (Date.now() < until) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${name} exited during start (${child.exitCode ?? child.signalCode}):\n${logFile()}`);
    }
    try {
      const res = await fetch(`${base}/v2/`);
      await res.arrayBuffer();
      if (res.status === 200 || res.status === 401) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`${name} did not answer on ${base} within 30 s:\n${logFile()}`);
}

function stopper(child: ChildProcess, name: string): () => Promise<void> {
  return async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => {
      process.stderr.write(`${name} did not stop in 15 s; killing it\n`);
      child.kill('SIGKILL');
    }, 15_000);
    await exited;
    clearTimeout(timer);
    children.delete(child);
  };
}

function captureOutput(child: ChildProcess): () => string {
  let out = '';
  const keep = (chunk: Buffer) => {
    out = (out + chunk.toString('utf8')).slice(-8000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return () => out;
}

export const benchPassword = 'bench-Passw0rd';

/**
 * Transpiles src/ to plain JavaScript in a temp dir (esbuild, type-stripping only; the
 * same esbuild that tsx uses), so that Berth can run under plain node without tsx's
 * loader thread. Returns the entry point.
 */
export async function transpileBerth(): Promise<string> {
  const { build } = await import('esbuild');
  const out = tempDir('berth-compiled-');
  const sources: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) sources.push(full);
    }
  };
  walk(path.join(root, 'src'));
  await build({
    entryPoints: sources,
    outdir: path.join(out, 'src'),
    outbase: path.join(root, 'src'),
    format: 'esm',
    platform: 'node',
    target: 'node20',
    logLevel: 'error',
  });
  copyFileSync(path.join(root, 'package.json'), path.join(out, 'package.json'));
  symlinkSync(path.join(root, 'node_modules'), path.join(out, 'node_modules'), 'dir');
  return path.join(out, 'src', 'main.js');
}

export async function startBerth(
  options: {
    nodeArgs?: string[];
    entry?: string;
    configFile?: string;
    /** How the bench names this instance (default "berth"). */
    name?: string;
    /** BERTH_* settings of this instance (they override the config file, as environment variables do). */
    env?: Record<string, string>;
  } = {},
): Promise<Server> {
  const name = options.name ?? 'berth';
  const dir = tempDir('berth-bench-');
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('BERTH_') && !k.startsWith('NODE_OPTIONS')) env[k] = v;
  Object.assign(
    env,
    { BERTH_LOG_ACCESS: 'false', BERTH_LOG_LEVEL: 'warn', BERTH_ADMIN_PASSWORD: benchPassword, BERTH_WORKERS: String(berthWorkers) },
    options.env,
  );
  // Run the node binary itself (not a shell or npm), so that the pid is Berth's own.
  const child = spawn(
    process.execPath,
    [
      ...(options.nodeArgs ?? []),
      options.entry ?? path.join(root, 'bin', 'berth.js'),
      'serve',
      '--port',
      String(port),
      '--data-dir',
      path.join(dir, 'data'),
      '--host',
      '127.0.0.1',
      ...(options.configFile ? ['--config', path.resolve(options.configFile)] : []),
    ],
    { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  track(child);
  const output = captureOutput(child);
  const base = `http://127.0.0.1:${port}`;
  await waitReady(base, child, name, output);
  return {
    name,
    base,
    pid: child.pid!,
    dir,
    memory: () => readMemory(child.pid!),
    resetPeak: () => resetPeak(child.pid!),
    stop: stopper(child, name),
  };
}

export function dockerRegistryVersion(): string {
  const r = spawnSync(dockerRegistryBin, ['--version'], { encoding: 'utf8' });
  return (r.stdout || r.stderr || 'unknown').trim();
}

export async function startDockerRegistry(options: { catalogMaxEntries: number }): Promise<Server> {
  const dir = tempDir('distribution-bench-');
  const port = await freePort();
  const config = [
    'version: 0.1',
    'log:',
    '  level: error',
    '  formatter: text',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${path.join(dir, 'storage')}`,
    '  delete:',
    '    enabled: true',
    // As Debian's and upstream's example configs ship it.
    '  cache:',
    '    blobdescriptor: inmemory',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    'catalog:',
    `  maxentries: ${options.catalogMaxEntries}`,
    '',
  ].join('\n');
  const configFile = path.join(dir, 'config.yml');
  writeFileSync(configFile, config);
  const child = spawn(dockerRegistryBin, ['serve', configFile], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  track(child);
  const output = captureOutput(child);
  const base = `http://127.0.0.1:${port}`;
  await waitReady(base, child, 'docker-registry', output);
  return {
    name: 'docker-registry',
    base,
    pid: child.pid!,
    dir,
    memory: () => readMemory(child.pid!),
    resetPeak: () => resetPeak(child.pid!),
    stop: stopper(child, 'docker-registry'),
  };
}
