import type { ArtifactService } from '../../artifacts/service.js';
import { apiError, isAppError } from '../../lib/errors.js';
import { digestOf } from '../../oci/digest.js';
import { mediaTypes } from '../../oci/mediatypes.js';
import type { RegistryService } from '../../registry/service.js';
import type { UploadService } from '../../registry/uploads.js';
import { sbomMediaTypes, type SbomMediaType } from '../types.js';

/** The artifactType Harbor gives the SBOMs it attaches; Harbor and Berth file it as accessory `sbom.harbor`. */
export const sbomArtifactType = 'application/vnd.goharbor.harbor.sbom.v1';
/** The accessory type the artifacts feature gives such a manifest. */
export const sbomAccessoryType = 'sbom.harbor';
/** Who the audit log names for an SBOM Berth attaches itself (user names cannot contain ':'). */
export const sbomActor = 'system:scanner';

const emptyConfig = Buffer.from('{}');
const emptyConfigDigest = digestOf(emptyConfig);

const describedAs: Record<SbomMediaType, { description: string; title: string }> = {
  [sbomMediaTypes.spdx]: { description: 'SPDX JSON SBOM', title: 'sbom.spdx.json' },
  [sbomMediaTypes.cyclonedx]: { description: 'CycloneDX JSON SBOM', title: 'sbom.cdx.json' },
};

export interface SbomAccessoryDeps {
  registry: RegistryService;
  uploads: UploadService;
  artifacts: ArtifactService;
}

export interface AttachSbomInput {
  /** The repository of the scanned artifact; the SBOM goes beside it. */
  repository: string;
  /** The scanned artifact's manifest digest; it must be in `repository`. */
  subjectDigest: string;
  mediaType: SbomMediaType;
  /** The SBOM document (SPDX or CycloneDX JSON), as an object or as the exact bytes to store. */
  document: Record<string, unknown> | Uint8Array;
  actor?: string;
  now?: Date;
}

export interface AttachedSbom {
  /** The accessory's manifest digest. */
  digest: string;
  /** The manifest's size in bytes. */
  size: number;
  /** The digest of the layer holding the document. */
  documentDigest: string;
}

async function* once(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}

/** Publishes bytes as a blob of the repository: an upload session like a client's, digest verified, quota counted. */
async function pushBlob(uploads: UploadService, repository: string, bytes: Uint8Array, actor: string): Promise<string> {
  const digest = digestOf(bytes);
  return uploads.monolithic(repository, digest, { stream: once(bytes), length: bytes.byteLength, range: null }, actor);
}

/**
 * Attaches an SBOM to an artifact as Harbor does: an OCI 1.1 image manifest with Harbor's SBOM
 * artifactType, the empty config, one layer holding the document and `subject` naming the
 * artifact, pushed in-process through the registry (quota and audit as for any push, the
 * push event included). Returns the accessory's digest.
 */
export async function attachSbom(deps: SbomAccessoryDeps, input: AttachSbomInput): Promise<AttachedSbom> {
  const described = describedAs[input.mediaType];
  if (!described) throw new TypeError(`${String(input.mediaType)} is not an SBOM media type Berth attaches`);
  const actor = input.actor ?? sbomActor;
  const created = (input.now ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  // The subject's descriptor needs its media type and size; reading it is not a pull.
  const subject = await deps.registry.getManifest(input.repository, input.subjectDigest, null);
  const document = input.document instanceof Uint8Array ? input.document : Buffer.from(JSON.stringify(input.document));

  const documentDigest = await pushBlob(deps.uploads, input.repository, document, actor);
  await pushBlob(deps.uploads, input.repository, emptyConfig, actor);
  const manifest = {
    schemaVersion: 2,
    mediaType: mediaTypes.ociManifest,
    artifactType: sbomArtifactType,
    config: { mediaType: mediaTypes.ociEmpty, digest: emptyConfigDigest, size: emptyConfig.byteLength },
    layers: [
      {
        mediaType: input.mediaType,
        digest: documentDigest,
        size: document.byteLength,
        annotations: { 'org.opencontainers.image.title': described.title },
      },
    ],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.bytes.byteLength },
    annotations: {
      created,
      'created-by': 'Berth',
      'org.opencontainers.artifact.created': created,
      'org.opencontainers.artifact.description': described.description,
      'org.opencontainers.image.created': created,
    },
  };
  const bytes = Buffer.from(JSON.stringify(manifest));
  const digest = digestOf(bytes);
  await deps.registry.putManifest(input.repository, digest, bytes, mediaTypes.ociManifest, actor);
  return { digest, size: bytes.byteLength, documentDigest };
}

/**
 * Deletes an SBOM accessory (one Berth or Harbor attached) through the artifacts feature, as a
 * user's delete would: audit record, delete event, quota released. 'gone' when it is already
 * not there; refused for an artifact that is not such an SBOM.
 */
export async function removeSbom(
  deps: SbomAccessoryDeps,
  repository: string,
  digest: string,
  actor: string = sbomActor,
): Promise<'removed' | 'gone'> {
  try {
    const repo = await deps.artifacts.repository(repository);
    const artifact = await deps.artifacts.resolve(repo, digest);
    if (artifact.accessory_type !== sbomAccessoryType) {
      throw apiError(
        'BAD_REQUEST',
        `${repository}@${digest} is not an SBOM accessory (${artifact.accessory_type ?? 'not an accessory'}); it was left alone`,
      );
    }
    await deps.artifacts.delete(repo, artifact, actor);
    return 'removed';
  } catch (err) {
    if (isAppError(err) && err.code === 'NOT_FOUND') return 'gone';
    throw err;
  }
}

/** attachSbom and removeSbom bound to the registry parts, for the scans feature to hold. */
export function sbomAccessories(deps: SbomAccessoryDeps) {
  return {
    attach: (input: AttachSbomInput) => attachSbom(deps, input),
    remove: (repository: string, digest: string, actor?: string) => removeSbom(deps, repository, digest, actor),
  };
}
