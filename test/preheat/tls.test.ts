import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { api } from '../helpers/api.js';
import { testDialect } from '../helpers/database.js';
import { startKrakenFake, type KrakenFake } from '../helpers/kraken-fake.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { requireTools } from '../helpers/tools.js';
import { selfSignedCertificateDir } from '../helpers/self-signed.js';

/* An instance's `insecure`: a provider behind a self-signed certificate is refused unless it is set. */
describe(`preheat instances over TLS (${testDialect()})`, { skip: requireTools('openssl') }, () => {
  let server: TestServer;
  let kraken: KrakenFake;
  let dir: string;

  before(async () => {
    dir = await selfSignedCertificateDir('berth-preheat-tls-');
    kraken = await startKrakenFake({
      tls: { key: await readFile(path.join(dir, 'key.pem')), cert: await readFile(path.join(dir, 'cert.pem')) },
    });
    server = await startServer();
  });
  after(async () => {
    await server?.stop();
    await kraken?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('the certificate is verified unless the instance is insecure', async () => {
    const ping = (insecure: boolean) =>
      api(server, 'POST', '/p2p/preheat/instances/ping', {
        auth: server.admin.authorization,
        body: { vendor: 'kraken', endpoint: kraken.url, insecure },
      });
    const strict = await ping(false);
    assert.equal(strict.status, 400);
    assert.match(strict.body.errors[0].message, /self[- ]signed certificate/);
    assert.equal((await ping(true)).status, 200);
    assert.deepEqual(
      kraken.requests.map((r) => `${r.method} ${r.path}`),
      ['GET /health'],
    );
  });
});
