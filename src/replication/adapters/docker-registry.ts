/**
 * The `docker-registry` adapter: CNCF Distribution (Debian's `docker-registry`) and any
 * registry that serves the v2 API with a catalog. Everything goes through /v2: the catalog
 * and tag lists for listing, HEAD/GET/PUT/DELETE for content, mounts and chunked uploads.
 */
import type { RegistryEndpoint } from '../types.js';
import { DistributionAdapter, type AdapterOptions } from './distribution.js';

export class DockerRegistryAdapter extends DistributionAdapter {
  constructor(endpoint: RegistryEndpoint, options: AdapterOptions = {}) {
    super(endpoint, options);
  }
}
