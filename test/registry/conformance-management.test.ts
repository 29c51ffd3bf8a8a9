// The content management checks of the OCI distribution-spec conformance suite: delete
// tags, manifests and blobs (each gone at once), for every data set; plus what deletes
// leave in place.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { dataSets, deleteDataSet, mt, ociAccept, pushDataSet, TestData } from '../helpers/conformance.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { assertOciError, digestOf, V2 } from '../helpers/v2.js';

let server: TestServer;
let v2: V2;
before(async () => {
  server = await startServer();
  v2 = new V2(server);
});
after(async () => {
  await server.stop();
});

describe('every data set deletes: tags, then manifests, then blobs, each 202 and then 404', () => {
  for (const td of dataSets()) {
    test(td.name, async () => {
      const repo = `library/delete-${td.name}`;
      await pushDataSet(v2, repo, td);
      await deleteDataSet(v2, repo, td);
      assert.deepEqual((await v2.tags(repo)).json().tags, []);
    });
  }

  test('the suite runs every data set through one repository: push, delete, push the next', async () => {
    const repo = 'library/delete-shared';
    for (const td of dataSets()) {
      await pushDataSet(v2, repo, td);
      await deleteDataSet(v2, repo, td);
    }
    assert.deepEqual((await v2.tags(repo)).json().tags, []);
  });
});

describe('deletes of what is not there', () => {
  const repo = 'library/delete-missing';
  before(async () => {
    const td = new TestData('present');
    td.image({ tag: 'v1' });
    await pushDataSet(v2, repo, td);
  });

  test('a blob the repository does not hold is 404 BLOB_UNKNOWN', async () => {
    assertOciError(await v2.call('DELETE', `/v2/${repo}/blobs/${digestOf(randomBytes(8))}`), 404, 'BLOB_UNKNOWN');
  });

  test('a manifest digest or a tag the repository does not hold is 404 MANIFEST_UNKNOWN', async () => {
    assertOciError(await v2.call('DELETE', `/v2/${repo}/manifests/${digestOf(randomBytes(8))}`), 404, 'MANIFEST_UNKNOWN');
    assertOciError(await v2.call('DELETE', `/v2/${repo}/manifests/no-such-tag`), 404, 'MANIFEST_UNKNOWN');
  });

  test('anything in a repository that does not exist is 404 NAME_UNKNOWN', async () => {
    assertOciError(await v2.call('DELETE', `/v2/library/delete-nowhere/manifests/${digestOf('x')}`), 404, 'NAME_UNKNOWN');
    assertOciError(await v2.call('DELETE', '/v2/library/delete-nowhere/manifests/v1'), 404, 'NAME_UNKNOWN');
    assertOciError(await v2.call('DELETE', `/v2/library/delete-nowhere/blobs/${digestOf('x')}`), 404, 'NAME_UNKNOWN');
  });

  test('a second delete of the same tag is 404', async () => {
    const td = new TestData('twice');
    td.image({ tag: 'once' });
    await pushDataSet(v2, repo, td);
    assert.equal((await v2.call('DELETE', `/v2/${repo}/manifests/once`)).status, 202);
    assertOciError(await v2.call('DELETE', `/v2/${repo}/manifests/once`), 404, 'MANIFEST_UNKNOWN');
  });
});

describe('what a delete leaves in place', () => {
  test('deleting a tag leaves the manifest and its other tags', async () => {
    const repo = 'library/delete-tag-only';
    const td = new TestData('tag-only');
    const d = td.image({ tag: 'a' });
    td.tags.set('b', d.digest);
    await pushDataSet(v2, repo, td);
    assert.equal((await v2.call('DELETE', `/v2/${repo}/manifests/a`)).status, 202);
    assert.equal((await v2.call('GET', `/v2/${repo}/manifests/a`)).status, 404);
    assert.equal((await v2.call('GET', `/v2/${repo}/manifests/b`)).status, 200);
    assert.equal((await v2.call('GET', `/v2/${repo}/manifests/${d.digest}`)).status, 200);
    assert.deepEqual((await v2.tags(repo)).json().tags, ['b']);
  });

  test('deleting a manifest by digest removes every tag on it, and it can be pushed again', async () => {
    const repo = 'library/delete-by-digest';
    const td = new TestData('by-digest');
    const d = td.image({ tag: 'a' });
    td.tags.set('b', d.digest);
    await pushDataSet(v2, repo, td);
    assert.equal((await v2.call('DELETE', `/v2/${repo}/manifests/${d.digest}`)).status, 202);
    for (const ref of ['a', 'b', d.digest]) {
      assertOciError(await v2.call('GET', `/v2/${repo}/manifests/${ref}`, { headers: { accept: ociAccept } }), 404, 'MANIFEST_UNKNOWN');
    }
    assert.equal((await v2.call('GET', `/v2/${repo}/blobs/${d.digest}`)).status, 404, 'nor is it served as a blob');
    assert.deepEqual((await v2.tags(repo)).json().tags, []);
    await pushDataSet(v2, repo, td);
    assert.deepEqual((await v2.tags(repo)).json().tags, ['a', 'b']);
  });

  test('deleting a blob from one repository leaves it in another', async () => {
    const data = randomBytes(600);
    const digest = await v2.pushBlob('library/delete-blob-a', data);
    await v2.pushBlob('library/delete-blob-b', data);
    assert.equal((await v2.call('DELETE', `/v2/library/delete-blob-a/blobs/${digest}`)).status, 202);
    assertOciError(await v2.call('GET', `/v2/library/delete-blob-a/blobs/${digest}`), 404, 'BLOB_UNKNOWN');
    const other = await v2.call('GET', `/v2/library/delete-blob-b/blobs/${digest}`);
    assert.equal(other.status, 200);
    assert.ok(other.bytes.equals(data));
  });

  test('deleting an index leaves its children pullable, and then they delete too', async () => {
    const repo = 'library/delete-index';
    const td = new TestData('index');
    const index = td.indexFull({ tag: 'multi' });
    await pushDataSet(v2, repo, td);
    assert.equal((await v2.call('DELETE', `/v2/${repo}/manifests/${index.digest}`)).status, 202);
    const children = td.order.filter((d) => d !== index.digest);
    for (const child of children) assert.equal((await v2.call('GET', `/v2/${repo}/manifests/${child}`)).status, 200);
    for (const child of children) assert.equal((await v2.call('DELETE', `/v2/${repo}/manifests/${child}`)).status, 202);
  });

  test('a deleted referrer leaves the referrers list; the others stay', async () => {
    const repo = 'library/delete-referrer';
    const td = new TestData('referrer');
    const subject = td.image({ tag: 'v1' });
    const sbom = td.image({
      artifactType: 'application/vnd.example.sbom',
      configMediaType: mt.empty,
      layers: 1,
      layerMediaType: mt.octetStream,
      subject,
    });
    const sig = td.image({
      artifactType: 'application/vnd.example.sig',
      configMediaType: mt.empty,
      layers: 1,
      layerMediaType: mt.octetStream,
      subject,
    });
    await pushDataSet(v2, repo, td);
    const list = async () =>
      (await v2.call('GET', `/v2/${repo}/referrers/${subject.digest}`)).json().manifests.map((m: { digest: string }) => m.digest);
    assert.deepEqual((await list()).sort(), [sbom.digest, sig.digest].sort());
    assert.equal((await v2.call('DELETE', `/v2/${repo}/manifests/${sbom.digest}`)).status, 202);
    assert.deepEqual(await list(), [sig.digest]);
  });
});
