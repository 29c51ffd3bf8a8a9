// The pull checks of the OCI distribution-spec conformance suite (every data set pulled by
// tag and digest, HEAD and GET; blobs in full and by range), plus content negotiation,
// conditional requests and Docker schema 2 round trips.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { dataSets, mt, ociAccept, pushDataSet, TestData, verifyPull } from '../helpers/conformance.js';
import { types } from '../helpers/oci.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { assertOciError, digestOf, parseRawResponse, rawExchange, V2, type DigestAlgorithm } from '../helpers/v2.js';

let server: TestServer;
let v2: V2;
before(async () => {
  server = await startServer();
  v2 = new V2(server);
});
after(async () => {
  await server.stop();
});

test('GET /v2/ is 200 for a signed-in client and 401 with a Bearer challenge for an anonymous one', async () => {
  const res = await v2.call('GET', '/v2/');
  assert.equal(res.status, 200);
  const anonymous = await v2.call('GET', '/v2/', { anonymous: true });
  assertOciError(anonymous, 401, 'UNAUTHORIZED');
  assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Bearer realm="[^"]+",service="[^"]+"/);
});

describe('every data set of the conformance suite pulls back exactly as pushed', () => {
  for (const td of dataSets()) {
    test(td.name, async () => {
      const repo = `library/pull-${td.name}`;
      await pushDataSet(v2, repo, td);
      await verifyPull(v2, repo, td);
    });
  }
});

describe('missing content', () => {
  const repo = 'library/pull-missing';
  before(async () => {
    const td = new TestData('missing');
    td.image({ tag: 'present' });
    await pushDataSet(v2, repo, td);
  });

  test('a manifest digest never pushed is 404 MANIFEST_UNKNOWN, for GET and HEAD', async () => {
    const digest = digestOf(randomBytes(1024));
    assertOciError(await v2.call('GET', `/v2/${repo}/manifests/${digest}`, { headers: { accept: ociAccept } }), 404, 'MANIFEST_UNKNOWN');
    const head = await v2.call('HEAD', `/v2/${repo}/manifests/${digest}`, { headers: { accept: ociAccept } });
    assert.equal(head.status, 404);
    assert.equal(head.bytes.length, 0);
  });

  test('a tag never pushed is 404 MANIFEST_UNKNOWN', async () => {
    assertOciError(await v2.call('GET', `/v2/${repo}/manifests/missing-${randomBytes(6).toString('hex')}`), 404, 'MANIFEST_UNKNOWN');
  });

  test('a repository never pushed is 404 NAME_UNKNOWN for manifests, and blobs are 404', async () => {
    assertOciError(await v2.call('GET', '/v2/library/never-pushed/manifests/latest'), 404, 'NAME_UNKNOWN');
    assert.equal((await v2.call('GET', `/v2/library/never-pushed/blobs/${digestOf('x')}`)).status, 404);
  });

  test('a blob is only served from a repository that holds it', async () => {
    const data = randomBytes(300);
    const digest = await v2.pushBlob('library/pull-holder', data);
    assert.equal((await v2.call('GET', `/v2/library/pull-holder/blobs/${digest}`)).status, 200);
    assertOciError(await v2.call('GET', `/v2/${repo}/blobs/${digest}`), 404, 'BLOB_UNKNOWN');
  });
});

for (const algorithm of ['sha256', 'sha512'] as DigestAlgorithm[]) {
  describe(`range requests on a 2048-byte ${algorithm} blob`, () => {
    const repo = `library/pull-range-${algorithm}`;
    const data = randomBytes(2048);
    const digest = digestOf(data, algorithm);
    before(async () => {
      await v2.pushBlob(repo, data, algorithm);
    });

    const partial: Array<[string, number, number]> = [
      ['bytes=500-1499', 500, 1499],
      ['bytes=500-', 500, 2047],
      ['bytes=-500', 1548, 2047],
      ['bytes=2000-5000', 2000, 2047],
      ['bytes=0-0', 0, 0],
    ];
    for (const [range, start, end] of partial) {
      test(`${range} is 206 with Content-Range bytes ${start}-${end}/2048`, async () => {
        const res = await v2.call('GET', `/v2/${repo}/blobs/${digest}`, { headers: { range } });
        assert.equal(res.status, 206, res.text);
        assert.equal(res.headers.get('content-range'), `bytes ${start}-${end}/2048`);
        assert.equal(res.headers.get('content-length'), String(end - start + 1));
        assert.equal(res.headers.get('docker-content-digest'), digest);
        assert.ok(res.bytes.equals(data.subarray(start, end + 1)));
      });
    }

    for (const range of ['bytes=500-0', 'bytes=5000-10000', 'bytes=2048-']) {
      test(`${range} is 416 with Content-Range bytes */2048`, async () => {
        const res = await v2.call('GET', `/v2/${repo}/blobs/${digest}`, { headers: { range } });
        assert.equal(res.status, 416, res.text);
        assert.equal(res.headers.get('content-range'), 'bytes */2048');
      });
    }

    test('no Range is 200 with the whole blob and Accept-Ranges: bytes', async () => {
      const res = await v2.call('GET', `/v2/${repo}/blobs/${digest}`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('accept-ranges'), 'bytes');
      assert.equal(res.headers.get('content-length'), '2048');
      assert.ok(res.bytes.equals(data));
    });
  });
}

describe('HEAD', () => {
  const repo = 'library/pull-head';
  let image: { digest: string; bytes: Buffer };
  let blob: { digest: string; data: Buffer };
  before(async () => {
    const td = new TestData('head');
    const d = td.image({ tag: 'v1' });
    await pushDataSet(v2, repo, td);
    image = { digest: d.digest, bytes: td.manifests.get(d.digest)!.bytes };
    const data = randomBytes(5000);
    blob = { digest: await v2.pushBlob(repo, data), data };
  });

  /** HEAD over a raw socket, so that any body byte the server wrongly sends would be seen. */
  async function rawHead(path: string, accept = '*/*') {
    const head = `HEAD ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${server.admin.authorization}\r\nAccept: ${accept}\r\nConnection: close\r\n\r\n`;
    const res = parseRawResponse(await rawExchange(server, head, undefined, false));
    assert.ok(res, 'a complete response');
    return res;
  }

  test('on a blob: 200, Content-Length, Docker-Content-Digest, and not one body byte', async () => {
    const res = await rawHead(`/v2/${repo}/blobs/${blob.digest}`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-length'), '5000');
    assert.equal(res.headers.get('docker-content-digest'), blob.digest);
    assert.equal(res.bytes.length, 0);
  });

  test('on a manifest: 200, Content-Type, Content-Length, Docker-Content-Digest, and not one body byte', async () => {
    for (const ref of ['v1', image.digest]) {
      const res = await rawHead(`/v2/${repo}/manifests/${ref}`, mt.manifest);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), mt.manifest);
      assert.equal(res.headers.get('content-length'), String(image.bytes.length));
      assert.equal(res.headers.get('docker-content-digest'), image.digest);
      assert.equal(res.bytes.length, 0);
    }
  });

  test('on a missing blob: 404 and no body', async () => {
    const res = await rawHead(`/v2/${repo}/blobs/${digestOf('absent')}`);
    assert.equal(res.status, 404);
    assert.equal(res.bytes.length, 0);
  });
});

describe('conditional manifest requests', () => {
  const repo = 'library/pull-etag';
  let digest: string;
  let size: number;
  before(async () => {
    const td = new TestData('etag');
    const d = td.image({ tag: 'v1' });
    await pushDataSet(v2, repo, td);
    digest = d.digest;
    size = td.manifests.get(d.digest)!.bytes.length;
  });

  test('GET and HEAD answer with an ETag of the digest', async () => {
    for (const method of ['GET', 'HEAD']) {
      const res = await v2.call(method, `/v2/${repo}/manifests/v1`);
      assert.equal(res.headers.get('etag'), `"${digest}"`);
    }
  });

  test('If-None-Match with the ETag is 304 without a body, by tag and by digest, GET and HEAD', async () => {
    for (const method of ['GET', 'HEAD']) {
      for (const ref of ['v1', digest]) {
        const res = await v2.call(method, `/v2/${repo}/manifests/${ref}`, { headers: { 'if-none-match': `"${digest}"` } });
        assert.equal(res.status, 304, `${method} ${ref}`);
        assert.equal(res.bytes.length, 0);
        assert.equal(res.headers.get('docker-content-digest'), digest);
        const length = res.headers.get('content-length');
        assert.ok(length === null || length === String(size), `a 304 Content-Length, if any, is the 200's: ${length}`);
      }
    }
  });

  test('If-None-Match listing several ETags, or a weak one, still matches', async () => {
    for (const value of [`"sha256:${'0'.repeat(64)}", "${digest}"`, `W/"${digest}"`, '*']) {
      const res = await v2.call('GET', `/v2/${repo}/manifests/v1`, { headers: { 'if-none-match': value } });
      assert.equal(res.status, 304, value);
    }
  });

  test('If-None-Match with another ETag is 200 with the manifest', async () => {
    const res = await v2.call('GET', `/v2/${repo}/manifests/v1`, { headers: { 'if-none-match': `"sha256:${'0'.repeat(64)}"` } });
    assert.equal(res.status, 200);
    assert.equal(res.bytes.length, size);
  });
});

describe('Docker schema 2 and content negotiation', () => {
  const repo = 'library/pull-docker';
  const image = { bytes: Buffer.alloc(0), digest: '' };
  const list = { bytes: Buffer.alloc(0), digest: '' };
  const oci = { bytes: Buffer.alloc(0), digest: '' };
  before(async () => {
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
    const layer = randomBytes(700);
    const configDigest = await v2.pushBlob(repo, config);
    const layerDigest = await v2.pushBlob(repo, layer);
    image.bytes = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: types.dockerManifest,
        config: { mediaType: types.dockerConfig, size: config.length, digest: configDigest },
        layers: [{ mediaType: types.dockerLayer, size: layer.length, digest: layerDigest }],
      }),
    );
    image.digest = digestOf(image.bytes);
    const put = await v2.putManifest(repo, 'docker', image.bytes, types.dockerManifest);
    assert.equal(put.status, 201, put.text);
    list.bytes = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: types.dockerList,
        manifests: [
          {
            mediaType: types.dockerManifest,
            size: image.bytes.length,
            digest: image.digest,
            platform: { architecture: 'amd64', os: 'linux' },
          },
        ],
      }),
    );
    list.digest = digestOf(list.bytes);
    assert.equal((await v2.putManifest(repo, 'list', list.bytes, types.dockerList)).status, 201);
    oci.bytes = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: mt.manifest,
        config: { mediaType: mt.config, size: config.length, digest: configDigest },
        layers: [{ mediaType: mt.layerGzip, size: layer.length, digest: layerDigest }],
      }),
    );
    oci.digest = digestOf(oci.bytes);
    assert.equal((await v2.putManifest(repo, 'oci', oci.bytes, mt.manifest)).status, 201);
  });

  test('a schema 2 manifest comes back byte for byte with its Docker Content-Type', async () => {
    const res = await v2.call('GET', `/v2/${repo}/manifests/docker`, {
      headers: { accept: `${types.dockerManifest}, ${types.dockerList}` },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), types.dockerManifest);
    assert.equal(res.headers.get('docker-content-digest'), image.digest);
    assert.ok(res.bytes.equals(image.bytes));
  });

  test('a manifest list comes back byte for byte with its Content-Type', async () => {
    const res = await v2.call('GET', `/v2/${repo}/manifests/list`, { headers: { accept: `${types.dockerManifest}, ${types.dockerList}` } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), types.dockerList);
    assert.ok(res.bytes.equals(list.bytes));
  });

  test('an Accept header that excludes the stored type is 404 MANIFEST_UNKNOWN', async () => {
    assertOciError(await v2.call('GET', `/v2/${repo}/manifests/docker`, { headers: { accept: ociAccept } }), 404, 'MANIFEST_UNKNOWN');
    assertOciError(
      await v2.call('GET', `/v2/${repo}/manifests/${list.digest}`, { headers: { accept: mt.manifest } }),
      404,
      'MANIFEST_UNKNOWN',
    );
    assertOciError(
      await v2.call('GET', `/v2/${repo}/manifests/oci`, { headers: { accept: types.dockerManifest } }),
      404,
      'MANIFEST_UNKNOWN',
    );
    const head = await v2.call('HEAD', `/v2/${repo}/manifests/docker`, { headers: { accept: ociAccept } });
    assert.equal(head.status, 404);
  });

  test('no Accept, */*, and Accept with parameters or several headers are served', async () => {
    const accepts: Array<Record<string, string>> = [
      {},
      { accept: '*/*' },
      { accept: 'application/*' },
      { accept: `${types.dockerManifest}; q=0.9` },
      { accept: `text/html, ${types.dockerManifest};q=0.5, */*;q=0.1` },
    ];
    for (const headers of accepts) {
      const res = await v2.call('GET', `/v2/${repo}/manifests/docker`, { headers });
      assert.equal(res.status, 200, JSON.stringify(headers));
      assert.equal(res.headers.get('content-type'), types.dockerManifest);
    }
  });
});

describe('a pull changes nothing a client can see', () => {
  const repo = 'library/pull-side-effects';
  test('pulls by tag and digest leave manifests, tags and the catalog as they were, and the pull record flushes even after a delete', async () => {
    const td = new TestData('side-effects');
    const d = td.image({ tag: 'v1' });
    td.tags.set('v2', d.digest);
    await pushDataSet(v2, repo, td);
    const before = {
      tags: (await v2.tags(repo)).json(),
      catalog: (await v2.call('GET', '/v2/_catalog')).json(),
    };
    for (let i = 0; i < 3; i += 1) {
      for (const ref of ['v1', 'v2', d.digest]) {
        const res = await v2.call('GET', `/v2/${repo}/manifests/${ref}`);
        assert.equal(res.status, 200);
        assert.ok(res.bytes.equals(td.manifests.get(d.digest)!.bytes));
      }
    }
    await server.berth.pulls.flush();
    assert.deepEqual((await v2.tags(repo)).json(), before.tags);
    assert.deepEqual((await v2.call('GET', '/v2/_catalog')).json(), before.catalog);
    const again = await v2.call('GET', `/v2/${repo}/manifests/v1`);
    assert.equal(again.headers.get('docker-content-digest'), d.digest);

    // A pull recorded for a manifest deleted before the batch is written must not break the batch.
    assert.equal((await v2.call('GET', `/v2/${repo}/manifests/v2`)).status, 200);
    assert.equal((await v2.call('DELETE', `/v2/${repo}/manifests/${d.digest}`)).status, 202);
    await server.berth.pulls.flush();
    const pulls = await server.berth.database.db
      .selectFrom('audit_logs')
      .select('resource')
      .where('operation', '=', 'pull')
      .where('resource', '=', `${repo}:v2`)
      .execute();
    assert.ok(pulls.length >= 4, `every pull of ${repo}:v2 is recorded, the last one too (${pulls.length})`);
  });
});
