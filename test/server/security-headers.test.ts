// Security headers on every answer, the portal's, the API's and the registry's alike: a
// Content-Security-Policy without inline script that forbids framing, X-Frame-Options: DENY,
// X-Content-Type-Options: nosniff, Referrer-Policy; HSTS only when Berth is reached over TLS.
// test/portal/ loads every page in Chromium under this policy and fails on any console error.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { pushImage } from '../helpers/oci.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { parseRawResponse, rawExchange } from '../helpers/v2.js';

let server: TestServer;
let layer: string;
before(async () => {
  server = await startServer();
  layer = (await pushImage(server.url, 'library/headers', 'v1', { headers: server.admin })).layer.digest;
});
after(async () => {
  await server.stop();
});

/** The policy's directives by name. */
function directives(csp: string | null): Map<string, string[]> {
  assert.ok(csp, 'a Content-Security-Policy header');
  return new Map(
    csp
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .filter((parts) => parts[0] !== '')
      .map(([name, ...values]) => [name, values]),
  );
}

function assertSecurityHeaders(headers: Headers, what: string): void {
  const csp = directives(headers.get('content-security-policy'));
  assert.deepEqual(csp.get('script-src'), ["'self'"], `${what}: scripts only from Berth, none inline`);
  assert.deepEqual(csp.get('script-src-attr'), ["'none'"], `${what}: no inline event handlers`);
  assert.deepEqual(csp.get('frame-ancestors'), ["'none'"], `${what}: never framed`);
  assert.deepEqual(csp.get('default-src'), ["'self'"], what);
  assert.deepEqual(csp.get('object-src'), ["'none'"], what);
  assert.equal(csp.has('upgrade-insecure-requests'), false, `${what}: served over http, nothing is upgraded`);
  assert.equal(headers.get('x-frame-options'), 'DENY', what);
  assert.equal(headers.get('x-content-type-options'), 'nosniff', what);
  assert.equal(headers.get('referrer-policy'), 'no-referrer', what);
  assert.equal(headers.get('strict-transport-security'), null, `${what}: no HSTS over plain http`);
}

describe('every answer carries the security headers', () => {
  const cases: Array<[string, string, Record<string, string>, number]> = [
    ['the portal', '/', { accept: 'text/html' }, 200],
    ['a portal route', '/projects', { accept: 'text/html' }, 200],
    ['an API read', '/api/v2.0/systeminfo', {}, 200],
    ['an API error', '/api/v2.0/projects/nothing-here', {}, 404],
    ['the API docs page', '/api/v2.0/docs', {}, 200],
    ['the API docs script', '/api/v2.0/docs/static/swagger-initializer.js', {}, 200],
    ['the OpenAPI document', '/api/v2.0/openapi.json', {}, 200],
    ['the registry base, challenged', '/v2/', {}, 401],
    ['an unknown path', '/nothing', {}, 404],
  ];
  for (const [what, path, headers, status] of cases) {
    test(`${what} (${path})`, async () => {
      const res = await fetch(`${server.url}${path}`, { headers, redirect: 'manual' });
      assert.equal(res.status, status, `${path}: ${res.status}`);
      assertSecurityHeaders(res.headers, what);
    });
  }

  test('registry answers signed in: a manifest and a blob', async () => {
    for (const path of ['/v2/library/headers/manifests/v1', `/v2/library/headers/blobs/${layer}`]) {
      const res = await fetch(`${server.url}${path}`, { headers: server.admin });
      assert.equal(res.status, 200);
      assertSecurityHeaders(res.headers, path);
    }
  });

  test('a request Node refuses before Berth sees it still gets nosniff', async () => {
    const res = parseRawResponse(await rawExchange(server, 'GET /v2/ HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n'));
    assert.equal(res?.status, 400);
    assert.equal(res?.headers.get('x-content-type-options'), 'nosniff');
  });

  test('the portal page holds no inline script, so the policy does not block it', async () => {
    const res = await fetch(`${server.url}/`, { headers: { accept: 'text/html' } });
    const html = await res.text();
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
    for (const [, attributes, content] of scripts) {
      assert.match(attributes, /\bsrc=/, `every script is a file: <script${attributes}>`);
      assert.equal(content.trim(), '', 'and has no inline body');
    }
    assert.doesNotMatch(html, /\son[a-z]+\s*=/i, 'no inline event handler attributes');
  });
});

describe('over TLS', () => {
  let tls: TestServer;
  before(async () => {
    tls = await startServer({ yaml: { 'server.external_url': 'https://registry.example.com' } });
  });
  after(async () => {
    await tls.stop();
  });

  test('with an https external URL, answers carry HSTS and upgrade insecure requests', async () => {
    for (const path of ['/', '/api/v2.0/systeminfo', '/v2/']) {
      const res = await fetch(`${tls.url}${path}`, { headers: { accept: 'text/html' } });
      assert.equal(res.headers.get('strict-transport-security'), 'max-age=31536000', path);
      assert.ok(directives(res.headers.get('content-security-policy')).has('upgrade-insecure-requests'), path);
      assert.equal(res.headers.get('x-frame-options'), 'DENY');
    }
  });
});
