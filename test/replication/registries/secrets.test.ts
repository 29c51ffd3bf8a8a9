/**
 * Registry credentials at rest: the secret is sealed in the registries row (and nowhere in the
 * SQLite files in clear), a key generated into settings when none is configured, a configured
 * key taking over with the generated one still opening, and rotation — the old key in
 * secrets.previous_keys still opens, `berth secrets rotate` (the real CLI) seals again with
 * the new key, after which the old key is no longer needed; without it, a clear error.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generatedKeySetting, keyIdOf, sealedKeyId } from '../../../src/auth/secret-box.js';
import { api, createUser } from '../../helpers/api.js';
import { testDialect } from '../../helpers/database.js';
import { startDragonflyFake, type DragonflyFake } from '../../helpers/dragonfly-fake.js';
import { startServer, type TestServer } from '../../helpers/server.js';

const bin = path.resolve('bin/berth.js');

const newKey = () => randomBytes(32);
const b64 = (key: Buffer) => key.toString('base64');
const hex = (key: Buffer) => key.toString('hex');

describe(`registry secrets at rest and their rotation (${testDialect()})`, () => {
  let remote: TestServer;
  const secret = `S3cret-${randomBytes(9).toString('base64url')}`;

  before(async () => {
    remote = await startServer();
    // A user of the remote Berth whose password is the secret Berth must keep sealed.
    await createUser(remote, 'replicator', secret);
  });
  after(async () => {
    await remote?.stop();
  });

  const registryBody = (name: string) => ({
    name,
    type: 'harbor',
    url: remote.url,
    credential: { type: 'basic', access_key: 'replicator', access_secret: secret },
  });

  async function addRegistry(server: TestServer, name: string): Promise<number> {
    const res = await api(server, 'POST', '/registries', { auth: server.admin.authorization, body: registryBody(name) });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return Number(res.headers.get('location')!.split('/').pop());
  }

  const storedSecret = async (server: TestServer, id: number) =>
    (await server.berth.database.db.selectFrom('registries').select('access_secret').where('id', '=', id).executeTakeFirstOrThrow())
      .access_secret!;
  const ping = (server: TestServer, id: number) =>
    api(server, 'POST', '/registries/ping', { auth: server.admin.authorization, body: { id } });

  test('with no key configured: one is generated into settings, the secret is sealed with it and is nowhere in clear', async () => {
    const server = await startServer();
    try {
      const id = await addRegistry(server, 'sealed');
      const generated = await server.berth.database.db
        .selectFrom('settings')
        .select('value')
        .where('name', '=', generatedKeySetting)
        .executeTakeFirstOrThrow();
      const sealed = await storedSecret(server, id);
      assert.match(sealed, /^bsec1:[0-9a-f]{12}:[A-Za-z0-9_-]+$/);
      assert.equal(sealedKeyId(sealed), keyIdOf(Buffer.from(generated.value, 'base64')));
      assert.equal(server.berth.secrets.box.keyId, sealedKeyId(sealed));
      // Two sealings of one secret differ (a random IV each).
      assert.notEqual(server.berth.secrets.box.seal(secret), server.berth.secrets.box.seal(secret));

      // Nowhere in any row of the table in clear, nor in the answers.
      const rows = await server.berth.database.db.selectFrom('registries').selectAll().execute();
      assert.equal(JSON.stringify(rows).includes(secret), false);
      const listed = await api(server, 'GET', '/registries', { auth: server.admin.authorization });
      assert.equal(JSON.stringify(listed.body).includes(secret), false);
      if (testDialect() === 'sqlite') {
        await server.berth.close(); // checkpoints the WAL into the file
        for (const file of await readdir(server.dataDir)) {
          if (!file.startsWith('berth.db')) continue;
          const bytes = await readFile(path.join(server.dataDir, file));
          assert.equal(bytes.includes(Buffer.from(secret)), false, `${file} holds the secret in clear`);
          assert.ok(bytes.includes(Buffer.from(sealed)) || file !== 'berth.db', 'the sealed value is in the database file');
        }
      }
    } finally {
      await server.stop();
    }
  });

  test('a configured key takes over from the generated one, which still opens until rotation', async () => {
    const server = await startServer();
    const dataDir = server.dataDir;
    const id = await addRegistry(server, 'from-generated');
    const generatedId = sealedKeyId(await storedSecret(server, id));
    await server.stop({ keepData: true });

    const configured = newKey();
    const again = await startServer({ dataDir, yaml: { 'secrets.encryption_key': hex(configured) } });
    try {
      assert.equal(again.berth.secrets.box.keyId, keyIdOf(configured));
      assert.equal((await ping(again, id)).status, 200, 'the generated key still opens');
      assert.equal(sealedKeyId(await storedSecret(again, id)), generatedId);
      const rotated = await again.berth.secrets.rotate();
      assert.deepEqual(
        rotated.find((r) => r.name === 'registries'),
        { name: 'registries', resealed: 1 },
      );
      assert.equal(sealedKeyId(await storedSecret(again, id)), keyIdOf(configured));
      assert.equal((await ping(again, id)).status, 200);
      // A second rotation has nothing left to do.
      assert.deepEqual(
        (await again.berth.secrets.rotate()).find((r) => r.name === 'registries'),
        { name: 'registries', resealed: 0 },
      );
    } finally {
      await again.stop();
    }
  });

  test('rotation: old key in previous_keys opens, `berth secrets rotate` seals with the new key (preheat instances too), then the old key can go', async () => {
    const k1 = newKey();
    const k2 = newKey();
    const first = await startServer({ yaml: { 'secrets.encryption_key': b64(k1) } });
    const dataDir = first.dataDir;
    const databaseUrl = first.databaseUrl;
    const ids = [await addRegistry(first, 'site-a'), await addRegistry(first, 'site-b')];
    for (const id of ids) assert.equal(sealedKeyId(await storedSecret(first, id)), keyIdOf(k1));
    // A preheat instance's credential is sealed by the same box and rotated by the same command.
    const dragonfly: DragonflyFake = await startDragonflyFake({ token: 'pat-rotate' });
    try {
      const instance = await api(first, 'POST', '/p2p/preheat/instances', {
        auth: first.admin.authorization,
        body: { name: 'df-rotate', vendor: 'dragonfly', endpoint: dragonfly.url, auth_mode: 'OAUTH', auth_info: { token: 'pat-rotate' } },
      });
      assert.equal(instance.status, 201, JSON.stringify(instance.body));
    } finally {
      await dragonfly.close();
    }
    const preheatSealed = async () => {
      const row = await first.berth.database.db.selectFrom('preheat_instances').select('auth_info_sealed').executeTakeFirstOrThrow();
      return row.auth_info_sealed!;
    };
    assert.equal(sealedKeyId(await preheatSealed()), keyIdOf(k1));
    await first.stop({ keepData: true });

    // The new key alone cannot open what the old one sealed: a clear error, nothing changed.
    const withoutOld = await startServer({ dataDir, yaml: { 'secrets.encryption_key': b64(k2) } });
    try {
      const res = await ping(withoutOld, ids[0]!);
      assert.equal(res.status, 500);
      assert.match(res.body.errors[0].message, /^the credential of registry site-a cannot be read: the stored secret was sealed with key /);
      await assert.rejects(
        () => withoutOld.berth.replication.registries.service.endpoint(ids[0]!),
        /sealed with key [0-9a-f]{12}, which is neither secrets\.encryption_key nor one of secrets\.previous_keys/,
      );
    } finally {
      await withoutOld.stop({ keepData: true });
    }

    // Offline, as an operator runs it: the new key, the old one among the previous keys.
    const out = await berthSecretsRotate(dataDir, databaseUrl, {
      BERTH_SECRETS_ENCRYPTION_KEY: b64(k2),
      BERTH_SECRETS_PREVIOUS_KEYS: `${hex(newKey())}, ${b64(k1)}`,
    });
    assert.equal(out.code, 0, out.stderr + out.stdout);
    const report = JSON.parse(out.stdout) as { key_id: string; resealed: Array<{ name: string; resealed: number }> };
    assert.equal(report.key_id, keyIdOf(k2));
    assert.deepEqual(
      report.resealed.find((r) => r.name === 'registries'),
      { name: 'registries', resealed: 2 },
    );
    assert.deepEqual(
      report.resealed.find((r) => r.name === 'preheat instances'),
      { name: 'preheat instances', resealed: 1 },
    );

    // Now the new key alone opens everything.
    const after = await startServer({ dataDir, yaml: { 'secrets.encryption_key': b64(k2) } });
    try {
      for (const id of ids) {
        assert.equal(sealedKeyId(await storedSecret(after, id)), keyIdOf(k2));
        assert.equal((await ping(after, id)).status, 200);
        assert.equal((await after.berth.replication.registries.service.endpoint(id))?.credential?.accessSecret, secret);
      }
      const row = await after.berth.database.db.selectFrom('preheat_instances').select('auth_info_sealed').executeTakeFirstOrThrow();
      assert.equal(sealedKeyId(row.auth_info_sealed!), keyIdOf(k2));
      assert.equal(after.berth.secrets.box.open(row.auth_info_sealed!).includes('pat-rotate'), true);
    } finally {
      await after.stop();
    }
  });

  test('berth secrets rotate with a bad key is refused with exit 2 and the reason', async () => {
    const out = await berthSecretsRotate(path.resolve('no-such-data-dir-is-opened'), undefined, {
      BERTH_SECRETS_ENCRYPTION_KEY: 'too-short',
    });
    assert.equal(out.code, 2, out.stderr + out.stdout);
    assert.match(out.stderr, /secrets\.encryption_key: must be 32 bytes/);
  });
});

function berthSecretsRotate(
  dataDir: string,
  databaseUrl: string | undefined,
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [bin, 'secrets', 'rotate', '--data-dir', dataDir, '--json'], {
    // On a PostgreSQL run, the database comes from BERTH_DATABASE_URL as an operator would give it.
    env: { ...process.env, BERTH_LOG_LEVEL: 'warn', BERTH_DATABASE_URL: databaseUrl ?? '', BERTH_SECRETS_PREVIOUS_KEYS: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}
