/**
 * ScannerClient against a small adapter written here on 127.0.0.1: what it sends (paths,
 * MIME types, each auth mode), and every bad path (adapter down, 404 report, 500 with and
 * without the error body, non-JSON, redirects not followed, a 302 loop, a silent adapter).
 */
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { HttpScannerClient, parseRefreshAfter, ScannerAdapterError } from '../../../src/scanning/scanners/client.js';
import { adapterMimeTypes } from '../../../src/scanning/scanners/spec.js';
import { reportMimeTypes, sbomMediaTypes } from '../../../src/scanning/types.js';
import { requireTools } from '../../helpers/tools.js';
import { selfSignedCertificateDir } from '../../helpers/self-signed.js';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

const metadata = {
  scanner: { name: 'Hand', vendor: 'Test', version: '1.0' },
  capabilities: [
    {
      type: 'vulnerability',
      consumes_mime_types: ['application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v2+json'],
      produces_mime_types: [reportMimeTypes.vulnerability],
    },
  ],
  properties: {},
};

describe('ScannerClient against a hand-written adapter', () => {
  let server: http.Server;
  let url: string;
  const seen: Seen[] = [];
  let polls = 0;

  before(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
        const path = req.url!.split('?')[0];
        const json = (status: number, value: unknown, type = 'application/json') => {
          res.writeHead(status, { 'content-type': type });
          res.end(JSON.stringify(value));
        };
        if (path === '/ok/api/v1/metadata') return json(200, metadata, adapterMimeTypes.metadata);
        if (path === '/ok/api/v1/scan') return json(202, { id: 'scan-1' }, adapterMimeTypes.scanResponse);
        if (path === '/ok/api/v1/scan/ready/report') return json(200, { severity: 'High', vulnerabilities: [] }, req.headers.accept);
        if (path === '/ok/api/v1/scan/missing/report') {
          res.writeHead(404);
          return res.end();
        }
        if (path === '/ok/api/v1/scan/failed/report')
          return json(500, { error: { message: 'pulling failed: 401' } }, adapterMimeTypes.error);
        if (path === '/ok/api/v1/scan/html/report') {
          res.writeHead(500, { 'content-type': 'text/html' });
          return res.end('<html><body>Bad Gateway</body></html>');
        }
        if (path === '/ok/api/v1/scan/running/report') {
          polls += 1;
          // Refresh-After values as adapters send them, good and bad; Location must not be followed.
          const values = ['3', 'soon', '300', '-1'];
          res.writeHead(302, { 'refresh-after': values[(polls - 1) % values.length], location: '/ok/api/v1/scan/ready/report' });
          return res.end();
        }
        if (path === '/silent/api/v1/metadata') return; // never answers
        if (path === '/notjson/api/v1/metadata') {
          res.writeHead(200, { 'content-type': 'text/plain' });
          return res.end('hello');
        }
        if (path === '/noid/api/v1/scan') return json(202, {});
        json(404, { error: { message: `no route ${path}` } }, adapterMimeTypes.error);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const client = (path: string, extra: Partial<ConstructorParameters<typeof HttpScannerClient>[0]> = {}) =>
    new HttpScannerClient({ url: `${url}${path}`, auth: '', accessCredential: '', skipCertVerify: false, ...extra });

  test('metadata, scan and a ready report: paths under /api/v1 and the spec MIME types', async () => {
    const c = client('/ok/');
    assert.deepEqual(await c.metadata(), metadata);
    const request = {
      registry: { url: 'http://registry.test', authorization: 'Bearer abc' },
      artifact: { repository: 'library/a', digest: 'sha256:' + 'a'.repeat(64), mime_type: 'application/vnd.oci.image.manifest.v1+json' },
    };
    assert.deepEqual(await c.scan(request), { id: 'scan-1' });
    const report = await c.report('ready', reportMimeTypes.vulnerability);
    assert.equal(report.status, 'ready');
    assert.deepEqual(JSON.parse((report as { body: string }).body), { severity: 'High', vulnerabilities: [] });
    const [meta, scan, rep] = seen.slice(-3);
    assert.equal(meta.url, '/ok/api/v1/metadata');
    assert.equal(meta.headers.accept, adapterMimeTypes.metadata);
    assert.equal(scan.headers['content-type'], adapterMimeTypes.scanRequest);
    assert.equal(scan.headers.accept, adapterMimeTypes.scanResponse);
    assert.deepEqual(JSON.parse(scan.body), request);
    assert.equal(rep.headers.accept, reportMimeTypes.vulnerability);
    c.close();
  });

  test('the SBOM media type goes in the query string', async () => {
    const c = client('/ok');
    await c.report('ready', reportMimeTypes.sbom, { sbomMediaType: sbomMediaTypes.spdx });
    assert.equal(seen.at(-1)!.url, '/ok/api/v1/scan/ready/report?sbom_media_type=application%2Fspdx%2Bjson');
    c.close();
  });

  test('each auth mode puts its credential where Harbor puts it', async () => {
    const cases: Array<[any, string, Record<string, string | undefined>]> = [
      ['', '', { authorization: undefined, 'x-scanneradapter-api-key': undefined }],
      ['Basic', 'user:pw', { authorization: `Basic ${Buffer.from('user:pw').toString('base64')}` }],
      ['Bearer', 'tok', { authorization: 'Bearer tok' }],
      ['APIKey', 'k3y', { 'x-scanneradapter-api-key': 'k3y', authorization: undefined }],
    ];
    for (const [auth, accessCredential, expected] of cases) {
      const c = client('/ok', { auth, accessCredential });
      await c.metadata();
      for (const [header, value] of Object.entries(expected))
        assert.equal(seen.at(-1)!.headers[header], value, `${auth || 'none'}: ${header}`);
      c.close();
    }
  });

  test('a 302 is "pending" with Refresh-After parsed as Harbor does, and its Location is not followed', async () => {
    const c = client('/ok');
    polls = 0;
    const before = seen.length;
    const waits: number[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await c.report('running', reportMimeTypes.vulnerability);
      assert.equal(r.status, 'pending');
      waits.push((r as { refreshAfterSeconds: number }).refreshAfterSeconds);
    }
    // 3 as sent; "soon" and 300 (not a signed byte) fall back to 5; -1 means no wait.
    assert.deepEqual(waits, [3, 5, 5, 0]);
    assert.equal(seen.length - before, 4, 'one request per call: the redirect was not followed');
    assert.equal(parseRefreshAfter(undefined), 5);
    assert.equal(parseRefreshAfter('127'), 127);
    c.close();
  });

  test('404 and 500 reports are errors with the adapter message and the status', async () => {
    const c = client('/ok');
    await assert.rejects(c.report('missing', reportMimeTypes.vulnerability), (err: ScannerAdapterError) => {
      assert.equal(err.status, 404);
      assert.match(err.message, /unexpected status code: 404, expected: 200/);
      return true;
    });
    await assert.rejects(c.report('failed', reportMimeTypes.vulnerability), (err: ScannerAdapterError) => {
      assert.equal(err.status, 500);
      assert.equal(err.message, 'pulling failed: 401: unexpected status code: 500, expected: 200');
      return true;
    });
    await assert.rejects(c.report('html', reportMimeTypes.vulnerability), (err: ScannerAdapterError) => {
      assert.equal(err.status, 500);
      assert.match(err.message, /the body is not JSON: <html><body>Bad Gateway/);
      return true;
    });
    const noId = client('/noid');
    const request = { registry: { url: 'http://x' }, artifact: { repository: 'a', digest: 'sha256:1', mime_type: 'x' } };
    await assert.rejects(noId.scan(request), /answered 202 without a scan id/);
    noId.close();
    await assert.rejects(client('/notjson').metadata(), /not JSON: hello/);
    c.close();
  });

  test('an adapter that is down or never answers is an error, not a hang', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const down = new HttpScannerClient({ url: `http://127.0.0.1:${port}`, auth: '', accessCredential: '', skipCertVerify: false });
    await assert.rejects(down.metadata(), (err: ScannerAdapterError) => {
      assert.equal(err.status, undefined);
      assert.match(err.message, new RegExp(`cannot reach the scanner adapter at http://127.0.0.1:${port}: .*ECONNREFUSED`));
      return true;
    });
    const silent = client('/silent', { timeoutMs: 300 });
    await assert.rejects(silent.metadata(), /no answer within 300 ms/);
    silent.close();
  });
});

describe('ScannerClient over TLS with a self-signed certificate', { skip: requireTools('openssl') }, () => {
  let server: https.Server;
  let url: string;
  let dir: string;

  before(async () => {
    dir = await selfSignedCertificateDir('berth-tls-');
    server = https.createServer(
      { key: await readFile(path.join(dir, 'key.pem')), cert: await readFile(path.join(dir, 'cert.pem')) },
      (_req, res) => {
        res.writeHead(200, { 'content-type': adapterMimeTypes.metadata });
        res.end(JSON.stringify(metadata));
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('the certificate is verified unless skip_certVerify says not to', async () => {
    const strict = new HttpScannerClient({ url, auth: '', accessCredential: '', skipCertVerify: false });
    await assert.rejects(strict.metadata(), /cannot reach the scanner adapter at https:\/\/127\.0\.0\.1:\d+: self[- ]signed certificate/);
    strict.close();
    const lenient = new HttpScannerClient({ url, auth: '', accessCredential: '', skipCertVerify: true });
    assert.deepEqual(await lenient.metadata(), metadata);
    lenient.close();
  });
});
