/**
 * Test content shaped like the OCI conformance suite's data sets (images, indexes, nested
 * indexes, artifacts, referrers, sha512, tag parameters, ...), and the push / pull / delete
 * checks that the suite runs over each of them, written for node:test.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { digestOf, type DigestAlgorithm, type V2 } from './v2.js';

export const mt = {
  example1: 'application/vnd.example.oci.conformance.v1',
  example2: 'application/vnd.example.oci.conformance.v2',
  octetStream: 'application/octet-stream',
  config: 'application/vnd.oci.image.config.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  index: 'application/vnd.oci.image.index.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar',
  layerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  layerNondist: 'application/vnd.oci.image.layer.nondistributable.v1.tar',
  layerNondistGzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  empty: 'application/vnd.oci.empty.v1+json',
} as const;

/** The Accept header the conformance suite sends for manifests. */
export const ociAccept = `${mt.index}, ${mt.manifest}`;

export interface Platform {
  os: string;
  architecture: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  platform?: Platform;
  urls?: string[];
  data?: string;
}

export interface ImageOptions {
  tag?: string;
  /** Number of layers (default 2). */
  layers?: number;
  uncompressed?: boolean;
  artifactType?: string;
  configMediaType?: string;
  configBytes?: Buffer;
  layerMediaType?: string;
  layerBytes?: Buffer;
  annotations?: Record<string, string>;
  /** Adds one annotation with a random key and value, so that each manifest differs. */
  uniqueAnnotation?: boolean;
  subject?: Descriptor;
  platform?: Platform;
  /** Puts a base64 `data` field in every descriptor. */
  dataField?: boolean;
  /** Adds a field no spec defines to the manifest and config. */
  extraField?: boolean;
}

export interface IndexOptions {
  tag?: string;
  artifactType?: string;
  annotations?: Record<string, string>;
  uniqueAnnotation?: boolean;
  subject?: Descriptor;
  extraField?: boolean;
  dataField?: boolean;
}

const amd64: Platform = { os: 'linux', architecture: 'amd64' };
const arm64: Platform = { os: 'linux', architecture: 'arm64' };

function randomText(): string {
  return randomBytes(12).toString('hex');
}

/** One data set: blobs, manifests in push order, tags, and the referrers each subject should list. */
export class TestData {
  readonly blobs = new Map<string, Buffer>();
  readonly manifests = new Map<string, { bytes: Buffer; mediaType: string }>();
  readonly order: string[] = [];
  readonly tags = new Map<string, string>();
  readonly referrers = new Map<string, Descriptor[]>();
  /** Manifests pushed by digest with these ?tag= parameters (and not by tag). */
  readonly tagParams = new Map<string, string[]>();

  constructor(
    readonly name: string,
    readonly algorithm: DigestAlgorithm = 'sha256',
  ) {}

  blob(data: Buffer, mediaType: string, dataField = false): Descriptor {
    const digest = digestOf(data, this.algorithm);
    this.blobs.set(digest, data);
    return { mediaType, digest, size: data.length, ...(dataField && { data: data.toString('base64') }) };
  }

  randomBlob(size: number, mediaType: string = mt.octetStream): Descriptor {
    return this.blob(randomBytes(size), mediaType);
  }

  /** A layer: random content, gzip-compressed unless asked otherwise. */
  layer(uncompressed = false, dataField = false): { descriptor: Descriptor; diffId: string } {
    const raw = Buffer.concat([Buffer.from(`conformance layer ${randomText()}\n`), randomBytes(512)]);
    const bytes = uncompressed ? raw : gzipSync(raw);
    return { descriptor: this.blob(bytes, uncompressed ? mt.layer : mt.layerGzip, dataField), diffId: digestOf(raw, this.algorithm) };
  }

  config(platform: Platform, diffIds: string[], options: { extraField?: boolean; dataField?: boolean } = {}): Descriptor {
    const doc: Record<string, unknown> = {
      author: 'Berth conformance tests',
      architecture: platform.architecture,
      os: platform.os,
      rootfs: { type: 'layers', diff_ids: diffIds },
      ...(options.extraField && { [`org.example.${randomText()}`]: randomText() }),
    };
    return this.blob(Buffer.from(JSON.stringify(doc)), mt.config, options.dataField);
  }

  /** Records a manifest (its exact bytes) and returns its descriptor. */
  addManifest(
    doc: Record<string, unknown>,
    options: { tag?: string; subject?: Descriptor; artifactType?: string; dataField?: boolean } = {},
  ): Descriptor {
    const bytes = Buffer.from(JSON.stringify(doc));
    const mediaType = doc.mediaType as string;
    const digest = digestOf(bytes, this.algorithm);
    this.manifests.set(digest, { bytes, mediaType });
    this.order.push(digest);
    if (options.tag) this.tags.set(options.tag, digest);
    if (options.subject) {
      const list = this.referrers.get(options.subject.digest) ?? [];
      list.push({
        mediaType,
        digest,
        size: bytes.length,
        ...(options.artifactType && { artifactType: options.artifactType }),
        ...(doc.annotations !== undefined && { annotations: doc.annotations as Record<string, string> }),
      });
      this.referrers.set(options.subject.digest, list);
    }
    return { mediaType, digest, size: bytes.length, ...(options.dataField && { data: bytes.toString('base64') }) };
  }

  image(options: ImageOptions = {}): Descriptor {
    const platform = options.platform ?? amd64;
    const layers: Descriptor[] = [];
    const diffIds: string[] = [];
    for (let i = 0; i < (options.layers ?? 2); i += 1) {
      if (options.layerMediaType === undefined || options.layerMediaType.startsWith('application/vnd.oci.image.layer.v1.')) {
        const { descriptor, diffId } = this.layer(options.uncompressed, options.dataField);
        layers.push(descriptor);
        diffIds.push(diffId);
      } else {
        const d = options.layerBytes
          ? this.blob(options.layerBytes, options.layerMediaType)
          : this.randomBlob(2048, options.layerMediaType);
        layers.push(d);
        diffIds.push(d.digest);
      }
    }
    const config =
      options.configMediaType === undefined || options.configMediaType === mt.config
        ? this.config(platform, diffIds, options)
        : this.blob(options.configBytes ?? Buffer.from('{}'), options.configMediaType, options.dataField);
    return this.imageOf(config, layers, options);
  }

  /** An image manifest over descriptors made elsewhere (used for non-distributable layers). */
  imageOf(config: Descriptor, layers: Descriptor[], options: ImageOptions = {}): Descriptor {
    const annotations = this.annotations(options.annotations, options.uniqueAnnotation);
    const doc: Record<string, unknown> = {
      schemaVersion: 2,
      mediaType: mt.manifest,
      ...(options.artifactType && { artifactType: options.artifactType }),
      config,
      layers,
      ...(options.subject && { subject: options.subject }),
      ...(annotations && { annotations }),
      ...(options.extraField && { [`org.example.${randomText()}`]: randomText() }),
    };
    return this.addManifest(doc, {
      tag: options.tag,
      subject: options.subject,
      artifactType: options.artifactType ?? config.mediaType,
      dataField: options.dataField,
    });
  }

  index(children: Array<{ descriptor: Descriptor; platform?: Platform }>, options: IndexOptions = {}): Descriptor {
    const annotations = this.annotations(options.annotations, options.uniqueAnnotation);
    const doc: Record<string, unknown> = {
      schemaVersion: 2,
      mediaType: mt.index,
      ...(options.artifactType && { artifactType: options.artifactType }),
      manifests: children.map((c) => ({ ...c.descriptor, ...(c.platform && { platform: c.platform }) })),
      ...(options.subject && { subject: options.subject }),
      ...(annotations && { annotations }),
      ...(options.extraField && { [`org.example.${randomText()}`]: randomText() }),
    };
    return this.addManifest(doc, {
      tag: options.tag,
      subject: options.subject,
      artifactType: options.artifactType,
      dataField: options.dataField,
    });
  }

  /** An index over one image per platform (amd64 and arm64 unless told). */
  indexFull(options: IndexOptions & { platforms?: Platform[]; image?: ImageOptions } = {}): Descriptor {
    const platforms = options.platforms ?? [amd64, arm64];
    const children = platforms.map((platform) => ({
      descriptor: this.image({ ...options.image, platform, extraField: options.extraField, dataField: options.dataField }),
      platform,
    }));
    return this.index(children, options);
  }

  private annotations(given: Record<string, string> | undefined, unique: boolean | undefined): Record<string, string> | undefined {
    if (!given && !unique) return undefined;
    return { ...given, ...(unique && { [`org.example.${randomText()}`]: randomText() }) };
  }
}

/** The conformance suite's data sets, built fresh (random content) on each call. */
export function dataSets(): TestData[] {
  const sets: TestData[] = [];
  const add = (name: string, build: (td: TestData) => void, algorithm: DigestAlgorithm = 'sha256') => {
    const td = new TestData(name, algorithm);
    build(td);
    sets.push(td);
  };
  add('image', (td) => td.image({ tag: 'image' }));
  add('image-uncompressed', (td) => td.image({ tag: 'image-uncompressed', uncompressed: true }));
  add('large-manifest', (td) => {
    const annotations: Record<string, string> = {};
    for (let i = 0; i < 390; i += 1) annotations[`large-annotation-${i}`] = 'A'.repeat(10000);
    td.image({ tag: 'large-manifest', annotations });
  });
  add('index', (td) => td.indexFull({ tag: 'index' }));
  add('nested-index', (td) => {
    const a = td.indexFull();
    const b = td.indexFull();
    td.index([{ descriptor: a }, { descriptor: b }], { tag: 'index-of-index' });
  });
  add('empty-index', (td) => td.index([], { tag: 'index' }));
  const artifact: ImageOptions = {
    artifactType: mt.example1,
    configMediaType: mt.empty,
    configBytes: Buffer.from('{}'),
    layers: 1,
    layerMediaType: mt.example1,
  };
  add('artifact', (td) => td.image({ ...artifact, tag: 'artifact' }));
  add('artifact-index', (td) => td.indexFull({ tag: 'artifact-index', artifactType: mt.example1, image: artifact }));
  add('artifact-without-layers', (td) =>
    td.image({ ...artifact, tag: 'artifact-without-layers', layerBytes: Buffer.from('{}'), layerMediaType: mt.empty }),
  );
  add('artifacts-with-subject', (td) => {
    const subject = td.image({ tag: 'image' });
    td.image({ subject });
    const note = { 'org.opencontainers.conformance': 'hello conformance test' };
    td.image({ ...artifact, subject, annotations: note, uniqueAnnotation: true, tag: 'tagged-artifact1' });
    td.image({
      ...artifact,
      artifactType: mt.example2,
      layerMediaType: mt.octetStream,
      subject,
      annotations: note,
      uniqueAnnotation: true,
      tag: 'tagged-artifact2',
    });
  });
  add('index-with-subject', (td) => {
    const subject = td.indexFull({ tag: 'index' });
    td.indexFull({
      tag: 'tagged-artifact',
      artifactType: mt.example1,
      annotations: { 'org.opencontainers.conformance': 'hello conformance test' },
      uniqueAnnotation: true,
      subject,
      image: artifact,
    });
  });
  add('missing-subject', (td) => {
    const subject = { mediaType: mt.manifest, size: 123, digest: digestOf('missing content') };
    td.image({
      ...artifact,
      subject,
      annotations: { 'org.opencontainers.conformance': 'hello conformance test' },
      uniqueAnnotation: true,
      tag: 'tagged-artifact',
    });
  });
  add('data-field', (td) => td.image({ tag: 'data-field', dataField: true }));
  add('non-distributable-layers', (td) => {
    const external = (mediaType: string) => {
      const digest = digestOf(randomBytes(256));
      return { mediaType, digest, size: 123456, urls: [`https://store.example.com/blobs/sha256/${digest.slice(7)}`] };
    };
    const layers: Descriptor[] = [external(mt.layerNondistGzip), external(mt.layerNondist)];
    const normal = td.layer();
    layers.push(normal.descriptor);
    const config = td.config(amd64, [layers[0].digest, layers[1].digest, normal.diffId]);
    td.imageOf(config, layers, { tag: 'non-distributable-image' });
  });
  add('custom-fields', (td) => td.indexFull({ tag: 'custom-fields', extraField: true }));
  add('no-layers', (td) => td.image({ tag: 'no-layers', layers: 0 }));
  add('sha512', (td) => td.indexFull(), 'sha512');
  for (const algorithm of ['sha256', 'sha512'] as const) {
    add(
      `tag-param-${algorithm}`,
      (td) => {
        td.indexFull({ tag: `tag-param-${algorithm}` });
        td.order.forEach((digest, i) => td.tags.set(`tag-param-${algorithm}-${i}`, digest));
        for (const [tag, digest] of td.tags) td.tagParams.set(digest, [...(td.tagParams.get(digest) ?? []), tag]);
      },
      algorithm,
    );
  }
  return sets;
}

/** Every blob of a data set, pushed in one POST each. */
export async function pushBlobs(v2: V2, repo: string, td: TestData): Promise<void> {
  for (const [digest, data] of td.blobs) {
    const res = await v2.call('POST', `/v2/${repo}/blobs/uploads/?digest=${digest}`, {
      headers: { 'content-type': mt.octetStream },
      body: data,
    });
    assert.equal(res.status, 201, `${td.name}: blob ${digest}: ${res.text}`);
    assert.equal(res.headers.get('docker-content-digest'), digest);
  }
}

/**
 * Pushes a manifest of the data set and checks the answer as the suite does: 201, the
 * digest header, OCI-Subject for a manifest with a subject, OCI-Tag for each ?tag=, and a
 * Location that serves the exact bytes.
 */
export async function pushManifest(
  v2: V2,
  repo: string,
  td: TestData,
  digest: string,
  reference: string,
  tagParams: string[] = [],
): Promise<void> {
  const { bytes, mediaType } = td.manifests.get(digest)!;
  const query = tagParams.length > 0 ? `?${tagParams.map((t) => `tag=${encodeURIComponent(t)}`).join('&')}` : '';
  const res = await v2.putManifest(repo, reference, bytes, mediaType, query);
  assert.equal(res.status, 201, `${td.name}: manifest ${reference}: ${res.text}`);
  assert.equal(res.headers.get('docker-content-digest'), digest);
  const subject = (JSON.parse(bytes.toString()) as { subject?: Descriptor }).subject;
  if (subject) assert.equal(res.headers.get('oci-subject'), subject.digest, `${td.name}: OCI-Subject`);
  else assert.equal(res.headers.get('oci-subject'), null);
  if (tagParams.length > 0) {
    const echoed = (res.headers.get('oci-tag') ?? '').split(',').map((t) => t.trim());
    for (const tag of tagParams) assert.ok(echoed.includes(tag), `${td.name}: OCI-Tag lists ${tag}: ${res.headers.get('oci-tag')}`);
  }
  const location = res.headers.get('location');
  assert.ok(location, 'a pushed manifest has a Location');
  const pulled = await v2.call('GET', new URL(location, v2.server.url).pathname, { headers: { accept: ociAccept } });
  assert.equal(pulled.status, 200);
  assert.equal(pulled.headers.get('content-type'), mediaType);
  assert.equal(pulled.headers.get('content-length'), String(bytes.length));
  assert.ok(pulled.bytes.equals(bytes), 'the Location serves the exact bytes pushed');
}

/** The suite's push phase: blobs, every manifest by digest (with ?tag= where the set says), then the tags. */
export async function pushDataSet(v2: V2, repo: string, td: TestData): Promise<void> {
  await pushBlobs(v2, repo, td);
  for (const digest of td.order) await pushManifest(v2, repo, td, digest, digest, td.tagParams.get(digest) ?? []);
  const byParam = new Set([...td.tagParams.values()].flat());
  for (const [tag, digest] of td.tags) {
    if (!byParam.has(tag)) await pushManifest(v2, repo, td, digest, tag);
  }
}

async function expectManifest(v2: V2, repo: string, td: TestData, reference: string, digest: string, method: 'GET' | 'HEAD') {
  const { bytes, mediaType } = td.manifests.get(digest)!;
  const res = await v2.call(method, `/v2/${repo}/manifests/${reference}`, { headers: { accept: ociAccept } });
  assert.equal(res.status, 200, `${td.name}: ${method} manifest ${reference}: ${res.text}`);
  assert.equal(res.headers.get('content-type'), mediaType);
  assert.equal(res.headers.get('content-length'), String(bytes.length));
  assert.equal(res.headers.get('docker-content-digest'), digest);
  if (method === 'GET') assert.ok(res.bytes.equals(bytes), `${td.name}: manifest ${reference} bytes`);
  else assert.equal(res.bytes.length, 0, 'HEAD has no body');
}

async function expectBlob(v2: V2, repo: string, td: TestData, digest: string, method: 'GET' | 'HEAD') {
  const data = td.blobs.get(digest)!;
  const res = await v2.call(method, `/v2/${repo}/blobs/${digest}`);
  assert.equal(res.status, 200, `${td.name}: ${method} blob ${digest}: ${res.text}`);
  assert.equal(res.headers.get('content-length'), String(data.length));
  assert.equal(res.headers.get('docker-content-digest'), digest);
  if (method === 'GET') assert.ok(res.bytes.equals(data), `${td.name}: blob ${digest} bytes`);
  else assert.equal(res.bytes.length, 0, 'HEAD has no body');
}

/** The suite's head and pull phases: every tag, every manifest digest, every blob. */
export async function verifyPull(v2: V2, repo: string, td: TestData): Promise<void> {
  for (const method of ['HEAD', 'GET'] as const) {
    for (const [tag, digest] of td.tags) await expectManifest(v2, repo, td, tag, digest, method);
    for (const digest of td.order) await expectManifest(v2, repo, td, digest, digest, method);
    for (const digest of td.blobs.keys()) await expectBlob(v2, repo, td, digest, method);
  }
}

/** The suite's delete phase: tags, then manifests newest first, then blobs; each gone at once. */
export async function deleteDataSet(v2: V2, repo: string, td: TestData): Promise<void> {
  for (const tag of td.tags.keys()) {
    const res = await v2.call('DELETE', `/v2/${repo}/manifests/${tag}`);
    assert.equal(res.status, 202, `${td.name}: delete tag ${tag}: ${res.text}`);
    const head = await v2.call('HEAD', `/v2/${repo}/manifests/${tag}`, { headers: { accept: ociAccept } });
    assert.equal(head.status, 404, `${td.name}: tag ${tag} is gone at once`);
  }
  for (const digest of [...td.order].reverse()) {
    const res = await v2.call('DELETE', `/v2/${repo}/manifests/${digest}`);
    assert.equal(res.status, 202, `${td.name}: delete manifest ${digest}: ${res.text}`);
    const head = await v2.call('HEAD', `/v2/${repo}/manifests/${digest}`, { headers: { accept: ociAccept } });
    assert.equal(head.status, 404, `${td.name}: manifest ${digest} is gone at once`);
  }
  for (const digest of td.blobs.keys()) {
    const res = await v2.call('DELETE', `/v2/${repo}/blobs/${digest}`);
    assert.equal(res.status, 202, `${td.name}: delete blob ${digest}: ${res.text}`);
    const head = await v2.call('HEAD', `/v2/${repo}/blobs/${digest}`);
    assert.equal(head.status, 404, `${td.name}: blob ${digest} is gone at once`);
  }
}
