import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './ports.js';
import { runTool, environmentLimit } from './tools.js';

/**
 * A PostgreSQL cluster of its own for tests that stop and restart the server (the
 * machine's shared server is used by other test runs at the same time and is never
 * restarted). initdb and pg_ctl from /usr/lib/postgresql/<version>/bin; a cluster in a
 * temporary directory, on a free port on 127.0.0.1, trust authentication, run as the
 * `postgres` user when the tests run as root (initdb refuses root).
 */
export interface PrivatePostgres {
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  url: string;
  port: number;
  /** pg_ctl stop -m fast (open sessions are ended) or -m immediate (like a crash: no checkpoint). */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  start(): Promise<void>;
  restart(mode?: 'fast' | 'immediate'): Promise<void>;
  /** Stops it and removes its directory. */
  destroy(): Promise<void>;
  /** The server's log, for failure messages. */
  log(): Promise<string>;
}

/** The directory of PostgreSQL's server binaries (the newest version installed), or undefined. */
export function postgresBinaries(): string | undefined {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const versions = readdirSync(base)
    .filter((v) => existsSync(path.join(base, v, 'bin', 'initdb')) && existsSync(path.join(base, v, 'bin', 'pg_ctl')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length > 0 ? path.join(base, versions[0], 'bin') : undefined;
}

const asRoot = process.getuid?.() === 0;

/** False when a private cluster can be started here, or why not (a failure under CI=true). */
export function requirePrivatePostgres(): false | string {
  if (!postgresBinaries())
    return environmentLimit('needs PostgreSQL server binaries in /usr/lib/postgresql/*/bin (apt-get install postgresql)');
  if (asRoot) {
    try {
      execFileSync('id', ['-u', 'postgres'], { stdio: 'ignore' });
    } catch {
      return environmentLimit('runs initdb as the postgres user when run as root, and there is no postgres user');
    }
  }
  return false;
}

function asServerUser(command: string, args: string[]): [string, string[]] {
  return asRoot ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args];
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = postgresBinaries();
  if (!bin) throw new Error('no PostgreSQL server binaries in /usr/lib/postgresql/*/bin');
  const dir = await mkdtemp(path.join(tmpdir(), 'berth-pg-'));
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    await chown(dir, uid, gid);
  }
  const data = path.join(dir, 'data');
  const logFile = path.join(dir, 'server.log');
  const run = (command: string, args: string[], timeoutMs = 60_000) => {
    const [c, a] = asServerUser(path.join(bin, command), args);
    return runTool(c, a, { timeoutMs, cwd: dir });
  };
  await run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
  const port = await freePort();
  // The socket goes in the cluster's own directory; fsync off: tests need restarts, not durability across power loss.
  const options = `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c fsync=off -c max_connections=100`;
  let running = false;
  const cluster: PrivatePostgres = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    async start() {
      await run('pg_ctl', ['-D', data, '-l', logFile, '-o', options, '-w', '-t', '60', 'start']);
      running = true;
    },
    async stop(mode = 'fast') {
      await run('pg_ctl', ['-D', data, '-m', mode, '-w', '-t', '60', 'stop']);
      running = false;
    },
    async restart(mode = 'fast') {
      await cluster.stop(mode);
      await cluster.start();
    },
    async destroy() {
      if (running) await cluster.stop('immediate').catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
    async log() {
      return readFile(logFile, 'utf8').catch(() => '');
    },
  };
  try {
    await cluster.start();
  } catch (err) {
    const log = await cluster.log();
    await rm(dir, { recursive: true, force: true });
    throw new Error(`${(err as Error).message}\n${log}`);
  }
  return cluster;
}
