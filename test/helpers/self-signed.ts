import { execFileSync } from 'node:child_process';
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
