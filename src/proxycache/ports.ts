import type { Logger } from 'pino';
import type { Project } from '../db/types.js';
import type { PutManifestOptions, PutManifestResult } from '../registry/service.js';
import type { UploadBody } from '../registry/uploads.js';
import type { RegistryAdapter, RegistryEndpoint } from '../replication/types.js';

/** What the proxy cache needs from the projects feature. */
export interface ProxyProjects {
  findByName(name: string): Promise<Project | undefined>;
  storedMetadata(projectId: number): Promise<Record<string, string>>;
  onChanged(listener: (projectId: number) => void): void;
  countByRegistry(registryId: number): Promise<number>;
}

/** What it needs from the registries feature (replication/registries: RegistryEndpointService). */
export interface ProxyRegistries {
  endpoint(id: number): Promise<RegistryEndpoint | undefined>;
  /** Harbor's Registry object (credential secret never included), or null. */
  view(id: number): Promise<unknown>;
  onUsageCheck(check: (registryId: number) => Promise<string | null>): void;
}

/** What it needs from the adapters (replication/adapters/index.ts). */
export interface ProxyAdapters {
  create(endpoint: RegistryEndpoint): RegistryAdapter;
  isType(type: string): boolean;
}

/** What it needs from the /v2 data path (RegistryService), to store what it fetched as any push. */
export interface ProxyRegistry {
  localManifest(repositoryName: string, reference: string): Promise<{ digest: string; mediaType: string } | undefined>;
  getManifest(
    repositoryName: string,
    reference: string,
    puller: string | null,
  ): Promise<{ digest: string; mediaType: string; bytes: Uint8Array }>;
  putManifest(
    repositoryName: string,
    reference: string,
    bytes: Uint8Array,
    contentType: string,
    actor: string,
    extraTags?: string[],
    options?: PutManifestOptions,
  ): Promise<PutManifestResult>;
  blobSize(repositoryName: string, digest: string): Promise<number>;
}

/** What it needs from uploads (UploadService): a verified, quota-checked publish, and mounts. */
export interface ProxyUploads {
  monolithic(repositoryName: string, digest: string, body: UploadBody, actor?: string): Promise<string>;
  /** Bytes the tee has hashed on their way: stored without hashing again, published only when `verified` is the digest. */
  storeVerified(
    repositoryName: string,
    digest: string,
    body: UploadBody & { length: number },
    verified: Promise<string>,
    actor?: string,
  ): Promise<string>;
  mount(repositoryName: string, digest: string, from: string, actor?: string): Promise<boolean>;
  mountSource(digest: string, mayPull: (repositoryName: string) => Promise<boolean>): Promise<string | null>;
}

export interface ProxyCacheOptions {
  /** proxy_cache.freshness_seconds: the window of a project without its own setting. */
  freshnessSeconds: number;
  /** How long a blob fetch's lease lasts without being extended (the fetching instance extends it). */
  leaseMs: number;
  /** How long a project's proxy settings are kept before they are read again (changes on this instance drop them at once). */
  projectCacheMs: number;
  /** How long a registry endpoint (and its adapter) is kept before it is read again. */
  endpointCacheMs: number;
  /** A name for this instance in proxy_fetches rows. */
  instance: string;
  logger: Logger;
}

/** Harbor's PERMITTED_REGISTRY_TYPES_FOR_PROXY_CACHE as its chart sets it; Berth allows those it has an adapter for. */
export const proxyableTypes = [
  'docker-hub',
  'harbor',
  'azure-acr',
  'aws-ecr',
  'google-gcr',
  'quay',
  'docker-registry',
  'github-ghcr',
  'jfrog-artifactory',
];

/** Who the audit log and events name for what the proxy cache stores. */
export const proxyActor = 'system:proxy-cache';
