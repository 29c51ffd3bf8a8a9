import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './ports.js';

/** Debian's CNCF Distribution registry (package docker-registry). */
export const dockerRegistryBin = 'docker-registry';

export interface DockerRegistry {
  /** http://127.0.0.1:<port> */
  url: string;
  port: number;
  /** The storage directory (kept across stop/start). */
  dir: string;
  /** Stops the process (SIGTERM); its storage stays, so `start()` brings the same content back. */
  stop(): Promise<void>;
  /** Starts it again on the same port and storage after `stop()`. */
  start(): Promise<void>;
  /** Stops it and removes its storage. */
  close(): Promise<void>;
}

async function waitReady(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited with ${child.exitCode}: ${output()}`);
    try {
      const res = await fetch(`${url}/v2/`);
      await res.arrayBuffer();
      if (res.status === 200 || res.status === 401) {
        // Another process may hold the port and have answered: ours then exits at once.
        await new Promise((r) => setTimeout(r, 150));
        if (child.exitCode !== null) throw new Error(`docker-registry exited with ${child.exitCode}: ${output()}`);
        return;
      }
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`docker-registry did not answer at ${url} within 15 s: ${output()}`);
}

/**
 * Starts a real docker-registry on 127.0.0.1 (a random free port, storage in a temp
 * directory, deletes enabled). Use `requireTools('docker-registry')` as the suite's skip.
 */
export async function startDockerRegistry(): Promise<DockerRegistry> {
  const dir = await mkdtemp(path.join(tmpdir(), 'berth-distribution-'));
  // A port found free may be taken before docker-registry binds it (other test processes run
  // at once): the first start tries a few ports.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      return await startOn(dir, port);
    } catch (err) {
      if (attempt >= 5 || !/exited/.test((err as Error).message)) {
        await rm(dir, { recursive: true, force: true });
        throw err;
      }
    }
  }
}

async function startOn(dir: string, port: number): Promise<DockerRegistry> {
  const config = [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${path.join(dir, 'storage')}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    '',
  ].join('\n');
  const configFile = path.join(dir, 'config.yml');
  await writeFile(configFile, config);
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;

  const start = async () => {
    let log = '';
    const proc = spawn(dockerRegistryBin, ['serve', configFile], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
    proc.stderr!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
    child = proc;
    await waitReady(url, proc, () => log);
  };
  const stop = async () => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill('SIGTERM');
      setTimeout(() => proc.kill('SIGKILL'), 5000).unref();
    });
  };
  await start();
  return {
    url,
    port,
    dir,
    stop,
    start,
    async close() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
