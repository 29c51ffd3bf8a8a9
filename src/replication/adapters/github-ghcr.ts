/**
 * The `github-ghcr` adapter: GitHub's container registry (ghcr.io) through the v2 API with
 * its Bearer token flow (a GitHub user name and a personal access token with
 * `read:packages`/`write:packages` as the credential). ghcr.io has no catalog, so as a
 * source it lists only the repositories the name filter names outright
 * (`owner/image`, `owner/{a,b}`), as Harbor's adapter does.
 */
import { RemoteRegistryError, type RegistryEndpoint, type RegistryInfo } from '../types.js';
import { basicInfo, DistributionAdapter, type AdapterOptions } from './distribution.js';

export class GithubGhcrAdapter extends DistributionAdapter {
  constructor(endpoint: RegistryEndpoint, options: AdapterOptions = {}) {
    super(endpoint, options);
  }

  override info(): RegistryInfo {
    return basicInfo(
      'github-ghcr',
      'GitHub Container Registry (ghcr.io); lists only repositories named in the name filter',
      ['image'],
      false,
    );
  }

  protected override async catalog(): Promise<string[]> {
    throw new RemoteRegistryError(
      'failed',
      'ghcr.io has no catalog: name the repositories in the name filter (e.g. owner/image or owner/{a,b})',
    );
  }
}
