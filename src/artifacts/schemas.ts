import {
  arrayOf,
  bool,
  dateTime,
  int,
  listQuery,
  object,
  pathParams,
  ref,
  str,
  type JsonSchema,
  type SharedSchema,
} from '../http/schema-helpers.js';
import { labelSchemas } from '../labels/schemas.js';
import { projectName, repositoryName } from '../repositories/schemas.js';

/** The artifact API's definitions, in Harbor's names (documentation only: see server/openapi.ts). */

export const Tag: SharedSchema = {
  $id: 'Tag',
  description: 'A tag: a name in the repository pointing at one artifact',
  ...object({
    id: int('Id of the tag'),
    repository_id: int('Id of the repository the tag is in'),
    artifact_id: int('Id of the artifact the tag points at'),
    name: str('The tag, such as latest or v1.2.3'),
    push_time: dateTime('When the tag was pushed or created'),
    pull_time: dateTime('When the artifact was last pulled by this tag; 0001-01-01T00:00:00.000Z when never'),
    immutable: bool(
      'Whether a tag immutability rule of the project protects the tag (filled in with with_immutable_status=true, else false)',
    ),
  }),
};

export const NewTag: SharedSchema = {
  $id: 'NewTag',
  description: 'A tag to put on an artifact',
  ...object({ name: str('The tag: [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}, not already used in the repository') }, ['name']),
};

export const ExtraAttrs: SharedSchema = {
  $id: 'ExtraAttrs',
  description:
    "Facts read from the artifact's config when it was pushed, depending on its type: for an image architecture, os, " +
    'author, created and config; for a Helm chart the fields of Chart.yaml; and so on. Values may be strings, numbers, ' +
    'arrays or objects.',
  type: 'object',
  additionalProperties: true,
};

export const Annotations: SharedSchema = {
  $id: 'Annotations',
  description: 'OCI annotations: string keys and string values',
  type: 'object',
  additionalProperties: { type: 'string' },
};

export const AdditionLink: SharedSchema = {
  $id: 'AdditionLink',
  description: 'Where to get one addition of an artifact',
  ...object({
    href: str('Path of the addition in this API'),
    absolute: bool('Whether href is an absolute URL (always false: it is a path)'),
  }),
};

export const AdditionLinks: SharedSchema = {
  $id: 'AdditionLinks',
  description: "The additions the artifact offers, by name (build_history, values.yaml, readme.md, dependencies; and Berth's own layers)",
  type: 'object',
  additionalProperties: ref('AdditionLink'),
};

export const Platform: SharedSchema = {
  $id: 'Platform',
  description: 'The platform an image of an index runs on, as the index states it (any other platform field pushed is shown as well)',
  type: 'object',
  properties: {
    architecture: str('CPU architecture, such as amd64 or arm64'),
    os: str('Operating system, such as linux or windows'),
    'os.version': str('Version of the operating system, such as 10.0.17763.1040'),
    'os.features': arrayOf(str('A feature'), 'Features the operating system must support'),
    variant: str('Variant of the CPU, such as v8'),
  },
  additionalProperties: true,
};

export const Reference: SharedSchema = {
  $id: 'Reference',
  description: 'An artifact that an index (the parent) lists',
  ...object({
    parent_id: int('Id of the index'),
    child_id: int('Id of the listed artifact'),
    child_digest: str('Digest of the listed artifact'),
    platform: ref('Platform'),
    annotations: ref('Annotations'),
    urls: arrayOf(str('A URL'), 'URLs the artifact may be downloaded from (always empty)'),
  }),
};

export const Accessory: SharedSchema = {
  $id: 'Accessory',
  description:
    'An artifact attached to another one (its subject): a signature, an SBOM, an attestation. ' +
    'It is attached by an OCI subject or by a cosign-style tag (sha256-<hex>.sig, .att, .sbom).',
  ...object({
    id: int('Id of the accessory artifact'),
    artifact_id: int('Id of the accessory artifact (the same as id)'),
    subject_artifact_id: int('Id of the artifact the accessory is attached to'),
    subject_artifact_digest: str('Digest of the artifact the accessory is attached to'),
    subject_artifact_repo: str('Full name of the repository of that artifact'),
    size: int('Size of the accessory artifact in bytes'),
    digest: str('Digest of the accessory artifact'),
    type: str(
      'Kind of accessory: signature.cosign, signature.notation, sbom.harbor, or (where Harbor has no name) sbom, attestation, subject.accessory',
    ),
    icon: str('Digest of its icon (see /icons/{digest}); may be empty'),
    creation_time: dateTime('When the accessory was pushed'),
  }),
};

export const ScanOverview: SharedSchema = {
  $id: 'ScanOverview',
  description:
    "Vulnerability scan summary keyed by report media type (the project's scanner; an index: its images together). Empty when not scanned.",
  type: 'object',
  additionalProperties: true,
};

export const Artifact: SharedSchema = {
  $id: 'Artifact',
  description:
    'An artifact: an image, image index, Helm chart, CNAB bundle, WebAssembly module or other OCI artifact. ' +
    'tags appear unless with_tag=false; labels, accessories and scan_overview only when asked for.',
  ...object({
    id: int('Id of the artifact'),
    type: str(
      'Kind of artifact: IMAGE, CHART, CNAB, WASM, SBOM, SIGNATURE, a kind taken from a vendor media type ' +
        '(application/vnd.<vendor>.<kind>.config.v1+json gives KIND), or UNKNOWN',
    ),
    media_type: str('Media type of its config (of the manifest for an index)'),
    manifest_media_type: str('Media type of its manifest'),
    artifact_type: str("The manifest's artifactType, or else its config media type (manifest media type for an index)"),
    project_id: int('Id of the project the artifact is in'),
    repository_id: int('Id of the repository the artifact is in'),
    repository_name: str('Full name of that repository, project included'),
    digest: str('Digest of the manifest'),
    size: int('Size in bytes: the manifest and its blobs (and its children, for an index)'),
    icon: str('Digest of its icon (see /icons/{digest}); may be empty'),
    push_time: dateTime('When the artifact was pushed'),
    pull_time: dateTime('When it was last pulled; 0001-01-01T00:00:00.000Z when never'),
    extra_attrs: ref('ExtraAttrs'),
    annotations: ref('Annotations'),
    references: arrayOf(ref('Reference'), 'What an index lists; empty for other artifacts'),
    tags: arrayOf(ref('Tag'), 'Its tags (unless with_tag=false)'),
    addition_links: ref('AdditionLinks'),
    labels: arrayOf(ref('Label'), 'Labels on it (only with with_label=true)'),
    scan_overview: ref('ScanOverview'),
    sbom_overview: {
      type: 'object',
      additionalProperties: true,
      description: 'SBOM generation overview (only with with_sbom_overview=true, when one was generated)',
    },
    accessories: arrayOf(ref('Accessory'), 'Signatures, SBOMs and other accessories attached to it (only with with_accessory=true)'),
    signatures: arrayOf(
      object({
        digest: str('Digest of the signature accessory'),
        kind: str('cosign or notation', { enum: ['cosign', 'notation'] }),
        status: str(
          "verified: checked against the project's trusted keys; unverified: the project has keys of its kind and it did not verify; signed: no keys of its kind, so not checked",
          { enum: ['verified', 'unverified', 'signed'] },
        ),
        signer: str('Who signed, as the trust material names them (key name, certificate subject, keyless identity)'),
        key_name: str('The trusted key it verified with'),
        reason: str('Why it did not verify, or what was checked'),
      }),
      "Berth extension: its signatures and what they are worth (always on a single artifact's GET; on lists with with_signature=true)",
    ),
  }),
};

export const Icon: SharedSchema = {
  $id: 'Icon',
  description: 'An icon image',
  ...object({
    'content-type': str('Media type of the image, such as image/svg+xml'),
    content: str('The image, base64-encoded'),
  }),
};

/** Artifact answers reference Label, a labels definition: registered here too (identical ones are skipped). */
export const artifactSchemas = [
  ...labelSchemas,
  Tag,
  NewTag,
  ExtraAttrs,
  Annotations,
  AdditionLink,
  AdditionLinks,
  Platform,
  Reference,
  Accessory,
  ScanOverview,
  Artifact,
  Icon,
];

const reference: Record<string, JsonSchema> = {
  reference: str('The artifact: its digest (sha256:…) or one of its tags'),
};

/** `{project_name}/repositories/{repository_name}/artifacts/{reference}` with more path parameters. */
export const artifactParams = (more: Record<string, JsonSchema> = {}) =>
  pathParams({ ...projectName, ...repositoryName, ...reference, ...more });

export const repositoryPathParams = pathParams({ ...projectName, ...repositoryName });

/** The with_* switches of artifact reads. */
export const viewQuery: Record<string, JsonSchema> = {
  with_tag: bool('Include tags', { default: true }),
  with_label: bool('Include labels', { default: false }),
  with_scan_overview: bool('Include scan_overview', { default: false }),
  with_sbom_overview: bool('Include sbom_overview', { default: false }),
  with_signature: bool(
    "Include Berth's signatures field (signed / verified / unverified, by whom); always there on a single artifact's GET",
    { default: false },
  ),
  with_immutable_status: bool("Fill in the tags' immutable field from the project's immutability rules", { default: false }),
  with_accessory: bool('Include accessories', { default: false }),
};

/** `q`, `sort`, paging and the with_* switches, as the artifact lists take them. */
export const artifactListQuery: Record<string, JsonSchema> = {
  ...listQuery,
  q: str(
    `${String((listQuery.q as { description: string }).description)}. Keys: id, digest, type, media_type, manifest_media_type, ` +
      'artifact_type, size, push_time, pull_time; tags=* (tagged), tags=nil (untagged), tags=v1 or tags=~v (by tag); ' +
      'labels=1, labels=(1 2) (all of these label ids) or labels={1 2} (any of them); ' +
      'base=* to include accessories and the untagged children of indexes',
  ),
  ...viewQuery,
};

/** The additions Berth serves, by artifact type: Harbor's, and Berth's own `layers`. */
export const additionNames = ['build_history', 'values.yaml', 'readme.md', 'dependencies', 'layers', 'parents'];

/** An artifact named in the `parents` addition. */
const parentRef: JsonSchema = {
  type: 'object',
  properties: { digest: str('Its digest'), tags: arrayOf(str('A tag'), 'Its tags, by name') },
};

/** GET …/additions/{addition}: JSON or text, depending on the addition. */
export const additionResponse: JsonSchema = {
  description: 'The addition: JSON or text, depending on which one it is',
  content: {
    'application/json': {
      schema: {
        oneOf: [
          arrayOf(
            { type: 'object', additionalProperties: true },
            "build_history: the history entries of the image config (created, created_by, empty_layer, …); dependencies: each chart dependency's name, version and repository; " +
              "layers (Berth's own, not Harbor's): each layer of an image manifest in order, as index (0-based), digest, media_type and size",
          ),
          {
            type: 'object',
            description:
              "parents (Berth's own, not Harbor's): an accessory's subject (null when it is not stored) and the indexes in the repository that list the artifact",
            properties: {
              subject: { ...parentRef, nullable: true },
              indexes: { type: 'array', items: parentRef },
            },
          },
        ],
      },
    },
    'text/plain': { schema: str("values.yaml: the chart's default values") },
    'text/markdown': { schema: str("readme.md: the chart's README (empty when it has none)") },
  },
};
