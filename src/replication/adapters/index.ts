/**
 * The adapter types Berth can replicate with and proxy for, Harbor's names for them
 * (`/replication/adapters`, `/replication/adapterinfos`), and `createAdapter`.
 */
import type { RegistryAdapter, RegistryEndpoint } from '../types.js';
import type { AdapterOptions } from './distribution.js';
import { DockerHubAdapter } from './docker-hub.js';
import { DockerRegistryAdapter } from './docker-registry.js';
import { GithubGhcrAdapter } from './github-ghcr.js';
import { HarborAdapter } from './harbor.js';

/** Harbor's RegistryProviderInfo (the /replication/adapterinfos value of one type), in Harbor's field names. */
export interface AdapterInfo {
  endpoint_pattern?: {
    endpoint_type: 'EndpointPatternTypeStandard' | 'EndpointPatternTypeFix' | 'EndpointPatternTypeList';
    endpoints?: Array<{ key: string; value: string }>;
  };
  credential_pattern?: {
    access_key_type: string;
    access_key_data: string;
    access_secret_type: string;
    access_secret_data: string;
  };
}

interface AdapterType {
  create(endpoint: RegistryEndpoint, options: AdapterOptions): RegistryAdapter;
  /** Harbor lists a type in /replication/adapterinfos only when it has a pattern. */
  info?: AdapterInfo;
}

const types: Record<string, AdapterType> = {
  'docker-hub': {
    create: (endpoint, options) => new DockerHubAdapter(endpoint, options),
    info: {
      endpoint_pattern: {
        endpoint_type: 'EndpointPatternTypeFix',
        endpoints: [{ key: 'hub.docker.com', value: 'https://hub.docker.com' }],
      },
    },
  },
  'docker-registry': { create: (endpoint, options) => new DockerRegistryAdapter(endpoint, options) },
  'github-ghcr': {
    create: (endpoint, options) => new GithubGhcrAdapter(endpoint, options),
    info: { endpoint_pattern: { endpoint_type: 'EndpointPatternTypeFix', endpoints: [{ key: 'ghcr.io', value: 'https://ghcr.io' }] } },
  },
  harbor: { create: (endpoint, options) => new HarborAdapter(endpoint, options) },
};

/** The adapter types, sorted (Harbor's /replication/adapters). */
export function adapterTypes(): string[] {
  return Object.keys(types).sort();
}

export function isAdapterType(type: string): boolean {
  return Object.hasOwn(types, type);
}

/** Harbor's /replication/adapterinfos: the types with a fixed endpoint or credential pattern. */
export function adapterInfos(): Record<string, AdapterInfo> {
  const infos: Record<string, AdapterInfo> = {};
  for (const name of adapterTypes()) {
    const info = types[name].info;
    if (info) infos[name] = structuredClone(info);
  }
  return infos;
}

/** An adapter for the endpoint (cheap: connections and tokens are shared); throws for an unknown type. */
export function createAdapter(endpoint: RegistryEndpoint, options: AdapterOptions = {}): RegistryAdapter {
  const type = types[endpoint.type];
  if (!type) throw new Error(`unknown registry adapter type "${endpoint.type}"; Berth knows ${adapterTypes().join(', ')}`);
  return type.create(endpoint, options);
}

export { RemoteConnections } from './http.js';
export { sharedConnections } from './v2-client.js';
export type { AdapterOptions } from './distribution.js';
export { DockerHubAdapter, dockerHubName } from './docker-hub.js';
export { HarborAdapter } from './harbor.js';
