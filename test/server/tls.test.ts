import assert from 'node:assert/strict';
import { randomBytes, X509Certificate } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import http2 from 'node:http2';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import tls from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { buildImage, imageBlobs, readOciLayout, writeOciLayout } from '../helpers/layout.js';
import { sha256 } from '../helpers/oci.js';
import { selfSignedCertificateDir, writeSelfSignedPair } from '../helpers/self-signed.js';
import { adminPassword, basicAuth, startServer, type TestServer } from '../helpers/server.js';
import { requireTools, runTool } from '../helpers/tools.js';

const skip = requireTools('openssl', 'skopeo', 'curl', 'tar');

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** One request on an HTTP/2 session; `body` chunks are written one by one (a streamed upload). */
function h2(
  session: http2.ClientHttp2Session,
  method: string,
  pathname: string,
  headers: Record<string, string> = {},
  body: Buffer[] = [],
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':method': method, ':path': pathname, ...headers }, { endStream: body.length === 0 });
    const chunks: Buffer[] = [];
    let head: http2.IncomingHttpHeaders = {};
    req.on('response', (h) => (head = h));
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve({ status: Number(head[':status']), headers: head, body: Buffer.concat(chunks) }));
    req.on('error', reject);
    (async () => {
      for (const chunk of body) {
        if (!req.write(chunk)) await new Promise((r) => req.once('drain', r));
      }
      if (body.length > 0) req.end();
    })().catch(reject);
  });
}

/** The serial number of the certificate the server presents now. */
function servedSerial(port: number, ca: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca, servername: undefined, rejectUnauthorized: false }, () => {
      const serial = socket.getPeerX509Certificate()?.serialNumber ?? '';
      socket.end();
      resolve(serial);
    });
    socket.on('error', reject);
  });
}

function newPair(dir: string, name: string): { cert: string; key: string } {
  const cert = path.join(dir, `${name}.crt`);
  const key = path.join(dir, `${name}.key`);
  writeSelfSignedPair(cert, key);
  return { cert, key };
}

describe('HTTPS served by Berth (server.tls)', { skip }, () => {
  let server: TestServer;
  let certDir: string;
  let work: string;
  let port: number;
  let ca: Buffer;
  const versions = new Set<string>();

  before(async () => {
    certDir = await selfSignedCertificateDir('berth-tls-');
    work = await mkdtemp(path.join(tmpdir(), 'berth-tls-work-'));
    ca = await readFile(path.join(certDir, 'cert.pem'));
    server = await startServer({
      yaml: {
        'server.tls.cert_file': path.join(certDir, 'cert.pem'),
        'server.tls.key_file': path.join(certDir, 'key.pem'),
        'server.tls.reload_check_seconds': 1,
      },
    });
    port = Number(new URL(server.url).port);
    // Which HTTP versions the clients below really spoke.
    server.berth.http.server.on('request', (req: { httpVersion: string }) => versions.add(req.httpVersion));
  });

  after(async () => {
    await server?.stop();
    await rm(certDir, { recursive: true, force: true });
    await rm(work, { recursive: true, force: true });
  });

  test('the base URL is https', () => {
    assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  });

  test('HTTP/2: a streamed blob upload, HEAD, a Range read, a manifest GET', async () => {
    const session = http2.connect(server.url, { ca });
    try {
      const auth = { authorization: server.admin.authorization };
      const blob = randomBytes(3 * 1024 * 1024 + 17);
      const digest = sha256(blob);
      const start = await h2(session, 'POST', '/v2/library/h2/blobs/uploads/', auth);
      assert.equal(start.status, 202, start.body.toString());
      const location = String(start.headers.location);
      // The body goes in many DATA frames: a PATCH with part of it, the PUT with the rest.
      const half = 2 * 1024 * 1024;
      const chunks = (b: Buffer) => Array.from({ length: Math.ceil(b.length / 65536) }, (_, i) => b.subarray(i * 65536, (i + 1) * 65536));
      const patch = await h2(
        session,
        'PATCH',
        new URL(location, server.url).pathname + new URL(location, server.url).search,
        {
          ...auth,
          'content-type': 'application/octet-stream',
        },
        chunks(blob.subarray(0, half)),
      );
      assert.equal(patch.status, 202, patch.body.toString());
      const next = new URL(String(patch.headers.location), server.url);
      next.searchParams.set('digest', digest);
      const put = await h2(
        session,
        'PUT',
        next.pathname + next.search,
        { ...auth, 'content-type': 'application/octet-stream' },
        chunks(blob.subarray(half)),
      );
      assert.equal(put.status, 201, put.body.toString());

      const head = await h2(session, 'HEAD', `/v2/library/h2/blobs/${digest}`, auth);
      assert.equal(head.status, 200);
      assert.equal(head.headers['content-length'], String(blob.length));
      assert.equal(head.body.length, 0);
      const range = await h2(session, 'GET', `/v2/library/h2/blobs/${digest}`, { ...auth, range: 'bytes=100-199' });
      assert.equal(range.status, 206);
      assert.deepEqual(range.body, blob.subarray(100, 200));
      const whole = await h2(session, 'GET', `/v2/library/h2/blobs/${digest}`, auth);
      assert.equal(sha256(whole.body), digest);

      const config = Buffer.from('{}');
      await h2(
        session,
        'POST',
        `/v2/library/h2/blobs/uploads/?digest=${sha256(config)}`,
        { ...auth, 'content-type': 'application/octet-stream' },
        [config],
      );
      const manifest = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
          layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest, size: blob.length }],
        }),
      );
      const pushed = await h2(
        session,
        'PUT',
        '/v2/library/h2/manifests/v1',
        { ...auth, 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
        [manifest],
      );
      assert.equal(pushed.status, 201, pushed.body.toString());
      const got = await h2(session, 'GET', '/v2/library/h2/manifests/v1', {
        ...auth,
        accept: 'application/vnd.oci.image.manifest.v1+json',
      });
      assert.equal(got.status, 200);
      assert.deepEqual(got.body, manifest);
      assert.equal(got.headers['docker-content-digest'], sha256(manifest));
    } finally {
      session.close();
    }
    assert.ok(versions.has('2.0'));
  });

  test('HTTP/2: a refused upload ends its stream, and the connection serves the next request', async () => {
    const session = http2.connect(server.url, { ca });
    try {
      const refused = h2(
        session,
        'POST',
        '/v2/library/h2/blobs/uploads/?digest=sha256:' + '0'.repeat(64),
        { 'content-type': 'application/octet-stream' },
        [randomBytes(1024 * 1024), randomBytes(1024 * 1024)],
      );
      const reply = await refused.catch((err: Error) => ({ status: -1, headers: {}, body: Buffer.from(err.message) }));
      // The 401 arrives; the rest of the body is refused with the stream, not read.
      if (reply.status !== -1) assert.equal(reply.status, 401);
      const next = await h2(session, 'GET', '/v2/', { authorization: server.admin.authorization });
      assert.equal(next.status, 200);
    } finally {
      session.close();
    }
  });

  test('HTTP/2: the portal, the API and its session cookie (Secure)', async () => {
    const session = http2.connect(server.url, { ca });
    try {
      const login = await h2(session, 'POST', '/c/login', { 'content-type': 'application/x-www-form-urlencoded' }, [
        Buffer.from(`principal=admin&password=${encodeURIComponent(adminPassword)}`),
      ]);
      assert.equal(login.status, 200, login.body.toString());
      const cookies = ([] as string[]).concat(login.headers['set-cookie'] ?? []);
      const sid = cookies.find((c) => c.startsWith('sid='));
      assert.ok(sid, `a session cookie: ${cookies.join(' | ')}`);
      assert.match(sid, /;\s*Secure/i);
      const me = await h2(session, 'GET', '/api/v2.0/users/current', { cookie: sid.split(';')[0] });
      assert.equal(me.status, 200, me.body.toString());
      assert.equal(JSON.parse(me.body.toString()).username, 'admin');
      const page = await h2(session, 'GET', '/');
      assert.equal(page.status, 200);
      assert.match(String(page.headers['content-type']), /text\/html/);
      assert.ok(page.headers['strict-transport-security']);
    } finally {
      session.close();
    }
  });

  test('curl --http2 reads a manifest over HTTP/2', async () => {
    await writeFile(path.join(work, 'ca.pem'), ca);
    const { stdout } = await runTool('curl', [
      '--silent',
      '--show-error',
      '--http2',
      '--cacert',
      path.join(work, 'ca.pem'),
      '--user',
      `admin:${adminPassword}`,
      '--header',
      'accept: application/vnd.oci.image.manifest.v1+json',
      '--output',
      path.join(work, 'manifest.json'),
      '--write-out',
      '%{http_version} %{http_code}',
      `${server.url}/v2/library/h2/manifests/v1`,
    ]);
    assert.equal(stdout.trim(), '2 200');
    assert.equal(JSON.parse(await readFile(path.join(work, 'manifest.json'), 'utf8')).schemaVersion, 2);
  });

  test('an HTTP/1.1 client is still served on the same port', async () => {
    const reply = await new Promise<{ status: number; alpn: string | false | null }>((resolve, reject) => {
      const req = https.get(`${server.url}/v2/`, { ca, headers: { authorization: server.admin.authorization } }, (res) => {
        const alpn = (res.socket as tls.TLSSocket).alpnProtocol;
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, alpn }));
      });
      req.on('error', reject);
    });
    assert.equal(reply.status, 200);
    assert.ok(reply.alpn === false || reply.alpn === 'http/1.1');
    assert.ok(versions.has('1.1'));
  });

  test('skopeo copies an image in and out, trusting the certificate through its cert dir', async (t) => {
    const certs = path.join(work, 'certs');
    await mkdir(certs, { recursive: true });
    await copyFile(path.join(certDir, 'cert.pem'), path.join(certs, 'ca.crt'));
    const image = await buildImage({ architecture: 'amd64', os: 'linux' }, [{ 'srv/data.bin': randomBytes(512 * 1024) }]);
    const layout = path.join(work, 'source');
    await writeOciLayout(layout, { v1: image.manifest }, imageBlobs(image));
    const host = new URL(server.url).host;
    const creds = `admin:${adminPassword}`;
    versions.clear();
    await runTool(
      'skopeo',
      [
        '--insecure-policy',
        'copy',
        '--dest-cert-dir',
        certs,
        '--dest-creds',
        creds,
        `oci:${layout}:v1`,
        `docker://${host}/library/skopeo-tls:v1`,
      ],
      {
        timeoutMs: 120_000,
      },
    );
    const out = path.join(work, 'out');
    await runTool(
      'skopeo',
      [
        '--insecure-policy',
        'copy',
        '--src-cert-dir',
        certs,
        '--src-creds',
        creds,
        `docker://${host}/library/skopeo-tls:v1`,
        `oci:${out}:v1`,
      ],
      {
        timeoutMs: 120_000,
      },
    );
    const back = await readOciLayout(out);
    assert.ok(back.blobs.has(image.layers[0].digest));
    // skopeo offers both in ALPN; either is fine, and the one it spoke is reported here.
    t.diagnostic(`skopeo spoke HTTP/${[...versions].join(' and HTTP/')}`);
    assert.ok(versions.has('2.0') || versions.has('1.1'));
    // Without the CA, skopeo refuses the certificate: TLS is really in the way.
    await assert.rejects(
      runTool('skopeo', ['--insecure-policy', 'inspect', '--creds', creds, `docker://${host}/library/skopeo-tls:v1`], {
        timeoutMs: 60_000,
      }),
      /certificate|x509/i,
    );
  });

  test('a replaced certificate is served without a restart; a broken pair is refused and the old one kept', async () => {
    const before = await servedSerial(port, ca);
    assert.equal(before, new X509Certificate(ca).serialNumber);
    const next = newPair(work, 'next');
    const nextSerial = new X509Certificate(await readFile(next.cert)).serialNumber;

    // A key that is not the certificate's: logged, and the certificate in use stays.
    const other = newPair(work, 'other');
    await copyFile(other.key, path.join(certDir, 'key.pem.tmp'));
    await rename(path.join(certDir, 'key.pem.tmp'), path.join(certDir, 'key.pem'));
    await sleep(1500);
    assert.equal(await servedSerial(port, ca), before);

    // The good pair, each file replaced by rename as certificate tools do.
    await copyFile(next.cert, path.join(certDir, 'cert.pem.tmp'));
    await copyFile(next.key, path.join(certDir, 'key.pem.tmp'));
    await rename(path.join(certDir, 'key.pem.tmp'), path.join(certDir, 'key.pem'));
    await rename(path.join(certDir, 'cert.pem.tmp'), path.join(certDir, 'cert.pem'));
    let served = before;
    for (let i = 0; i < 100 && served !== nextSerial; i++) {
      await sleep(100);
      served = await servedSerial(port, ca);
    }
    assert.equal(served, nextSerial);
    // Requests go on over the new certificate.
    const newCa = await readFile(next.cert);
    const session = http2.connect(server.url, { ca: newCa });
    try {
      assert.equal((await h2(session, 'GET', '/v2/', { authorization: server.admin.authorization })).status, 200);
    } finally {
      session.close();
    }
  });
});

describe('server.tls at startup', { skip }, () => {
  test('a certificate that is not one, or a key that is not its own, stops the start with a clear message', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'berth-tls-bad-'));
    try {
      const good = newPair(dir, 'good');
      const other = newPair(dir, 'other');
      const garbage = path.join(dir, 'garbage.crt');
      await writeFile(garbage, 'not a certificate\n');
      const start = (cert: string, key: string) =>
        startServer({
          yaml: {
            'database.url': `sqlite:${path.join(dir, 'berth.db')}`,
            'server.tls.cert_file': cert,
            'server.tls.key_file': key,
          },
        });
      await assert.rejects(start(garbage, good.key), (err: Error) => {
        assert.equal(err.name, 'TlsFilesError');
        assert.match(err.message, /server\.tls\.cert_file: .*garbage\.crt is not a PEM certificate/);
        return true;
      });
      await assert.rejects(
        start(good.cert, other.key),
        /server\.tls: the key in .*other\.key does not belong to the certificate in .*good\.crt/,
      );
      await assert.rejects(start(good.cert, path.join(dir, 'missing.key')), /server\.tls\.key_file: cannot read .*missing\.key/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
