// The push checks of the OCI distribution-spec conformance suite (blob uploads in every
// form, for sha256 and sha512; manifests by tag, by digest and with ?tag=), plus upload
// session status and cancel.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { dataSets, mt, pushDataSet, TestData } from '../helpers/conformance.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { assertOciError, digestOf, streamBody, V2, type DigestAlgorithm } from '../helpers/v2.js';

let server: TestServer;
let v2: V2;
before(async () => {
  server = await startServer();
  v2 = new V2(server);
});
after(async () => {
  await server.stop();
});

const repo = 'library/conformance-push';
const repo2 = 'library/conformance-push-source';
/** The suite's smallest chunk: blobs for chunked tests are three chunks less five bytes. */
const chunkMin = 1024;

/** A pushed blob must be pullable at the Location the push returned, and under its digest. */
async function expectPublished(res: Awaited<ReturnType<V2['call']>>, name: string, digest: string, data: Buffer) {
  assert.equal(res.status, 201, res.text);
  assert.equal(res.headers.get('docker-content-digest'), digest);
  const location = res.headers.get('location');
  assert.ok(location, 'a finished upload has a Location');
  const pulled = await v2.call('GET', new URL(location, server.url).pathname);
  assert.equal(pulled.status, 200);
  assert.ok(pulled.bytes.equals(data), 'the Location serves the blob');
  const head = await v2.call('HEAD', `/v2/${name}/blobs/${digest}`);
  assert.equal(head.status, 200);
  assert.equal(head.headers.get('content-length'), String(data.length));
  assert.equal(head.headers.get('docker-content-digest'), digest);
}

async function expectAbsent(name: string, digest: string) {
  const head = await v2.call('HEAD', `/v2/${name}/blobs/${digest}`);
  assert.equal(head.status, 404, `blob ${digest} must not be published`);
}

async function patchChunk(location: string, data: Buffer, start: number, end = start + data.length - 1) {
  return v2.call('PATCH', location, {
    headers: { 'content-type': mt.octetStream, 'content-range': `${start}-${end}`, 'content-length': String(data.length) },
    body: data,
  });
}

/** Chunked upload in chunks of `chunk` bytes, checking Location and Range after each; returns the closing PUT's answer. */
async function chunked(
  data: Buffer,
  digest: string,
  options: { chunk?: number; putLast?: boolean; outOfOrder?: boolean; query?: string } = {},
) {
  let location = await v2.startUpload(repo, options.query ?? '');
  const chunk = Math.min(Math.max(options.chunk ?? Math.ceil(data.length / 3) + 1, chunkMin), data.length);
  let offset = 0;
  while (offset < data.length) {
    const end = Math.min(offset + chunk, data.length);
    const last = end === data.length;
    if (options.outOfOrder) {
      // A chunk that skips ahead (or starts over) is refused with 416; the session is unharmed.
      let badStart = offset + chunk;
      if (badStart >= data.length) badStart = 0;
      const badEnd = Math.min(badStart + chunk, data.length);
      const method = options.putLast && badEnd === data.length ? 'PUT' : 'PATCH';
      const bad = await v2.call(method, method === 'PUT' ? `${location}${location.includes('?') ? '&' : '?'}digest=${digest}` : location, {
        headers: {
          'content-type': mt.octetStream,
          'content-range': `${badStart}-${badEnd - 1}`,
          'content-length': String(badEnd - badStart),
        },
        body: data.subarray(badStart, badEnd),
      });
      assert.equal(bad.status, 416, `out-of-order ${method} at ${badStart}: ${bad.text}`);
      const status = await v2.call('GET', location);
      assert.equal(status.status, 204);
      assert.equal(status.headers.get('range'), `0-${Math.max(offset - 1, 0)}`);
      location = new URL(status.headers.get('location')!, server.url).pathname;
    }
    if (options.putLast && last) {
      return v2.call('PUT', `${location}?digest=${digest}`, {
        headers: { 'content-type': mt.octetStream, 'content-range': `${offset}-${end - 1}`, 'content-length': String(end - offset) },
        body: data.subarray(offset, end),
      });
    }
    const res = await patchChunk(location, data.subarray(offset, end), offset);
    assert.equal(res.status, 202, res.text);
    assert.equal(res.headers.get('range'), `0-${end - 1}`);
    location = new URL(res.headers.get('location')!, server.url).pathname;
    offset = end;
  }
  return v2.call('PUT', `${location}?digest=${digest}`, { headers: { 'content-type': mt.octetStream, 'content-length': '0' } });
}

/** PATCH with no Content-Range and no Content-Length (a chunked request body), then PUT. */
async function streamed(data: Buffer, digest: string) {
  const location = await v2.startUpload(repo);
  const halves = [data.subarray(0, data.length >> 1), data.subarray(data.length >> 1)];
  const res = await fetch(`${server.url}${location}`, {
    method: 'PATCH',
    headers: { ...server.admin, 'content-type': mt.octetStream },
    ...streamBody(halves),
  });
  assert.equal(res.status, 202, await res.text());
  assert.equal(res.headers.get('range'), `0-${data.length - 1}`);
  const next = new URL(res.headers.get('location')!, server.url).pathname;
  return v2.call('PUT', `${next}?digest=${digest}`, { headers: { 'content-type': mt.octetStream, 'content-length': '0' } });
}

async function postOnly(data: Buffer, digest: string, name = repo) {
  return v2.call('POST', `/v2/${name}/blobs/uploads/?digest=${digest}`, {
    headers: { 'content-type': mt.octetStream, 'content-length': String(data.length) },
    body: data,
  });
}

async function postPut(data: Buffer, digest: string, query = '') {
  const location = await v2.startUpload(repo, query);
  return v2.call('PUT', `${location}${location.includes('?') ? '&' : '?'}digest=${digest}`, {
    headers: { 'content-type': mt.octetStream, 'content-length': String(data.length) },
    body: data,
  });
}

for (const algorithm of ['sha256', 'sha512'] as DigestAlgorithm[]) {
  describe(`blob uploads with ${algorithm}`, () => {
    const blob = (size = 512) => {
      const data = randomBytes(size);
      return { data, digest: digestOf(data, algorithm) };
    };
    const big = () => blob(chunkMin * 3 - 5);

    test('GET of a blob never pushed is 404 BLOB_UNKNOWN', async () => {
      assertOciError(await v2.call('GET', `/v2/${repo}/blobs/${blob().digest}`), 404, 'BLOB_UNKNOWN');
    });

    test('single POST with ?digest= publishes the blob (201)', async () => {
      const { data, digest } = blob();
      await expectPublished(await postOnly(data, digest), repo, digest, data);
    });

    test('POST then PUT with the whole body publishes the blob', async () => {
      const { data, digest } = blob();
      await expectPublished(await postPut(data, digest), repo, digest, data);
    });

    test('POST with ?digest-algorithm= then PUT publishes the blob', async () => {
      const { data, digest } = blob();
      await expectPublished(await postPut(data, digest, `?digest-algorithm=${algorithm}`), repo, digest, data);
    });

    test('chunked upload in one chunk', async () => {
      const { data, digest } = blob();
      await expectPublished(await chunked(data, digest), repo, digest, data);
    });

    test('chunked upload in three chunks, closed by an empty PUT', async () => {
      const { data, digest } = big();
      await expectPublished(await chunked(data, digest), repo, digest, data);
    });

    test('chunked upload in three chunks, the last one in the PUT', async () => {
      const { data, digest } = big();
      await expectPublished(await chunked(data, digest, { putLast: true }), repo, digest, data);
    });

    test('chunked upload with out-of-order chunks: each refused with 416, the session recovers via GET', async () => {
      const { data, digest } = big();
      await expectPublished(await chunked(data, digest, { outOfOrder: true }), repo, digest, data);
    });

    test('chunked upload with out-of-order chunks and the last chunk in the PUT', async () => {
      const { data, digest } = big();
      await expectPublished(await chunked(data, digest, { outOfOrder: true, putLast: true }), repo, digest, data);
    });

    test('streamed upload: PATCH without Content-Range or Content-Length, then PUT', async () => {
      const { data, digest } = blob(70_000);
      await expectPublished(await streamed(data, digest), repo, digest, data);
    });

    test('mount from another repository answers 201 with the blob Location', async () => {
      const { data, digest } = blob();
      await v2.pushBlob(repo2, data, algorithm);
      const res = await v2.call('POST', `/v2/${repo}/blobs/uploads/?mount=${digest}&from=${repo2}`, { headers: { 'content-length': '0' } });
      assert.equal(res.headers.get('location'), `/v2/${repo}/blobs/${digest}`);
      await expectPublished(res, repo, digest, data);
    });

    test('mount without from finds the blob in a repository the caller may pull', async () => {
      const { data, digest } = blob();
      await v2.pushBlob(repo2, data, algorithm);
      const res = await v2.call('POST', `/v2/${repo}-anonymous-mount/blobs/uploads/?mount=${digest}`, {
        headers: { 'content-length': '0' },
      });
      await expectPublished(res, `${repo}-anonymous-mount`, digest, data);
    });

    test('mount of a blob the source does not hold opens a session (202) that completes normally', async () => {
      const { data, digest } = blob();
      const res = await v2.call('POST', `/v2/${repo}/blobs/uploads/?mount=${digest}&from=${repo2}`, { headers: { 'content-length': '0' } });
      assert.equal(res.status, 202, res.text);
      assert.ok(res.headers.get('location'));
      await expectAbsent(repo, digest);
      const location = new URL(res.headers.get('location')!, server.url).pathname;
      const put = await v2.call('PUT', `${location}?digest=${digest}`, { headers: { 'content-type': mt.octetStream }, body: data });
      await expectPublished(put, repo, digest, data);
    });

    test('an empty blob and the empty JSON blob push, HEAD and GET', async () => {
      for (const data of [Buffer.alloc(0), Buffer.from('{}')]) {
        const digest = digestOf(data, algorithm);
        await expectPublished(await postOnly(data, digest), repo, digest, data);
        const get = await v2.call('GET', `/v2/${repo}/blobs/${digest}`);
        assert.equal(get.headers.get('content-length'), String(data.length));
      }
    });

    describe('a wrong digest is refused with 400 DIGEST_INVALID and nothing is published', () => {
      // Each blob is its digest's content plus five bytes more.
      const corrupt = () => {
        const { data, digest } = big();
        return { data: Buffer.concat([data, Buffer.from('oh no')]), digest };
      };
      test('single POST', async () => {
        const { data, digest } = corrupt();
        assertOciError(await postOnly(data, digest), 400, 'DIGEST_INVALID');
        await expectAbsent(repo, digest);
      });
      test('POST then PUT', async () => {
        const { data, digest } = corrupt();
        assertOciError(await postPut(data, digest), 400, 'DIGEST_INVALID');
        await expectAbsent(repo, digest);
      });
      test('chunked', async () => {
        const { data, digest } = corrupt();
        assertOciError(await chunked(data, digest), 400, 'DIGEST_INVALID');
        await expectAbsent(repo, digest);
      });
      test('chunked with the last chunk in the PUT', async () => {
        const { data, digest } = corrupt();
        assertOciError(await chunked(data, digest, { putLast: true }), 400, 'DIGEST_INVALID');
        await expectAbsent(repo, digest);
      });
      test('streamed', async () => {
        const { data, digest } = corrupt();
        assertOciError(await streamed(data, digest), 400, 'DIGEST_INVALID');
        await expectAbsent(repo, digest);
      });
    });
  });
}

test('a mount, with or without from, never takes a blob from a repository the caller may not pull', async () => {
  await server.berth.projects.create('mountsecret', false);
  const data = randomBytes(256);
  const digest = await v2.pushBlob('mountsecret/app', data);
  // A registry token that grants pull and push on the target repository only.
  const params = new URLSearchParams({ service: 'harbor-registry', scope: `repository:${repo}-scoped:pull,push` });
  const token = (await (await fetch(`${server.url}/service/token?${params}`, { headers: server.admin })).json()).token as string;
  const bearer = { authorization: `Bearer ${token}` };
  const mount = (query: string) =>
    v2.call('POST', `/v2/${repo}-scoped/blobs/uploads/${query}`, { anonymous: true, headers: { ...bearer, 'content-length': '0' } });
  const unnamed = await mount(`?mount=${digest}`);
  assert.equal(unnamed.status, 202, unnamed.text);
  // Naming the source, the token is challenged for pull on it (as Distribution does).
  const named = await mount(`?mount=${digest}&from=mountsecret/app`);
  assertOciError(named, 401, 'UNAUTHORIZED');
  assert.match(named.headers.get('www-authenticate') ?? '', /scope="[^"]* repository:mountsecret\/app:pull"/);
  await expectAbsent(`${repo}-scoped`, digest);
});

describe('upload sessions', () => {
  test('POST opens a session: 202, Location with an id, Docker-Upload-UUID and Range 0-0', async () => {
    const res = await v2.call('POST', `/v2/${repo}/blobs/uploads/`, { headers: { 'content-length': '0' } });
    assert.equal(res.status, 202);
    const location = res.headers.get('location')!;
    const id = res.headers.get('docker-upload-uuid')!;
    assert.ok(id);
    assert.equal(location, `/v2/${repo}/blobs/uploads/${id}`);
    assert.equal(res.headers.get('range'), '0-0');
  });

  test('GET on a session answers 204 with Location and Range 0-<last byte>', async () => {
    const location = await v2.startUpload(repo);
    const data = randomBytes(1000);
    assert.equal((await patchChunk(location, data, 0)).status, 202);
    const res = await v2.call('GET', location);
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('range'), '0-999');
    assert.equal(res.headers.get('location'), location);
    assert.equal(res.bytes.length, 0);
  });

  test('DELETE cancels a session: 204, then the session is 404 BLOB_UPLOAD_UNKNOWN', async () => {
    const location = await v2.startUpload(repo);
    assert.equal((await patchChunk(location, randomBytes(100), 0)).status, 202);
    const res = await v2.call('DELETE', location, { headers: { 'content-length': '0' } });
    assert.equal(res.status, 204);
    assertOciError(await v2.call('GET', location), 404, 'BLOB_UPLOAD_UNKNOWN');
    assertOciError(await patchChunk(location, randomBytes(10), 100), 404, 'BLOB_UPLOAD_UNKNOWN');
    assertOciError(await v2.call('DELETE', location), 404, 'BLOB_UPLOAD_UNKNOWN');
  });

  test('a finished session is gone: its status is 404', async () => {
    const data = randomBytes(300);
    const location = await v2.startUpload(repo);
    const res = await v2.call('PUT', `${location}?digest=${digestOf(data)}`, { headers: { 'content-type': mt.octetStream }, body: data });
    assert.equal(res.status, 201);
    assertOciError(await v2.call('GET', location), 404, 'BLOB_UPLOAD_UNKNOWN');
  });

  test('a session belongs to its repository', async () => {
    const location = await v2.startUpload(repo);
    const other = location.replace(repo, repo2);
    assertOciError(await v2.call('GET', other), 404, 'BLOB_UPLOAD_UNKNOWN');
    assert.equal((await v2.call('GET', location)).status, 204);
  });

  test('the same blob pushed twice stays one blob', async () => {
    const data = randomBytes(400);
    const digest = await v2.pushBlob(repo, data);
    await expectPublished(await postOnly(data, digest), repo, digest, data);
  });
});

describe('manifest pushes', () => {
  for (const td of dataSets()) {
    test(`data set "${td.name}" pushes by digest and by tag`, async () => {
      await pushDataSet(v2, `library/push-${td.name}`, td);
    });
  }

  test('a manifest whose bytes differ from the digest in the URL is refused with 400 DIGEST_INVALID', async () => {
    const td = new TestData('bad-digest-image');
    const good = td.image();
    const { bytes } = td.manifests.get(good.digest)!;
    for (const [digest, data] of td.blobs) assert.equal(await v2.pushBlob('library/push-bad-digest', data), digest);
    const res = await v2.putManifest('library/push-bad-digest', good.digest, Buffer.concat([bytes, Buffer.from('  ')]), mt.manifest);
    assertOciError(res, 400, 'DIGEST_INVALID');
    assertOciError(await v2.call('GET', `/v2/library/push-bad-digest/manifests/${good.digest}`), 404, 'MANIFEST_UNKNOWN');
  });

  test('PUT to sha256:baddigeststring is 400; GET of it is 400 or 404', async () => {
    const td = new TestData('invalid-digest-format');
    const good = td.image({ layers: 1 });
    for (const data of td.blobs.values()) await v2.pushBlob('library/push-invalid-digest', data);
    const res = await v2.putManifest(
      'library/push-invalid-digest',
      'sha256:baddigeststring',
      td.manifests.get(good.digest)!.bytes,
      mt.manifest,
    );
    assertOciError(res, 400, 'DIGEST_INVALID');
    const get = await v2.call('GET', '/v2/library/push-invalid-digest/manifests/sha256:baddigeststring');
    assert.ok(get.status === 400 || get.status === 404, `got ${get.status}`);
  });

  test('pushing the same tag again moves it to the new manifest', async () => {
    const name = 'library/push-retag';
    const td = new TestData('retag');
    const first = td.image();
    const second = td.image();
    for (const data of td.blobs.values()) await v2.pushBlob(name, data);
    for (const d of [first, second]) {
      const res = await v2.putManifest(name, 'latest', td.manifests.get(d.digest)!.bytes, mt.manifest);
      assert.equal(res.status, 201);
      const head = await v2.call('HEAD', `/v2/${name}/manifests/latest`);
      assert.equal(head.headers.get('docker-content-digest'), d.digest);
    }
    assert.equal((await v2.call('GET', `/v2/${name}/manifests/${first.digest}`)).status, 200, 'the untagged manifest stays');
  });

  test('?tag= accepts at least ten tags in one request and echoes each in OCI-Tag', async () => {
    const name = 'library/push-many-tags';
    const td = new TestData('many-tags');
    const image = td.image();
    for (const data of td.blobs.values()) await v2.pushBlob(name, data);
    const tags = Array.from({ length: 10 }, (_, i) => `t${i}`);
    const res = await v2.putManifest(
      name,
      image.digest,
      td.manifests.get(image.digest)!.bytes,
      mt.manifest,
      `?${tags.map((t) => `tag=${t}`).join('&')}`,
    );
    assert.equal(res.status, 201, res.text);
    const echoed = res.headers
      .get('oci-tag')!
      .split(',')
      .map((t) => t.trim());
    assert.deepEqual(echoed.sort(), [...tags].sort());
    assert.deepEqual((await v2.tags(name)).json().tags, [...tags].sort());
  });
});
