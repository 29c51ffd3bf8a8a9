/**
 * Fuzzing of the configuration loader (src/config/load.ts and its schema): any YAML text and
 * any environment give either a valid Config or a ConfigError that says what is wrong, never
 * another exception, the same way every time, in bounded time.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { ConfigError, loadConfig, resolvePaths } from '../../src/config/load.js';
import { anyJson, hostileString, params, prototypeKeys, returnsOrRefuses } from './fuzz.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'berth-fuzz-config-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const isConfigError = (err: unknown) => err instanceof ConfigError;

/** Top-level and nested keys the schema knows, plus some it does not. */
const keyPath = fc.array(
  fc.constantFrom(
    'data_dir',
    'server',
    'port',
    'host',
    'external_url',
    'database',
    'url',
    'storage',
    'driver',
    's3',
    'filesystem',
    'root',
    'log',
    'level',
    'auth',
    'registry',
    'gc',
    'quota',
    'secrets',
    'encryption_key',
    'webhooks',
    'enabled',
    'tls',
    'metrics',
    'x',
    ...prototypeKeys,
  ),
  { minLength: 1, maxLength: 4 },
);

/** A mapping with generated values at known (and unknown) key paths. */
const mapping = fc.array(fc.tuple(keyPath, fc.oneof(anyJson, hostileString('0129.-:/ ', 80))), { maxLength: 6 }).map((entries) => {
  const doc: Record<string, unknown> = {};
  for (const [keys, value] of entries) {
    let node: any = doc;
    for (const key of keys.slice(0, -1)) {
      if (typeof node[key] !== 'object' || node[key] === null || !Object.hasOwn(node, key))
        Object.defineProperty(node, key, { value: {}, enumerable: true, writable: true, configurable: true });
      node = node[key];
    }
    Object.defineProperty(node, keys[keys.length - 1], { value, enumerable: true, writable: true, configurable: true });
  }
  return doc;
});

const yamlText = fc.oneof(
  mapping.map((doc) => stringify(doc)),
  hostileString('abc: -\n\t[]{}&*!|>\'"#%@`0:,?', 2000),
  fc.constantFrom(
    '',
    '~',
    '[]',
    '- a',
    'a: &x [*x]',
    'a: !!binary x',
    '!!js/function x',
    'a: 1\na: 2',
    `a: ${'['.repeat(5000)}`,
    'x: &a [a,a]\ny: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nz: [*b,*b,*b,*b,*b,*b,*b,*b,*b]',
    '%YAML 9.9\n---\na: 1',
    '__proto__: {server: 1}',
  ),
);

const envNames = [
  'BERTH_PORT',
  'BERTH_HOST',
  'BERTH_DATABASE_URL',
  'BERTH_STORAGE_DRIVER',
  'BERTH_STORAGE_S3_FORCE_PATH_STYLE',
  'BERTH_LOG_LEVEL',
  'BERTH_SECRETS_ENCRYPTION_KEY',
  'BERTH_SECRETS_PREVIOUS_KEYS',
  'BERTH_GC_TIME_WINDOW_HOURS',
  'BERTH_QUOTA_STORAGE_PER_PROJECT',
  'BERTH_EXTERNAL_URL',
  'BERTH_WEBHOOKS_ENABLED',
  'BERTH_DATABASE_MAX_CONNECTIONS',
  'BERTH_STORAGE_S3_REDIRECT_EXPIRY_SECONDS',
];
const env = fc.dictionary(
  fc.constantFrom(...envNames),
  fc.oneof(
    hostileString('0129.-+eExX tTrRuUfF:/', 100),
    fc.constantFrom('1', 'true', 'off', '8080', '-1', '1e400', 'NaN', 'Infinity', 'postgres://u:p@h/db', 'sqlite:x', 's3', 'debug'),
  ),
  { maxKeys: 4 },
);

test('any YAML file and environment is a Config or a ConfigError', async () => {
  let n = 0;
  await fc.assert(
    fc.asyncProperty(yamlText, env, async (text, environment) => {
      const file = path.join(dir, `berth-${n++}.yaml`);
      await writeFile(file, text);
      const load = () => {
        const config = loadConfig({ file, env: environment });
        return { config, paths: resolvePaths(config) };
      };
      const first = returnsOrRefuses('loadConfig', load, isConfigError);
      if (!first.ok) assert.ok((first.error as Error).message.length > 0);
      const second = returnsOrRefuses('loadConfig', load, isConfigError);
      assert.equal(second.ok, first.ok);
      if (first.ok) assert.deepEqual(JSON.parse(JSON.stringify(second)), JSON.parse(JSON.stringify(first)));
      else assert.equal((second as { error: Error }).error.message, (first.error as Error).message);
    }),
    params(150),
  );
});

test('a valid configuration written back as YAML loads to the same Config', async () => {
  const base = loadConfig({ env: {}, file: path.join(dir, 'missing-is-not-read.yaml') === '' ? undefined : undefined });
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 0, max: 65535 }),
      fc.constantFrom('debug', 'info', 'warn', 'error'),
      fc.stringMatching(/^\/[a-z0-9/_-]{1,30}$/),
      async (port, level, dataDir) => {
        const doc = {
          ...JSON.parse(JSON.stringify(base)),
          data_dir: dataDir,
          server: { ...base.server, port },
          log: { ...base.log, level },
        };
        const file = path.join(dir, 'roundtrip.yaml');
        await writeFile(file, stringify(doc));
        const loaded = loadConfig({ file, env: {} });
        assert.deepEqual(JSON.parse(JSON.stringify(loaded)), doc);
      },
    ),
    params(100),
  );
});

test('regression: deeply nested YAML is a ConfigError, not an aborted process', async () => {
  // Thousands of nested "[" exhausted the YAML parser's stack; at 5000 levels V8 aborted the
  // whole process (out of memory in its regular expression compiler) instead of throwing.
  for (const text of [
    `a: ${'['.repeat(5000)}`,
    `a: ${'{a: '.repeat(5000)}`,
    `a: ${'['.repeat(100_000)}${']'.repeat(100_000)}`,
    Array.from({ length: 2000 }, (_, i) => `${' '.repeat(i)}k:`).join('\n'),
  ]) {
    const file = path.join(dir, 'deep.yaml');
    await writeFile(file, text);
    const outcome = returnsOrRefuses('loadConfig', () => loadConfig({ file, env: {} }), isConfigError);
    assert.ok(!outcome.ok);
    assert.match((outcome.error as Error).message, /nested more than|indented more than/);
  }
  const file = path.join(dir, 'nested-ok.yaml');
  await writeFile(file, `server: {port: 9000}\nx_unused: ${'['.repeat(50)}${']'.repeat(50)}\n`);
  assert.throws(
    () => loadConfig({ file, env: {} }),
    (err) => err instanceof ConfigError && /x_unused/.test(err.message),
  );
});
