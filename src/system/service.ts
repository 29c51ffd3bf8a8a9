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
  selfRegistration: boolean;
  projectCreationRestriction: 'everyone' | 'adminonly';
}

export class SystemService {
  constructor(
    readonly facts: SystemFacts,
    private readonly checks: Record<string, HealthCheck>,
  ) {}

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
