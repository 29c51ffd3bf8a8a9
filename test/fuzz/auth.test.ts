/**
 * Fuzzing of credentials and challenges: Basic auth (src/auth/authenticator.ts parseBasic)
 * and the WWW-Authenticate challenges a remote registry sends (replication's parseChallenge).
 * Neither ever throws; both round-trip what a client writes; both answer in bounded time.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseBasic } from '../../src/auth/authenticator.js';
import { parseChallenge } from '../../src/replication/adapters/http.js';
import { bounded, hostileString, params } from './fuzz.js';

test('Basic: any header is credentials or null; what a client writes reads back', () => {
  const header = fc.oneof(
    hostileString('Basic bB:=+/aZ09 \t'),
    hostileString('aZ09+/=').map((s) => `Basic ${s}`),
    fc.string({ maxLength: 100 }).map((s) => `basic ${Buffer.from(s).toString('base64')}`),
  );
  fc.assert(
    fc.property(header, (value) => {
      const parsed = bounded('parseBasic', () => parseBasic(value));
      assert.deepEqual(parseBasic(value), parsed);
      if (parsed) assert.ok(typeof parsed.username === 'string' && typeof parsed.password === 'string');
    }),
    params(1000),
  );
  fc.assert(
    fc.property(
      fc.string({ maxLength: 60 }).filter((u) => !u.includes(':')),
      fc.string({ maxLength: 60 }),
      (username, password) => {
        const header = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
        // Text that is not valid UTF-8 once encoded (lone surrogates) cannot round-trip; Buffer replaces it.
        const expected = { username: Buffer.from(username).toString(), password: Buffer.from(password).toString() };
        assert.deepEqual(parseBasic(header), expected);
      },
    ),
    params(500),
  );
});

const token = fc.string({ unit: fc.constantFrom(...'abcXYZ019:/._-'), minLength: 1, maxLength: 30 });

test('WWW-Authenticate: any header is a challenge or null; Bearer parameters read back', () => {
  const header = fc.oneof(
    hostileString('Bearer Basic realm=service"scope,\\ =a-_', 8000),
    hostileString('a', 8000).map((s) => `Bearer ${s}`),
    fc.array(hostileString('Bearer realm="\\,= ', 300), { maxLength: 3 }),
  );
  fc.assert(
    fc.property(header, (value) => {
      const challenge = bounded('parseChallenge', () => parseChallenge(value));
      assert.deepEqual(parseChallenge(value), challenge);
      if (challenge) assert.ok(challenge.scheme === 'bearer' || challenge.scheme === 'basic');
    }),
    params(1000),
  );
  fc.assert(
    fc.property(fc.webUrl(), token, fc.array(token, { maxLength: 3 }), (realm, service, scopes) => {
      const header = `Bearer realm="${realm}",service="${service}",scope="${scopes.join(' ')}"`;
      const challenge = parseChallenge(header);
      assert.deepEqual(challenge, { scheme: 'bearer', realm, service, scopes, error: undefined });
    }),
    params(300),
  );
});

test('regression: a long run of letters in a challenge is read in linear time', () => {
  // The parameter scan was tried from every position inside a word: quadratic, two seconds
  // of event loop for a 16 KiB header of letters.
  for (const piece of ['a', 'a-', 'a_', 'ab1']) {
    const header = `Bearer ${piece.repeat(Math.ceil(16_384 / piece.length))}`;
    assert.deepEqual(
      bounded('parseChallenge', () => parseChallenge(header)),
      { scheme: 'bearer', realm: undefined, service: undefined, scopes: [], error: undefined },
    );
  }
  assert.equal(parseChallenge('Bearer realm="r"service="s"')?.service, 's');
});
