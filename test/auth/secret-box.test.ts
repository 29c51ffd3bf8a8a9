/**
 * SecretBox: AES-256-GCM with the sealing key's id in front, previous keys opening only, a
 * tampered value refused; keys from configuration (hex or base64, file or environment).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { decodeKey, keyIdOf, newKeyText, SecretBox, SecretBoxError, Secrets, sealedKeyId } from '../../src/auth/secret-box.js';
import { ConfigError, loadConfig } from '../../src/config/load.js';

test('seal and open; the sealed text names the key and hides the secret; every sealing differs', () => {
  const key = randomBytes(32);
  const box = new SecretBox(key);
  const sealed = box.seal('pässwörd: with unicode');
  assert.match(sealed, /^bsec1:[0-9a-f]{12}:[A-Za-z0-9_-]+$/);
  assert.equal(sealedKeyId(sealed), keyIdOf(key));
  assert.equal(sealed.includes('pässwörd'), false);
  assert.equal(box.open(sealed), 'pässwörd: with unicode');
  assert.notEqual(box.seal('x'), box.seal('x'));
  assert.equal(box.open(box.seal('')), '');
});

test('previous keys open but never seal; reseal moves a value to the current key and leaves current ones alone', () => {
  const k1 = randomBytes(32);
  const k2 = randomBytes(32);
  const old = new SecretBox(k1).seal('secret');
  const box = new SecretBox(k2, [k1]);
  assert.equal(box.open(old), 'secret');
  assert.equal(box.isCurrent(old), false);
  const moved = box.reseal(old)!;
  assert.equal(sealedKeyId(moved), keyIdOf(k2));
  assert.equal(new SecretBox(k2).open(moved), 'secret');
  assert.equal(box.reseal(moved), null);
  assert.deepEqual(box.keyIds, [keyIdOf(k2), keyIdOf(k1)]);
});

test('an unknown key, a tampered value, a truncated value and plain text are refused', () => {
  const box = new SecretBox(randomBytes(32));
  const other = new SecretBox(randomBytes(32)).seal('secret');
  assert.throws(
    () => box.open(other),
    (err: unknown) => err instanceof SecretBoxError && /neither secrets\.encryption_key/.test(err.message),
  );
  const sealed = box.seal('secret');
  const body = Buffer.from(sealed.split(':')[2]!, 'base64url');
  body[body.length - 20] ^= 1;
  const tampered = `${sealed.split(':').slice(0, 2).join(':')}:${body.toString('base64url')}`;
  assert.throws(() => box.open(tampered), /does not open with key/);
  assert.throws(() => box.open(sealed.slice(0, 25)), /truncated/);
  assert.throws(() => box.open('hunter2'), /not a sealed value/);
});

test('keys are 32 bytes as hex or base64 (standard or url-safe); anything else is refused', () => {
  const key = randomBytes(32);
  assert.deepEqual(decodeKey(key.toString('hex')), key);
  assert.deepEqual(decodeKey(key.toString('base64')), key);
  assert.deepEqual(decodeKey(key.toString('base64url')), key);
  assert.deepEqual(decodeKey(` ${key.toString('base64')}\n`), key);
  assert.equal(decodeKey(newKeyText()).length, 32);
  for (const bad of ['', 'short', randomBytes(16).toString('hex'), randomBytes(31).toString('base64'), 'z'.repeat(64)]) {
    assert.throws(() => decodeKey(bad), SecretBoxError, bad);
  }
  assert.throws(() => new SecretBox(randomBytes(16)), SecretBoxError);
});

test('configuration: secrets.encryption_key and previous_keys from the environment (a comma-separated list), bad keys refused', () => {
  const k1 = randomBytes(32).toString('base64');
  const k2 = randomBytes(32).toString('hex');
  const config = loadConfig({ env: { BERTH_SECRETS_ENCRYPTION_KEY: k1, BERTH_SECRETS_PREVIOUS_KEYS: ` ${k2} ,, ${k1}` } });
  assert.equal(config.secrets.encryption_key, k1);
  assert.deepEqual(config.secrets.previous_keys, [k2, k1]);
  assert.deepEqual(loadConfig({ env: {} }).secrets, { previous_keys: [] });
  assert.throws(
    () => loadConfig({ env: { BERTH_SECRETS_ENCRYPTION_KEY: 'not-a-key' } }),
    (err: unknown) => {
      return err instanceof ConfigError && /secrets\.encryption_key: must be 32 bytes/.test(err.message);
    },
  );
  assert.throws(() => loadConfig({ env: { BERTH_SECRETS_PREVIOUS_KEYS: `${k2},nope` } }), /secrets\.previous_keys\.1: must be 32 bytes/);
});

test('Secrets.rotate runs every registered resealer with the box and reports what each sealed again', async () => {
  const secrets = new Secrets(new SecretBox(randomBytes(32)));
  const seen: string[] = [];
  secrets.onRotate('a', async (box) => {
    seen.push(box.keyId);
    return 2;
  });
  secrets.onRotate('b', async () => 0);
  assert.deepEqual(await secrets.rotate(), [
    { name: 'a', resealed: 2 },
    { name: 'b', resealed: 0 },
  ]);
  assert.deepEqual(seen, [secrets.box.keyId]);
});
