import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { freePort } from './ports.js';
import { adminPassword, basicAuth } from './server.js';

const root = path.resolve(fileURLToPath(new URL('../..', import.meta.url)));

/** A port nobody listens on right now, on 127.0.0.1. */
export interface ChildBerth {
  url: string;
  process: ChildProcess;
  /** Everything it wrote to stdout and stderr. */
  output: string[];
  exited: Promise<number | null>;
  admin: { authorization: string };
  /** SIGKILL: no shutdown, no lease released, no transaction finished. */
  kill9(): Promise<void>;
  /** SIGTERM, and waits for the exit. */
  stop(): Promise<void>;
}

/**
 * Runs `berth serve` as its own process (so that kill -9 is real) with a config file in
 * `dataDir`: the given `config` merged over a test baseline (127.0.0.1, a free port, the
 * test admin password, quiet logs). Resolves once /api/v2.0/ping answers.
 */
export async function startChildBerth(
  dataDir: string,
  config: Record<string, unknown>,
  name = 'berth',
  env: Record<string, string> = {},
): Promise<ChildBerth> {
  const port = await freePort();
  const configFile = path.join(dataDir, `${name}-${port}.yaml`);
  const base: Record<string, unknown> = {
    data_dir: dataDir,
    server: { host: '127.0.0.1', port, shutdown_grace_seconds: 2 },
    auth: { admin_password: adminPassword },
    log: { level: 'warn', access: false },
  };
  await writeFile(configFile, stringify(merge(base, config)));
  const child = spawn(process.execPath, [path.join(root, 'bin/berth.js'), 'serve', '--config', configFile], {
    cwd: root,
    env: { ...process.env, AWS_SDK_JS_SUPPRESS_NODE_DEPRECATION_WARNING: '1', BERTH_DATABASE_URL: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stdout!.on('data', (d: Buffer) => output.push(d.toString()));
  child.stderr!.on('data', (d: Buffer) => output.push(d.toString()));
  // 'close', not 'exit': the process can have exited with output still in its pipes, and a
  // test reading `output` after stop() must see its last lines (a flush on exit included).
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  // Generous: without a built dist/, bin/berth.js transpiles src/ on start, slow on a busy machine.
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${name} exited with ${child.exitCode}:\n${output.join('')}`);
    try {
      if ((await fetch(`${url}/api/v2.0/ping`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${name} did not answer within 120 s:\n${output.join('')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    process: child,
    output,
    exited,
    admin: { authorization: basicAuth('admin', adminPassword) },
    async kill9() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

function merge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] =
      v && typeof v === 'object' && !Array.isArray(v) && prev && typeof prev === 'object' && !Array.isArray(prev)
        ? merge(prev as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}
