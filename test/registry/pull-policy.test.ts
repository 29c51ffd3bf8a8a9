import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { anonymous } from '../../src/auth/identity.js';
import { ociError } from '../../src/lib/errors.js';
import { PullPolicyGate, type PullCheck } from '../../src/registry/pull-policy.js';

const pull: Omit<PullCheck, 'metadata'> = {
  projectId: 7,
  projectName: 'p',
  repository: 'p/app',
  repositoryId: 3,
  artifactId: 11,
  digest: 'sha256:' + 'a'.repeat(64),
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  identity: anonymous,
  userAgent: 'test',
};

describe('pull policy gate', () => {
  test('no policy: the metadata is never read', async () => {
    let reads = 0;
    const gate = new PullPolicyGate(async () => (reads++, {}));
    for (let i = 0; i < 100; i += 1) await gate.check(pull);
    assert.equal(reads, 0);
  });

  test('a policy that is off costs one metadata read per project until it is forgotten; its check never runs', async () => {
    let reads = 0;
    let checks = 0;
    const metadata: Record<string, string> = { prevent_vul: 'false' };
    const gate = new PullPolicyGate(async () => (reads++, { ...metadata }), 60_000);
    gate.policies.push({
      name: 'test',
      enabled: (m) => m.prevent_vul === 'true',
      async check() {
        checks += 1;
        throw ociError('PROJECTPOLICYVIOLATION', 'refused');
      },
    });
    for (let i = 0; i < 100; i += 1) await gate.check(pull);
    assert.equal(reads, 1);
    assert.equal(checks, 0);
    metadata.prevent_vul = 'true';
    await gate.check(pull);
    assert.equal(checks, 0, 'cached metadata is used until the project changes');
    gate.forget(7);
    await assert.rejects(gate.check(pull), (err: Error & { code?: string }) => err.code === 'PROJECTPOLICYVIOLATION');
    assert.equal(reads, 2);
    assert.equal(checks, 1);
  });

  test('each policy sees the metadata and the pull; the first refusal wins', async () => {
    const seen: string[] = [];
    const gate = new PullPolicyGate(async () => ({ a: 'true', b: 'true' }));
    gate.policies.push(
      { name: 'a', enabled: (m) => m.a === 'true', check: async (p) => void seen.push(`a:${p.repository}:${p.metadata.b}`) },
      {
        name: 'b',
        enabled: (m) => m.b === 'true',
        check: async () => {
          seen.push('b');
          throw ociError('PROJECTPOLICYVIOLATION', 'b says no');
        },
      },
      { name: 'c', enabled: () => true, check: async () => void seen.push('c') },
    );
    await assert.rejects(gate.check(pull), /b says no/);
    assert.deepEqual(seen, ['a:p/app:true', 'b']);
  });
});
