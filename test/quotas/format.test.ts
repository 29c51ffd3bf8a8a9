import assert from 'node:assert/strict';
import { test } from 'node:test';
import { exceededMessage, formatBytes, storageLimitProblem, warningMessage } from '../../src/quotas/format.js';

test('bytes are printed as Harbor prints them (binary units, one decimal, ties to even as Go does)', () => {
  const cases: Array<[number, string]> = [
    [0, '0 B'],
    [100, '100 B'],
    [1023, '1023 B'],
    [1024, '1.0 KiB'],
    [1536, '1.5 KiB'],
    [1024 * 1024, '1.0 MiB'],
    [1.5 * 1024 * 1024, '1.5 MiB'],
    [1024 ** 3, '1.0 GiB'],
    [1.5 * 1024 ** 3, '1.5 GiB'],
    [1024 ** 4, '1.0 TiB'],
    [1.5 * 1024 ** 4, '1.5 TiB'],
    [1024 ** 5, '1.0 PiB'],
    // 1.25 KiB and 1.75 KiB are exact halves: Go's %.1f rounds them to even (1.2, 1.8).
    [1280, '1.2 KiB'],
    [1792, '1.8 KiB'],
    [1281, '1.3 KiB'],
    // Just under the next unit stays in this one, as in Go.
    [1024 * 1024 - 1, '1024.0 KiB'],
    [8.3 * 1024 * 1024, '8.3 MiB'],
  ];
  for (const [value, text] of cases) assert.equal(formatBytes(value), text, String(value));
});

test("the refusal and warning read as Harbor's", () => {
  assert.equal(
    exceededMessage(2.1 * 1024 * 1024, 8.3 * 1024 * 1024, 10 * 1024 * 1024),
    'adding 2.1 MiB of storage resource, which when updated to current usage of 8.3 MiB will exceed the configured upper limit of 10.0 MiB.',
  );
  assert.equal(
    exceededMessage(0, 187.5 * 1024 * 1024, 10 * 1024 * 1024),
    'subtracting 0 B of storage resource, which when updated to current usage of 187.5 MiB will exceed the configured upper limit of 10.0 MiB.',
  );
  assert.equal(warningMessage(85, 0.9 * 1024 ** 3, 1024 ** 3), 'quota usage reach 85%: resource storage used 921.6 MiB of 1.0 GiB');
});

test('storage limits: -1 or 1 byte to 1024 TiB, whole numbers', () => {
  for (const ok of [-1, 1, 1024, 1024 ** 5]) assert.equal(storageLimitProblem(ok), null, String(ok));
  for (const bad of [0, -2, 1.5, 1024 ** 5 + 1, '10', null, true, Number.NaN]) {
    assert.equal(typeof storageLimitProblem(bad), 'string', String(bad));
  }
});
