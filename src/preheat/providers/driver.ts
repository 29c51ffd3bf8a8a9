import type { Instance, PreheatImage, PreheatStatus, ProviderMetadata } from '../types.js';

/**
 * One P2P engine as Berth drives it (Harbor's provider.Driver): a health check, a preheat
 * request, and the progress of a preheat it accepted. Every call throws a ProviderError when
 * the engine cannot be reached or refuses.
 */
export interface Driver {
  /** Resolves when the engine answers its health endpoint. */
  health(signal?: AbortSignal): Promise<void>;
  /** Asks the engine to preheat one artifact under one tag. */
  preheat(image: PreheatImage): Promise<PreheatStatus>;
  /** Where a preheat the engine accepted stands. */
  progress(taskId: string): Promise<PreheatStatus>;
  close(): void;
}

export interface Provider {
  metadata: ProviderMetadata;
  create(instance: Instance): Driver;
  /** Checks a policy's extra_attrs for this vendor; returns an error message or null. */
  checkExtraAttrs(attrs: Record<string, unknown>): string | null;
}
