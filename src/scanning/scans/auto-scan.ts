import type { Transaction } from 'kysely';
import type { Database } from '../../db/types.js';
import { EventTypes, type OutboxEvent } from '../../events/outbox.js';
import type { JobQueue } from '../../jobs/queue.js';
import type { JobContext } from '../../jobs/runner.js';
import type { ScanType } from './ports.js';
import type { ScanService } from './service.js';
import type { ScanTargets } from './targets.js';

export const autoScanSubscriber = 'scanning.on-push';
/** The job a push of a scannable artifact gets: it writes the reports and enqueues the IMAGE_SCAN jobs. */
export const scanOnPushJobType = 'SCAN_ON_PUSH';

export interface ScanOnPushPayload {
  artifactId: number;
  scanTypes: ScanType[];
  operator: string;
  tag?: string;
}

interface PushPayload {
  project_id: number;
  artifact_id: number;
  repository: string;
  tags?: string[];
  operator?: string;
}

/**
 * Scan on push and SBOM on push (project metadata `auto_scan`, `auto_sbom_generation`): an
 * outbox subscriber that, in the transaction handing it the PUSH_ARTIFACT event, enqueues a
 * SCAN_ON_PUSH job (exactly once per push; the subscriber reads only through that
 * transaction). Accessories (signatures, SBOMs — the ones scans attach included), charts and
 * other non-image artifacts are skipped; the job skips a digest this scanner already has a
 * report of (an index pushed after its children).
 */
export function autoScanHandler(queue: JobQueue, targets: ScanTargets) {
  return async (event: OutboxEvent, tx: Transaction<Database>): Promise<void> => {
    if (event.type !== EventTypes.artifactPushed) return;
    const push = event.payload as PushPayload;
    if (typeof push?.project_id !== 'number' || typeof push.artifact_id !== 'number') return;
    const [autoScan, autoSbom] = await Promise.all([
      targets.projectSetting(push.project_id, 'auto_scan', tx),
      targets.projectSetting(push.project_id, 'auto_sbom_generation', tx),
    ]);
    if (autoScan !== 'true' && autoSbom !== 'true') return;
    const artifact = await targets.byId(push.artifact_id, tx);
    if (!artifact || artifact.accessoryOf !== null || artifact.type !== 'IMAGE') return;
    const scanTypes: ScanType[] = [
      ...(autoScan === 'true' ? ['vulnerability' as const] : []),
      ...(autoSbom === 'true' ? ['sbom' as const] : []),
    ];
    const payload: ScanOnPushPayload = {
      artifactId: artifact.id,
      scanTypes,
      operator: push.operator || 'system',
      ...(push.tags?.[0] && { tag: push.tags[0] }),
    };
    await queue.enqueue(scanOnPushJobType, payload, { tx });
  };
}

/** The SCAN_ON_PUSH job. */
export function scanOnPushHandler(scans: ScanService, targets: ScanTargets) {
  return async (ctx: JobContext<ScanOnPushPayload>): Promise<void> => {
    const artifact = await targets.byId(ctx.payload.artifactId);
    if (!artifact) return void (await ctx.log(`artifact ${ctx.payload.artifactId} was deleted before its scan`));
    for (const scanType of ctx.payload.scanTypes) {
      const jobs = await scans.scan(artifact, {
        scanType,
        operator: ctx.payload.operator,
        tag: ctx.payload.tag,
        quiet: true,
        skipScanned: true,
      });
      await ctx.log(
        `${scanType} of ${artifact.repository}@${artifact.digest}: ${jobs.length} scan job(s) enqueued (${jobs.join(', ') || 'none'})`,
      );
    }
  };
}
