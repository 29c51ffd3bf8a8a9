import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { api } from '../helpers/api.js';
import { cosignTag, pushSbomReferrer } from '../helpers/artifacts.js';
import { startServer, type TestServer } from '../helpers/server.js';
import {
  accessoryKeys,
  artifactsPath,
  assertHarborError,
  dbState,
  qs,
  seedApp,
  sorted,
  tagKeys,
  v2,
  v2Tags,
  type Seeded,
} from './api-fixtures.js';

let server: TestServer;
let admin: string;
let s: Seeded;
const app = artifactsPath('library/app');

function call(method: string, path: string, options: { body?: unknown; rawBody?: string } = {}) {
  return api<any>(server, method, path, { auth: admin, ...options });
}

const tagNames = (body: Array<{ name: string }>) => body.map((t) => t.name);

before(async () => {
  server = await startServer();
  admin = server.admin.authorization;
  s = await seedApp(server);
});
after(async () => {
  await server.stop();
});

describe('tags', () => {
  test('list the tags of an artifact', async () => {
    const res = await call('GET', `${app}/v1/tags`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-total-count'), '1');
    assert.equal(res.body.length, 1);
    assert.deepEqual(Object.keys(res.body[0]).sort(), tagKeys);
    const artifact = (await call('GET', `${app}/v1`)).body;
    assert.equal(res.body[0].name, 'v1');
    assert.equal(res.body[0].artifact_id, artifact.id);
    assert.equal(res.body[0].repository_id, artifact.repository_id);
    assert.equal(res.body[0].immutable, false);
    assert.deepEqual((await call('GET', `${app}/${s.untagged.digest}/tags`)).body, []);
  });

  test('create a tag: 201 with Location; the artifact answers to it, in the API and over /v2', async () => {
    const res = await call('POST', `${app}/v2/tags`, { body: { name: 'stable' } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.headers.get('location'), `/api/v2.0${app}/${s.image.digest}/tags/stable`);
    const byTag = await call('GET', `${app}/stable`);
    assert.equal(byTag.body.digest, s.image.digest);
    assert.deepEqual(tagNames(byTag.body.tags), ['stable', 'v2']);
    const listed = await call('GET', `${app}/${s.image.digest}/tags`);
    assert.deepEqual(tagNames(listed.body), ['stable', 'v2']);
    const pulled = await v2(server, 'GET', 'library/app/manifests/stable');
    assert.equal(pulled.status, 200);
    assert.equal(pulled.headers.get('docker-content-digest'), s.image.digest);
    assert.ok((await v2Tags(server, 'library/app')).includes('stable'));
  });

  test('a tag name already in the repository is 409, on this artifact or another, and nothing moves', async () => {
    const before = await dbState(server);
    assertHarborError(await call('POST', `${app}/v2/tags`, { body: { name: 'stable' } }), 409, 'CONFLICT', /stable/);
    assertHarborError(await call('POST', `${app}/v2/tags`, { body: { name: 'v1' } }), 409, 'CONFLICT', /v1/);
    assert.deepEqual(await dbState(server), before);
    assert.equal((await call('GET', `${app}/v1`)).body.digest, s.index.digest);
  });

  test('a bad tag name, a missing name or a body that is not JSON is 400', async () => {
    const before = await dbState(server);
    for (const name of ['-leading-dash', '.dot', 'has space', 'a'.repeat(129), '', 'ümlaut']) {
      assertHarborError(await call('POST', `${app}/v2/tags`, { body: { name } }), 400, 'BAD_REQUEST');
    }
    assertHarborError(await call('POST', `${app}/v2/tags`, { body: {} }), 400, 'BAD_REQUEST');
    assertHarborError(await call('POST', `${app}/v2/tags`, { body: { name: 42 } }), 400, 'BAD_REQUEST');
    assertHarborError(await call('POST', `${app}/v2/tags`, { body: ['stable2'] }), 400, 'BAD_REQUEST');
    assertHarborError(await call('POST', `${app}/v2/tags`, { rawBody: '{"name": "broken"' }), 400, 'BAD_REQUEST');
    assert.deepEqual(await dbState(server), before);
  });

  test('a tag on an unknown artifact is 404', async () => {
    assertHarborError(await call('POST', `${app}/nope/tags`, { body: { name: 'x1' } }), 404, 'NOT_FOUND');
    assertHarborError(await call('POST', `${app}/sha256:${'1'.repeat(64)}/tags`, { body: { name: 'x1' } }), 404, 'NOT_FOUND');
  });

  test('paging and q=name over an artifact’s tags', async () => {
    for (const name of ['t1', 't2', 't3']) assert.equal((await call('POST', `${app}/wasm-1/tags`, { body: { name } })).status, 201);
    const first = await call('GET', `${app}/wasm-1/tags${qs({ page_size: 2 })}`);
    assert.equal(first.headers.get('x-total-count'), '4');
    assert.deepEqual(tagNames(first.body), ['t3', 't2']);
    assert.match(first.headers.get('link')!, /\?page=2&page_size=2>; rel="next"$/);
    const second = await call('GET', `${app}/wasm-1/tags${qs({ page: 2, page_size: 2 })}`);
    assert.deepEqual(tagNames(second.body), ['t1', 'wasm-1']);
    assert.match(second.headers.get('link')!, /\?page=1&page_size=2>; rel="prev"$/);
    const fuzzy = await call('GET', `${app}/wasm-1/tags${qs({ q: 'name=~t' })}`);
    assert.deepEqual(sorted(tagNames(fuzzy.body)), ['t1', 't2', 't3']);
    assert.equal(fuzzy.headers.get('x-total-count'), '3');
    const exact = await call('GET', `${app}/wasm-1/tags${qs({ q: 'name=t2' })}`);
    assert.deepEqual(tagNames(exact.body), ['t2']);
    const sortedByName = await call('GET', `${app}/wasm-1/tags${qs({ sort: 'name' })}`);
    assert.deepEqual(tagNames(sortedByName.body), ['t1', 't2', 't3', 'wasm-1']);
    assertHarborError(await call('GET', `${app}/wasm-1/tags${qs({ q: 'colour=red' })}`), 400, 'BAD_REQUEST', /colour/);
    assertHarborError(await call('GET', `${app}/wasm-1/tags${qs({ page_size: 101 })}`), 400, 'BAD_REQUEST', /page_size/);
  });

  test('delete a tag: 200, the artifact stays; again, or a tag of another artifact, is 404', async () => {
    const res = await call('DELETE', `${app}/v2/tags/stable`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assertHarborError(await call('GET', `${app}/stable`), 404, 'NOT_FOUND');
    assert.equal((await call('GET', `${app}/${s.image.digest}`)).body.digest, s.image.digest);
    assertHarborError(await call('DELETE', `${app}/v2/tags/stable`), 404, 'NOT_FOUND', /stable/);
    assertHarborError(await call('DELETE', `${app}/v2/tags/v1`), 404, 'NOT_FOUND', /v1/);
    assertHarborError(await call('DELETE', `${app}/v2/tags/never-was`), 404, 'NOT_FOUND');
    assert.equal((await call('GET', `${app}/v1`)).status, 200);
    assert.equal((await v2(server, 'GET', 'library/app/manifests/stable')).status, 404);
  });

  test('/v2/<repo>/tags/list agrees with the API afterwards', async () => {
    assert.equal((await call('DELETE', `${app}/wasm-1/tags/t2`)).status, 200);
    assert.deepEqual(await v2Tags(server, 'library/app'), sorted(['1.2.3', cosignTag(s.index.digest), 't1', 't3', 'v1', 'v2', 'wasm-1']));
  });
});

describe('accessories', () => {
  test('the index has its cosign signature, SBOM and notation signature, newest first', async () => {
    const res = await call('GET', `${app}/v1/accessories`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-total-count'), '3');
    const index = (await call('GET', `${app}/v1`)).body;
    assert.deepEqual(
      res.body.map((a: { digest: string; type: string }) => [a.digest, a.type]),
      [
        [s.notation.digest, 'signature.notation'],
        [s.sbom.digest, 'sbom'],
        [s.cosign.digest, 'signature.cosign'],
      ],
    );
    const sizes = new Map([s.notation, s.sbom, s.cosign].map((a) => [a.digest, a.totalSize]));
    for (const a of res.body) {
      assert.deepEqual(Object.keys(a).sort(), accessoryKeys);
      assert.equal(a.subject_artifact_digest, s.index.digest);
      assert.equal(a.subject_artifact_repo, 'library/app');
      assert.equal(a.subject_artifact_id, index.id);
      assert.equal(a.size, sizes.get(a.digest));
      const own = (await call('GET', `${app}/${a.digest}`)).body;
      assert.equal(a.artifact_id, own.id);
    }
    // By digest too.
    assert.deepEqual((await call('GET', `${app}/${s.index.digest}/accessories`)).body, res.body);
  });

  test('paging and q=type over accessories', async () => {
    const first = await call('GET', `${app}/v1/accessories${qs({ page_size: 2 })}`);
    assert.equal(first.headers.get('x-total-count'), '3');
    assert.equal(first.body.length, 2);
    assert.match(first.headers.get('link')!, /\?page=2&page_size=2>; rel="next"$/);
    const second = await call('GET', `${app}/v1/accessories${qs({ page: 2, page_size: 2 })}`);
    assert.deepEqual(
      second.body.map((a: { digest: string }) => a.digest),
      [s.cosign.digest],
    );
    const cosign = await call('GET', `${app}/v1/accessories${qs({ q: 'type=signature.cosign' })}`);
    assert.equal(cosign.headers.get('x-total-count'), '1');
    assert.deepEqual(
      cosign.body.map((a: { digest: string }) => a.digest),
      [s.cosign.digest],
    );
    const notation = await call('GET', `${app}/v1/accessories${qs({ q: 'type=signature.notation' })}`);
    assert.deepEqual(
      notation.body.map((a: { digest: string }) => a.digest),
      [s.notation.digest],
    );
    assertHarborError(await call('GET', `${app}/v1/accessories${qs({ q: 'colour=red' })}`), 400, 'BAD_REQUEST', /colour/);
  });

  test('Harbor’s own SBOM is sbom.harbor; an artifact without accessories has none', async () => {
    const harborSbom = await pushSbomReferrer(server, 'library/app', s.image.digest, { harbor: true });
    const res = await call('GET', `${app}/v2/accessories`);
    assert.deepEqual(
      res.body.map((a: { digest: string; type: string }) => [a.digest, a.type]),
      [[harborSbom.digest, 'sbom.harbor']],
    );
    const none = await call('GET', `${app}/1.2.3/accessories`);
    assert.equal(none.status, 200);
    assert.deepEqual(none.body, []);
    assert.equal(none.headers.get('x-total-count'), '0');
  });

  test('accessories of an unknown artifact are 404', async () => {
    assertHarborError(await call('GET', `${app}/nope/accessories`), 404, 'NOT_FOUND');
  });
});
