import type { SettingsReader } from '../settings/settings.js';

/** A component whose health /health reports: it throws when unhealthy. */
export type HealthCheck = () => Promise<void>;

export interface ComponentHealth {
  name: string;
  status: 'healthy' | 'unhealthy';
  error?: string;
}

export interface SystemFacts {
  version: string;
  externalUrl: string | undefined;
  storageDriver: string;
  /** The system settings, read per request so a change shows at once. */
  settings: SettingsReader;
}

/** The Storage definition of Harbor's API: bytes. */
export interface Volume {
  total: number;
  free: number;
}

export class SystemService {
  constructor(
    readonly facts: SystemFacts,
    private readonly checks: Record<string, HealthCheck>,
    /** The blob store's volume; null when blobs are not on a volume Berth can measure (a bucket). */
    private readonly capacity: () => Promise<Volume | null> = async () => null,
  ) {}

  /** Size and free space of the volume holding the blob store; no volume for a bucket. */
  async volumes(): Promise<{ storage: Volume[] }> {
    const volume = await this.capacity();
    return { storage: volume ? [volume] : [] };
  }

  /** Every component's health, checked concurrently; the whole is healthy only when all are. */
  async health(): Promise<{ status: 'healthy' | 'unhealthy'; components: ComponentHealth[] }> {
    const components = await Promise.all(
      Object.entries(this.checks).map(async ([name, check]): Promise<ComponentHealth> => {
        try {
          await check();
          return { name, status: 'healthy' };
        } catch (err) {
          return { name, status: 'unhealthy', error: (err as Error).message };
        }
      }),
    );
    return { status: components.every((c) => c.status === 'healthy') ? 'healthy' : 'unhealthy', components };
  }
}
