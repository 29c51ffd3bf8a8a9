/**
 * Fuzzing of src/oci/: digests, repository names and tags, media types, and the manifest and
 * index parser. Every input either parses or is refused with the module's own error
 * (MANIFEST_INVALID), the same way every time, in bounded time.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { digestOf, isDigest, looksLikeDigest, parseDigest } from '../../src/oci/digest.js';
import { parseManifest } from '../../src/oci/manifest.js';
import { bareMediaType, manifestKinds, mediaTypes } from '../../src/oci/mediatypes.js';
import { isTag, projectOf, repositoryNameProblem } from '../../src/oci/names.js';
import { anyJson, appError, bounded, hostileString, params, prototypeKeys, returnsOrRefuses } from './fuzz.js';

const hex = (n: number) => fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: n, maxLength: n });
const validDigest = fc.oneof(
  hex(64).map((h) => `sha256:${h}`),
  hex(128).map((h) => `sha512:${h}`),
);
const lower = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789'), minLength: 1, maxLength: 12 });
const component = fc
  .tuple(lower, fc.array(fc.tuple(fc.constantFrom('.', '_', '__', '-', '--'), lower), { maxLength: 3 }))
  .map(([head, rest]) => head + rest.map(([sep, part]) => sep + part).join(''));
const validName = fc
  .array(component, { minLength: 2, maxLength: 5 })
  .map((parts) => parts.join('/'))
  .filter((n) => n.length <= 255);
const validTag = fc
  .tuple(fc.constantFrom(...'abcXYZ019_'), fc.string({ unit: fc.constantFrom(...'abcXYZ019_.-'), maxLength: 127 }))
  .map(([first, rest]) => first + rest);

test('digests: parse never throws, is deterministic, and round-trips the digests Berth writes', () => {
  fc.assert(
    fc.property(fc.oneof(hostileString('sha256512:abcdefABCDEF0123456789+._-='), validDigest), (value) => {
      const parsed = bounded('parseDigest', () => parseDigest(value));
      assert.deepEqual(parseDigest(value), parsed);
      bounded('looksLikeDigest', () => looksLikeDigest(value));
      if (parsed) {
        assert.equal(`${parsed.algorithm}:${parsed.hex}`, value);
        assert.ok(looksLikeDigest(value));
      }
    }),
    params(1000),
  );
  fc.assert(
    fc.property(validDigest, fc.uint8Array({ maxLength: 64 }), (digest, data) => {
      assert.deepEqual(parseDigest(digest), { algorithm: digest.slice(0, 6), hex: digest.slice(7) });
      const own = digestOf(data, digest.startsWith('sha512') ? 'sha512' : 'sha256');
      assert.ok(isDigest(own));
    }),
    params(300),
  );
});

test('repository names and tags: checks never throw, accept the grammar, answer in bounded time', () => {
  fc.assert(
    fc.property(fc.oneof(hostileString('abz09._-/A '), validName, validTag), (value) => {
      const problem = bounded('repositoryNameProblem', () => repositoryNameProblem(value));
      assert.ok(problem === null || typeof problem === 'string');
      assert.equal(repositoryNameProblem(value), problem);
      if (problem === null) assert.equal(projectOf(value), value.split('/')[0]);
      bounded('isTag', () => isTag(value));
    }),
    params(1000),
  );
  fc.assert(
    fc.property(validName, validTag, (name, tag) => {
      assert.equal(repositoryNameProblem(name), null, name);
      assert.ok(isTag(tag), tag);
    }),
    params(300),
  );
  // The component grammar's separators, long: no backtracking blow-up.
  for (const piece of ['a-', 'a_', 'a.', 'a__', 'a--_', '0-']) {
    bounded('repositoryNameProblem', () => repositoryNameProblem(`p/${piece.repeat(60)}!`));
    bounded('isTag', () => isTag(`${piece.repeat(2000)}!`));
  }
});

test('media types: only the four manifest types have a kind; bareMediaType never throws', () => {
  fc.assert(
    fc.property(hostileString(), (value) => {
      const bare = bounded('bareMediaType', () => bareMediaType(value));
      assert.equal(bare, bare.trim().toLowerCase());
      const kind = manifestKinds[value];
      assert.ok(kind === undefined || kind === 'image' || kind === 'index');
    }),
    params(500),
  );
  for (const key of prototypeKeys) assert.equal(manifestKinds[key], undefined, key);
});

const descriptor = fc.record(
  {
    mediaType: fc.oneof(
      fc.constantFrom('application/vnd.oci.image.layer.v1.tar+gzip', mediaTypes.ociConfig),
      fc.string({ minLength: 1, maxLength: 40 }),
    ),
    digest: validDigest,
    size: fc.nat(),
    artifactType: fc.string({ maxLength: 20 }),
    urls: fc.array(fc.webUrl(), { maxLength: 2 }),
    annotations: fc.dictionary(fc.string({ maxLength: 10 }), fc.string({ maxLength: 10 }), { maxKeys: 3 }),
    platform: fc.record({ architecture: fc.constantFrom('amd64', 'arm64'), os: fc.constantFrom('linux', 'windows') }),
  },
  { requiredKeys: ['mediaType', 'digest', 'size'] },
);
const validImage = fc.record(
  {
    schemaVersion: fc.constant(2),
    mediaType: fc.constantFrom(mediaTypes.ociManifest, mediaTypes.dockerManifest),
    config: descriptor,
    layers: fc.array(descriptor, { maxLength: 4 }),
    subject: descriptor,
    annotations: fc.dictionary(fc.string({ maxLength: 10 }), fc.string({ maxLength: 10 }), { maxKeys: 3 }),
    artifactType: fc.string({ maxLength: 20 }),
  },
  { requiredKeys: ['schemaVersion', 'mediaType', 'config', 'layers'] },
);
const validIndex = fc.record(
  {
    schemaVersion: fc.constant(2),
    mediaType: fc.constantFrom(mediaTypes.ociIndex, mediaTypes.dockerManifestList),
    manifests: fc.array(descriptor, { maxLength: 4 }),
    subject: descriptor,
    annotations: fc.dictionary(fc.string({ maxLength: 10 }), fc.string({ maxLength: 10 }), { maxKeys: 3 }),
  },
  { requiredKeys: ['schemaVersion', 'mediaType', 'manifests'] },
);

/** A manifest-shaped document with one field replaced by something else (a wrong type, a bad digest, an unknown media type). */
const brokenManifest = fc
  .tuple(
    fc.oneof(validImage, validIndex) as fc.Arbitrary<Record<string, unknown>>,
    fc.constantFrom(
      'schemaVersion',
      'mediaType',
      'config',
      'layers',
      'manifests',
      'subject',
      'annotations',
      'artifactType',
      'layers.0',
      'manifests.0',
      'config.digest',
      'config.size',
      'config.platform',
    ),
    fc.oneof(
      anyJson,
      hostileString(),
      fc.constantFrom(...prototypeKeys),
      validDigest.map((d) => d.toUpperCase()),
    ),
  )
  .map(([doc, path, value]) => {
    const copy = structuredClone(doc);
    const keys = path.split('.');
    let node: any = copy;
    for (const key of keys.slice(0, -1)) {
      if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
      node = node[key];
    }
    node[keys[keys.length - 1]] = value;
    return copy;
  });

const contentType = fc.oneof(
  fc.constantFrom(
    '',
    'application/json',
    mediaTypes.octetStream,
    mediaTypes.ociManifest,
    mediaTypes.ociIndex,
    mediaTypes.dockerManifest,
    mediaTypes.dockerManifestList,
    mediaTypes.dockerSchema1,
  ),
  fc.constantFrom(...prototypeKeys),
  fc.string({ maxLength: 40 }),
);

function parses(bytes: Uint8Array, type: string) {
  const outcome = returnsOrRefuses('parseManifest', () => parseManifest(bytes, type), appError('MANIFEST_INVALID'));
  if (outcome.ok) {
    assert.ok(outcome.value.kind === 'image' || outcome.value.kind === 'index', `kind ${String(outcome.value.kind)}`);
    assert.ok(Object.hasOwn(manifestKinds, outcome.value.mediaType));
  }
  return outcome;
}

test('manifests: any bytes parse or are refused with MANIFEST_INVALID, deterministically', () => {
  const bytes = fc.oneof(
    fc.uint8Array({ maxLength: 300 }),
    hostileString('{}[]":,0129.eE-+ \\nulltruefalse').map((s) => Buffer.from(s)),
    anyJson.map((v) => Buffer.from(JSON.stringify(v) ?? 'null')),
    brokenManifest.map((m) => Buffer.from(JSON.stringify(m))),
  );
  fc.assert(
    fc.property(bytes, contentType, (data, type) => {
      const first = parses(data, type);
      const second = parses(data, type);
      assert.deepEqual(second, first);
    }),
    params(2000),
  );
});

test('manifests: valid images and indexes parse back to their own fields', () => {
  fc.assert(
    fc.property(fc.oneof(validImage, validIndex) as fc.Arbitrary<Record<string, any>>, fc.boolean(), (generated, typed) => {
      const doc = JSON.parse(JSON.stringify(generated));
      const parsed = parseManifest(Buffer.from(JSON.stringify(doc)), typed ? doc.mediaType : '');
      assert.equal(parsed.mediaType, doc.mediaType);
      assert.equal(parsed.kind, manifestKinds[doc.mediaType]);
      assert.deepEqual(parsed.subject, doc.subject ?? null);
      assert.deepEqual(parsed.annotations, doc.annotations ?? null);
      if (parsed.kind === 'image') {
        assert.deepEqual(parsed.config, doc.config);
        assert.deepEqual(parsed.layers, doc.layers);
      } else {
        assert.deepEqual(parsed.manifests, doc.manifests);
      }
    }),
    params(500),
  );
});

test('manifests: deep nesting and huge arrays are answered, not a crash', () => {
  const depth = 100_000;
  const deep = Buffer.from(
    `{"schemaVersion":2,"mediaType":"${mediaTypes.ociIndex}","manifests":[],"x":${'['.repeat(depth)}${']'.repeat(depth)}}`,
  );
  bounded('parseManifest', () => assert.equal(parseManifest(deep, '').kind, 'index'));
  const deepManifests = Buffer.from(`{"schemaVersion":2,"manifests":${'['.repeat(depth)}${']'.repeat(depth)}}`);
  returnsOrRefuses('parseManifest', () => parseManifest(deepManifests, ''), appError('MANIFEST_INVALID'));
  const huge = Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: Array.from({ length: 200_000 }, () => 1) }));
  returnsOrRefuses('parseManifest', () => parseManifest(huge, ''), appError('MANIFEST_INVALID'));
});

test('regression: a mediaType that names a member of Object.prototype is not a manifest kind', () => {
  // "constructor" used to find Object's constructor in the kinds table: the manifest was
  // accepted as an index with a function for its kind.
  for (const mediaType of prototypeKeys) {
    const doc = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType, manifests: [] }));
    assert.throws(() => parseManifest(doc, 'application/json'), appError('MANIFEST_INVALID'), mediaType);
    assert.throws(
      () => parseManifest(Buffer.from('{"schemaVersion":2,"manifests":[]}'), mediaType),
      appError('MANIFEST_INVALID'),
      mediaType,
    );
  }
});
