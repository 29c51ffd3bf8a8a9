import type { ProviderMetadata } from '../types.js';
import type { Provider } from './driver.js';
import { dragonfly } from './dragonfly.js';
import { kraken } from './kraken.js';

export type { Driver, Provider } from './driver.js';
export { ProviderError } from './client.js';

const providers: Record<string, Provider> = { dragonfly, kraken };

/** The providers Berth has drivers for, by id (Harbor's /p2p/preheat/providers, sorted by id). */
export function providerList(): ProviderMetadata[] {
  return Object.values(providers)
    .map((p) => p.metadata)
    .sort((a, b) => a.id.localeCompare(b.id));
}

export function providerFor(vendor: string): Provider | undefined {
  return Object.hasOwn(providers, vendor) ? providers[vendor] : undefined;
}
