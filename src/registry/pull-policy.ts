import { LRUCache } from 'lru-cache';
import type { Identity } from '../auth/identity.js';

/** One manifest about to be handed out on /v2, and who asks. */
export interface PullCheck {
  projectId: number;
  projectName: string;
  repository: string;
  repositoryId: number;
  artifactId: number;
  digest: string;
  mediaType: string;
  identity: Identity;
  userAgent: string;
  /** The project's stored metadata (prevent_vul, severity, enable_content_trust_cosign, …). */
  metadata: Record<string, string>;
}

/**
 * A project policy that may refuse a pull: vulnerability prevention (scanning), and signature
 * policies later. `enabled` is asked first, from cached metadata, so a project without the
 * policy costs nothing more; `check` throws the refusal (412 PROJECTPOLICYVIOLATION).
 */
export interface PullPolicy {
  name: string;
  enabled(metadata: Record<string, string>): boolean;
  check(pull: PullCheck): Promise<void>;
}

/**
 * Whether the puller's token may push to the repository: Harbor lets such a cosign or notation
 * client read a manifest past a pull policy (it reads the manifest it is about to sign).
 */
export function mayPushTo(identity: Identity, repository: string): boolean {
  return (
    identity.kind === 'token' &&
    identity.access.some((c) => c.type === 'repository' && c.name === repository && (c.actions.includes('push') || c.actions.includes('*')))
  );
}

/** Who is pulling, as the /v2 route knows it. */
export interface Puller {
  identity: Identity;
  userAgent: string;
}

/**
 * The one place /v2 asks pull policies. A project's metadata is kept for `ttlMs`, so that
 * GETs of a project with no policy on make no query; a change made through this instance
 * drops the entry at once (`forget`), other instances see it within `ttlMs`.
 */
export class PullPolicyGate {
  readonly policies: PullPolicy[] = [];
  private readonly metadataCache: LRUCache<number, Record<string, string>>;

  constructor(
    private readonly metadataOf: (projectId: number) => Promise<Record<string, string>>,
    ttlMs = 5000,
  ) {
    this.metadataCache = new LRUCache({ max: 10_000, ttl: ttlMs });
  }

  forget(projectId: number): void {
    this.metadataCache.delete(projectId);
  }

  async check(pull: Omit<PullCheck, 'metadata'>): Promise<void> {
    if (this.policies.length === 0) return;
    let metadata = this.metadataCache.get(pull.projectId);
    if (!metadata) {
      metadata = await this.metadataOf(pull.projectId);
      this.metadataCache.set(pull.projectId, metadata);
    }
    for (const policy of this.policies) {
      if (policy.enabled(metadata)) await policy.check({ ...pull, metadata });
    }
  }
}
