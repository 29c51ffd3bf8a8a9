import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { createBerth, type Berth } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';

/** The admin password every test server starts with. */
export const adminPassword = 'Harbor12345';

export function basicAuth(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

export interface TestServer {
  berth: Berth;
  url: string;
  dataDir: string;
  /** Headers that sign a request in as the system administrator. */
  admin: { authorization: string };
  /** Stops the server; `keepData` leaves the data directory for a restart. */
  stop(options?: { keepData?: boolean }): Promise<void>;
}

/**
 * Starts a real Berth on 127.0.0.1 with a random port, a fresh data directory (or the
 * one given, to test restarts) and a real SQLite file.
 */
export async function startServer(options: { dataDir?: string; yaml?: Record<string, unknown> } = {}): Promise<TestServer> {
  const dataDir = options.dataDir ?? (await mkdtemp(path.join(tmpdir(), 'berth-test-')));
  const config = loadConfig({
    env: {},
    file: undefined,
    overrides: [
      [['data_dir'], dataDir],
      [['server', 'host'], '127.0.0.1'],
      [['server', 'port'], 0],
      [['log', 'level'], process.env.BERTH_TEST_LOG ?? 'silent'],
      [['log', 'access'], false],
      [['auth', 'admin_password'], adminPassword],
      ...Object.entries(options.yaml ?? {}).map(([k, v]) => [k.split('.'), v] as [string[], unknown]),
    ],
  });
  const berth = await createBerth(config, pino({ level: config.log.level }));
  const url = await berth.listen();
  return {
    berth,
    url,
    dataDir,
    admin: { authorization: basicAuth('admin', adminPassword) },
    async stop({ keepData = false } = {}) {
      await berth.close();
      if (!keepData) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
