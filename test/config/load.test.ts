import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ConfigError, loadConfig, resolvePaths } from '../../src/config/load.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'berth-config-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('defaults need no file and no environment', () => {
  const config = loadConfig({ env: {} });
  assert.equal(config.server.port, 8080);
  assert.equal(config.data_dir, './data');
  assert.equal(config.registry.max_manifest_bytes, 4 * 1024 * 1024);
  assert.equal(resolvePaths(config).sqliteFile, path.resolve('data/berth.db'));
});

test('a YAML file is read and the environment overrides it', async () => {
  const file = path.join(dir, 'berth.yaml');
  await writeFile(file, 'server:\n  port: 9000\ndata_dir: /srv/berth\nlog:\n  level: warn\n');
  const config = loadConfig({ file, env: { BERTH_PORT: '9100', BERTH_LOG_ACCESS: 'false' } });
  assert.equal(config.server.port, 9100);
  assert.equal(config.data_dir, '/srv/berth');
  assert.equal(config.log.level, 'warn');
  assert.equal(config.log.access, false);
  assert.equal(resolvePaths(config).storageRoot, '/srv/berth/storage');
});

test('BERTH_CONFIG names the file when none is given', async () => {
  const file = path.join(dir, 'other.yaml');
  await writeFile(file, 'server:\n  port: 7000\n');
  assert.equal(loadConfig({ env: { BERTH_CONFIG: file } }).server.port, 7000);
});

test('bad values are refused with a message naming the key', async () => {
  const file = path.join(dir, 'bad.yaml');
  await writeFile(file, 'server:\n  port: "eighty"\n  colour: blue\n');
  assert.throws(
    () => loadConfig({ file, env: {} }),
    (err: Error) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /server\.port/);
      assert.match(err.message, /colour/);
      return true;
    },
  );
  assert.throws(() => loadConfig({ env: { BERTH_PORT: 'x' } }), /BERTH_PORT="x" is not a number/);
  assert.throws(() => loadConfig({ env: { BERTH_LOG_ACCESS: 'maybe' } }), /not a boolean/);
});

test('server.workers: 1 to 64 (BERTH_WORKERS); with several, a memory rate-limit store is refused in words', async () => {
  assert.equal(loadConfig({ env: {} }).server.workers, 1);
  assert.equal(loadConfig({ env: { BERTH_WORKERS: '4' } }).server.workers, 4);
  assert.throws(() => loadConfig({ env: { BERTH_WORKERS: '0' } }), /server\.workers/);
  const file = path.join(dir, 'workers.yaml');
  await writeFile(file, 'server:\n  workers: 2\nrate_limits:\n  enabled: true\n  store: memory\n');
  assert.throws(() => loadConfig({ file, env: {} }), /rate_limits\.store: a memory store would count each worker's requests apart/);
  assert.equal(loadConfig({ file, env: { BERTH_WORKERS: '1' } }).rate_limits.store, 'memory');
});

test('a file that is not YAML, or missing, is a clear error', async () => {
  const file = path.join(dir, 'broken.yaml');
  await writeFile(file, 'server: [unclosed\n');
  assert.throws(() => loadConfig({ file, env: {} }), /not valid YAML/);
  assert.throws(() => loadConfig({ file: path.join(dir, 'absent.yaml'), env: {} }), /cannot read configuration file/);
});

test('database.url takes sqlite:<path>, postgres:// and postgresql://, and refuses anything else without showing a password', () => {
  const sqlite = resolvePaths(loadConfig({ env: { BERTH_DATABASE_URL: 'sqlite:./meta/b.db' } }));
  assert.equal(sqlite.sqliteFile, path.resolve('meta/b.db'));
  assert.equal(sqlite.postgresUrl, null);
  for (const url of ['postgres://berth:pw@db.internal:5432/berth', 'postgresql://berth@127.0.0.1/berth?sslmode=disable']) {
    const paths = resolvePaths(loadConfig({ env: { BERTH_DATABASE_URL: url } }));
    assert.equal(paths.postgresUrl, url);
    assert.equal(paths.sqliteFile, null);
  }
  const config = loadConfig({ env: { BERTH_DATABASE_URL: 'mysql://root:hunter2@x/berth' } });
  assert.throws(
    () => resolvePaths(config),
    (err: Error) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /not supported: use sqlite:<path> or postgres:\/\//);
      assert.doesNotMatch(err.message, /hunter2/);
      return true;
    },
  );
});

test('database.max_connections defaults to 20 and is read from YAML and BERTH_DATABASE_MAX_CONNECTIONS', async () => {
  assert.equal(loadConfig({ env: {} }).database.max_connections, 20);
  const file = path.join(dir, 'db.yaml');
  await writeFile(file, 'database:\n  url: postgres://berth@db/berth\n  max_connections: 50\n');
  assert.equal(loadConfig({ file, env: {} }).database.max_connections, 50);
  assert.equal(loadConfig({ file, env: { BERTH_DATABASE_MAX_CONNECTIONS: '8' } }).database.max_connections, 8);
  assert.throws(() => loadConfig({ env: { BERTH_DATABASE_MAX_CONNECTIONS: '0' } }), /database\.max_connections/);
});

test('storage.s3 keys: defaults, YAML, BERTH_STORAGE_S3_* and the rules between them', async () => {
  const defaults = loadConfig({ env: {} }).storage;
  assert.equal(defaults.driver, 'filesystem');
  assert.deepEqual(defaults.s3, {
    region: 'us-east-1',
    force_path_style: false,
    prefix: '',
    timeout_seconds: 60,
    redirect: { enabled: false, expiry_seconds: 1200 },
  });

  const file = path.join(dir, 's3.yaml');
  await writeFile(file, 'storage:\n  driver: s3\n  s3:\n    bucket: blobs\n    prefix: berth/\n    redirect:\n      enabled: true\n');
  const fromFile = loadConfig({ file, env: {} }).storage;
  assert.equal(fromFile.s3.bucket, 'blobs');
  assert.equal(fromFile.s3.redirect.expiry_seconds, 1200);

  const fromEnv = loadConfig({
    env: {
      BERTH_STORAGE_DRIVER: 's3',
      BERTH_STORAGE_S3_BUCKET: 'registry',
      BERTH_STORAGE_S3_REGION: 'eu-west-3',
      BERTH_STORAGE_S3_ENDPOINT: 'http://127.0.0.1:9000',
      BERTH_STORAGE_S3_FORCE_PATH_STYLE: 'true',
      BERTH_STORAGE_S3_ACCESS_KEY: 'AKIA',
      BERTH_STORAGE_S3_SECRET_KEY: 'secret',
      BERTH_STORAGE_S3_PREFIX: 'p',
      BERTH_STORAGE_S3_REDIRECT_ENABLED: 'yes',
      BERTH_STORAGE_S3_REDIRECT_EXPIRY_SECONDS: '60',
    },
  }).storage;
  assert.deepEqual(fromEnv, {
    driver: 's3',
    filesystem: {},
    s3: {
      bucket: 'registry',
      region: 'eu-west-3',
      endpoint: 'http://127.0.0.1:9000',
      force_path_style: true,
      access_key: 'AKIA',
      secret_key: 'secret',
      prefix: 'p',
      timeout_seconds: 60,
      redirect: { enabled: true, expiry_seconds: 60 },
    },
  });

  assert.throws(() => loadConfig({ env: { BERTH_STORAGE_DRIVER: 's3' } }), /storage\.s3\.bucket.*required when storage\.driver is s3/);
  assert.throws(
    () => loadConfig({ env: { BERTH_STORAGE_S3_ACCESS_KEY: 'AKIA' } }),
    /storage\.s3\.secret_key: give both access_key and secret_key, or neither/,
  );
  assert.throws(() => loadConfig({ env: { BERTH_STORAGE_DRIVER: 'gcs' } }), /storage\.driver/);
  assert.throws(() => loadConfig({ env: { BERTH_STORAGE_S3_REDIRECT_EXPIRY_SECONDS: '0' } }), /storage\.s3\.redirect\.expiry_seconds/);
});

test('server timeouts: defaults, YAML, and a headers limit longer than the whole-request limit is refused', async () => {
  const defaults = loadConfig({ env: {} }).server;
  assert.deepEqual(
    [
      defaults.headers_timeout_seconds,
      defaults.idle_timeout_seconds,
      defaults.request_timeout_seconds,
      defaults.keep_alive_timeout_seconds,
    ],
    [60, 60, 0, 65],
  );
  const file = path.join(dir, 'timeouts.yaml');
  await writeFile(file, 'server:\n  idle_timeout_seconds: 5\n  request_timeout_seconds: 600\n');
  const server = loadConfig({ file, env: {} }).server;
  assert.equal(server.idle_timeout_seconds, 5);
  assert.equal(server.request_timeout_seconds, 600);
  assert.throws(
    () => loadConfig({ env: {}, overrides: [[['server', 'request_timeout_seconds'], 30]] }),
    /server\.headers_timeout_seconds.*must not be longer than request_timeout_seconds/,
  );
  assert.throws(() => loadConfig({ env: {}, overrides: [[['server', 'idle_timeout_seconds'], -1]] }), /server\.idle_timeout_seconds/);
});
