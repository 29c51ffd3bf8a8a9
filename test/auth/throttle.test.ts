import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { Authenticator } from '../../src/auth/authenticator.js';
import type { Principals, UserIdentity } from '../../src/auth/principals.js';
import { LoginThrottle, type ThrottleOptions } from '../../src/auth/throttle.js';
import type { DatabaseHandle } from '../../src/db/index.js';
import { isAppError } from '../../src/lib/errors.js';
import { eachDatabase } from '../jobs/databases.js';

/**
 * The lock-out rules on a real database, through the Authenticator as every login path uses it
 * (/v2 Basic, /service/token and /c/login all call `login`). The accounts answer after a short
 * pause, so that checks overlap as they do under a real argon2 verification, and count every
 * password they are asked to check.
 */
const right = 'Right12345';

class CountingPrincipals implements Principals {
  readonly robotPrefix = 'robot$';
  checks: Array<{ username: string; password: string }> = [];

  async userByPassword(username: string, password: string): Promise<UserIdentity | null> {
    this.checks.push({ username, password });
    await sleep(30);
    return password === right ? { kind: 'user', userId: 7, username, sysadmin: false, via: 'basic' } : null;
  }

  async userById(): Promise<UserIdentity | null> {
    return null;
  }

  async robotBySecret(): Promise<null> {
    return null;
  }

  async tokenSubject(): Promise<null> {
    return null;
  }

  checksOf(username: string): number {
    return this.checks.filter((c) => c.username === username).length;
  }
}

const fast: Partial<ThrottleOptions> = { delayStepMs: 0, maxDelayMs: 0 };

function instance(handle: DatabaseHandle, principals = new CountingPrincipals(), options: Partial<ThrottleOptions> = {}, now?: () => number) {
  const throttle = new LoginThrottle(handle.db, { ...fast, ...options }, now);
  const authenticator = new Authenticator(principals, undefined as never, undefined as never, throttle);
  return { principals, throttle, authenticator };
}

/** 'ok', 'wrong' or 'locked' for one login. */
async function outcome(authenticator: Authenticator, username: string, password: string): Promise<string> {
  try {
    await authenticator.login(username, password);
    return 'ok';
  } catch (err) {
    if (!isAppError(err) || err.status !== 401) throw err;
    return /too many failed logins/.test(err.message) ? 'locked' : 'wrong';
  }
}

eachDatabase('failed-login lock-out', (db) => {
  test('a burst of wrong guesses with the right one behind them: at most five are checked, all are refused, and the name stays locked', async () => {
    const { principals, authenticator } = instance(db().handle);
    const guesses = Array.from({ length: 20 }, (_, i) => `Wrong${i}abc`);
    const answers = await Promise.all([...guesses, right].map((p) => outcome(authenticator, 'burst', p)));
    assert.equal(principals.checksOf('burst'), 5, 'exactly the limit of guesses was checked');
    assert.ok(!principals.checks.some((c) => c.username === 'burst' && c.password === right), 'the right password was never checked');
    assert.equal(answers.filter((a) => a === 'wrong').length, 5);
    assert.equal(answers.filter((a) => a === 'locked').length, 16);
    assert.equal(answers.at(-1), 'locked', 'the right password in the burst');
    assert.equal(await outcome(authenticator, 'burst', right), 'locked', 'the right password right after the burst');
    assert.equal(principals.checksOf('burst'), 5);
  });

  test('the same wrong guess sent ten times at once is checked once but counts ten times', async () => {
    const { principals, authenticator } = instance(db().handle);
    const answers = await Promise.all(Array.from({ length: 10 }, () => outcome(authenticator, 'same', 'Wrong1abc')));
    assert.deepEqual(answers, Array(10).fill('wrong'));
    assert.equal(principals.checksOf('same'), 1);
    assert.equal(await outcome(authenticator, 'same', right), 'locked');
  });

  test('remembered credentials: answered without a check while the name is quiet, refused once it is locked', async () => {
    const { principals, authenticator } = instance(db().handle);
    assert.equal(await outcome(authenticator, 'cached', right), 'ok');
    assert.equal(await outcome(authenticator, 'cached', right), 'ok');
    assert.equal(principals.checksOf('cached'), 1, 'the second login came from the credential cache');
    // Wrong guesses first, the (remembered) right one behind them in the same burst.
    const burst = [...Array.from({ length: 5 }, (_, i) => `Wrong${i}abc`), right];
    const answers = await Promise.all(burst.map((p) => outcome(authenticator, 'cached', p)));
    assert.deepEqual(answers, ['wrong', 'wrong', 'wrong', 'wrong', 'wrong', 'locked']);
    assert.equal(await outcome(authenticator, 'cached', right), 'locked', 'the cache does not answer for a locked name');
    assert.equal(principals.checksOf('cached'), 6);
  });

  test('many concurrent logins with the right password are not mistaken for guessing', async () => {
    const a = instance(db().handle);
    const b = instance(db().connect(), new CountingPrincipals());
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) => outcome((i % 2 === 0 ? a : b).authenticator, 'busy', right)),
    );
    assert.deepEqual(answers, Array(40).fill('ok'));
    assert.equal(a.principals.checksOf('busy') + b.principals.checksOf('busy'), 2, 'one check per instance');
    assert.equal(await a.throttle.state('busy'), 'quiet');
  });

  test('the count is shared by instances through the database', async () => {
    const a = instance(db().handle);
    const b = instance(db().connect(), new CountingPrincipals());
    const answers = await Promise.all([
      ...['W1abcdefg', 'W2abcdefg', 'W3abcdefg'].map((p) => outcome(a.authenticator, 'shared', p)),
      ...['W4abcdefg', 'W5abcdefg', 'W6abcdefg'].map((p) => outcome(b.authenticator, 'shared', p)),
    ]);
    assert.equal(a.principals.checksOf('shared') + b.principals.checksOf('shared'), 5, 'five checks over both instances');
    assert.equal(answers.filter((x) => x === 'locked').length, 1);
    assert.equal(await outcome(a.authenticator, 'shared', right), 'locked');
    assert.equal(await outcome(b.authenticator, 'shared', right), 'locked');
    assert.equal(await outcome(a.authenticator, 'SHARED', right), 'locked', 'names are compared without case');
  });

  test('a success does not wipe earlier failures; the window and the lock end after lockMs', async () => {
    let now = Date.parse('2030-01-01T00:00:00Z');
    const { principals, authenticator, throttle } = instance(db().handle, new CountingPrincipals(), { lockMs: 60_000 }, () => now);
    for (let i = 0; i < 4; i += 1) assert.equal(await outcome(authenticator, 'window', `Wrong${i}abc`), 'wrong');
    assert.equal(await outcome(authenticator, 'window', right), 'ok');
    assert.equal(await throttle.state('window'), 'active', 'failures in the window stay counted');
    assert.equal(await outcome(authenticator, 'window', 'Wrong9abc'), 'wrong');
    assert.equal(await outcome(authenticator, 'window', right), 'locked', 'the fifth failure locked the name');
    now += 59_000;
    assert.equal(await outcome(authenticator, 'window', right), 'locked');
    await throttle.purgeStale();
    assert.equal(await throttle.state('window'), 'locked', 'a live lock is kept by the purge');
    now += 1_000;
    assert.equal(await throttle.state('window'), 'quiet');
    assert.equal(await outcome(authenticator, 'window', right), 'ok', 'the lock is over');
    assert.equal(principals.checksOf('window'), 6);
    now += 60_000;
    assert.ok((await throttle.purgeStale()) >= 1, 'finished counters are removed');
    const left = await db().handle.db.selectFrom('login_attempts').select('name_hash').execute();
    assert.equal(left.length, 0);
  });

  test('robot names and user names are throttled alike, and unknown names too', async () => {
    const { authenticator } = instance(db().handle);
    const answers = await Promise.all(
      Array.from({ length: 7 }, (_, i) => outcome(authenticator, 'robot$ghost', `Wrong${i}abc`)),
    );
    assert.equal(answers.filter((x) => x === 'wrong').length, 5);
    assert.equal(answers.filter((x) => x === 'locked').length, 2);
  });
});
