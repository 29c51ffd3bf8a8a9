import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { api } from '../helpers/api.js';
import { cosignTag, pushMultiPlatform } from '../helpers/artifacts.js';
import { pushManifest, types } from '../helpers/oci.js';
import { startServer, type TestServer } from '../helpers/server.js';
import {
  artifactsPath,
  assertHarborError,
  dbState,
  seedApp,
  seedBundle,
  storedDigests,
  v2,
  v2Referrers,
  v2Tags,
  type Seeded,
} from './api-fixtures.js';

let server: TestServer;
let admin: string;
let s: Seeded;
const app = artifactsPath('library/app');

function call(method: string, path: string) {
  return api<any>(server, method, path, { auth: admin });
}

before(async () => {
  server = await startServer();
  admin = server.admin.authorization;
  s = await seedApp(server);
});
after(async () => {
  await server.stop();
});

describe('delete artifact', () => {
  test('an image the index still lists is refused (412, as Harbor) and nothing changes', async () => {
    const before = await dbState(server);
    const child = s.index.images[0].digest;
    assertHarborError(await call('DELETE', `${app}/${child}`), 412, 'PRECONDITION', new RegExp(s.index.digest));
    assert.deepEqual(await dbState(server), before);
    assert.equal((await call('GET', `${app}/${child}`)).status, 200);
    assert.equal((await v2(server, 'GET', `library/app/manifests/${child}`)).status, 200);
  });

  test('unknown tag or digest is 404, and nothing changes', async () => {
    const before = await dbState(server);
    assertHarborError(await call('DELETE', `${app}/nope`), 404, 'NOT_FOUND');
    assertHarborError(await call('DELETE', `${app}/sha256:${'2'.repeat(64)}`), 404, 'NOT_FOUND');
    assertHarborError(await call('DELETE', `${artifactsPath('library/nothing')}/v1`), 404, 'NOT_FOUND');
    assert.deepEqual(await dbState(server), before);
  });

  test('by tag: 200; the whole artifact goes, with its other tags, its signatures and SBOM, and its children', async () => {
    assert.equal((await api(server, 'POST', `${app}/v1/tags`, { auth: admin, body: { name: 'latest' } })).status, 201);
    assert.deepEqual(await v2Referrers(server, 'library/app', s.index.digest), [s.sbom.digest, s.notation.digest].sort());
    // Another index lists the amd64 image too: that one must stay.
    const [amd64, arm64] = s.index.images;
    const solo = await pushManifest(
      server.url,
      'library/app',
      'solo',
      {
        schemaVersion: 2,
        mediaType: types.index,
        manifests: [{ mediaType: types.manifest, digest: amd64.digest, size: amd64.manifestSize }],
      },
      types.index,
      server.admin,
    );

    const res = await call('DELETE', `${app}/v1`);
    assert.equal(res.status, 200, JSON.stringify(res.body));

    for (const ref of ['v1', 'latest', s.index.digest, s.cosign.digest, s.sbom.digest, s.notation.digest]) {
      assertHarborError(await call('GET', `${app}/${ref}`), 404, 'NOT_FOUND');
    }
    const stored = await storedDigests(server, 'library/app');
    for (const gone of [s.index.digest, s.cosign.digest, s.sbom.digest, s.notation.digest]) assert.ok(!stored.includes(gone), gone);
    assert.deepEqual(await v2Referrers(server, 'library/app', s.index.digest), []);
    assert.equal((await v2(server, 'GET', `library/app/manifests/${s.index.digest}`)).status, 404);
    assert.equal((await v2(server, 'GET', 'library/app/manifests/latest')).status, 404);
    const tags = await v2Tags(server, 'library/app');
    for (const t of ['v1', 'latest', cosignTag(s.index.digest)]) assert.ok(!tags.includes(t), t);
    // The arm64 image went with the index; the amd64 image stays, as the other index lists it.
    assertHarborError(await call('GET', `${app}/${arm64.digest}`), 404, 'NOT_FOUND');
    assert.ok(!stored.includes(arm64.digest));
    assert.equal((await call('GET', `${app}/${amd64.digest}`)).status, 200);
    assert.equal((await v2(server, 'GET', `library/app/manifests/${amd64.digest}`)).status, 200);
    // The other artifacts are untouched, and no orphan shows up in the listing.
    for (const ref of ['v2', '1.2.3', 'wasm-1', s.untagged.digest, 'solo'])
      assert.equal((await call('GET', `${app}/${ref}`)).status, 200, ref);
    const listed = await call('GET', app);
    assert.deepEqual(
      listed.body.map((a: { digest: string }) => a.digest),
      [solo.digest, s.untagged.digest, s.wasm.digest, s.chart.digest, s.image.digest],
    );
  });

  test('a tagged child of a deleted index stays, and is listed on its own', async () => {
    const multi = await pushMultiPlatform(server, 'library/multi', 'v1');
    const [amd64, arm64] = multi.images;
    assert.equal(
      (await api(server, 'POST', `${artifactsPath('library/multi')}/${arm64.digest}/tags`, { auth: admin, body: { name: 'arm64' } }))
        .status,
      201,
    );
    assert.equal((await call('DELETE', `${artifactsPath('library/multi')}/${multi.digest}`)).status, 200);
    assert.deepEqual(await storedDigests(server, 'library/multi'), [arm64.digest]);
    const listed = await call('GET', artifactsPath('library/multi'));
    assert.deepEqual(
      listed.body.map((a: { digest: string; tags: Array<{ name: string }> }) => [a.digest, a.tags.map((t) => t.name)]),
      [[arm64.digest, ['arm64']]],
    );
    assert.equal((await v2(server, 'GET', `library/multi/manifests/${amd64.digest}`)).status, 404);
  });

  test('a CNAB bundle goes with its config manifest and invocation image', async () => {
    await seedBundle(server);
    assert.equal((await storedDigests(server, 'library/bundle')).length, 3);
    assert.equal((await call('DELETE', `${artifactsPath('library/bundle')}/v1`)).status, 200);
    assert.deepEqual(await storedDigests(server, 'library/bundle'), []);
  });

  test('by digest: 200, and its tags go with it', async () => {
    assert.equal((await call('DELETE', `${app}/${s.chart.digest}`)).status, 200);
    assertHarborError(await call('GET', `${app}/1.2.3`), 404, 'NOT_FOUND');
    assert.ok(!(await v2Tags(server, 'library/app')).includes('1.2.3'));
    assertHarborError(await call('DELETE', `${app}/${s.chart.digest}`), 404, 'NOT_FOUND');
  });
});
