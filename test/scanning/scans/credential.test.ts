import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import { TokenService } from '../../../src/auth/tokens.js';
import { isScannerSubject, scannerSubject, tokenCredentials } from '../../../src/scanning/scans/credential.js';

test('a scan token names the scan, reaches only its repository, and is recognised as a scanner credential', async () => {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const tokens = await TokenService.open({ pem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), lifetimeSeconds: 300 });
  const credentials = tokenCredentials(tokens, {
    externalUrl: 'https://registry.example.com/',
    internalUrl: () => 'http://127.0.0.1:5000',
  });
  const subject = scannerSubject('Trivy: remote', '1b4e28ba-2fa1-11d2-883f-0016d3cca427');
  assert.equal(subject, 'scanner:Trivy_ remote:1b4e28ba-2fa1-11d2-883f-0016d3cca427');
  assert.ok(isScannerSubject(subject));
  assert.ok(!isScannerSubject('robot$scanner-trivy'));
  assert.ok(!isScannerSubject('admin'));

  const pull = await credentials.authorization(subject, 'library/app', ['pull']);
  assert.match(pull, /^Bearer /);
  const claims = await tokens.verify(pull.slice('Bearer '.length));
  assert.equal(claims.subject, subject);
  assert.deepEqual(claims.access, [{ type: 'repository', name: 'library/app', actions: ['pull'] }]);
  const sbom = await tokens.verify((await credentials.authorization(subject, 'library/app', ['pull', 'push'])).slice(7));
  assert.deepEqual(sbom.access, [{ type: 'repository', name: 'library/app', actions: ['pull', 'push'] }]);

  assert.equal(credentials.registryUrl(false), 'https://registry.example.com');
  assert.equal(credentials.registryUrl(true), 'http://127.0.0.1:5000');
  const noExternal = tokenCredentials(tokens, { externalUrl: undefined, internalUrl: () => 'http://127.0.0.1:5000/' });
  assert.equal(noExternal.registryUrl(false), 'http://127.0.0.1:5000');
});
