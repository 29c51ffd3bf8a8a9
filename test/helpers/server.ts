import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { createBerth, type Berth, type BerthSeams } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';
import { createMigratedTestDatabase, type TestDatabase } from './database.js';

/** The admin password every test server starts with. */
export const adminPassword = 'Harbor12345';

export function basicAuth(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

export interface TestServer {
  berth: Berth;
  url: string;
  dataDir: string;
  /** The PostgreSQL database this server uses, or undefined on SQLite (the file in dataDir). */
  databaseUrl: string | undefined;
  /** Headers that sign a request in as the system administrator. */
  admin: { authorization: string };
  /** Stops the server; `keepData` leaves the data directory (and database) for a restart. */
  stop(options?: { keepData?: boolean }): Promise<void>;
}

/**
 * The PostgreSQL database of each data directory in use, so that a server restarted on the
 * same data directory (a restart test) finds the same metadata, as it would in its SQLite file.
 */
const databases = new Map<string, TestDatabase>();

/**
 * Starts a real Berth on 127.0.0.1 with a random port, a fresh data directory (or the
 * one given, to test restarts) and a real database: a SQLite file in the data directory,
 * or, when BERTH_TEST_DATABASE_URL names a PostgreSQL server, a database created on it for
 * this data directory and dropped with it.
 */
export async function startServer(
  options: { dataDir?: string; yaml?: Record<string, unknown>; seams?: BerthSeams } = {},
): Promise<TestServer> {
  const dataDir = options.dataDir ?? (await mkdtemp(path.join(tmpdir(), 'berth-test-')));
  let database = databases.get(dataDir);
  if (!database && options.yaml?.['database.url'] === undefined) {
    database = (await createMigratedTestDatabase()) ?? undefined;
    if (database) databases.set(dataDir, database);
  }
  const config = loadConfig({
    env: {},
    file: undefined,
    overrides: [
      [['data_dir'], dataDir],
      [['server', 'host'], '127.0.0.1'],
      [['server', 'port'], 0],
      // Under CI the errors a server logs (what a 500 met, among them) stay in the output.
      [['log', 'level'], process.env.BERTH_TEST_LOG ?? (process.env.CI === 'true' ? 'error' : 'silent')],
      [['log', 'access'], false],
      [['auth', 'admin_password'], adminPassword],
      ...(database ? [[['database', 'url'], database.url] as [string[], unknown]] : []),
      ...Object.entries(options.yaml ?? {}).map(([k, v]) => [k.split('.'), v] as [string[], unknown]),
    ],
  });
  const berth = await createBerth(config, pino({ level: config.log.level }), options.seams);
  const url = await berth.listen();
  return {
    berth,
    url,
    dataDir,
    databaseUrl: database?.url,
    admin: { authorization: basicAuth('admin', adminPassword) },
    async stop({ keepData = false } = {}) {
      await berth.close();
      if (keepData) return;
      await rm(dataDir, { recursive: true, force: true });
      if (database) {
        databases.delete(dataDir);
        await database.drop();
      }
    },
  };
}
