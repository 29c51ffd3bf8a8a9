/**
 * Fuzzing of /v2 against a running Berth: generated manifests and indexes PUT to
 * /v2/<repo>/manifests/<ref>, generated names and references in /v2 URLs, generated Range
 * headers on blob GET and Content-Range on upload PATCH. The answer is never a 5xx; every
 * refusal is OCI's {"errors":[{code,message}]}; a refused push changes nothing.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { pushImage, types } from '../helpers/oci.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { rawRequest, V2, type RawReply } from '../helpers/v2.js';
import { anyJson, hostileString, params, prototypeKeys } from './fuzz.js';

let server: TestServer;
let v2: V2;
let image: Awaited<ReturnType<typeof pushImage>>;
before(async () => {
  server = await startServer();
  v2 = new V2(server);
  image = await pushImage(server.url, 'library/base', 'v1', { headers: server.admin, layer: 'the layer of the fuzz base image' });
});
after(async () => {
  await server.stop();
});

/** Asserts an answer is not a 5xx and, when refused, is OCI's error body. */
function assertOciAnswer(res: RawReply, what: string, method = 'GET') {
  const text = res.bytes.toString('utf8');
  assert.ok(res.status < 500, `${what}: ${res.status} ${text.slice(0, 300)}`);
  if (res.status >= 400 && method !== 'HEAD') {
    let doc: any;
    assert.doesNotThrow(() => (doc = JSON.parse(text)), `${what}: the error is JSON: ${text.slice(0, 300)}`);
    assert.ok(Array.isArray(doc.errors) && doc.errors.length > 0, `${what}: an OCI errors list: ${text.slice(0, 300)}`);
    for (const e of doc.errors) {
      assert.equal(typeof e.code, 'string', `${what}: ${text.slice(0, 300)}`);
      assert.match(e.code, /^[A-Z_]+$/, `${what}: ${text.slice(0, 300)}`);
      assert.equal(typeof e.message, 'string', `${what}: ${text.slice(0, 300)}`);
    }
  }
}

/** Percent-encodes what an HTTP request line cannot carry, keeping "/" and "%" as given (so bad escapes reach the server). */
function pathText(s: string): string {
  return Array.from(s)
    .map((c) => (/^[A-Za-z0-9\-._~!$&'()*+,;=:@/%]$/.test(c) ? c : encodeURIComponent(c).replace(/%25/g, '%')))
    .join('')
    .replace(/[^\x21-\x7e]/g, (c) => encodeURIComponent(c));
}

/** A header value as a client can send it: no control characters, no surrounding spaces. */
function headerText(s: string): string {
  return s.replace(/[^\t\x20-\x7e]/g, '').trim();
}

/**
 * What clients see of the registry: the catalog, every artifact and its tags. (A refused push
 * may leave an empty repository row behind, as a blob upload does; no list shows one.)
 */
async function state(): Promise<string> {
  const catalog = await rawRequest(server, 'GET', '/v2/_catalog?n=1000');
  assert.equal(catalog.status, 200);
  const rows = await server.berth.database.db
    .selectFrom('repositories')
    .innerJoin('artifacts', 'artifacts.repository_id', 'repositories.id')
    .leftJoin('tags', 'tags.artifact_id', 'artifacts.id')
    .select(['repositories.name as repo', 'artifacts.digest as digest', 'tags.name as tag'])
    .execute();
  const lines = rows.map((r) => `${r.repo} ${r.digest} ${r.tag}`).sort();
  return [catalog.bytes.toString(), ...lines].join('\n');
}

const hex64 = fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 64, maxLength: 64 });

const descriptor = () =>
  fc.oneof(
    fc.constant({ mediaType: types.config, digest: image.config.digest, size: image.config.size }),
    fc.constant({ mediaType: types.layer, digest: image.layer.digest, size: image.layer.size }),
    fc.constant({ mediaType: types.manifest, digest: image.digest, size: image.bytes.length }),
    fc.record(
      {
        mediaType: fc.oneof(fc.constantFrom(types.layer, types.config, types.manifest, ...prototypeKeys), fc.string({ maxLength: 30 })),
        digest: fc.oneof(
          hex64.map((h) => `sha256:${h}`),
          hostileString('sha256:abcdef0123', 80),
        ),
        size: fc.oneof(fc.nat(), fc.integer(), fc.double()),
      },
      { requiredKeys: [] },
    ),
    anyJson,
  );

/** Manifests and indexes: mostly well-formed around Berth's real blobs, with wrong types, bad digests, unknown media types, deep nesting, huge arrays. */
const manifestArb = () =>
  fc.oneof(
    {
      weight: 4,
      arbitrary: fc
        .record(
          {
            schemaVersion: fc.oneof(fc.constant(2), anyJson),
            mediaType: fc.oneof(
              fc.constantFrom(
                types.manifest,
                types.index,
                types.dockerManifest,
                types.dockerList,
                'application/vnd.docker.distribution.manifest.v1+json',
                ...prototypeKeys,
              ),
              fc.string({ maxLength: 30 }),
            ),
            config: descriptor(),
            layers: fc.oneof(fc.array(descriptor(), { maxLength: 3 }), anyJson),
            manifests: fc.oneof(fc.array(descriptor(), { maxLength: 3 }), anyJson),
            subject: descriptor(),
            annotations: fc.oneof(fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 3 }), anyJson),
            artifactType: fc.oneof(fc.string({ maxLength: 30 }), anyJson),
          },
          { requiredKeys: ['schemaVersion'] },
        )
        .map((m) => JSON.stringify(m)),
    },
    { weight: 1, arbitrary: anyJson.map((v) => JSON.stringify(v) ?? 'null') },
    { weight: 1, arbitrary: hostileString('{}[]":,0129 nultrefas', 3000) },
    {
      weight: 1,
      arbitrary: fc
        .integer({ min: 10, max: 50_000 })
        .map((n) => `{"schemaVersion":2,"mediaType":"${types.index}","manifests":[],"x":${'['.repeat(n)}${']'.repeat(n)}}`),
    },
    {
      weight: 1,
      arbitrary: fc.integer({ min: 1, max: 3000 }).map((n) =>
        JSON.stringify({
          schemaVersion: 2,
          mediaType: types.manifest,
          config: { mediaType: types.config, digest: image.config.digest, size: image.config.size },
          layers: Array.from({ length: n }, () => ({ mediaType: types.layer, digest: image.layer.digest, size: image.layer.size })),
        }),
      ),
    },
  );

const tag = fc.oneof(fc.stringMatching(/^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,20}$/), fc.constant('v1'));
const reference = fc.oneof(
  { weight: 4, arbitrary: tag },
  { weight: 1, arbitrary: hex64.map((h) => `sha256:${h}`) },
  { weight: 2, arbitrary: hostileString('azAZ09._-:/%', 300) },
  { weight: 1, arbitrary: fc.constantFrom(...prototypeKeys, 'sha256:', 'sha512:abc', 'a'.repeat(129), '%ff', '%', '..', '.') },
);
const contentType = fc.oneof(
  fc.constantFrom(
    '',
    types.manifest,
    types.index,
    types.dockerManifest,
    types.dockerList,
    'application/json',
    'application/vnd.docker.distribution.manifest.v1+prettyjws',
    ...prototypeKeys,
  ),
  fc.string({ maxLength: 30 }).filter((s) => /^[\x20-\x7e]*$/.test(s)),
);
const repo = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('library/fuzz', 'library/base', 'library/a/b/c') },
  { weight: 1, arbitrary: hostileString('azAZ09._-/%', 300).map((s) => `library/${s}`) },
  { weight: 1, arbitrary: hostileString('azAZ09._-/%', 300) },
);

test('manifest PUT: any document, reference and Content-Type is stored or refused with OCI errors, and a refusal changes nothing', async () => {
  await fc.assert(
    fc.asyncProperty(repo, reference, manifestArb(), contentType, async (name, ref, body, type) => {
      const before = await state();
      const path = `/v2/${pathText(name)}/manifests/${pathText(ref)}`;
      const res = await rawRequest(server, 'PUT', path, { headers: type === '' ? {} : { 'content-type': type }, body });
      assertOciAnswer(res, `PUT ${path.slice(0, 200)} (${type}) ${body.slice(0, 200)}`, 'PUT');
      if (res.status >= 400)
        assert.equal(await state(), before, `a refused PUT ${path} changed the registry: ${res.bytes.toString().slice(0, 200)}`);
    }),
    params(100),
  );
});

test('names and references in /v2 URLs: never a 5xx, always OCI errors, nothing changed', async () => {
  const route = fc.constantFrom('manifests', 'blobs', 'tags', 'referrers', 'blobs/uploads', 'x');
  const method = fc.constantFrom('GET', 'HEAD', 'DELETE', 'POST', 'PATCH', 'PUT');
  const query = fc.oneof(
    fc.constant(''),
    fc
      .tuple(fc.constantFrom('n', 'last', 'artifactType', 'digest', 'mount', 'from'), hostileString('0129-+azAZ:/%&=', 200))
      .map(([k, v]) => `?${k}=${pathText(v)}`),
  );
  await fc.assert(
    fc.asyncProperty(repo, route, reference, method, query, async (name, r, ref, m, q) => {
      // The base image stays: it is what the other properties read.
      if (m === 'DELETE' && name === 'library/base') return;
      const before = await state();
      const path = r === 'tags' ? `/v2/${pathText(name)}/tags/list${q}` : `/v2/${pathText(name)}/${r}/${pathText(ref)}${q}`;
      const res = await rawRequest(server, m, path, { headers: { 'content-length': '0' } });
      assertOciAnswer(res, `${m} ${path.slice(0, 300)}`, m);
      if (res.status >= 400) assert.equal(await state(), before, `a refused ${m} ${path} changed the registry`);
    }),
    params(150),
  );
});

test('Range on blob GET: the bytes asked for, or 416 with OCI errors', async () => {
  const data = image.layer.data;
  const num = fc.oneof(
    fc.nat({ max: data.length + 5 }).map(String),
    fc.constantFrom('', '0', '00', '-1', '9'.repeat(30), '1e3', ' 1', '0x1'),
  );
  const range = fc.oneof(
    fc
      .tuple(
        fc.constantFrom('bytes=', 'bytes =', 'Bytes=', 'items=', ''),
        num,
        fc.constantFrom('-', '--', '', ','),
        num,
        fc.constantFrom('', ',0-1', ', 5-', '/10'),
      )
      .map((parts) => parts.join('')),
    hostileString('bytes=0129-, ', 2000).map(headerText),
  );
  await fc.assert(
    fc.asyncProperty(range, async (value) => {
      const res = await rawRequest(server, 'GET', `/v2/library/base/blobs/${image.layer.digest}`, { headers: { range: value } });
      assertOciAnswer(res, `Range: ${value.slice(0, 100)}`);
      assert.ok([200, 206, 416].includes(res.status), `Range: ${value.slice(0, 100)}: ${res.status}`);
      if (res.status === 200) assert.deepEqual(res.bytes, data);
      if (res.status === 206) {
        const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(String(res.headers['content-range']));
        assert.ok(m, `Content-Range ${res.headers['content-range']}`);
        assert.equal(Number(m[3]), data.length);
        assert.deepEqual(res.bytes, data.subarray(Number(m[1]), Number(m[2]) + 1));
      }
      if (res.status === 416) assert.equal(res.headers['content-range'], `bytes */${data.length}`);
    }),
    params(200),
  );
});

test('Content-Range on upload PATCH: accepted in order, or refused with OCI errors and the upload unchanged', async () => {
  const location = await v2.startUpload('library/fuzz-upload');
  const num = fc.oneof(fc.nat({ max: 20 }).map(String), fc.constantFrom('', '-1', '9'.repeat(30), '9007199254740993', '1e3'));
  const header = fc.oneof(
    fc
      .tuple(fc.constantFrom('', 'bytes ', 'bytes=', 'x '), num, fc.constantFrom('-', ''), num, fc.constantFrom('', '/*', '/3', '/x'))
      .map((parts) => parts.join('')),
    hostileString('bytes=0129-/* ', 2000).map(headerText),
  );
  await fc.assert(
    fc.asyncProperty(header, fc.uint8Array({ minLength: 1, maxLength: 8 }), async (value, chunk) => {
      const before = await v2.uploadOffset(location);
      const res = await rawRequest(server, 'PATCH', location, {
        headers: { 'content-range': value, 'content-type': 'application/octet-stream', 'content-length': String(chunk.length) },
        body: Buffer.from(chunk),
      });
      assertOciAnswer(res, `Content-Range: ${value.slice(0, 100)}`, 'PATCH');
      if (res.status >= 400)
        assert.equal(await v2.uploadOffset(location), before, `a refused PATCH (${value.slice(0, 100)}) moved the upload`);
    }),
    params(100),
  );
});

test('regression: a URL the router cannot read is refused with OCI errors', async () => {
  // Fastify answered a bad percent-escape with its own body ({"error","code":"FST_ERR_BAD_URL",…}).
  for (const path of ['/v2/library/base/manifests/%ff', '/v2/library/%/tags/list', `/v2/library/base/blobs/${'%'.repeat(3)}`]) {
    const res = await rawRequest(server, 'GET', path);
    assertOciAnswer(res, path);
    assert.equal(res.status, 400);
  }
});

test('token service and Authorization headers: any scope, service and credentials get a token or a 4xx, never a 5xx', async () => {
  const scope = fc.oneof(
    fc
      .tuple(
        fc.constantFrom('repository', 'registry', 'repository(plugin)', ...prototypeKeys),
        fc.oneof(fc.constantFrom('library/base', 'library/fuzz', 'catalog', ''), hostileString('azAZ09._-/:%', 200)),
        fc.constantFrom('pull', 'push', 'pull,push', '*', 'delete', '', ',,', ...prototypeKeys),
      )
      .map((parts) => parts.join(':')),
    hostileString('repository:library/base:pull,push ', 500),
  );
  const credentials = fc.oneof(
    fc.constant(undefined),
    fc.constant(server.admin.authorization),
    fc
      .tuple(fc.string({ maxLength: 40 }), fc.string({ maxLength: 40 }))
      .map(([u, p]) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`),
    hostileString('BasicBearer aZ09+/=.-_ ', 3000).map(headerText),
    hostileString('aZ09+/=.-_', 3000).map((s) => `Bearer ${headerText(s)}`),
  );
  await fc.assert(
    fc.asyncProperty(
      fc.array(scope, { maxLength: 3 }),
      fc.option(hostileString('azAZ09-.:', 60), { nil: undefined }),
      credentials,
      async (scopes, service, authorization) => {
        const query = new URLSearchParams();
        for (const s of scopes) query.append('scope', s);
        if (service !== undefined) query.set('service', service);
        const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
        const token = await rawRequest(server, 'GET', `/service/token?${query}`, { headers, anonymous: true });
        assert.ok(token.status < 500, `token ${query}: ${token.status} ${token.bytes.toString().slice(0, 200)}`);
        if (token.status >= 400) assert.ok(Array.isArray(token.json().errors), token.bytes.toString().slice(0, 200));
        const v2 = await rawRequest(server, 'GET', '/v2/library/base/tags/list', { headers, anonymous: true });
        assertOciAnswer(v2, `GET /v2/library/base/tags/list with ${authorization?.slice(0, 60)}`);
      },
    ),
    params(60),
  );
});
