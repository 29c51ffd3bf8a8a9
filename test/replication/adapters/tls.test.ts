/**
 * TLS settings of an endpoint: a real docker-registry behind an HTTPS front whose
 * certificate is signed by a CA made here with openssl. Verified by default (the system's
 * CAs only: refused, with advice), trusted with the endpoint's CA certificate, or accepted
 * with `insecure`; each setting gets its own kept-alive connections, so trusting the CA for
 * one endpoint trusts nothing for another.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createAdapter, RemoteConnections } from '../../../src/replication/adapters/index.js';
import { RemoteRegistryError, type RegistryEndpoint } from '../../../src/replication/types.js';
import { startDockerRegistry, type DockerRegistry } from '../../helpers/docker-registry.js';
import { startRegistryGate, type RegistryGate } from '../../helpers/registry-gate.js';
import { requireTools } from '../../helpers/tools.js';
import { endpoint, makeImage, pushThrough, readAll } from './content.js';

function openssl(dir: string, args: string[]): void {
  const result = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${result.stderr}`);
}

describe(
  'endpoint TLS settings against an HTTPS front of a real docker-registry',
  { skip: requireTools('docker-registry', 'openssl') },
  () => {
    let dir: string;
    let registry: DockerRegistry;
    let gate: RegistryGate;
    let connections: RemoteConnections;
    let ca: string;

    before(async () => {
      dir = await mkdtemp(path.join(tmpdir(), 'berth-tls-'));
      openssl(dir, [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        'ca.key',
        '-out',
        'ca.pem',
        '-days',
        '2',
        '-subj',
        '/CN=Berth test CA',
      ]);
      openssl(dir, ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1']);
      await writeFile(path.join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
      openssl(dir, [
        'x509',
        '-req',
        '-in',
        'server.csr',
        '-CA',
        'ca.pem',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-out',
        'server.pem',
        '-days',
        '2',
        '-extfile',
        'ext.cnf',
      ]);
      ca = await readFile(path.join(dir, 'ca.pem'), 'utf8');
      registry = await startDockerRegistry();
      gate = await startRegistryGate(registry.url, {
        tls: { key: await readFile(path.join(dir, 'server.key'), 'utf8'), cert: await readFile(path.join(dir, 'server.pem'), 'utf8') },
      });
      connections = new RemoteConnections();
    });

    after(async () => {
      connections?.close();
      await gate?.close();
      await registry?.close();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    const withTls = (insecure: boolean, caCertificate: string | null): RegistryEndpoint => ({
      ...endpoint(gate.url),
      insecure,
      caCertificate,
    });

    test('verified by default: an unknown CA is refused, and the message says what to do', async () => {
      assert.ok(gate.url.startsWith('https://'));
      const err = await createAdapter(withTls(false, null), { connections })
        .ping()
        .then(
          () => assert.fail('expected a TLS failure'),
          (e: unknown) => e,
        );
      assert.ok(err instanceof RemoteRegistryError);
      assert.equal(err.failure, 'failed');
      assert.match(err.message, /TLS failed .*trust its CA or mark the endpoint insecure/);
    });

    test("the endpoint's CA certificate is trusted for that endpoint only; insecure accepts any", async () => {
      const trusting = createAdapter(withTls(false, ca), { connections });
      await trusting.ping();
      const image = makeImage([100_000]);
      await pushThrough(trusting, 'tls/app', 'v1', image);
      const bytes = await readAll((await trusting.getBlob('tls/app', image.blobs[1].digest)).stream);
      assert.ok(bytes.equals(image.blobs[1].data));

      // The default setting, on the same connections, still refuses (its own agent).
      await assert.rejects(createAdapter(withTls(false, null), { connections }).ping(), /TLS failed/);

      const insecure = createAdapter(withTls(true, null), { connections });
      await insecure.ping();
      assert.equal((await insecure.headManifest('tls/app', 'v1'))?.digest, image.digest);
    });
  },
);
