import { randomUUID } from 'node:crypto';
import type { Instance, PreheatImage, PreheatStatus } from '../types.js';
import { ProviderClient } from './client.js';
import type { Driver, Provider } from './driver.js';

/*
 * Kraken (uber/kraken), through its proxy as Kraken's own documentation describes the Harbor
 * integration (docs/INTEGRATEWITHHARBOR.md): the proxy takes registry notifications at
 * POST /registry/notifications, in CNCF Distribution's notification format ({"events": [{"id",
 * "timestamp", "action": "push", "target": {"mediaType", "digest", "repository", "url",
 * "tag"}}]}), keeps the push events whose target is an image manifest, and has its origins fetch
 * that manifest's blobs from their backend. It answers 200 at once and reports no progress, so a
 * preheat Kraken accepted is done as far as Berth can tell. GET /health answers "OK".
 *
 * Kraken's filter keeps image manifests only, so an index is sent as one event per image
 * manifest it lists (Harbor sends the index's digest with a Docker manifest media type, which
 * Kraken then fails to parse as an image).
 */

const notificationsPath = '/registry/notifications';
const healthPath = '/health';

class KrakenDriver implements Driver {
  private readonly client: ProviderClient;

  constructor(instance: Instance) {
    this.client = new ProviderClient(instance.endpoint, {
      authMode: instance.authMode,
      authInfo: instance.authInfo,
      insecure: instance.insecure,
    });
  }

  async health(): Promise<void> {
    await this.client.get(healthPath);
  }

  async preheat(image: PreheatImage): Promise<PreheatStatus> {
    const targets = image.children.length > 0 ? image.children : [{ digest: image.digest, mediaType: image.mediaType }];
    const timestamp = new Date().toISOString();
    const events = targets.map((t) => ({
      id: randomUUID(),
      timestamp,
      action: 'push',
      target: {
        mediaType: t.mediaType,
        digest: t.digest,
        repository: image.repository,
        url: image.url,
        tag: image.tag,
      },
    }));
    await this.client.post(notificationsPath, { events });
    return {
      taskId: events[0].id,
      status: 'Success',
      message: `Kraken was notified of ${events.length} manifest(s): ${targets.map((t) => t.digest).join(', ')}`,
    };
  }

  async progress(taskId: string): Promise<PreheatStatus> {
    // Kraken reports nothing after it took the notification.
    return { taskId, status: 'Success' };
  }

  close(): void {
    this.client.close();
  }
}

export const kraken: Provider = {
  metadata: {
    id: 'kraken',
    name: 'Kraken',
    icon: 'https://github.com/uber/kraken/blob/master/assets/kraken-logo-color.svg',
    maintainers: [],
    version: 'proxy registry notifications',
    source: 'https://github.com/uber/kraken',
  },
  create: (instance) => new KrakenDriver(instance),
  checkExtraAttrs: () => null,
};
