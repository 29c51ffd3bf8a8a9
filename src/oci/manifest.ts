import { ociError } from '../lib/errors.js';
import { isDigest } from './digest.js';
import { isSchema1, manifestKinds, mediaTypes, type ManifestKind } from './mediatypes.js';

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  urls?: string[];
  annotations?: Record<string, string>;
  platform?: Platform;
}

export interface ParsedManifest {
  kind: ManifestKind;
  mediaType: string;
  /** artifactType, or for an image manifest without one, its config media type (as the referrers API needs). */
  artifactType: string | null;
  /** The manifest's own artifactType field, when it has one. */
  declaredArtifactType: string | null;
  config: Descriptor | null;
  layers: Descriptor[];
  manifests: Descriptor[];
  subject: Descriptor | null;
  annotations: Record<string, string> | null;
}

function invalid(message: string) {
  return ociError('MANIFEST_INVALID', message);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringMap(value: unknown, where: string): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  if (!isRecord(value) || Object.values(value).some((v) => typeof v !== 'string')) {
    throw invalid(`${where}: annotations must be an object of strings`);
  }
  return value as Record<string, string>;
}

function descriptor(value: unknown, where: string): Descriptor {
  if (!isRecord(value)) throw invalid(`${where} must be a descriptor object`);
  const { mediaType, digest, size, artifactType, urls, platform } = value;
  if (typeof mediaType !== 'string' || mediaType === '') throw invalid(`${where}.mediaType must be a non-empty string`);
  if (typeof digest !== 'string' || !isDigest(digest)) throw invalid(`${where}.digest "${String(digest)}" is not a sha256 or sha512 digest`);
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw invalid(`${where}.size must be a non-negative integer`);
  if (artifactType !== undefined && typeof artifactType !== 'string') throw invalid(`${where}.artifactType must be a string`);
  if (urls !== undefined && (!Array.isArray(urls) || urls.some((u) => typeof u !== 'string'))) throw invalid(`${where}.urls must be a list of strings`);
  if (platform !== undefined) {
    if (!isRecord(platform) || typeof platform.architecture !== 'string' || typeof platform.os !== 'string') {
      throw invalid(`${where}.platform must have string architecture and os`);
    }
  }
  return {
    mediaType,
    digest,
    size,
    ...(artifactType !== undefined && { artifactType: artifactType as string }),
    ...(urls !== undefined && { urls: urls as string[] }),
    ...(value.annotations !== undefined && { annotations: stringMap(value.annotations, where) }),
    ...(platform !== undefined && { platform: platform as unknown as Platform }),
  };
}

function descriptorList(value: unknown, where: string): Descriptor[] {
  if (!Array.isArray(value)) throw invalid(`${where} must be a list of descriptors`);
  return value.map((d, i) => descriptor(d, `${where}[${i}]`));
}

/**
 * Parses and validates manifest bytes. `contentType` is the request's Content-Type with
 * parameters removed ('' when absent). Throws MANIFEST_INVALID with a message that says
 * what is wrong.
 */
export function parseManifest(bytes: Uint8Array, contentType: string): ParsedManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch (err) {
    throw invalid(`manifest is not valid JSON: ${(err as Error).message}`);
  }
  if (!isRecord(doc)) throw invalid('manifest must be a JSON object');

  const declared = doc.mediaType;
  if (declared !== undefined && typeof declared !== 'string') throw invalid('mediaType must be a string');
  if (doc.schemaVersion === 1 || isSchema1(contentType) || (declared !== undefined && isSchema1(declared))) {
    throw invalid('Docker schema 1 manifests are not supported; push with a current client (schema 2 or OCI)');
  }
  if (doc.schemaVersion !== 2) throw invalid('schemaVersion must be 2');

  const genericType = contentType === '' || contentType === 'application/json' || contentType === mediaTypes.octetStream;
  if (declared !== undefined && !genericType && declared !== contentType) {
    throw invalid(`Content-Type "${contentType}" does not match the manifest's mediaType "${declared}"`);
  }
  let mediaType = declared ?? (genericType ? '' : contentType);
  if (mediaType === '') mediaType = doc.manifests !== undefined ? mediaTypes.ociIndex : mediaTypes.ociManifest;
  const kind = manifestKinds[mediaType];
  if (!kind) throw invalid(`unsupported manifest media type "${mediaType}"`);

  const subject = doc.subject === undefined ? null : descriptor(doc.subject, 'subject');
  const annotations = stringMap(doc.annotations, 'manifest') ?? null;
  const artifactType = doc.artifactType;
  if (artifactType !== undefined && typeof artifactType !== 'string') throw invalid('artifactType must be a string');

  if (kind === 'image') {
    if (doc.manifests !== undefined) throw invalid('an image manifest must not have a "manifests" field');
    const config = descriptor(doc.config, 'config');
    // cnab-to-oci writes "layers": null for its config manifest; distribution reads that as no layers.
    const noLayers = (doc.layers === undefined && mediaType === mediaTypes.ociManifest) || doc.layers === null;
    const layers = noLayers ? [] : descriptorList(doc.layers, 'layers');
    return {
      kind,
      mediaType,
      artifactType: (artifactType as string | undefined) ?? config.mediaType,
      declaredArtifactType: (artifactType as string | undefined) ?? null,
      config,
      layers,
      manifests: [],
      subject,
      annotations,
    };
  }
  if (doc.config !== undefined || doc.layers !== undefined) {
    throw invalid('an image index must not have "config" or "layers" fields');
  }
  return {
    kind,
    mediaType,
    artifactType: (artifactType as string | undefined) ?? null,
    declaredArtifactType: (artifactType as string | undefined) ?? null,
    config: null,
    layers: [],
    manifests: descriptorList(doc.manifests, 'manifests'),
    subject,
    annotations,
  };
}
