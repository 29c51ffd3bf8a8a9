import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { api, createUser } from '../helpers/api.js';
import { pushContainerImage } from '../helpers/artifacts.js';
import { basicAuth, startServer, type TestServer } from '../helpers/server.js';
import {
  addMember,
  artifactsPath,
  assertHarborError,
  createProject,
  dbState,
  qs,
  seedApp,
  sorted,
  storedDigests,
  v2,
  v2Referrers,
  type Seeded,
} from './api-fixtures.js';

let server: TestServer;
let admin: string;
let s: Seeded;
const developer = basicAuth('dev', 'Passw0rd1');
const guest = basicAuth('gina', 'Passw0rd1');
const outsider = basicAuth('otto', 'Passw0rd1');

/** POST …/artifacts?from=… into `target` ("project/repo"); `auth` null for anonymous. */
function copy(target: string, from: string | undefined, auth: string | null = admin) {
  return api<any>(server, 'POST', `${artifactsPath(target)}${from === undefined ? '' : qs({ from })}`, { auth: auth ?? undefined });
}

function get(path: string) {
  return api<any>(server, 'GET', path, { auth: admin });
}

before(async () => {
  server = await startServer();
  admin = server.admin.authorization;
  s = await seedApp(server);
  await createProject(server, 'team');
  await createProject(server, 'secret');
  await pushContainerImage(server, 'secret/vault', 'v1', { architecture: 'amd64', os: 'linux' }, { cmd: ['/vault'] });
  for (const name of ['dev', 'gina', 'otto']) await createUser(server, name);
  await addMember(server, 'team', 'dev', 2);
  await addMember(server, 'team', 'gina', 3);
});
after(async () => {
  await server.stop();
});

describe('copy artifact', () => {
  test('an index by tag: 201 with Location; same digest, tags, children and accessories', async () => {
    const res = await copy('team/copy', 'library/app:v1');
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const location = res.headers.get('location')!;
    assert.equal(location, `/api/v2.0/projects/team/repositories/copy/artifacts/${s.index.digest}`);

    const copied = await get(`${location.replace('/api/v2.0', '')}?with_accessory=true`);
    assert.equal(copied.status, 200, JSON.stringify(copied.body));
    const original = (await get(`${artifactsPath('library/app')}/v1?with_accessory=true`)).body;
    assert.equal(copied.body.digest, s.index.digest);
    assert.equal(copied.body.repository_name, 'team/copy');
    assert.equal(copied.body.type, 'IMAGE');
    assert.equal(copied.body.size, original.size);
    assert.deepEqual(copied.body.extra_attrs, original.extra_attrs);
    assert.deepEqual(
      copied.body.tags.map((t: { name: string }) => t.name),
      ['v1'],
    );
    assert.deepEqual(
      copied.body.references.map((r: { child_digest: string; platform: unknown }) => [r.child_digest, r.platform]),
      original.references.map((r: { child_digest: string; platform: unknown }) => [r.child_digest, r.platform]),
    );
    assert.deepEqual(
      copied.body.accessories.map((a: { digest: string; type: string; subject_artifact_repo: string }) => [
        a.digest,
        a.type,
        a.subject_artifact_repo,
      ]),
      [
        [s.notation.digest, 'signature.notation', 'team/copy'],
        [s.sbom.digest, 'sbom', 'team/copy'],
        [s.cosign.digest, 'signature.cosign', 'team/copy'],
      ],
    );
    // Only the index is listed; its children and accessories came along.
    const listed = await get(artifactsPath('team/copy'));
    assert.deepEqual(
      listed.body.map((a: { digest: string }) => a.digest),
      [s.index.digest],
    );
    assert.deepEqual(
      await storedDigests(server, 'team/copy'),
      sorted([s.index.digest, ...s.index.images.map((i) => i.digest), s.cosign.digest, s.sbom.digest, s.notation.digest]),
    );
  });

  test('the copy pulls over /v2: manifests, children, blobs and referrers', async () => {
    const index = await v2(server, 'GET', 'team/copy/manifests/v1');
    assert.equal(index.status, 200);
    assert.equal(index.headers.get('docker-content-digest'), s.index.digest);
    assert.deepEqual(index.body, s.index.bytes);
    for (const image of s.index.images) {
      const child = await v2(server, 'GET', `team/copy/manifests/${image.digest}`);
      assert.equal(child.status, 200);
      for (const blob of [image.config!, ...image.layers]) {
        const pulled = await v2(server, 'GET', `team/copy/blobs/${blob.digest}`);
        assert.equal(pulled.status, 200, blob.digest);
        assert.deepEqual(pulled.body, blob.data);
      }
    }
    const signature = await v2(server, 'GET', `team/copy/manifests/${s.cosign.tag}`);
    assert.equal(signature.status, 200);
    assert.equal(signature.headers.get('docker-content-digest'), s.cosign.digest);
    assert.deepEqual(await v2Referrers(server, 'team/copy', s.index.digest), sorted([s.sbom.digest, s.notation.digest]));
  });

  test('by digest into a nested repository name (a%252Fb)', async () => {
    const res = await copy('team/nested/app', `library/app@${s.image.digest}`);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.headers.get('location'), `/api/v2.0/projects/team/repositories/nested%252Fapp/artifacts/${s.image.digest}`);
    const copied = await get(`${artifactsPath('team/nested/app')}/v2`);
    assert.equal(copied.status, 200);
    assert.equal(copied.body.digest, s.image.digest);
    assert.equal(copied.body.repository_name, 'team/nested/app');
    assert.deepEqual(copied.body.extra_attrs, (await get(`${artifactsPath('library/app')}/v2`)).body.extra_attrs);
    const pulled = await v2(server, 'GET', 'team/nested/app/manifests/v2');
    assert.equal(pulled.status, 200);
    assert.equal(pulled.headers.get('docker-content-digest'), s.image.digest);
    // Copying again changes nothing but succeeds.
    assert.equal((await copy('team/nested/app', `library/app@${s.image.digest}`)).status, 201);
  });

  test('a missing or malformed from is 400; nothing is created', async () => {
    const before = await dbState(server);
    assertHarborError(await copy('team/bad', undefined), 400, 'BAD_REQUEST', /from/);
    assertHarborError(await copy('team/bad', ''), 400, 'BAD_REQUEST', /from/);
    assertHarborError(await copy('team/bad', 'library/app'), 400, 'BAD_REQUEST', /library\/app/);
    assertHarborError(await copy('team/bad', 'library/app:bad tag'), 400, 'BAD_REQUEST');
    assertHarborError(await copy('team/bad', 'library/app@sha256:xyz'), 400, 'BAD_REQUEST', /digest/);
    assert.deepEqual(await dbState(server), before);
  });

  test('an accessory alone is not copied (403): its subject would not be there; nothing is created', async () => {
    const before = await dbState(server);
    for (const accessory of [s.sbom, s.notation, s.cosign]) {
      assertHarborError(await copy('team/accessory', `library/app@${accessory.digest}`), 403, 'FORBIDDEN', /accessory/);
    }
    assertHarborError(await copy('team/accessory', `library/app:${s.cosign.tag}`), 403, 'FORBIDDEN', /accessory/);
    assert.deepEqual(await dbState(server), before);
  });

  test('an unknown source project, repository or artifact is 404; nothing is created', async () => {
    const before = await dbState(server);
    assertHarborError(await copy('team/bad', 'library/app:nope'), 404, 'NOT_FOUND');
    assertHarborError(await copy('team/bad', `library/app@sha256:${'3'.repeat(64)}`), 404, 'NOT_FOUND');
    assertHarborError(await copy('team/bad', 'library/nothing:v1'), 404, 'NOT_FOUND');
    assertHarborError(await copy('team/bad', 'nowhere/app:v1'), 404, 'NOT_FOUND');
    assertHarborError(await copy('nowhere/app', 'library/app:v1'), 404, 'NOT_FOUND');
    assert.deepEqual(await dbState(server), before);
  });

  test('into a project the caller cannot write: 403 (guest, non-member), 401 anonymous; nothing is created', async () => {
    const before = await dbState(server);
    assertHarborError(await copy('team/guest', 'library/app:v2', guest), 403, 'FORBIDDEN');
    assertHarborError(await copy('team/outsider', 'library/app:v2', outsider), 403, 'FORBIDDEN');
    assertHarborError(await copy('library/anon', 'library/app:v2', null), 401, 'UNAUTHORIZED');
    assertHarborError(await copy('team/anon', 'library/app:v2', null), 401, 'UNAUTHORIZED');
    // From a private project the caller cannot read, into one it can write.
    assertHarborError(await copy('team/stolen', 'secret/vault:v1', developer), 403, 'FORBIDDEN');
    assert.deepEqual(await dbState(server), before);
    for (const repo of ['team/guest', 'team/outsider', 'library/anon', 'team/anon', 'team/stolen']) {
      assert.equal((await v2(server, 'GET', `${repo}/tags/list`)).status, 404, repo);
    }
  });

  test('a developer of the target copies from a public project', async () => {
    const res = await copy('team/dev', 'library/app:wasm-1', developer);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal((await get(`${artifactsPath('team/dev')}/wasm-1`)).body.type, 'WASM');
  });
});
