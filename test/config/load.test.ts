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
  assert.throws(() => loadConfig({ file, env: {} }), (err: Error) => {
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, /server\.port/);
    assert.match(err.message, /colour/);
    return true;
  });
  assert.throws(() => loadConfig({ env: { BERTH_PORT: 'x' } }), /BERTH_PORT="x" is not a number/);
  assert.throws(() => loadConfig({ env: { BERTH_LOG_ACCESS: 'maybe' } }), /not a boolean/);
});

test('a file that is not YAML, or missing, is a clear error', async () => {
  const file = path.join(dir, 'broken.yaml');
  await writeFile(file, 'server: [unclosed\n');
  assert.throws(() => loadConfig({ file, env: {} }), /not valid YAML/);
  assert.throws(() => loadConfig({ file: path.join(dir, 'absent.yaml'), env: {} }), /cannot read configuration file/);
});

test('a database URL other than sqlite is refused for now', () => {
  const config = loadConfig({ env: { BERTH_DATABASE_URL: 'mysql://x' } });
  assert.throws(() => resolvePaths(config), /not supported/);
});
