import type { Readable } from 'node:stream';

/*
 * Shapes shared by the parts of replication, proxy cache and preheat (issue 16):
 * registry endpoints (replication/registries), adapters (replication/adapters), the copy
 * engine (replication/engine), policies and executions (replication/policies,
 * replication/executions) and proxy-cache projects (proxycache/).
 */

/** Harbor's credential types for a registry endpoint. */
export type CredentialType = 'basic' | 'oauth' | 'secret';

export interface RegistryCredential {
  type: CredentialType;
  accessKey: string;
  /** Decrypted; stored encrypted at rest (auth/secret-box.ts), never answered by the API. */
  accessSecret: string;
}

/** A registry endpoint as the adapters need it (credential decrypted). */
export interface RegistryEndpoint {
  id: number;
  name: string;
  /** Adapter type: 'harbor', 'docker-registry', 'docker-hub', … (see adapters/index.ts). */
  type: string;
  /** Base URL without a trailing slash, e.g. http://127.0.0.1:5000 or https://hub.docker.com. */
  url: string;
  /** Skip TLS verification. */
  insecure: boolean;
  /** PEM bundle trusted in addition to the system's, or null. */
  caCertificate: string | null;
  credential: RegistryCredential | null;
}

/** Harbor's RegistryInfo (/registries/{id}/info), in Berth's camel case; routes map it to Harbor's fields. */
export interface RegistryInfo {
  type: string;
  description: string;
  /** Harbor's FilterStyle entries: { type: 'name'|'tag'|'label'|'resource', style: 'input'|'radio'|'list', values?: string[] }. */
  supportedResourceFilters: Array<{ type: string; style: string; values?: string[] }>;
  /** 'manual' | 'scheduled' | 'event_based' */
  supportedTriggers: string[];
  supportedCopyByChunk: boolean;
}

/** Why a call to another registry failed; the proxy cache serves stale content on the first three. */
export type RemoteFailure = 'unreachable' | 'rate_limited' | 'unauthorized' | 'not_found' | 'denied' | 'failed';

export class RemoteRegistryError extends Error {
  constructor(
    readonly failure: RemoteFailure,
    message: string,
    /** The HTTP status the remote answered, when it answered. */
    readonly status?: number,
  ) {
    super(message);
    this.name = 'RemoteRegistryError';
  }
}

export interface ManifestHead {
  digest: string;
  mediaType: string;
  size: number;
}

export interface FetchedManifest {
  digest: string;
  mediaType: string;
  bytes: Buffer;
}

export interface FetchedBlob {
  /** Streams the blob's bytes; the consumer must verify the digest (or let the sink do it). */
  stream: Readable;
  size: number;
}

/** An artifact a source offers for replication (one manifest, with the tags pointing at it). */
export interface SourceArtifact {
  /** Full repository name at the source, e.g. library/nginx. */
  repository: string;
  digest: string;
  mediaType: string;
  tags: string[];
  /** Label names (only sources that know labels: Berth itself, Harbor). */
  labels: string[];
  /** Harbor's resource type for filters: 'image' (images and indexes) or 'artifact' (anything else). */
  resourceType: 'image' | 'artifact';
  /**
   * For an accessory (signature, SBOM, …) listed beside its subject, as Harbor lists them: the
   * subject's digest. Tag filters then match the subject's tags (`parentTags`), and the
   * accessory keeps its own tags. Absent for sources that do not know accessories.
   */
  accessoryOf?: string;
  parentTags?: string[];
}

/** Options for listing a source. Patterns are doublestar globs; sources may use them to list less. */
export interface ListOptions {
  repositoryPattern?: string;
  signal?: AbortSignal;
}

/**
 * One registry, seen as a place artifacts come from and go to. Every adapter implements it
 * over the Distribution API (plus the product's own API where it has one, e.g. Harbor's for
 * listing and creating projects); Berth's own registry implements it in-process
 * (replication/engine/local.ts), so that the copier copies from any side to any side.
 */
export interface RegistryAdapter {
  info(): RegistryInfo;
  /** Checks that the endpoint answers and accepts the credential; throws RemoteRegistryError. */
  ping(signal?: AbortSignal): Promise<void>;
  /** Repository names the credential can see (all namespaces), e.g. for pull-based replication. */
  listRepositories(options?: ListOptions): Promise<string[]>;
  listTags(repository: string, signal?: AbortSignal): Promise<string[]>;
  /** The artifacts of the repositories matching `options` (tags resolved to digests). */
  listArtifacts(options?: ListOptions): Promise<SourceArtifact[]>;
  /** `accept` defaults to every manifest type Berth knows. Null when the remote has no such manifest. */
  headManifest(repository: string, reference: string, signal?: AbortSignal): Promise<ManifestHead | null>;
  getManifest(repository: string, reference: string, signal?: AbortSignal): Promise<FetchedManifest | null>;
  /** Stores a manifest under a tag or its digest; returns the digest the remote gives it. */
  putManifest(repository: string, reference: string, mediaType: string, bytes: Buffer, signal?: AbortSignal): Promise<string>;
  /** Deletes a manifest by digest (a tag is resolved first). Not found is not an error. */
  deleteManifest(repository: string, reference: string, signal?: AbortSignal): Promise<void>;
  blobExists(repository: string, digest: string, signal?: AbortSignal): Promise<boolean>;
  getBlob(repository: string, digest: string, signal?: AbortSignal): Promise<FetchedBlob>;
  /**
   * Uploads a blob from a stream. `chunkSize` (bytes) uploads with PATCH chunks of that
   * size (copy by chunk); otherwise one streamed PUT/PATCH. Never buffers the whole blob.
   */
  putBlob(repository: string, digest: string, blob: FetchedBlob, options?: { chunkSize?: number; signal?: AbortSignal }): Promise<void>;
  /** Cross-repository mount; false when the remote would rather have the bytes. */
  mountBlob(repository: string, digest: string, fromRepository: string, signal?: AbortSignal): Promise<boolean>;
  /** Makes pushing to `repository` possible (Harbor/Berth: create its project); no-op elsewhere. */
  prepareRepository?(repository: string, signal?: AbortSignal): Promise<void>;
  /** `info()` completed with what takes a call (Harbor: its global labels as the label filter's values), for /registries/{id}/info. */
  describe?(signal?: AbortSignal): Promise<RegistryInfo>;
}

// Replication policies (Harbor's ReplicationPolicy, camel case inside Berth).

export type TriggerType = 'manual' | 'scheduled' | 'event_based';

export interface ReplicationFilter {
  type: 'name' | 'tag' | 'label' | 'resource';
  /** name/tag: a doublestar pattern; label: a label name (or names); resource: 'image' | 'artifact'. */
  value: string | string[];
  /** tag and label: 'matches' (default) or 'excludes'. */
  decoration?: 'matches' | 'excludes';
}

export interface ReplicationPolicy {
  id: number;
  name: string;
  description: string;
  /** null: Berth itself (push-based). */
  srcRegistryId: number | null;
  /** null: Berth itself (pull-based). */
  destRegistryId: number | null;
  destNamespace: string;
  /** Harbor's flattening: -1 flatten all, 0 keep the path, n remove n levels (default -1 in Harbor's portal, 0 in its API when absent). */
  destNamespaceReplaceCount: number;
  trigger: { type: TriggerType; cron?: string };
  filters: ReplicationFilter[];
  replicateDeletion: boolean;
  override: boolean;
  enabled: boolean;
  /** KB/s per task; 0 or -1 unlimited. */
  speed: number;
  copyByChunk: boolean;
  singleActiveReplication: boolean;
  creationTime: string;
  updateTime: string;
}

/** Job types of replication (payloads below). */
export const replicationJobTypes = {
  /** Plans an execution: lists the source, filters, writes the tasks and enqueues them. */
  execution: 'REPLICATION',
  /** Copies or deletes one artifact. */
  task: 'REPLICATION_TASK',
} as const;

export interface ReplicationJobPayload {
  policyId: number;
  /** Set for manual and event-based runs (the row exists); a scheduled run creates its execution. */
  executionId?: number;
  trigger: TriggerType;
  /** Event-based runs: the one artifact the event names (pushed, or deleted when `deleted`). */
  resource?: { repository: string; digest: string; mediaType: string; tags: string[]; deleted: boolean; labels?: string[] };
}

export interface ReplicationTaskPayload {
  taskId: number;
}

/** Harbor's replication statuses on the API. */
export type ExecutionStatus = 'InProgress' | 'Succeed' | 'Failed' | 'Stopped';
export type TaskStatus = 'Pending' | 'InProgress' | 'Succeed' | 'Failed' | 'Stopped';

/** What a task does; stored as JSON with the task (the engine's to read). */
export interface TaskSpec {
  operation: 'copy' | 'deletion';
  resourceType: 'image' | 'artifact';
  /** e.g. library/nginx:[1.27,latest] or library/nginx@sha256:… (Harbor's display form). */
  srcResource: string;
  dstResource: string;
  /** The engine's own details (source repository, digest, tags, destination repository). */
  detail: unknown;
}
