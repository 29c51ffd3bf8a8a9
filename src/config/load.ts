import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Lexer, parse as parseYaml } from 'yaml';
import { configSchema, type Config } from './schema.js';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Environment variables that override a key, with how to read them. */
const envOverrides: Array<[string, string[], 'string' | 'number' | 'boolean']> = [
  ['BERTH_DATA_DIR', ['data_dir'], 'string'],
  ['BERTH_HOST', ['server', 'host'], 'string'],
  ['BERTH_PORT', ['server', 'port'], 'number'],
  ['BERTH_WORKERS', ['server', 'workers'], 'number'],
  ['BERTH_EXTERNAL_URL', ['server', 'external_url'], 'string'],
  ['BERTH_DATABASE_URL', ['database', 'url'], 'string'],
  ['BERTH_DATABASE_MAX_CONNECTIONS', ['database', 'max_connections'], 'number'],
  ['BERTH_STORAGE_ROOT', ['storage', 'filesystem', 'root'], 'string'],
  ['BERTH_STORAGE_DRIVER', ['storage', 'driver'], 'string'],
  ['BERTH_STORAGE_S3_BUCKET', ['storage', 's3', 'bucket'], 'string'],
  ['BERTH_STORAGE_S3_REGION', ['storage', 's3', 'region'], 'string'],
  ['BERTH_STORAGE_S3_ENDPOINT', ['storage', 's3', 'endpoint'], 'string'],
  ['BERTH_STORAGE_S3_FORCE_PATH_STYLE', ['storage', 's3', 'force_path_style'], 'boolean'],
  ['BERTH_STORAGE_S3_ACCESS_KEY', ['storage', 's3', 'access_key'], 'string'],
  ['BERTH_STORAGE_S3_SECRET_KEY', ['storage', 's3', 'secret_key'], 'string'],
  ['BERTH_STORAGE_S3_PREFIX', ['storage', 's3', 'prefix'], 'string'],
  ['BERTH_STORAGE_S3_REDIRECT_ENABLED', ['storage', 's3', 'redirect', 'enabled'], 'boolean'],
  ['BERTH_STORAGE_S3_REDIRECT_EXPIRY_SECONDS', ['storage', 's3', 'redirect', 'expiry_seconds'], 'number'],
  ['BERTH_LOG_LEVEL', ['log', 'level'], 'string'],
  ['BERTH_LOG_FORMAT', ['log', 'format'], 'string'],
  ['BERTH_METRICS_ENABLED', ['metrics', 'enabled'], 'boolean'],
  ['BERTH_METRICS_PORT', ['metrics', 'port'], 'number'],
  ['BERTH_METRICS_TOKEN', ['metrics', 'token'], 'string'],
  ['BERTH_SECRETS_ENCRYPTION_KEY', ['secrets', 'encryption_key'], 'string'],
  ['BERTH_SECRETS_PREVIOUS_KEYS', ['secrets', 'previous_keys'], 'string'],
  ['BERTH_ADMIN_PASSWORD', ['auth', 'admin_password'], 'string'],
  ['BERTH_TOKEN_KEY_FILE', ['auth', 'token_key_file'], 'string'],
  ['BERTH_SELF_REGISTRATION', ['auth', 'self_registration'], 'boolean'],
  ['BERTH_LOG_ACCESS', ['log', 'access'], 'boolean'],
  ['BERTH_GC_TIME_WINDOW_HOURS', ['gc', 'time_window_hours'], 'number'],
  ['BERTH_PROXY_CACHE_FRESHNESS_SECONDS', ['proxy_cache', 'freshness_seconds'], 'number'],
  ['BERTH_WEBHOOKS_ENABLED', ['webhooks', 'enabled'], 'boolean'],
  ['BERTH_AUDIT_FORWARD_ENDPOINT', ['audit', 'forward_endpoint'], 'string'],
  ['BERTH_AUDIT_SKIP_DATABASE', ['audit', 'skip_database'], 'boolean'],
  ['BERTH_QUOTA_STORAGE_PER_PROJECT', ['quota', 'storage_per_project'], 'number'],
];

function setPath(target: Record<string, unknown>, keys: string[], value: unknown) {
  let node = target;
  for (const key of keys.slice(0, -1)) {
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]] = value;
}

function readEnv(name: string, raw: string, type: 'string' | 'number' | 'boolean'): unknown {
  if (type === 'string') return raw;
  if (type === 'number') {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n)) throw new ConfigError(`${name}="${raw}" is not a number`);
    return n;
  }
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(`${name}="${raw}" is not a boolean (use true or false)`);
}

/** Flow collections (`[`, `{`) nested deeper than this are refused before parsing. */
const maxYamlFlowDepth = 100;
/** Lines indented further than this (columns) are refused before parsing. */
const maxYamlIndent = 400;

/**
 * Why YAML text is nested too deeply to parse, or null. The YAML parser recurses once per
 * level: thousands of nested `[` exhausted the stack, which could abort the process (a fatal
 * V8 out-of-memory in the regular expression compiler) rather than throw. The lexer that
 * measures the flow depth does not recurse.
 */
function yamlNestingProblem(text: string): string | null {
  for (const m of text.matchAll(/^[ \t]*/gm)) {
    if (m[0].length > maxYamlIndent) return `a line is indented more than ${maxYamlIndent} columns`;
  }
  let depth = 0;
  for (const token of new Lexer().lex(text)) {
    if (token === '[' || token === '{') depth += 1;
    else if (token === ']' || token === '}') depth -= 1;
    if (depth > maxYamlFlowDepth) return `[ and { are nested more than ${maxYamlFlowDepth} levels deep`;
  }
  return null;
}

export interface LoadOptions {
  /** YAML file; when absent, BERTH_CONFIG, then ./berth.yaml if it exists. */
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Values given on the command line, applied last. */
  overrides?: Array<[string[], unknown]>;
}

export function loadConfig(options: LoadOptions = {}): Config {
  const env = options.env ?? process.env;
  const file = options.file ?? env.BERTH_CONFIG ?? (existsSync('berth.yaml') ? 'berth.yaml' : undefined);
  let raw: Record<string, unknown> = {};
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(`cannot read configuration file ${file}: ${(err as Error).message}`);
    }
    const nesting = yamlNestingProblem(text);
    if (nesting) throw new ConfigError(`configuration file ${file} is not a configuration: ${nesting}`);
    try {
      raw = (parseYaml(text) as Record<string, unknown> | null) ?? {};
    } catch (err) {
      throw new ConfigError(`configuration file ${file} is not valid YAML: ${(err as Error).message}`);
    }
    if (typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(`configuration file ${file} must hold a mapping`);
  }
  for (const [name, keys, type] of envOverrides) {
    const value = env[name];
    if (value !== undefined && value !== '') setPath(raw, keys, readEnv(name, value, type));
  }
  for (const [keys, value] of options.overrides ?? []) setPath(raw, keys, value);

  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => `  ${issue.path.join('.') || '(root)'}: ${issue.message}`);
    throw new ConfigError(`invalid configuration${file ? ` in ${file}` : ''}:\n${lines.join('\n')}`);
  }
  return result.data;
}

/** Paths the rest of Berth uses, derived once from the config. */
export interface ResolvedPaths {
  dataDir: string;
  /** The SQLite file, or null when the database is PostgreSQL. */
  sqliteFile: string | null;
  /** The PostgreSQL connection URL, or null when the database is SQLite. */
  postgresUrl: string | null;
  storageRoot: string;
  tokenKeyFile: string;
}

export function resolvePaths(config: Config): ResolvedPaths {
  const dataDir = path.resolve(config.data_dir);
  const url = config.database.url;
  let sqliteFile: string | null = path.join(dataDir, 'berth.db');
  let postgresUrl: string | null = null;
  if (url) {
    if (url.startsWith('sqlite:')) {
      sqliteFile = path.resolve(url.slice('sqlite:'.length));
    } else if (/^postgres(ql)?:\/\//.test(url)) {
      if (!URL.canParse(url)) throw new ConfigError(`database.url is not a valid URL: ${redactUrl(url)}`);
      sqliteFile = null;
      postgresUrl = url;
    } else {
      throw new ConfigError(
        `database.url "${redactUrl(url)}" is not supported: use sqlite:<path> or postgres://user:password@host:port/database`,
      );
    }
  }
  return {
    dataDir,
    sqliteFile,
    postgresUrl,
    storageRoot: path.resolve(config.storage.filesystem.root ?? path.join(dataDir, 'storage')),
    tokenKeyFile: path.resolve(config.auth.token_key_file ?? path.join(dataDir, 'token-key.pem')),
  };
}

/** The URL with its password replaced, fit for messages and logs. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)[^@/]*@/i, '$1***@');
}
