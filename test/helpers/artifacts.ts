import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { stringify as toYaml } from 'yaml';
import { makeLayer } from './layout.js';
import { pushBlob, pushManifest, sha256, types, type PushedBlob } from './oci.js';
import type { TestServer } from './server.js';

/**
 * Pushes artifacts of each kind Berth's processors recognise, laid out as the tools that
 * make them push them (helm, cnab-to-oci, wasm-to-oci, cosign, notation, SBOM tools).
 */

export const artifactTypes = {
  helmConfig: 'application/vnd.cncf.helm.config.v1+json',
  helmChart: 'application/vnd.cncf.helm.chart.content.v1.tar.gz',
  cnabManifest: 'application/vnd.cnab.manifest.v1',
  cnabConfig: 'application/vnd.cnab.config.v1+json',
  wasmConfig: 'application/vnd.wasm.config.v0+json',
  wasmLayer: 'application/wasm',
  cosignSimpleSigning: 'application/vnd.dev.cosign.simplesigning.v1+json',
  empty: 'application/vnd.oci.empty.v1+json',
  spdx: 'application/spdx+json',
  harborSbom: 'application/vnd.goharbor.harbor.sbom.v1',
  notation: 'application/vnd.cncf.notary.signature',
  jose: 'application/jose+json',
} as const;

/** What a test needs to know about a pushed artifact. */
export interface PushedArtifact {
  digest: string;
  /** The tag it was pushed under, or null when pushed by digest. */
  tag: string | null;
  mediaType: string;
  /** The manifest document as pushed, and its bytes. */
  manifest: Record<string, unknown>;
  bytes: Buffer;
  manifestSize: number;
  /** The size Berth records: manifest + distinct blobs, + children for an index. */
  totalSize: number;
  /** null for an index. */
  config: PushedBlob | null;
  layers: PushedBlob[];
  /** The children of an index, in order; empty for a manifest. */
  children: PushedArtifact[];
}

export type Json = Record<string, unknown>;

interface BlobSpec {
  mediaType: string;
  data: Buffer | string;
  annotations?: Record<string, string>;
}

const descriptorOf = (mediaType: string, b: { digest: string; size: number }, annotations?: Record<string, string>) => ({
  mediaType,
  digest: b.digest,
  size: b.size,
  ...(annotations && { annotations }),
});

function blobsSize(blobs: PushedBlob[]): number {
  return [...new Map(blobs.map((b) => [b.digest, b.size])).values()].reduce((a, b) => a + b, 0);
}

/**
 * Pushes the config and layers, then an image manifest naming them under `tag` (or by
 * its digest when `tag` is null). `fields` adds manifest fields: artifactType, subject,
 * annotations; `layers: null` writes a null layers list (cnab-to-oci's config manifest).
 */
async function pushArtifactManifest(
  server: TestServer,
  repo: string,
  tag: string | null,
  spec: {
    mediaType?: string;
    /** Include the manifest's mediaType field (default true; cnab-to-oci leaves it out). */
    declareMediaType?: boolean;
    config: BlobSpec;
    layers: BlobSpec[];
    fields?: Json;
  },
): Promise<PushedArtifact> {
  const mediaType = spec.mediaType ?? types.manifest;
  const config = await pushBlob(server.url, repo, spec.config.data, server.admin);
  const layers: PushedBlob[] = [];
  for (const l of spec.layers) layers.push(await pushBlob(server.url, repo, l.data, server.admin));
  const manifest: Json = {
    schemaVersion: 2,
    ...(spec.declareMediaType !== false && { mediaType }),
    ...(spec.fields?.artifactType !== undefined && { artifactType: spec.fields.artifactType }),
    config: descriptorOf(spec.config.mediaType, config, spec.config.annotations),
    layers: spec.layers.map((l, i) => descriptorOf(l.mediaType, layers[i], l.annotations)),
    ...spec.fields,
  };
  const pushed = await pushManifest(server.url, repo, tag, manifest, mediaType, server.admin);
  return {
    digest: pushed.digest,
    tag,
    mediaType,
    manifest,
    bytes: pushed.bytes,
    manifestSize: pushed.size,
    totalSize: pushed.size + blobsSize([config, ...layers]),
    config,
    layers,
    children: [],
  };
}

/** Pushes an index over already-pushed children; `entries` adds each child's platform or annotations. */
async function pushIndex(
  server: TestServer,
  repo: string,
  tag: string | null,
  children: { artifact: PushedArtifact; platform?: Json; annotations?: Record<string, string> }[],
  fields: Json = {},
  mediaType: string = types.index,
): Promise<PushedArtifact> {
  const manifest: Json = {
    schemaVersion: 2,
    mediaType,
    manifests: children.map((c) => ({
      mediaType: c.artifact.mediaType,
      digest: c.artifact.digest,
      size: c.artifact.manifestSize,
      ...(c.platform && { platform: c.platform }),
      ...(c.annotations && { annotations: c.annotations }),
    })),
    ...fields,
  };
  const pushed = await pushManifest(server.url, repo, tag, manifest, mediaType, server.admin);
  const distinct = new Map(children.map((c) => [c.artifact.digest, c.artifact.totalSize]));
  return {
    digest: pushed.digest,
    tag,
    mediaType,
    manifest,
    bytes: pushed.bytes,
    manifestSize: pushed.size,
    totalSize: pushed.size + [...distinct.values()].reduce((a, b) => a + b, 0),
    config: null,
    layers: [],
    children: children.map((c) => c.artifact),
  };
}

// Archives.

/**
 * A gzip'd tar of `files` (path → content), built with tar-stream: regular files only,
 * in the order given, owner 0 and a fixed time, as `helm package` writes them.
 */
export async function tarGz(files: Record<string, string | Buffer>): Promise<Buffer> {
  const tar = pack();
  for (const [name, content] of Object.entries(files)) {
    const data = Buffer.isBuffer(content) ? content : Buffer.from(content);
    tar.entry({ name, size: data.length, mode: 0o644, mtime: new Date('2024-01-01T00:00:00Z'), uid: 0, gid: 0 }, data);
  }
  tar.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of tar) chunks.push(chunk as Buffer);
  return gzipSync(Buffer.concat(chunks));
}

// Helm charts.

export interface ChartDependency {
  name: string;
  version: string;
  repository: string;
  condition?: string;
}

export interface ChartOptions {
  name: string;
  version: string;
  appVersion?: string;
  description?: string;
  icon?: string;
  /** values.yaml's text (a default one when omitted). */
  values?: string;
  /** README.md's text; no README when null (a default one when omitted). */
  readme?: string | null;
  dependencies?: ChartDependency[];
  /** Tag to push under (default: the version). */
  tag?: string;
}

/** Chart.yaml's fields as Helm's chart.Metadata serialises them (the OCI config is this as JSON). */
export function chartMetadata(options: ChartOptions): Json {
  return {
    name: options.name,
    home: `https://example.com/charts/${options.name}`,
    sources: [`https://github.com/example/${options.name}`],
    version: options.version,
    description: options.description ?? `A Helm chart for ${options.name}`,
    keywords: [options.name, 'web'],
    maintainers: [{ name: 'Berth Tests', email: 'tests@example.com' }],
    icon: options.icon ?? `https://example.com/charts/${options.name}/icon.png`,
    apiVersion: 'v2',
    appVersion: options.appVersion ?? '1.16.0',
    ...(options.dependencies && options.dependencies.length > 0 && { dependencies: options.dependencies }),
    type: 'application',
  };
}

/** The files `helm package` puts in a chart's .tgz, under `<name>/`. */
export function chartFilesOf(options: ChartOptions): Record<string, string> {
  const { name } = options;
  const files: Record<string, string> = {
    [`${name}/Chart.yaml`]: toYaml(chartMetadata(options)),
    [`${name}/values.yaml`]:
      options.values ?? `replicaCount: 1\nimage:\n  repository: nginx\n  tag: ""\nservice:\n  type: ClusterIP\n  port: 80\n`,
    [`${name}/.helmignore`]: '.git/\n*.swp\n',
    [`${name}/templates/deployment.yaml`]: `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ include "${name}.fullname" . }}\nspec:\n  replicas: {{ .Values.replicaCount }}\n`,
    [`${name}/templates/_helpers.tpl`]: `{{- define "${name}.fullname" -}}{{ .Release.Name }}-${name}{{- end }}\n`,
    [`${name}/templates/NOTES.txt`]: `Installed ${name}.\n`,
  };
  if (options.readme !== null) files[`${name}/README.md`] = options.readme ?? `# ${name}\n\nA chart for tests.\n`;
  return files;
}

/**
 * Pushes a Helm chart as `helm push oci://…` stores it: config
 * application/vnd.cncf.helm.config.v1+json (Chart.yaml as JSON), one chart .tgz layer,
 * OCI manifest with Helm's annotations.
 */
export async function pushChart(server: TestServer, repo: string, options: ChartOptions) {
  const metadata = chartMetadata(options);
  const archive = await tarGz(chartFilesOf(options));
  const tag = options.tag ?? options.version;
  const pushed = await pushArtifactManifest(server, repo, tag, {
    config: { mediaType: artifactTypes.helmConfig, data: JSON.stringify(metadata) },
    layers: [{ mediaType: artifactTypes.helmChart, data: archive }],
    fields: {
      annotations: {
        'org.opencontainers.image.created': '2024-01-01T00:00:00Z',
        'org.opencontainers.image.description': String(metadata.description),
        'org.opencontainers.image.title': options.name,
        'org.opencontainers.image.version': options.version,
      },
    },
  });
  return { ...pushed, metadata, archive };
}

// Container images.

export interface ImagePlatform {
  architecture: string;
  os: string;
  variant?: string;
}

/**
 * Pushes one container image: real gzip'd tar layers and an image config with
 * architecture, os, author, created, config, history and rootfs. Docker schema 2 when
 * `docker` is set, else OCI.
 */
export async function pushContainerImage(
  server: TestServer,
  repo: string,
  tag: string | null,
  platform: ImagePlatform,
  options: { docker?: boolean; cmd?: string[] } = {},
) {
  const label = `${platform.os}/${platform.architecture}${platform.variant ? `/${platform.variant}` : ''}`;
  const made = [
    await makeLayer({ 'etc/': '', 'etc/os-release': `NAME=berth-test\nPLATFORM=${label}\n` }),
    await makeLayer({ 'app/': '', 'app/run.sh': `#!/bin/sh\necho hello from ${label}\n` }),
  ];
  const created = '2024-01-01T00:00:00Z';
  const configDoc = {
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant && { variant: platform.variant }),
    author: 'Berth Tests <tests@example.com>',
    created,
    config: {
      Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      Cmd: options.cmd ?? ['/app/run.sh'],
      WorkingDir: '/app',
      Labels: { 'org.opencontainers.image.title': repo },
    },
    rootfs: { type: 'layers', diff_ids: made.map((l) => sha256(l.tar)) },
    history: [
      { created, created_by: '/bin/sh -c #(nop) ADD file:os-release in /etc' },
      { created, created_by: '/bin/sh -c #(nop) COPY run.sh /app/' },
      { created, created_by: '/bin/sh -c #(nop)  CMD ["/app/run.sh"]', empty_layer: true },
    ],
  };
  const pushed = await pushArtifactManifest(server, repo, tag, {
    mediaType: options.docker ? types.dockerManifest : types.manifest,
    config: { mediaType: options.docker ? types.dockerConfig : types.config, data: JSON.stringify(configDoc) },
    layers: made.map((l) => ({ mediaType: options.docker ? types.dockerLayer : types.layer, data: l.gz })),
  });
  return { ...pushed, platform, configDoc };
}

/** Pushes an OCI index over a linux/amd64 and a linux/arm64/v8 image (each pushed by digest). */
export async function pushMultiPlatform(server: TestServer, repo: string, tag: string) {
  const platforms: ImagePlatform[] = [
    { architecture: 'amd64', os: 'linux' },
    { architecture: 'arm64', os: 'linux', variant: 'v8' },
  ];
  const images = [];
  for (const platform of platforms) images.push(await pushContainerImage(server, repo, null, platform));
  const index = await pushIndex(
    server,
    repo,
    tag,
    images.map((image) => ({ artifact: image, platform: { ...image.platform } })),
  );
  return { ...index, images };
}

// CNAB.

/**
 * Pushes a CNAB bundle as cnab-to-oci does: the invocation image (Docker schema 2), a
 * config manifest whose config is bundle.json (application/vnd.cnab.config.v1+json, no
 * mediaType field), and an OCI index annotated with the runtime version and artifact type.
 * cnab-to-oci writes the config manifest's layers as null; `nullLayers` does the same
 * (by default an empty list is written).
 */
export async function pushCnab(server: TestServer, repo: string, tag: string, options: { nullLayers?: boolean } = {}) {
  const invocation = await pushContainerImage(
    server,
    repo,
    null,
    { architecture: 'amd64', os: 'linux' },
    { docker: true, cmd: ['/cnab/app/run'] },
  );
  const bundle = {
    schemaVersion: 'v1.0.0',
    name: 'helloworld',
    version: '0.1.1',
    description: 'A short description of your bundle',
    keywords: ['helloworld', 'cnab', 'tutorial'],
    maintainers: [{ name: 'Jane Doe', email: 'jane.doe@example.com', url: 'https://example.com' }],
    invocationImages: [
      {
        imageType: 'docker',
        image: `${repo}@${invocation.digest}`,
        contentDigest: invocation.digest,
        size: invocation.manifestSize,
        mediaType: types.dockerManifest,
      },
    ],
    images: {},
    parameters: { port: { definition: 'port', destination: { env: 'PORT' } } },
    definitions: { port: { type: 'integer', default: 8080 } },
  };
  const config = await pushArtifactManifest(server, repo, null, {
    declareMediaType: false,
    config: { mediaType: artifactTypes.cnabConfig, data: JSON.stringify(bundle) },
    layers: [],
    fields: options.nullLayers ? { layers: null } : {},
  });
  const index = await pushIndex(
    server,
    repo,
    tag,
    [
      { artifact: config, annotations: { 'io.cnab.manifest.type': 'config' } },
      { artifact: invocation, annotations: { 'io.cnab.manifest.type': 'invocation' } },
    ],
    {
      annotations: {
        'io.cnab.keywords': JSON.stringify(bundle.keywords),
        'io.cnab.runtime_version': 'v1.0.0',
        'org.opencontainers.artifactType': artifactTypes.cnabManifest,
        'org.opencontainers.image.authors': JSON.stringify(bundle.maintainers),
        'org.opencontainers.image.description': bundle.description,
        'org.opencontainers.image.title': bundle.name,
        'org.opencontainers.image.version': bundle.version,
      },
    },
  );
  return { ...index, bundle, configManifest: config, invocation };
}

// WebAssembly.

/** A minimal valid WebAssembly module: the magic and version, then an empty type section. */
export const wasmModule = Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00]);

/** Pushes a module as wasm-to-oci does: config application/vnd.wasm.config.v0+json ("{}"), one application/wasm layer. */
export async function pushWasm(server: TestServer, repo: string, tag: string) {
  return pushArtifactManifest(server, repo, tag, {
    config: { mediaType: artifactTypes.wasmConfig, data: '{}' },
    layers: [{ mediaType: artifactTypes.wasmLayer, data: wasmModule, annotations: { 'org.opencontainers.image.title': 'module.wasm' } }],
  });
}

// Accessories.

/** The descriptor of a pushed artifact, as `subject` names it. */
async function subjectDescriptor(server: TestServer, repo: string, digest: string) {
  const res = await fetch(`${server.url}/v2/${repo}/manifests/${digest}`, {
    method: 'HEAD',
    headers: { ...server.admin, accept: [types.manifest, types.index, types.dockerManifest, types.dockerList].join(', ') },
  });
  if (res.status !== 200) throw new Error(`subject ${digest} not found: ${res.status}`);
  return { mediaType: res.headers.get('content-type')!.split(';')[0], digest, size: Number(res.headers.get('content-length')) };
}

const emptyConfig: BlobSpec = { mediaType: artifactTypes.empty, data: '{}' };

/** The legacy cosign tag for a subject: `sha256-<hex>.sig` (or .att, .sbom). */
export function cosignTag(subjectDigest: string, suffix: 'sig' | 'att' | 'sbom' = 'sig'): string {
  return `${subjectDigest.replace(':', '-')}.${suffix}`;
}

/**
 * Pushes a cosign signature with cosign's legacy tag scheme: tag `sha256-<hex>.sig`, an
 * image config, one simplesigning layer carrying the signature annotation.
 */
export async function pushCosignSignature(server: TestServer, repo: string, subjectDigest: string) {
  const payload = JSON.stringify({
    critical: {
      identity: { 'docker-reference': `registry.example.com/${repo}` },
      image: { 'docker-manifest-digest': subjectDigest },
      type: 'cosign container image signature',
    },
    optional: null,
  });
  const config = {
    architecture: '',
    created: '0001-01-01T00:00:00Z',
    history: [{ created: '0001-01-01T00:00:00Z' }],
    os: '',
    rootfs: { type: 'layers', diff_ids: [sha256(payload)] },
    config: {},
  };
  const tag = cosignTag(subjectDigest);
  return pushArtifactManifest(server, repo, tag, {
    config: { mediaType: types.config, data: JSON.stringify(config) },
    layers: [
      {
        mediaType: artifactTypes.cosignSimpleSigning,
        data: payload,
        annotations: { 'dev.cosignproject.cosign/signature': Buffer.from(`signature over ${subjectDigest}`).toString('base64') },
      },
    ],
  });
}

/**
 * Pushes an SBOM as an OCI 1.1 referrer of the subject, by digest: artifactType
 * application/spdx+json (or Harbor's application/vnd.goharbor.harbor.sbom.v1 with
 * `harbor`), the empty config, one SPDX JSON layer.
 */
export async function pushSbomReferrer(server: TestServer, repo: string, subjectDigest: string, options: { harbor?: boolean } = {}) {
  const subject = await subjectDescriptor(server, repo, subjectDigest);
  const spdx = {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: `${repo}@${subjectDigest}`,
    documentNamespace: `https://example.com/spdx/${subjectDigest}`,
    creationInfo: { created: '2024-01-01T00:00:00Z', creators: ['Tool: berth-tests'] },
    packages: [{ SPDXID: 'SPDXRef-Package-busybox', name: 'busybox', versionInfo: '1.36.1', downloadLocation: 'NOASSERTION' }],
  };
  return pushArtifactManifest(server, repo, null, {
    config: emptyConfig,
    layers: [
      { mediaType: artifactTypes.spdx, data: JSON.stringify(spdx), annotations: { 'org.opencontainers.image.title': 'sbom.spdx.json' } },
    ],
    fields: {
      artifactType: options.harbor ? artifactTypes.harborSbom : artifactTypes.spdx,
      subject,
      annotations: { 'org.opencontainers.image.created': '2024-01-01T00:00:00Z', ...(options.harbor && { 'created-by': 'Harbor' }) },
    },
  });
}

/** Pushes a Notation signature as an OCI 1.1 referrer, by digest: the empty config, one JWS layer. */
export async function pushNotationSignature(server: TestServer, repo: string, subjectDigest: string) {
  const subject = await subjectDescriptor(server, repo, subjectDigest);
  const jws = JSON.stringify({
    payload: Buffer.from(JSON.stringify({ targetArtifact: subject })).toString('base64url'),
    protected: Buffer.from(JSON.stringify({ alg: 'PS256', cty: 'application/vnd.cncf.notary.payload.v1+json' })).toString('base64url'),
    header: { x5c: [] },
    signature: Buffer.from(`notation signature over ${subjectDigest}`).toString('base64url'),
  });
  return pushArtifactManifest(server, repo, null, {
    config: emptyConfig,
    layers: [{ mediaType: artifactTypes.jose, data: jws }],
    fields: {
      artifactType: artifactTypes.notation,
      subject,
      annotations: { 'io.cncf.notary.x509chain.thumbprint#S256': '["0000"]', 'org.opencontainers.image.created': '2024-01-01T00:00:00Z' },
    },
  });
}

// Anything else.

/**
 * Pushes an OCI artifact of another kind: by default `type` is its config media type and
 * `config` (JSON) its config; with `asArtifactType` it is the manifest's artifactType
 * over the empty config instead.
 */
export async function pushGenericArtifact(
  server: TestServer,
  repo: string,
  tag: string,
  type: string,
  options: { asArtifactType?: boolean; config?: Json; layerMediaType?: string } = {},
) {
  const layer: BlobSpec = { mediaType: options.layerMediaType ?? 'application/octet-stream', data: `payload of ${repo}:${tag}` };
  return pushArtifactManifest(server, repo, tag, {
    config: options.asArtifactType
      ? emptyConfig
      : { mediaType: type, data: JSON.stringify(options.config ?? { kind: 'thing', version: 1 }) },
    layers: [layer],
    fields: options.asArtifactType ? { artifactType: type } : {},
  });
}
