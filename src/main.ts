import cluster from 'node:cluster';
import { Command, InvalidArgumentError } from 'commander';
import pino from 'pino';
import { ConfigError, loadConfig, type LoadOptions } from './config/load.js';
import { createLogger } from './lib/logger.js';
import { version } from './version.js';
import { tracingSettingsFromEnv } from './tracing/settings.js';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('must be a port number (0-65535)');
  return n;
}

interface CommonOptions {
  config?: string;
  dataDir?: string;
}

function configFrom(options: CommonOptions & { port?: number; host?: string }) {
  const overrides: LoadOptions['overrides'] = [];
  if (options.dataDir !== undefined) overrides.push([['data_dir'], options.dataDir]);
  if (options.port !== undefined) overrides.push([['server', 'port'], options.port]);
  if (options.host !== undefined) overrides.push([['server', 'host'], options.host]);
  return loadConfig({ file: options.config, overrides });
}

const program = new Command()
  .name('berth')
  .description('Berth: an OCI artifact registry with Harbor-compatible projects and API')
  .version(version);

program
  .command('serve')
  .description('run the registry')
  .option('-c, --config <file>', 'YAML configuration file (also BERTH_CONFIG)')
  .option('-d, --data-dir <dir>', 'data directory (also BERTH_DATA_DIR; default ./data)')
  .option('-p, --port <port>', 'port to listen on (also BERTH_PORT; default 8080)', port)
  .option('--host <host>', 'address to bind (also BERTH_HOST; default 0.0.0.0)')
  .action(async (options: CommonOptions & { port?: number; host?: string }) => {
    const config = configFrom(options);
    const logger = createLogger(config);
    if (config.server.workers > 1 && cluster.isPrimary) {
      const { runPrimary } = await import('./cluster.js');
      return runPrimary(config, logger);
    }
    // Tracing follows the standard OpenTelemetry variables (OTEL_EXPORTER_OTLP_ENDPOINT, …).
    const tracing = tracingSettingsFromEnv(process.env);
    for (const warning of tracing.warnings) logger.warn(warning);
    const { createBerth } = await import('./app.js');
    const berth = await createBerth(config, logger, { tracing: tracing.settings });
    const address = await berth.listen();
    if (tracing.settings) {
      const { endpoint, protocol } = tracing.settings;
      logger.info({ endpoint, protocol }, `traces are sent to ${endpoint} (OTLP ${protocol})`);
    }
    logger.info({ address, dataDir: berth.paths.dataDir, version }, `berth is serving at ${address} (data ${berth.paths.dataDir})`);
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'shutting down: finishing in-flight requests');
      const force = setTimeout(() => {
        const waitingFor = berth.closing ?? 'in-flight requests';
        logger.warn({ waitingFor }, `the shutdown did not finish in time (waiting for ${waitingFor}); exiting`);
        process.exit(1);
      }, config.server.shutdown_grace_seconds * 1000);
      force.unref();
      berth.close().then(
        () => process.exit(0),
        (err) => {
          logger.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });

program
  .command('migrate')
  .description('apply pending database migrations and exit')
  .option('-c, --config <file>', 'YAML configuration file')
  .option('-d, --data-dir <dir>', 'data directory')
  .action(async (options: CommonOptions) => {
    const config = configFrom(options);
    const { migrate, openDatabase } = await import('./db/index.js');
    const handle = openDatabase(config);
    const applied = await migrate(handle);
    await handle.close();
    console.log(applied.length > 0 ? `applied: ${applied.join(', ')}` : 'database is up to date');
  });

program
  .command('scrub')
  .description(
    'check the integrity of every stored blob and manifest (the SCRUB job, recorded in the history), print what is wrong; ' +
      'exit 0 when nothing is, 1 when problems were found, 2 on a bad option or configuration, 3 when the scrub could not run to the end',
  )
  .option('-c, --config <file>', 'YAML configuration file')
  .option('-d, --data-dir <dir>', 'data directory')
  .option('-w, --workers <n>', 'blobs hashed at once, 1 to 32 (default scrub.workers)')
  .option('--report-only', 'quarantine nothing: only report')
  .option('--json', 'print the run and its findings as JSON')
  .action(async (options: CommonOptions & { workers?: string; reportOnly?: boolean; json?: boolean }) => {
    const workers = options.workers === undefined ? undefined : Number(options.workers);
    if (workers !== undefined && (!Number.isInteger(workers) || workers < 1 || workers > 32)) {
      console.error(`berth scrub: --workers must be an integer from 1 to 32, not "${options.workers}"`);
      process.exit(2);
    }
    const { runScrubCommand } = await import('./scrub/cli.js');
    const code = await runScrubCommand(
      configFrom(options),
      { ...options, workers },
      {
        out: (text) => process.stdout.write(`${text}\n`),
        err: (text) => process.stderr.write(`${text}\n`),
      },
    );
    process.exit(code);
  });

program
  .command('gc')
  .description(
    'run one garbage collection (the GARBAGE_COLLECTION job, recorded in the history) and print what it freed; ' +
      'exit 0 when it succeeded, 2 on a bad option or configuration, 3 when it could not run to the end',
  )
  .option('-c, --config <file>', 'YAML configuration file')
  .option('-d, --data-dir <dir>', 'data directory')
  .option('--dry-run', 'report what would be freed; change nothing')
  .option('--delete-untagged', 'delete untagged artifacts first (not accessories, not an index’s children)')
  .option('--remove-empty-repositories', 'delete repositories left with no artifact')
  .option('-w, --workers <n>', 'sweeps at once, 1 to 10 (default 1)')
  .option('--json', 'print the run as JSON')
  .action(
    async (
      options: CommonOptions & {
        dryRun?: boolean;
        deleteUntagged?: boolean;
        removeEmptyRepositories?: boolean;
        workers?: string;
        json?: boolean;
      },
    ) => {
      const workers = options.workers === undefined ? undefined : Number(options.workers);
      if (workers !== undefined && (!Number.isInteger(workers) || workers < 1 || workers > 10)) {
        console.error(`berth gc: --workers must be an integer from 1 to 10, not "${options.workers}"`);
        process.exit(2);
      }
      const { runGcCommand } = await import('./gc/cli.js');
      const config = configFrom(options);
      // Warnings and errors only, on stderr: stdout is the report.
      const { createBerth } = await import('./app.js');
      const berth = await createBerth(config, pino({ level: 'warn' }, pino.destination(2)));
      let code: number;
      try {
        code = await runGcCommand(
          berth,
          { ...options, workers },
          {
            out: (text) => process.stdout.write(`${text}\n`),
            err: (text) => process.stderr.write(`${text}\n`),
          },
        );
      } finally {
        await berth.close();
      }
      process.exit(code);
    },
  );

const vulndb = program
  .command('vulndb')
  .description('the vulnerability database of the built-in scanner (OSV records): update, import, status');
const runVulnDb = async (options: CommonOptions, command: import('./scanning/vulndb/cli.js').VulnDbCommand) => {
  const { runVulnDbCommand } = await import('./scanning/vulndb/cli.js');
  const code = await runVulnDbCommand(configFrom(options), command, {
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
  });
  process.exit(code);
};
vulndb
  .command('update')
  .description(
    'download <url>/<Ecosystem>/all.zip for each of scanning.vulndb.ecosystems and import it; ' +
      'exit 0 when every ecosystem was updated, 1 when some failed, 2 on a bad option or configuration, 3 when none could be',
  )
  .option('-c, --config <file>', 'YAML configuration file')
  .option('-d, --data-dir <dir>', 'data directory')
  .option('--url <url>', 'base URL of the OSV export (default scanning.vulndb.url)')
  .option('--json', 'print what was imported as JSON')
  .action((options: CommonOptions & { url?: string; json?: boolean }) =>
    runVulnDb(options, { kind: 'update', url: options.url, json: options.json }),
  );
vulndb
  .command('import')
  .description(
    'import a directory laid out as the OSV export (Debian/, npm/, … each with all.zip and/or record .json files); ' +
      'exit 0 when done, 1 when some ecosystem failed, 2 on a bad option or configuration, 3 when nothing could be imported',
  )
  .argument('<dir>', 'the directory')
  .option('-c, --config <file>', 'YAML configuration file')
  .option('-d, --data-dir <dir>', 'data directory')
  .option('--json', 'print what was imported as JSON')
  .action((dir: string, options: CommonOptions & { json?: boolean }) => runVulnDb(options, { kind: 'import', dir, json: options.json }));
vulndb
  .command('status')
  .description('print when the database was updated and its records per ecosystem')
  .option('-c, --config <file>', 'YAML configuration file')
  .option('-d, --data-dir <dir>', 'data directory')
  .option('--json', 'print the status as JSON')
  .action((options: CommonOptions & { json?: boolean }) => runVulnDb(options, { kind: 'status', json: options.json }));

const secrets = program.command('secrets').description('the key that seals stored credentials (registry endpoints, preheat instances)');
secrets
  .command('rotate')
  .description(
    'seal every stored secret again with secrets.encryption_key (the old key must be in secrets.previous_keys); ' +
      'exit 0 when done, 2 on a bad configuration, 3 when a secret could not be sealed again',
  )
  .option('-c, --config <file>', 'YAML configuration file')
  .option('-d, --data-dir <dir>', 'data directory')
  .option('--json', 'print what was sealed again as JSON')
  .action(async (options: CommonOptions & { json?: boolean }) => {
    const { runSecretsRotate } = await import('./auth/secrets-cli.js');
    const { createBerth } = await import('./app.js');
    const berth = await createBerth(configFrom(options), pino({ level: 'warn' }, pino.destination(2)));
    let code: number;
    try {
      code = await runSecretsRotate(berth, options, {
        out: (text) => process.stdout.write(`${text}\n`),
        err: (text) => process.stderr.write(`${text}\n`),
      });
    } finally {
      await berth.close();
    }
    process.exit(code);
  });
secrets
  .command('new-key')
  .description('print a new random key for secrets.encryption_key (base64)')
  .action(async () => {
    const { newKeyText } = await import('./auth/secret-box.js');
    console.log(newKeyText());
  });

program
  .command('doctor')
  .description(
    'check the configuration, database, storage, clocks, disk space, secrets and external URL; one line per check; ' +
      'exit 0 when nothing failed (warnings allowed), 1 when a check failed',
  )
  .option('-c, --config <file>', 'YAML configuration file')
  .option('-d, --data-dir <dir>', 'data directory')
  .option('--json', 'print the results as JSON')
  .action(async (options: CommonOptions & { json?: boolean }) => {
    const { runDoctor } = await import('./ops/doctor.js');
    process.exit(await runDoctor(() => configFrom(options), { out: (text) => process.stdout.write(`${text}\n`) }, options));
  });

const opsIo = {
  out: (text: string) => process.stdout.write(`${text}\n`),
  err: (text: string) => process.stderr.write(`${text}\n`),
};
program
  .command('backup')
  .description(
    'back up the database and blobs into a new directory, or into one tar archive when the target ends in .tar, .tar.gz or .tgz ' +
      '(gzip for .tar.gz and .tgz), while Berth may be serving (SQLite: online snapshot; PostgreSQL: pg_dump; ' +
      'S3 blobs stay in the bucket); exit 0 when done, 2 on a bad target or configuration, 3 when the backup could not be made',
  )
  .argument(
    '<dir>',
    'a new or empty directory, or a new FILE.tar, FILE.tar.gz or FILE.tgz (written as FILE.<random>.part, renamed when complete)',
  )
  .option('-c, --config <file>', 'YAML configuration file')
  .option('-d, --data-dir <dir>', 'data directory')
  .action(async (dir: string, options: CommonOptions) => {
    const { runBackup } = await import('./ops/backup.js');
    process.exit(await runBackup(configFrom(options), dir, opsIo));
  });

program
  .command('restore')
  .description(
    'restore a backup into an empty data directory (and database), verifying its checksums first; ' +
      'exit 0 when done, 2 when the target is not empty (see --force) or the backup does not fit, 3 when it is damaged or the restore failed',
  )
  .argument('<backup>', 'the directory or the archive (.tar, or gzip-compressed) `berth backup` wrote')
  .option('-c, --config <file>', 'YAML configuration file')
  .option('-d, --data-dir <dir>', 'data directory')
  .option('--force', 'replace what the target data directory or database holds')
  .action(async (backup: string, options: CommonOptions & { force?: boolean }) => {
    const { runRestore } = await import('./ops/backup.js');
    process.exit(await runRestore(configFrom(options), backup, options, opsIo));
  });

program
  .command('version')
  .description('print the version')
  .action(() => console.log(version));

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof ConfigError) {
    console.error(`berth: ${err.message}`);
    process.exit(2);
  }
  console.error(err);
  process.exit(1);
});
