import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { newKeyText, SecretBox, decodeKey } from '../../src/auth/secret-box.js';
import { api } from '../helpers/api.js';
import { testDialect } from '../helpers/database.js';
import { startDragonflyFake, type DragonflyFake } from '../helpers/dragonfly-fake.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { createInstance } from './helpers.js';

/*
 * A key rotation as docs/CONFIGURATION.md describes it, for preheat instances: sealed with key
 * 1; restarted with key 2 and key 1 as a previous key (the credential still opens); `berth
 * secrets rotate` (the same Secrets.rotate) re-seals it; restarted with key 2 alone, it opens.
 * The Dragonfly stand-in takes jobs only with the right token, so a preheat request proves the
 * credential that came out of the box.
 */
describe(`preheat instance credentials across a key rotation (${testDialect()})`, () => {
  let server: TestServer | undefined;
  let dragonfly: DragonflyFake;
  const key1 = newKeyText();
  const key2 = newKeyText();

  before(async () => {
    dragonfly = await startDragonflyFake({ token: 'pat-rotated' });
  });
  after(async () => {
    await server?.stop();
    await dragonfly?.close();
  });

  const restart = async (yaml: Record<string, unknown>) => {
    const dataDir = server?.dataDir;
    await server?.stop({ keepData: true });
    server = await startServer({ dataDir, yaml });
    return server;
  };
  /** Asks the stand-in for a job with the stored credential; true when it took it. */
  const credentialWorks = async (s: TestServer) => {
    const { instances } = s.berth.preheat;
    const driver = instances.driver((await instances.open((await instances.byName('df')).id))!);
    try {
      const status = await driver.preheat({
        type: 'image',
        url: `${s.url}/v2/library/x/manifests/v1`,
        headers: {},
        repository: 'library/x',
        tag: 'v1',
        digest: 'sha256:0',
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        children: [],
        extraAttrs: null,
      });
      return status.status === 'Running';
    } finally {
      driver.close();
    }
  };
  const sealedKeyIdOf = async (s: TestServer) =>
    (
      await s.berth.database.db.selectFrom('preheat_instances').select('auth_info_sealed').executeTakeFirstOrThrow()
    ).auth_info_sealed!.split(':')[1];

  test('sealed with the first key, still opened after the change, re-sealed by the rotation, opened with the new key alone', async () => {
    const s1 = await restart({ 'secrets.encryption_key': key1 });
    await createInstance(s1, {
      name: 'df',
      vendor: 'dragonfly',
      endpoint: dragonfly.url,
      auth_mode: 'OAUTH',
      auth_info: { token: 'pat-rotated' },
    });
    assert.equal(await sealedKeyIdOf(s1), new SecretBox(decodeKey(key1)).keyId);
    assert.ok(await credentialWorks(s1));

    const s2 = await restart({ 'secrets.encryption_key': key2, 'secrets.previous_keys': [key1] });
    assert.ok(await credentialWorks(s2), 'the old key still opens');
    const results = await s2.berth.secrets.rotate();
    assert.deepEqual(
      results.find((r) => r.name === 'preheat instances'),
      { name: 'preheat instances', resealed: 1 },
    );
    assert.equal(await sealedKeyIdOf(s2), new SecretBox(decodeKey(key2)).keyId);

    const s3 = await restart({ 'secrets.encryption_key': key2 });
    assert.ok(await credentialWorks(s3));
    const ping = await api(s3, 'POST', '/p2p/preheat/instances/ping', {
      auth: s3.admin.authorization,
      body: { id: (await s3.berth.preheat.instances.byName('df')).id },
    });
    assert.equal(ping.status, 200);
    assert.equal(dragonfly.jobs.length, 3);
    assert.ok(dragonfly.jobs.every((j) => j.authorization === 'Bearer pat-rotated'));
  });
});
