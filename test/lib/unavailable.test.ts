import assert from 'node:assert/strict';
import { test } from 'node:test';
import { unavailableCause } from '../../src/lib/errors.js';

test('errors that pass when tried again are the database being unavailable (503 with Retry-After), others are not', () => {
  for (const code of ['08006', '57P01', '57P03', '53300', '40P01', '40001', 'SQLITE_BUSY'])
    assert.equal(unavailableCause(Object.assign(new Error('x'), { code })), 'database', code);
  assert.equal(unavailableCause(new Error('Connection terminated unexpectedly')), 'database');
  for (const code of ['23505', '42P01', '22P02', 'SQLITE_CONSTRAINT'])
    assert.equal(unavailableCause(Object.assign(new Error('x'), { code })), null, code);
  assert.equal(unavailableCause(Object.assign(new Error('x'), { $metadata: { httpStatusCode: 503 } })), 'blob storage');
  assert.equal(unavailableCause(Object.assign(new Error('x'), { $metadata: { httpStatusCode: 404 } })), null);
});
