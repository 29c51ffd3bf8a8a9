import path from 'node:path';
import { resolvePaths } from '../../config/load.js';
import type { Config } from '../../config/schema.js';
import { migrate, openDatabase } from '../../db/index.js';
import { JobQueue } from '../../jobs/queue.js';
import { createVulnDb } from './compose.js';
import { summary, VulnDbError, type ImportResult } from './import.js';

export interface Output {
  out(text: string): void;
  err(text: string): void;
}

/** Exit codes of `berth vulndb`: 0 done, 1 some ecosystem failed (the others were imported), 3 nothing could be done (2, a bad option, is main.ts's). */
export const vulnDbExit = { done: 0, partly: 1, failed: 3 } as const;

export type VulnDbCommand =
  { kind: 'update'; url?: string; json?: boolean } | { kind: 'import'; dir: string; json?: boolean } | { kind: 'status'; json?: boolean };

/**
 * `berth vulndb update | import DIR | status` against the database the configuration names
 * (the one a running Berth uses): the update downloads the configured archives, the import
 * reads a directory laid out as the OSV export, both in this process.
 */
export async function runVulnDbCommand(config: Config, command: VulnDbCommand, output: Output): Promise<number> {
  const handle = openDatabase(config);
  try {
    await migrate(handle);
    const vulndb = createVulnDb({
      db: handle.db,
      dialect: handle.dialect,
      queue: new JobQueue(handle.db, handle.dialect),
      config: command.kind === 'update' && command.url ? { ...config.scanning.vulndb, url: command.url } : config.scanning.vulndb,
      tempDir: path.join(resolvePaths(config).dataDir, 'tmp'),
    });
    const log = command.json ? undefined : (message: string) => output.err(message);
    if (command.kind === 'status') {
      const status = await vulndb.service.status();
      if (command.json) output.out(JSON.stringify(status, null, 2));
      else {
        output.out(`vulnerability database: ${status.advisories} record(s), updated ${status.updated_at ?? 'never'}`);
        for (const e of status.ecosystems)
          output.out(`  ${e.ecosystem}: ${e.records} record(s), imported ${e.imported_at} from ${e.source}`);
      }
      return vulnDbExit.done;
    }
    let results: ImportResult[];
    if (command.kind === 'update') {
      results = await vulndb.service.update({ log });
    } else {
      try {
        const imported = await vulndb.service.importDirectory(command.dir, { log });
        results = imported.results;
        if (imported.ignored.length > 0 && !command.json)
          output.err(`not OSV ecosystems Berth matches, passed over: ${imported.ignored.join(', ')}`);
      } catch (err) {
        if (!(err instanceof VulnDbError)) throw err;
        output.err(`berth vulndb import: ${err.message}`);
        return vulnDbExit.failed;
      }
    }
    const failed = results.filter((r) => r.error);
    if (command.json) output.out(JSON.stringify(results, null, 2));
    else output.out(results.map(summary).join('\n'));
    if (failed.length === 0) return vulnDbExit.done;
    return failed.length === results.length ? vulnDbExit.failed : vulnDbExit.partly;
  } finally {
    await handle.close();
  }
}
