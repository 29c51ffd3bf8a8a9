import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { signingKeyFromDatabase, signingKeyFromFile } from '../../src/auth/signing-key.js';
import { TokenService } from '../../src/auth/tokens.js';
import { startServer } from '../helpers/server.js';

test('without a key file the signing key lives in the database, the same for every reader', async () => {
  const server = await startServer();
  try {
    const db = server.berth.database.db;
    const first = await signingKeyFromDatabase(db, path.join(server.dataDir, 'absent.pem'));
    const second = await signingKeyFromDatabase(db, path.join(server.dataDir, 'absent.pem'));
    assert.equal(first, second);
    assert.match(first, /BEGIN PRIVATE KEY/);
    assert.equal(existsSync(path.join(server.dataDir, 'token-key.pem')), false, 'no key file is written');
    // A token signed with the stored key is accepted by the running server (as another instance's would be).
    const other = await TokenService.open({ pem: first, lifetimeSeconds: 60 });
    const { token } = await other.issue('admin', [{ type: 'registry', name: 'catalog', actions: ['*'] }]);
    const res = await fetch(`${server.url}/v2/_catalog`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200);
  } finally {
    await server.stop();
  }
});

test('a key file an older Berth left in the data directory is adopted into the database', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'berth-key-'));
  try {
    const legacy = path.join(dir, 'token-key.pem');
    const pem = await signingKeyFromFile(legacy);
    const server = await startServer();
    try {
      await server.berth.database.db.deleteFrom('settings').execute();
      assert.equal(await signingKeyFromDatabase(server.berth.database.db, legacy), pem);
    } finally {
      await server.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a configured key file is used as it is, and created when missing', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'berth-key-'));
  try {
    const file = path.join(dir, 'keys', 'signing.pem');
    const created = await signingKeyFromFile(file);
    assert.equal(await readFile(file, 'utf8'), created);
    await writeFile(file, created);
    const server = await startServer({ yaml: { 'auth.token_key_file': file } });
    try {
      const other = await TokenService.open({ pem: created, lifetimeSeconds: 60 });
      const { token } = await other.issue('admin', [{ type: 'registry', name: 'catalog', actions: ['*'] }]);
      const res = await fetch(`${server.url}/v2/_catalog`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.status, 200);
      // No signing key in the database (other settings, such as the secrets key, may be there).
      const stored = await server.berth.database.db.selectFrom('settings').select('name').execute();
      assert.deepEqual(
        stored.filter((row) => row.name === 'token_signing_key'),
        [],
      );
    } finally {
      await server.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
