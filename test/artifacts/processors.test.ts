import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { accessoryOf } from '../../src/artifacts/accessories.js';
import { chartFiles } from '../../src/artifacts/processors/chart-archive.js';
import { artifactTypeOf, processorFor } from '../../src/artifacts/processors/index.js';
import { parseManifest, type ParsedManifest } from '../../src/oci/manifest.js';
import { artifactTypes, chartFilesOf, tarGz } from '../helpers/artifacts.js';
import { sha256, types } from '../helpers/oci.js';

type Json = Record<string, unknown>;

/** A descriptor for made-up content. */
function desc(mediaType: string, content: string, extra: Json = {}): Json {
  return { mediaType, digest: sha256(content), size: Buffer.byteLength(content), ...extra };
}

/** Parses a manifest document from its real JSON bytes, as a push would. */
function parse(doc: Json, contentType?: string): ParsedManifest {
  return parseManifest(Buffer.from(JSON.stringify(doc)), contentType ?? (typeof doc.mediaType === 'string' ? doc.mediaType : ''));
}

function image(configType: string, layerTypes: string[], extra: Json = {}, mediaType: string = types.manifest): ParsedManifest {
  return parse({
    schemaVersion: 2,
    mediaType,
    config: desc(configType, `config ${configType}`),
    layers: layerTypes.map((t, i) => desc(t, `layer ${i} ${t}`)),
    ...extra,
  });
}

function index(children: Json[], extra: Json = {}, mediaType: string = types.index): ParsedManifest {
  return parse({ schemaVersion: 2, mediaType, manifests: children, ...extra });
}

/** The artifact type name Berth gives a manifest. */
function typeOf(m: ParsedManifest): string {
  return artifactTypeOf(m, processorFor(m));
}

const subject = desc(types.manifest, 'the subject');
const emptyConfig = { mediaType: artifactTypes.empty, digest: sha256('{}'), size: 2 };

function referrer(artifactType: string | undefined, layerType: string, extra: Json = {}): ParsedManifest {
  return parse({
    schemaVersion: 2,
    mediaType: types.manifest,
    ...(artifactType && { artifactType }),
    config: emptyConfig,
    layers: [desc(layerType, `layer ${layerType}`)],
    subject,
    ...extra,
  });
}

describe('processorFor / artifactTypeOf', () => {
  test('Docker schema 2 and OCI images are IMAGE', () => {
    assert.equal(typeOf(image(types.dockerConfig, [types.dockerLayer], {}, types.dockerManifest)), 'IMAGE');
    assert.equal(typeOf(image(types.config, [types.layer, types.layer])), 'IMAGE');
    // An OCI manifest without a mediaType field, pushed with the OCI Content-Type.
    const bare = parseManifest(
      Buffer.from(JSON.stringify({ schemaVersion: 2, config: desc(types.config, 'c'), layers: [desc(types.layer, 'l')] })),
      types.manifest,
    );
    assert.equal(typeOf(bare), 'IMAGE');
    assert.equal(processorFor(bare).icon, processorFor(image(types.config, [])).icon);
  });

  test('image indexes and Docker manifest lists are IMAGE', () => {
    const child = desc(types.manifest, 'child', { platform: { architecture: 'amd64', os: 'linux' } });
    assert.equal(typeOf(index([child])), 'IMAGE');
    assert.equal(
      typeOf(index([desc(types.dockerManifest, 'child', { platform: { architecture: 'arm64', os: 'linux' } })], {}, types.dockerList)),
      'IMAGE',
    );
    assert.equal(typeOf(index([])), 'IMAGE');
  });

  test('Helm charts are CHART', () => {
    assert.equal(typeOf(image(artifactTypes.helmConfig, [artifactTypes.helmChart])), 'CHART');
    // Older helm clients used application/tar+gzip for the chart layer; the config decides.
    assert.equal(typeOf(image(artifactTypes.helmConfig, ['application/tar+gzip'])), 'CHART');
  });

  test('a cnab-to-oci index is CNAB, and so is its bundle.json config manifest', () => {
    const children = [
      desc(types.manifest, 'config manifest', { annotations: { 'io.cnab.manifest.type': 'config' } }),
      desc(types.dockerManifest, 'invocation image', { annotations: { 'io.cnab.manifest.type': 'invocation' } }),
    ];
    const full = { 'io.cnab.runtime_version': 'v1.0.0', 'org.opencontainers.artifactType': artifactTypes.cnabManifest };
    assert.equal(typeOf(index(children, { annotations: full })), 'CNAB');
    assert.equal(typeOf(index(children, { annotations: { 'io.cnab.runtime_version': 'v1.0.0' } })), 'CNAB');
    assert.equal(typeOf(index(children, { annotations: { 'org.opencontainers.artifactType': artifactTypes.cnabManifest } })), 'CNAB');
    // cnab-to-oci's config manifest has no mediaType field and no layers.
    const configManifest = parseManifest(
      Buffer.from(JSON.stringify({ schemaVersion: 2, config: desc(artifactTypes.cnabConfig, '{"name":"b"}'), layers: [] })),
      types.manifest,
    );
    assert.equal(typeOf(configManifest), 'CNAB');
    // The same index without the CNAB annotations is an ordinary index.
    assert.equal(typeOf(index(children, { annotations: { 'org.opencontainers.image.title': 'x' } })), 'IMAGE');
  });

  test('WebAssembly modules are WASM', () => {
    assert.equal(typeOf(image(artifactTypes.wasmConfig, [artifactTypes.wasmLayer])), 'WASM');
    assert.equal(typeOf(image('application/vnd.wasm.config.v1+json', ['application/vnd.wasm.content.layer.v1+wasm'])), 'WASM');
    // An image config whose every layer is WASM (e.g. built by a container tool for a wasm runtime).
    assert.equal(typeOf(image(types.config, ['application/vnd.wasm.content.layer.v1+wasm'])), 'WASM');
    // One WASM layer among ordinary layers does not make an image WASM.
    assert.equal(typeOf(image(types.config, [types.layer, artifactTypes.wasmLayer])), 'IMAGE');
  });

  test('SBOMs are SBOM, by artifactType or config media type', () => {
    assert.equal(typeOf(referrer(artifactTypes.spdx, artifactTypes.spdx)), 'SBOM');
    assert.equal(typeOf(referrer(artifactTypes.harborSbom, artifactTypes.spdx)), 'SBOM');
    assert.equal(typeOf(referrer('application/vnd.cyclonedx+json', 'application/vnd.cyclonedx+json')), 'SBOM');
    assert.equal(typeOf(image(artifactTypes.spdx, [artifactTypes.spdx])), 'SBOM');
  });

  test('signatures are SIGNATURE', () => {
    assert.equal(typeOf(referrer(artifactTypes.notation, artifactTypes.jose)), 'SIGNATURE');
    assert.equal(typeOf(referrer('application/vnd.dev.cosign.artifact.sig.v1+json', artifactTypes.cosignSimpleSigning)), 'SIGNATURE');
    assert.equal(
      typeOf(referrer('application/vnd.dev.sigstore.bundle.v0.3+json', 'application/vnd.dev.sigstore.bundle.v0.3+json')),
      'SIGNATURE',
    );
  });

  test('vnd.<vendor>.<kind>.config types name their kind', () => {
    assert.equal(typeOf(image('application/vnd.example.thing.config.v1+json', ['application/octet-stream'])), 'THING');
    assert.equal(typeOf(image('application/vnd.acme.rocket.config.v2+json', [])), 'ROCKET');
    assert.equal(typeOf(image('application/vnd.example.big-thing.config.v1+json', [])), 'BIG_THING');
    // Declared as artifactType over the empty config.
    assert.equal(
      typeOf(
        parse({
          schemaVersion: 2,
          mediaType: types.manifest,
          artifactType: 'application/vnd.example.gadget.config.v1+json',
          config: emptyConfig,
          layers: [],
        }),
      ),
      'GADGET',
    );
  });

  test('anything else is UNKNOWN', () => {
    assert.equal(typeOf(image('application/octet-stream', ['application/octet-stream'])), 'UNKNOWN');
    assert.equal(typeOf(image('application/json', [])), 'UNKNOWN');
    assert.equal(
      typeOf(parse({ schemaVersion: 2, mediaType: types.manifest, artifactType: 'text/plain', config: emptyConfig, layers: [] })),
      'UNKNOWN',
    );
    assert.equal(
      typeOf(parse({ schemaVersion: 2, mediaType: types.manifest, config: emptyConfig, layers: [desc('text/plain', 'x')] })),
      'UNKNOWN',
    );
  });

  test('an OCI 1.1 artifact with an image config and an artifactType is not an IMAGE', () => {
    assert.equal(typeOf(image(types.config, [types.layer], { artifactType: 'application/vnd.example.thing.config.v1+json' })), 'THING');
  });
});

describe('chartFiles', () => {
  const chart = { name: 'mychart', version: '1.2.3', values: 'replicaCount: 3\n', readme: '# My chart\n' };

  test('reads values.yaml and README.md from a real chart .tgz', async () => {
    const archive = await tarGz(chartFilesOf(chart));
    const found = await chartFiles(archive, ['values.yaml', 'readme.md']);
    assert.equal(found.get('values.yaml'), 'replicaCount: 3\n');
    assert.equal(found.get('readme.md'), '# My chart\n');
    assert.deepEqual([...found.keys()].sort(), ['readme.md', 'values.yaml']);
  });

  test('matches names case-insensitively; results are keyed by the lower-case name', async () => {
    const archive = await tarGz({
      'mychart/Chart.yaml': 'name: mychart\n',
      'mychart/readme.MD': 'lower and upper\n',
      'mychart/VALUES.yaml': 'a: 1\n',
    });
    const found = await chartFiles(archive, ['README.md', 'values.yaml']);
    assert.equal(found.get('readme.md'), 'lower and upper\n');
    assert.equal(found.get('values.yaml'), 'a: 1\n');
  });

  test('ignores files below the top-level chart directory', async () => {
    const archive = await tarGz({
      'mychart/charts/sub/values.yaml': 'sub: true\n',
      'mychart/templates/README.md': 'not the chart readme\n',
      'mychart/Chart.yaml': 'name: mychart\n',
      'values.yaml': 'outside the chart directory\n',
    });
    const found = await chartFiles(archive, ['values.yaml', 'README.md']);
    assert.equal(found.size, 0);
    const withTop = await tarGz({ 'mychart/charts/sub/values.yaml': 'sub: true\n', 'mychart/values.yaml': 'top: true\n' });
    assert.equal((await chartFiles(withTop, ['values.yaml'])).get('values.yaml'), 'top: true\n');
  });

  test('skips a file over 1 MiB', async () => {
    const archive = await tarGz({ 'mychart/values.yaml': 'x'.repeat((1 << 20) + 1), 'mychart/README.md': 'small\n' });
    const found = await chartFiles(archive, ['values.yaml', 'readme.md']);
    assert.equal(found.has('values.yaml'), false);
    assert.equal(found.get('readme.md'), 'small\n');
  });

  test('rejects a corrupt archive with an error instead of hanging', { timeout: 10_000 }, async () => {
    const good = await tarGz(chartFilesOf(chart));
    const tar = (await import('node:zlib')).gunzipSync(good);
    const corrupt: Array<[string, Buffer]> = [
      ['not gzip at all', Buffer.from('this is not a chart archive, just text')],
      ['gzip cut short', good.subarray(0, Math.floor(good.length / 2))],
      ['gzip of text that is not a tar', gzipSync(Buffer.from('x'.repeat(2048)))],
      ['gzip of a tar cut inside a file', gzipSync(tar.subarray(0, 700))],
    ];
    for (const [what, archive] of corrupt) {
      await assert.rejects(chartFiles(archive, ['values.yaml', 'readme.md']), Error, what);
    }
  });
});

describe('accessoryOf', () => {
  const hex = 'a'.repeat(64);

  test('an OCI subject makes a manifest an accessory, typed by its artifactType', () => {
    const cases: Array<[string, string, string]> = [
      ['application/vnd.dev.cosign.artifact.sig.v1+json', artifactTypes.cosignSimpleSigning, 'signature.cosign'],
      ['application/vnd.dev.sigstore.bundle.v0.3+json', 'application/vnd.dev.sigstore.bundle.v0.3+json', 'signature.cosign'],
      [artifactTypes.notation, artifactTypes.jose, 'signature.notation'],
      [artifactTypes.spdx, artifactTypes.spdx, 'sbom'],
      [artifactTypes.harborSbom, artifactTypes.spdx, 'sbom.harbor'],
      ['application/vnd.cyclonedx+json', 'application/vnd.cyclonedx+json', 'sbom'],
      ['application/vnd.in-toto+json', 'application/vnd.in-toto+json', 'attestation'],
      ['application/vnd.dsse.envelope.v1+json', 'application/vnd.dsse.envelope.v1+json', 'attestation'],
    ];
    for (const [artifactType, layerType, expected] of cases) {
      assert.deepEqual(accessoryOf(referrer(artifactType, layerType), []), { of: subject.digest, type: expected }, artifactType);
    }
  });

  test('without an artifactType, the config media type and then the layers decide', () => {
    // cosign attestations pushed as OCI 1.1 referrers carry the in-toto type as config.
    assert.deepEqual(
      accessoryOf(
        parse({ schemaVersion: 2, mediaType: types.manifest, config: desc('application/vnd.in-toto+json', 'c'), layers: [], subject }),
        [],
      ),
      { of: subject.digest, type: 'attestation' },
    );
    assert.deepEqual(accessoryOf(referrer(undefined, artifactTypes.spdx), []), { of: subject.digest, type: 'sbom' });
    assert.deepEqual(accessoryOf(referrer(undefined, 'application/octet-stream'), []), { of: subject.digest, type: 'subject.accessory' });
  });

  test("cosign's tag scheme makes a manifest an accessory without a subject", () => {
    const sig = image(types.config, [artifactTypes.cosignSimpleSigning]);
    assert.deepEqual(accessoryOf(sig, [`sha256-${hex}.sig`]), { of: `sha256:${hex}`, type: 'signature.cosign' });
    assert.deepEqual(accessoryOf(sig, [`sha256-${hex}.att`]), { of: `sha256:${hex}`, type: 'attestation' });
    assert.deepEqual(accessoryOf(sig, [`sha256-${hex}.sbom`]), { of: `sha256:${hex}`, type: 'sbom' });
    assert.deepEqual(accessoryOf(sig, ['latest', `sha512-${'b'.repeat(128)}.sig`]), {
      of: `sha512:${'b'.repeat(128)}`,
      type: 'signature.cosign',
    });
  });

  test('a subject wins over a cosign tag', () => {
    const m = referrer(artifactTypes.notation, artifactTypes.jose);
    assert.deepEqual(accessoryOf(m, [`sha256-${hex}.sig`]), { of: subject.digest, type: 'signature.notation' });
  });

  test('plain images, and tags that only look like cosign tags, are not accessories', () => {
    const plain = image(types.config, [types.layer]);
    assert.equal(accessoryOf(plain, []), null);
    assert.equal(accessoryOf(plain, ['latest', 'v1.0']), null);
    assert.equal(accessoryOf(plain, ['sha256-abc.sig']), null);
    assert.equal(accessoryOf(plain, [`sha256-${hex}.sig.bak`]), null);
    assert.equal(accessoryOf(plain, [`sha256-${hex}.txt`]), null);
    assert.equal(accessoryOf(index([desc(types.manifest, 'c')]), ['latest']), null);
  });
});
