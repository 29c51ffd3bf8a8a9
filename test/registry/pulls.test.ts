import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PullRecorder } from '../../src/registry/pulls.js';
import type { RegistryStore } from '../../src/registry/store.js';

test("pulls are counted per artifact, tag and user, so each batch's PULL_ARTIFACT event names who pulled", async () => {
  const batches: Array<Parameters<RegistryStore['recordPulls']>> = [];
  const store = { recordPulls: async (...args: Parameters<RegistryStore['recordPulls']>) => void batches.push(args) };
  const recorder = new PullRecorder(store as unknown as RegistryStore, {
    intervalMs: 60_000,
    auditPulls: true,
    onError: (err) => assert.fail(String(err)),
  });
  const pull = (username: string, tag: string | null) =>
    recorder.record({ artifactId: 7, projectId: 1, tag, resource: `lib/app:${tag}`, username });
  pull('alice', 'v1');
  pull('alice', 'v1');
  pull('bob', 'v1');
  pull('alice', null);
  await recorder.flush();
  assert.equal(batches.length, 1);
  const [pulls, audits] = batches[0];
  assert.deepEqual(
    pulls.map((p) => [p.tag, p.operator, p.count]),
    [
      ['v1', 'alice', 2],
      ['v1', 'bob', 1],
      [null, 'alice', 1],
    ],
  );
  assert.deepEqual(
    audits.map((a) => a.username),
    ['alice', 'alice', 'bob', 'alice'],
  );
  await recorder.flush();
  assert.equal(batches.length, 1, 'nothing left to write');
});
