// Every bad input on /v2 gets the status and OCI error code it deserves, a message, and
// changes nothing: no blob published, no tag moved, no upload advanced.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { mt, pushDataSet, TestData } from '../helpers/conformance.js';
import { startServer, type TestServer } from '../helpers/server.js';
import {
  asReply,
  assertOciError,
  digestOf,
  parseRawResponse,
  rawExchange,
  rawRequest,
  readReply,
  streamBody,
  V2,
  type V2Reply,
} from '../helpers/v2.js';

let server: TestServer;
let v2: V2;
before(async () => {
  server = await startServer();
  v2 = new V2(server);
});
after(async () => {
  await server.stop();
});

async function blobAbsent(repo: string, digest: string) {
  const head = await v2.call('HEAD', `/v2/${repo}/blobs/${digest}`);
  assert.equal(head.status, 404, `blob ${digest} must not be in ${repo}`);
}

async function catalog(): Promise<string[]> {
  return (await v2.call('GET', '/v2/_catalog')).json().repositories;
}

/** An upload session in `repo` already holding `size` bytes. */
async function sessionWith(repo: string, size: number): Promise<{ location: string; data: Buffer }> {
  const location = await v2.startUpload(repo);
  const data = randomBytes(size);
  const res = await v2.call('PATCH', location, {
    headers: { 'content-type': mt.octetStream, 'content-range': `0-${size - 1}`, 'content-length': String(size) },
    body: data,
  });
  assert.equal(res.status, 202, res.text);
  return { location, data };
}

/**
 * Sends a request whose Content-Length promises `declared` bytes, writes only `sent`, and
 * half-closes the connection; returns the answer.
 */
async function truncated(
  method: string,
  path: string,
  declared: number,
  sent: Buffer,
  headers: Record<string, string> = {},
): Promise<V2Reply> {
  const lines = [
    `${method} ${path} HTTP/1.1`,
    'Host: 127.0.0.1',
    `Authorization: ${server.admin.authorization}`,
    `Content-Length: ${declared}`,
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ];
  const res = parseRawResponse(await rawExchange(server, `${lines.join('\r\n')}\r\n\r\n`, sent));
  assert.ok(res, 'the server answers before it closes the connection');
  return res;
}

describe('blob uploads', () => {
  const repo = 'library/bad-uploads';

  test('PUT with a digest the content does not have: 400 DIGEST_INVALID, nothing published, the session discarded', async () => {
    const { location, data } = await sessionWith(repo, 1000);
    const claimed = digestOf(randomBytes(1000));
    const res = await v2.call('PUT', `${location}?digest=${claimed}`, { headers: { 'content-length': '0' } });
    assertOciError(res, 400, 'DIGEST_INVALID', new RegExp(digestOf(data)));
    await blobAbsent(repo, claimed);
    await blobAbsent(repo, digestOf(data));
    assertOciError(await v2.call('GET', location), 404, 'BLOB_UPLOAD_UNKNOWN');
  });

  test('PUT with a final chunk and the wrong digest publishes nothing either', async () => {
    const { location, data } = await sessionWith(repo, 1000);
    const tail = randomBytes(200);
    const claimed = digestOf(randomBytes(1200));
    const res = await v2.call('PUT', `${location}?digest=${claimed}`, {
      headers: { 'content-type': mt.octetStream, 'content-range': '1000-1199', 'content-length': '200' },
      body: tail,
    });
    assertOciError(res, 400, 'DIGEST_INVALID');
    await blobAbsent(repo, claimed);
    await blobAbsent(repo, digestOf(Buffer.concat([data, tail])));
  });

  test('PUT without ?digest=, or with one of an unknown algorithm or shape: 400 DIGEST_INVALID, the session keeps its bytes', async () => {
    const { location, data } = await sessionWith(repo, 1000);
    for (const query of ['', '?digest=', `?digest=md5:${'a'.repeat(32)}`, '?digest=sha256:abc', `?digest=sha256:${'A'.repeat(64)}`]) {
      const res = await v2.call('PUT', `${location}${query}`, {
        headers: { 'content-type': mt.octetStream, 'content-range': '1000-1009', 'content-length': '10' },
        body: randomBytes(10),
      });
      assertOciError(res, 400, 'DIGEST_INVALID');
      assert.equal(await v2.uploadOffset(location), 1000, `after PUT${query}`);
    }
    const done = await v2.call('PUT', `${location}?digest=${digestOf(data)}`, { headers: { 'content-length': '0' } });
    assert.equal(done.status, 201, 'the session still completes');
  });

  test('POST with an unsupported digest-algorithm: 400 DIGEST_INVALID', async () => {
    assertOciError(await v2.call('POST', `/v2/${repo}/blobs/uploads/?digest-algorithm=md5`), 400, 'DIGEST_INVALID', /md5/);
  });

  test('a PATCH body shorter than its Content-Length: 400 SIZE_INVALID, the session does not advance', async () => {
    const { location } = await sessionWith(repo, 1000);
    const res = await truncated('PATCH', location, 1000, randomBytes(500), {
      'Content-Type': mt.octetStream,
      'Content-Range': '1000-1999',
    });
    assertOciError(res, 400, 'SIZE_INVALID');
    assert.equal(await v2.uploadOffset(location), 1000);
  });

  test('a closing PUT body shorter than its Content-Length: 400 SIZE_INVALID, nothing published, the session does not advance', async () => {
    const { location, data } = await sessionWith(repo, 1000);
    const tail = randomBytes(1000);
    const digest = digestOf(Buffer.concat([data, tail]));
    const res = await truncated('PUT', `${location}?digest=${digest}`, 1000, tail.subarray(0, 400), { 'Content-Type': mt.octetStream });
    assertOciError(res, 400, 'SIZE_INVALID');
    await blobAbsent(repo, digest);
    assert.equal(await v2.uploadOffset(location), 1000);
  });

  test('a single-POST body shorter than its Content-Length: 400 SIZE_INVALID, nothing published', async () => {
    const data = randomBytes(1000);
    const digest = digestOf(data);
    const res = await truncated('POST', `/v2/${repo}/blobs/uploads/?digest=${digest}`, 1000, data.subarray(0, 600), {
      'Content-Type': mt.octetStream,
    });
    assertOciError(res, 400, 'SIZE_INVALID');
    await blobAbsent(repo, digest);
  });

  test('a manifest body shorter than its Content-Length: 400 SIZE_INVALID, no tag created', async () => {
    const res = await truncated('PUT', `/v2/${repo}/manifests/truncated`, 1000, Buffer.from('{"schemaVersion":2,'), {
      'Content-Type': mt.manifest,
    });
    assertOciError(res, 400, 'SIZE_INVALID');
    assert.equal((await v2.call('GET', `/v2/${repo}/manifests/truncated`)).status, 404);
  });

  test('a chunk longer than its Content-Range: 400 SIZE_INVALID, the session does not advance', async () => {
    const { location } = await sessionWith(repo, 1000);
    // No Content-Length: the body streams, and carries 150 bytes where the range says 100.
    const res = await fetch(`${server.url}${location}`, {
      method: 'PATCH',
      headers: { ...server.admin, 'content-type': mt.octetStream, 'content-range': '1000-1099' },
      ...streamBody([randomBytes(100), randomBytes(50)]),
    });
    assertOciError(await readReply(res), 400, 'SIZE_INVALID', /100/);
    assert.equal(await v2.uploadOffset(location), 1000);
  });

  test('a Content-Length that disagrees with the Content-Range: 400 SIZE_INVALID, the session does not advance', async () => {
    const { location } = await sessionWith(repo, 1000);
    const res = await v2.call('PATCH', location, {
      headers: { 'content-type': mt.octetStream, 'content-range': '1000-1099' },
      body: randomBytes(150),
    });
    assertOciError(res, 400, 'SIZE_INVALID');
    assert.equal(await v2.uploadOffset(location), 1000);
  });

  test('a chunk that leaves a gap or overlaps: 416 RANGE_INVALID with Range of what the session holds', async () => {
    const { location, data } = await sessionWith(repo, 1000);
    for (const [start, end] of [
      [1500, 1999],
      [500, 1499],
      [0, 99],
    ]) {
      const res = await v2.call('PATCH', location, {
        headers: { 'content-type': mt.octetStream, 'content-range': `${start}-${end}`, 'content-length': String(end - start + 1) },
        body: randomBytes(end - start + 1),
      });
      assertOciError(res, 416, 'RANGE_INVALID', new RegExp(`${start}`));
      assert.equal(res.headers.get('range'), '0-999');
      assert.equal(res.headers.get('location'), location);
      assert.equal(await v2.uploadOffset(location), 1000);
    }
    // The same in the closing PUT: nothing is published, the session stays open.
    const tail = randomBytes(100);
    const digest = digestOf(Buffer.concat([data, tail]));
    const put = await v2.call('PUT', `${location}?digest=${digest}`, {
      headers: { 'content-type': mt.octetStream, 'content-range': '1100-1199', 'content-length': '100' },
      body: tail,
    });
    assertOciError(put, 416, 'RANGE_INVALID');
    assert.equal(put.headers.get('range'), '0-999');
    await blobAbsent(repo, digest);
    assert.equal(await v2.uploadOffset(location), 1000);
    const done = await v2.call('PUT', `${location}?digest=${digest}`, {
      headers: { 'content-type': mt.octetStream, 'content-range': '1000-1099', 'content-length': '100' },
      body: tail,
    });
    assert.equal(done.status, 201, 'the right chunk still completes the session');
  });

  test('a first chunk that does not start at 0: 416 RANGE_INVALID', async () => {
    const location = await v2.startUpload(repo);
    const res = await v2.call('PATCH', location, {
      headers: { 'content-type': mt.octetStream, 'content-range': '10-19', 'content-length': '10' },
      body: randomBytes(10),
    });
    assertOciError(res, 416, 'RANGE_INVALID');
    assert.equal(await v2.uploadOffset(location), 0);
  });

  test('a Content-Range that is not <start>-<end>: 416 RANGE_INVALID, the session does not advance', async () => {
    const { location } = await sessionWith(repo, 1000);
    for (const range of ['1000', 'bytes=abc', '1099-1000']) {
      const res = await v2.call('PATCH', location, {
        headers: { 'content-type': mt.octetStream, 'content-range': range },
        body: randomBytes(100),
      });
      assertOciError(res, 416, 'RANGE_INVALID');
      assert.equal(await v2.uploadOffset(location), 1000);
    }
  });

  test('an upload id that is unknown, malformed or of another repository: 404 BLOB_UPLOAD_UNKNOWN for GET, PATCH, PUT and DELETE', async () => {
    const { location } = await sessionWith(repo, 1000);
    const id = location.split('/').pop()!;
    const paths = [
      `/v2/${repo}/blobs/uploads/00000000-0000-4000-8000-000000000000`,
      `/v2/${repo}/blobs/uploads/not-an-upload`,
      `/v2/${repo}/blobs/uploads/..%2F..%2Fblobs`,
      `/v2/library/bad-uploads-other/blobs/uploads/${id}`,
    ];
    for (const path of paths) {
      assertOciError(await v2.call('GET', path), 404, 'BLOB_UPLOAD_UNKNOWN');
      assertOciError(
        await v2.call('PATCH', path, { headers: { 'content-type': mt.octetStream }, body: randomBytes(10) }),
        404,
        'BLOB_UPLOAD_UNKNOWN',
      );
      assertOciError(await v2.call('PUT', `${path}?digest=${digestOf('x')}`, { body: 'x' }), 404, 'BLOB_UPLOAD_UNKNOWN');
      assertOciError(await v2.call('DELETE', path), 404, 'BLOB_UPLOAD_UNKNOWN');
    }
    assert.equal(await v2.uploadOffset(location), 1000, 'the real session is untouched');
  });
});

describe('manifests', () => {
  const repo = 'library/bad-manifests';
  const td = new TestData('bad-manifests');
  let good: {
    digest: string;
    config: { mediaType: string; digest: string; size: number };
    layer: { mediaType: string; digest: string; size: number };
  };
  let tagsBefore: string;

  before(async () => {
    const d = td.image({ tag: 'good', layers: 1 });
    await pushDataSet(v2, repo, td);
    const doc = JSON.parse(td.manifests.get(d.digest)!.bytes.toString());
    good = { digest: d.digest, config: doc.config, layer: doc.layers[0] };
    tagsBefore = (await v2.tags(repo)).text;
  });

  const image = (extra: Record<string, unknown> = {}) => ({
    schemaVersion: 2,
    mediaType: mt.manifest,
    config: good.config,
    layers: [good.layer],
    ...extra,
  });

  /** Nothing changed: the tag tried is absent, the tag list is as it was, the good image still pulls. */
  async function unchanged(tag = 'bad') {
    if (tag) assert.equal((await v2.call('GET', `/v2/${repo}/manifests/${tag}`)).status, 404, `tag ${tag} must not exist`);
    assert.equal((await v2.tags(repo)).text, tagsBefore);
    const pulled = await v2.call('GET', `/v2/${repo}/manifests/good`);
    assert.equal(pulled.headers.get('docker-content-digest'), good.digest);
  }

  async function put(body: string | Buffer | object, contentType: string = mt.manifest, reference = 'bad') {
    const bytes = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
    return v2.putManifest(repo, reference, bytes, contentType);
  }

  test('invalid JSON: 400 MANIFEST_INVALID', async () => {
    assertOciError(await put('{"schemaVersion": 2, "mediaType":'), 400, 'MANIFEST_INVALID', /JSON/);
    await unchanged();
  });

  test('an empty body, or JSON that is not an object: 400 MANIFEST_INVALID', async () => {
    for (const body of ['', '[]', '"manifest"', 'null']) {
      assertOciError(await put(body), 400, 'MANIFEST_INVALID');
    }
    await unchanged();
  });

  test('an unsupported mediaType: 400 MANIFEST_INVALID naming it', async () => {
    const type = 'application/vnd.example.unknown.manifest+json';
    assertOciError(await put(image({ mediaType: type }), type), 400, 'MANIFEST_INVALID', /unsupported manifest media type/);
    assertOciError(await put(image({ mediaType: undefined }), 'text/plain'), 400, 'MANIFEST_INVALID', /text\/plain/);
    await unchanged();
  });

  test('a Content-Type that contradicts the mediaType: 400 MANIFEST_INVALID', async () => {
    assertOciError(await put(image(), 'application/vnd.docker.distribution.manifest.v2+json'), 400, 'MANIFEST_INVALID', /Content-Type/);
    assertOciError(await put(image(), mt.index), 400, 'MANIFEST_INVALID', /Content-Type/);
    await unchanged();
  });

  test('schema 1: 400 MANIFEST_INVALID saying schema 1 is not supported', async () => {
    const schema1 = {
      schemaVersion: 1,
      name: repo,
      tag: 'bad',
      architecture: 'amd64',
      fsLayers: [{ blobSum: good.layer.digest }],
      history: [{ v1Compatibility: '{}' }],
      signatures: [],
    };
    for (const type of [
      'application/vnd.docker.distribution.manifest.v1+prettyjws',
      'application/vnd.docker.distribution.manifest.v1+json',
      'application/json',
    ]) {
      assertOciError(await put(schema1, type), 400, 'MANIFEST_INVALID', /schema 1.*not supported/i);
    }
    await unchanged();
  });

  test('a schemaVersion other than 2: 400 MANIFEST_INVALID', async () => {
    assertOciError(await put(image({ schemaVersion: 3 })), 400, 'MANIFEST_INVALID', /schemaVersion/);
    await unchanged();
  });

  test('a malformed descriptor: 400 MANIFEST_INVALID', async () => {
    for (const layer of [
      { ...good.layer, digest: 'sha256:nothex' },
      { ...good.layer, size: -1 },
      { ...good.layer, mediaType: '' },
      'layer',
    ]) {
      assertOciError(await put(image({ layers: [layer] })), 400, 'MANIFEST_INVALID');
    }
    await unchanged();
  });

  test('a layer or config the repository does not hold: 404 MANIFEST_BLOB_UNKNOWN naming it', async () => {
    const missing = { mediaType: mt.layerGzip, digest: digestOf(randomBytes(64)), size: 64 };
    const res = await put(image({ layers: [good.layer, missing] }));
    assertOciError(res, 404, 'MANIFEST_BLOB_UNKNOWN', new RegExp(missing.digest));
    assertOciError(
      await put(image({ config: { ...missing, mediaType: mt.config } })),
      404,
      'MANIFEST_BLOB_UNKNOWN',
      new RegExp(missing.digest),
    );
    // Held by another repository is not enough.
    const elsewhere = randomBytes(64);
    const digest = await v2.pushBlob('library/bad-manifests-elsewhere', elsewhere);
    const foreign = { mediaType: mt.layerGzip, digest, size: elsewhere.length };
    assertOciError(await put(image({ layers: [foreign] })), 404, 'MANIFEST_BLOB_UNKNOWN');
    await unchanged();
  });

  test('a layer whose size is not the blob size: 400 MANIFEST_INVALID', async () => {
    assertOciError(await put(image({ layers: [{ ...good.layer, size: good.layer.size + 1 }] })), 400, 'MANIFEST_INVALID', /size/);
    await unchanged();
  });

  test('an index naming a manifest the repository does not hold: 404 MANIFEST_BLOB_UNKNOWN', async () => {
    const missing = digestOf(randomBytes(32));
    const index = {
      schemaVersion: 2,
      mediaType: mt.index,
      manifests: [
        { mediaType: mt.manifest, digest: good.digest, size: td.manifests.get(good.digest)!.bytes.length },
        { mediaType: mt.manifest, digest: missing, size: 500 },
      ],
    };
    assertOciError(await put(index, mt.index), 404, 'MANIFEST_BLOB_UNKNOWN', new RegExp(missing));
    await unchanged();
  });

  test('a manifest over 4 MiB: 413, whether Content-Length says so or not', async () => {
    const huge = Buffer.from(JSON.stringify(image({ annotations: { big: 'x'.repeat(4 * 1024 * 1024) } })));
    assertOciError(await put(huge), 413, 'SIZE_INVALID', /limit/);
    const chunks: Buffer[] = [];
    for (let i = 0; i < huge.length; i += 256 * 1024) chunks.push(huge.subarray(i, i + 256 * 1024));
    const streamed = await fetch(`${server.url}/v2/${repo}/manifests/bad`, {
      method: 'PUT',
      headers: { ...server.admin, 'content-type': mt.manifest },
      ...streamBody(chunks),
    });
    assertOciError(await readReply(streamed), 413, 'SIZE_INVALID');
    await unchanged();
  });

  test('PUT by digest with a body of another digest: 400 DIGEST_INVALID, stored under neither', async () => {
    const bytes = Buffer.from(JSON.stringify(image({ annotations: { n: '1' } })));
    const claimed = digestOf(Buffer.from(JSON.stringify(image({ annotations: { n: '2' } }))));
    assertOciError(await put(bytes, mt.manifest, claimed), 400, 'DIGEST_INVALID', new RegExp(digestOf(bytes)));
    assert.equal((await v2.call('GET', `/v2/${repo}/manifests/${claimed}`)).status, 404);
    assert.equal((await v2.call('GET', `/v2/${repo}/manifests/${digestOf(bytes)}`)).status, 404);
    await unchanged('');
  });

  test('a tag that fails [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}: 400 MANIFEST_INVALID; 128 characters is fine', async () => {
    const bytes = Buffer.from(JSON.stringify(image({ annotations: { n: 'tags' } })));
    for (const tag of ['-bad', '.bad', 'a'.repeat(129), 'bad%2Btag', 'b%C3%A4d']) {
      assertOciError(await put(bytes, mt.manifest, tag), 400, 'MANIFEST_INVALID', /tag/);
    }
    assertOciError(await put(bytes, mt.manifest, `${digestOf(bytes)}?tag=ok&tag=-bad`), 400, 'MANIFEST_INVALID', /-bad/);
    assert.equal(
      (await v2.call('GET', `/v2/${repo}/manifests/${digestOf(bytes)}`)).status,
      404,
      'all or nothing: the manifest is not stored',
    );
    await unchanged('ok');
    const longest = 'a'.repeat(128);
    assert.equal((await put(bytes, mt.manifest, longest)).status, 201);
    assert.equal((await v2.call('DELETE', `/v2/${repo}/manifests/${longest}`)).status, 202);
  });

  test('GET and HEAD of a reference that is neither a tag nor a digest: 404 MANIFEST_UNKNOWN (the spec gives them no other failure); PUT and DELETE: 400', async () => {
    for (const ref of ['-bad', '.INVALID_MANIFEST_NAME', 'a'.repeat(129)]) {
      assertOciError(await v2.call('GET', `/v2/${repo}/manifests/${ref}`), 404, 'MANIFEST_UNKNOWN', /neither a valid tag nor a digest/);
      const head = await v2.call('HEAD', `/v2/${repo}/manifests/${ref}`);
      assert.equal(head.status, 404);
      assert.equal(head.bytes.length, 0, 'a HEAD answer has no body');
      assertOciError(await put(image(), mt.manifest, ref), 400, 'MANIFEST_INVALID', /tag/);
      assertOciError(await v2.call('DELETE', `/v2/${repo}/manifests/${ref}`), 400, 'MANIFEST_INVALID');
    }
    await unchanged('');
  });

  test('an index that a manifest is part of protects it: DELETE is 403 DENIED naming the index, and both still pull', async () => {
    const child = td.manifests.get(good.digest)!;
    const indexBytes = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: mt.index,
        manifests: [
          { mediaType: mt.manifest, digest: good.digest, size: child.bytes.length, platform: { os: 'linux', architecture: 'amd64' } },
        ],
      }),
    );
    const indexDigest = digestOf(indexBytes);
    assert.equal((await put(indexBytes, mt.index, 'multi')).status, 201);
    const tags = (await v2.tags(repo)).text;
    assertOciError(await v2.call('DELETE', `/v2/${repo}/manifests/${good.digest}`), 403, 'DENIED', new RegExp(indexDigest));
    const pulled = await v2.call('GET', `/v2/${repo}/manifests/${good.digest}`);
    assert.equal(pulled.status, 200);
    assert.ok(pulled.bytes.equals(child.bytes));
    assert.equal((await v2.call('GET', `/v2/${repo}/manifests/good`)).status, 200);
    assert.equal((await v2.call('GET', `/v2/${repo}/manifests/multi`)).status, 200);
    assert.equal((await v2.tags(repo)).text, tags);
    // Once the index is gone (its tag with it), the manifest may go.
    assert.equal((await v2.call('DELETE', `/v2/${repo}/manifests/${indexDigest}`)).status, 202);
    assertOciError(await v2.call('DELETE', `/v2/${repo}/manifests/multi`), 404, 'MANIFEST_UNKNOWN');
    assert.equal((await v2.call('DELETE', `/v2/${repo}/manifests/${good.digest}`)).status, 202);
  });
});

describe('repository names', () => {
  const validImage = async (name: string) => {
    const td = new TestData(name);
    td.image({ tag: 'v1', layers: 1 });
    await pushDataSet(v2, name, td);
  };

  const invalid: Array<[string, string]> = [
    ['a .. component', 'library/../etc'],
    ['a . component', 'library/./app'],
    ['upper case', 'library/MyApp'],
    ['an empty component (//)', 'library//app'],
    ['a trailing separator', 'library/app-'],
    ['a single component (no project)', 'app'],
    ['more than 255 characters', `library/${'a'.repeat(248)}`],
  ];
  for (const [what, name] of invalid) {
    test(`a name with ${what} is 400 NAME_INVALID on every endpoint and creates nothing`, async () => {
      const before = await catalog();
      const calls: Array<[string, string, Record<string, string>, Buffer | undefined]> = [
        ['GET', `/v2/${name}/manifests/v1`, {}, undefined],
        ['HEAD', `/v2/${name}/manifests/v1`, {}, undefined],
        ['PUT', `/v2/${name}/manifests/v1`, { 'content-type': mt.manifest }, Buffer.from('{}')],
        ['GET', `/v2/${name}/blobs/${digestOf('x')}`, {}, undefined],
        ['POST', `/v2/${name}/blobs/uploads/`, {}, undefined],
        ['POST', `/v2/${name}/blobs/uploads/?digest=${digestOf('x')}`, { 'content-type': mt.octetStream }, Buffer.from('x')],
        ['GET', `/v2/${name}/tags/list`, {}, undefined],
        ['GET', `/v2/${name}/referrers/${digestOf('x')}`, {}, undefined],
      ];
      for (const [method, path, headers, body] of calls) {
        // node:http sends the path as written: fetch would resolve '..' and '.' first.
        const res = asReply(await rawRequest(server, method, path, { headers, body }));
        if (method === 'HEAD') assert.equal(res.status, 400, `${method} ${path}`);
        else assertOciError(res, 400, 'NAME_INVALID');
      }
      assert.deepEqual(await catalog(), before);
    });
  }

  test('a name of exactly 255 characters is accepted', async () => {
    const name = `library/${'a'.repeat(247)}`;
    assert.equal(name.length, 255);
    await validImage(name);
  });

  test('a project that does not exist: pushes are 404 NAME_UNKNOWN naming the project, pulls 404, and nothing is created', async () => {
    const before = await catalog();
    const name = 'nosuchproject/app';
    const data = Buffer.from('content');
    assertOciError(await v2.call('POST', `/v2/${name}/blobs/uploads/`), 404, 'NAME_UNKNOWN', /nosuchproject/);
    assertOciError(
      await v2.call('POST', `/v2/${name}/blobs/uploads/?digest=${digestOf(data)}`, {
        headers: { 'content-type': mt.octetStream },
        body: data,
      }),
      404,
      'NAME_UNKNOWN',
      /nosuchproject/,
    );
    const source = await v2.pushBlob('library/bad-names-source', data);
    assertOciError(await v2.call('POST', `/v2/${name}/blobs/uploads/?mount=${source}&from=library/bad-names-source`), 404, 'NAME_UNKNOWN');
    assertOciError(
      await v2.putManifest(
        name,
        'v1',
        '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}',
        mt.manifest,
      ),
      404,
      'NAME_UNKNOWN',
    );
    assertOciError(await v2.call('GET', `/v2/${name}/manifests/v1`), 404, 'NAME_UNKNOWN');
    assertOciError(await v2.tags(name), 404, 'NAME_UNKNOWN');
    assert.equal((await v2.call('GET', `/v2/${name}/blobs/${source}`)).status, 404);
    assert.deepEqual(await catalog(), before);
  });
});

describe('digests in URLs', () => {
  const repo = 'library/bad-digests';
  let blob: string;
  before(async () => {
    blob = await v2.pushBlob(repo, randomBytes(100));
  });

  const bad = [
    'sha256:abc',
    `sha256:${'A'.repeat(64)}`,
    `sha256:${'g'.repeat(64)}`,
    `md5:${'a'.repeat(32)}`,
    `sha512:${'a'.repeat(64)}`,
    'not-a-digest',
  ];

  for (const digest of bad) {
    test(`blob ${digest}: 400 DIGEST_INVALID for GET, HEAD and DELETE`, async () => {
      assertOciError(await v2.call('GET', `/v2/${repo}/blobs/${digest}`), 400, 'DIGEST_INVALID');
      assert.equal((await v2.call('HEAD', `/v2/${repo}/blobs/${digest}`)).status, 400);
      assertOciError(await v2.call('DELETE', `/v2/${repo}/blobs/${digest}`), 400, 'DIGEST_INVALID');
      assert.equal((await v2.call('HEAD', `/v2/${repo}/blobs/${blob}`)).status, 200);
    });
  }

  test('a manifest reference shaped like a digest but not one: 404 MANIFEST_UNKNOWN for GET and HEAD, 400 DIGEST_INVALID for PUT and DELETE', async () => {
    for (const digest of bad.filter((d) => d.includes(':'))) {
      assertOciError(await v2.call('GET', `/v2/${repo}/manifests/${digest}`), 404, 'MANIFEST_UNKNOWN');
      assert.equal((await v2.call('HEAD', `/v2/${repo}/manifests/${digest}`)).status, 404);
      assertOciError(await v2.putManifest(repo, digest, '{}', mt.manifest), 400, 'DIGEST_INVALID');
      assertOciError(await v2.call('DELETE', `/v2/${repo}/manifests/${digest}`), 400, 'DIGEST_INVALID');
    }
  });

  test('POST ?digest= with a bad digest: 400 DIGEST_INVALID and nothing published', async () => {
    const data = randomBytes(50);
    for (const digest of bad) {
      const res = await v2.call('POST', `/v2/${repo}/blobs/uploads/?digest=${digest}`, {
        headers: { 'content-type': mt.octetStream },
        body: data,
      });
      assertOciError(res, 400, 'DIGEST_INVALID');
    }
    await blobAbsent(repo, digestOf(data));
  });

  test('a mount of a bad digest: 400 DIGEST_INVALID', async () => {
    assertOciError(
      await v2.call('POST', `/v2/library/bad-digests-target/blobs/uploads/?mount=sha256:abc&from=${repo}`),
      400,
      'DIGEST_INVALID',
    );
  });

  test('referrers of a bad digest: 400', async () => {
    for (const digest of bad) {
      assertOciError(await v2.call('GET', `/v2/${repo}/referrers/${digest}`), 400, 'DIGEST_INVALID');
    }
  });
});

describe('other requests', () => {
  test('a method an endpoint does not have: 405 UNSUPPORTED with Allow', async () => {
    const res = await v2.call('POST', '/v2/library/bad-methods/manifests/v1');
    assertOciError(res, 405, 'UNSUPPORTED');
    assert.equal(res.headers.get('allow'), 'GET, HEAD, PUT, DELETE');
  });

  test('a tag list n that is not a number: 400', async () => {
    const td = new TestData('n');
    td.image({ tag: 'v1', layers: 1 });
    await pushDataSet(v2, 'library/bad-n', td);
    for (const n of ['abc', '-1', '1.5']) {
      const res = await v2.call('GET', `/v2/library/bad-n/tags/list?n=${n}`);
      assert.equal(res.status, 400, `n=${n}`);
      assert.ok(res.json().errors[0].message.includes(n));
    }
  });
});
