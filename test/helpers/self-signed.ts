import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** Writes a real certificate from openssl for 127.0.0.1, valid for a day and trusted by nobody, and its key. */
export function writeSelfSignedPair(certFile: string, keyFile: string): void {
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ].concat(['-keyout', keyFile, '-out', certFile]),
    { stdio: 'ignore' },
  );
}

/** A new temporary folder holding key.pem and cert.pem (writeSelfSignedPair). The caller removes the folder. */
export async function selfSignedCertificateDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  writeSelfSignedPair(path.join(dir, 'cert.pem'), path.join(dir, 'key.pem'));
  return dir;
}

/** Files of a test certificate authority, a server certificate it issued for 127.0.0.1 and a client certificate. */
export interface TestPki {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

/**
 * Signs `<name>.csr` in `dir` with the CA `<ca>.pem` and `<ca>.key` beside it, adding the
 * extensions of `<name>.ext`: writes `<name>.pem`, valid for `days`.
 */
export function signCsr(dir: string, name: string, ca: string, days: string): void {
  const file = (f: string) => path.join(dir, f);
  execFileSync(
    'openssl',
    [
      'x509',
      '-req',
      '-sha256',
      '-in',
      file(`${name}.csr`),
      '-CA',
      file(`${ca}.pem`),
      '-CAkey',
      file(`${ca}.key`),
      '-CAcreateserial',
      '-days',
      days,
      '-extfile',
      file(`${name}.ext`),
      '-out',
      file(`${name}.pem`),
    ],
    { stdio: 'ignore' },
  );
}

/**
 * Writes a real CA (openssl, P-256 keys, valid for a day) into `dir`, with a server certificate
 * for IP 127.0.0.1 (serverAuth) and a client certificate (clientAuth) it signed.
 */
export function writeTestPki(dir: string): TestPki {
  const file = (name: string) => path.join(dir, name);
  const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(['req', '-x509', ...key, '-days', '1', '-subj', '/CN=Berth test CA', '-keyout', file('ca.key'), '-out', file('ca.pem')]);
  for (const [name, usage, san] of [
    ['server', 'serverAuth', 'subjectAltName=IP:127.0.0.1'],
    ['client', 'clientAuth', 'subjectAltName=DNS:berth-client'],
  ]) {
    openssl(['req', ...key, '-subj', `/CN=berth-${name}`, '-keyout', file(`${name}.key`), '-out', file(`${name}.csr`)]);
    writeFileSync(file(`${name}.ext`), `basicConstraints=CA:FALSE\nextendedKeyUsage=${usage}\n${san}\n`);
    signCsr(dir, name, 'ca', '1');
  }
  return {
    ca: file('ca.pem'),
    serverCert: file('server.pem'),
    serverKey: file('server.key'),
    clientCert: file('client.pem'),
    clientKey: file('client.key'),
  };
}
