import assert from 'node:assert/strict';
import { test } from 'node:test';
import { requestId } from '../../src/server/request-id.js';
import { startServer } from '../helpers/server.js';
import type { IncomingMessage } from 'node:http';

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

test('every answer carries X-Request-Id, /v2 errors included; a sound caller id is kept, another replaced', async () => {
  const server = await startServer();
  try {
    const anonymous = await fetch(`${server.url}/v2/`);
    assert.equal(anonymous.status, 401);
    assert.match(anonymous.headers.get('x-request-id') ?? '', uuid);
    const missing = await fetch(`${server.url}/v2/library/none/manifests/latest`, {
      method: 'HEAD',
      headers: { ...server.admin, 'x-request-id': 'abc-123' },
    });
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get('x-request-id'), 'abc-123');
    const spaced = await fetch(`${server.url}/api/v2.0/ping`, { headers: { 'x-request-id': 'has space' } });
    assert.equal(spaced.status, 200);
    assert.match(spaced.headers.get('x-request-id') ?? '', uuid);
    const two = await Promise.all([fetch(`${server.url}/api/v2.0/ping`), fetch(`${server.url}/api/v2.0/ping`)]);
    assert.notEqual(two[0].headers.get('x-request-id'), two[1].headers.get('x-request-id'));
  } finally {
    await server.stop();
  }
});

test('a caller request id is kept when 1 to 128 visible ASCII characters', () => {
  const id = (value: string | undefined) => requestId({ headers: value === undefined ? {} : { 'x-request-id': value } } as IncomingMessage);
  assert.equal(id('852803be-e5fe-499b-bbea-c9e5b5f43916'), '852803be-e5fe-499b-bbea-c9e5b5f43916');
  assert.equal(id('x'.repeat(128)), 'x'.repeat(128));
  for (const bad of [undefined, '', 'x'.repeat(129), 'tab\there', 'caf\u00e9', 'new\nline']) assert.match(id(bad), uuid, String(bad));
});
