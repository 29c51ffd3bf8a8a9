import type { Transaction } from 'kysely';
import type { Database } from '../db/types.js';
import { writeEvent } from '../events/outbox.js';
import { nowIso } from '../lib/clock.js';
import { webhookEventTypes, type QuotaEventPayload } from '../webhooks/types.js';

/** What a quota event says about the push: who, into which repository, and the manifest when it was one. */
export interface QuotaEventSubject {
  username?: string;
  /** The push as the audit log names it: `<repository>:<tags>` or `<repository>@<digest>`. */
  resource?: string;
  /** A manifest push: its digest, media type and tags. Absent for a blob push. */
  manifest?: { digest: string; mediaType: string; tags: string[] };
}

/** The repository named by an audit resource (a repository name holds neither ':' nor '@'). */
export function repositoryOf(resource: string): string {
  return resource.split(/[:@]/, 1)[0];
}

/**
 * The payload of QUOTA_EXCEED or QUOTA_WARNING. Harbor names an artifact only for a manifest
 * push (digest, and the tag pushed by); a blob push's event has no resource, so `digest` is left out.
 */
export function quotaEventPayload(
  projectId: number,
  repository: string,
  subject: QuotaEventSubject | undefined,
  figures: { message: string; used: number; hard: number },
): QuotaEventPayload {
  const manifest = subject?.manifest;
  return {
    project_id: projectId,
    repository,
    ...(manifest && { digest: manifest.digest, tag: manifest.tags[0] ?? null, media_type: manifest.mediaType }),
    message: figures.message,
    used_bytes: figures.used,
    hard_bytes: figures.hard,
    ...(subject?.username !== undefined && { operator: subject.username }),
    occurred_at: nowIso(),
  };
}

export async function writeQuotaEvent(
  tx: Transaction<Database>,
  type: typeof webhookEventTypes.quotaExceed | typeof webhookEventTypes.quotaWarning,
  payload: QuotaEventPayload,
): Promise<void> {
  await writeEvent(tx, type, payload);
}
