import { webhookEventTypes } from '../types.js';
import type {
  ArtifactEventPayload,
  QuotaEventPayload,
  RenderContext,
  ReplicationEventPayload,
  RetentionEventPayload,
  ScanEventPayload,
} from '../types.js';

/**
 * Harbor's notification payload (src/pkg/notifier/model/event.go), built the way Harbor's
 * webhook handlers build it (src/controller/event/handler/webhook/...). Keys are inserted in
 * the Go structs' field order and absent where Harbor's `omitempty` leaves them out, so
 * JSON.stringify gives the shape Harbor sends.
 */
export interface HarborPayload {
  type: string;
  occur_at: number;
  operator: string;
  event_data: Record<string, unknown>;
}

export function harborPayload(ctx: RenderContext): HarborPayload {
  const p = ctx.event.payload ?? {};
  return {
    type: ctx.event.type,
    occur_at: unixSeconds(p.occurred_at ?? ctx.event.createdAt),
    operator: typeof p.operator === 'string' ? p.operator : '',
    event_data: eventData(ctx),
  };
}

function eventData(ctx: RenderContext): Record<string, unknown> {
  switch (ctx.event.type) {
    case webhookEventTypes.pushArtifact:
    case webhookEventTypes.pullArtifact:
    case webhookEventTypes.deleteArtifact:
      return artifactData(ctx, ctx.event.payload as ArtifactEventPayload);
    case webhookEventTypes.scanningCompleted:
    case webhookEventTypes.scanningFailed:
    case webhookEventTypes.scanningStopped:
      return scanData(ctx, ctx.event.payload as ScanEventPayload);
    case webhookEventTypes.quotaExceed:
    case webhookEventTypes.quotaWarning:
      return quotaData(ctx, ctx.event.payload as QuotaEventPayload);
    case webhookEventTypes.replication:
      return { replication: replicationData(ctx, ctx.event.payload as ReplicationEventPayload) };
    case webhookEventTypes.tagRetention:
      return { retention: retentionData(ctx, ctx.event.payload as RetentionEventPayload) };
    default:
      throw new Error(`no webhook payload for event type ${ctx.event.type}`);
  }
}

/** PUSH/PULL/DELETE_ARTIFACT: the first tag (or the digest) is the resource's reference. */
function artifactData(ctx: RenderContext, p: ArtifactEventPayload): Record<string, unknown> {
  const tags = p.tags ?? (p.tag ? [p.tag] : []);
  const reference = tags.length > 0 ? tags[0] : p.digest;
  return {
    resources: [{ digest: p.digest, tag: reference, resource_url: resourceUrl(ctx, p.repository, reference) }],
    repository: repository(ctx, p.repository, p),
  };
}

/** SCANNING_*: the scan type, and the summaries when the subscriber added them to the payload. */
function scanData(ctx: RenderContext, p: ScanEventPayload & { scan_overview?: object; sbom_overview?: object }): Record<string, unknown> {
  const reference = p.tag || p.digest;
  const resource: Record<string, unknown> = { digest: p.digest };
  if (p.tag) resource.tag = p.tag;
  resource.resource_url = resourceUrl(ctx, p.repository, reference);
  if (nonEmpty(p.scan_overview)) resource.scan_overview = p.scan_overview;
  if (nonEmpty(p.sbom_overview)) resource.sbom_overview = p.sbom_overview;
  const scan: Record<string, unknown> = {};
  if (p.scan_type) scan.scan_type = p.scan_type;
  return { resources: [resource], repository: repository(ctx, p.repository, p), scan };
}

/** QUOTA_EXCEED / QUOTA_WARNING: the refusal or warning in custom_attributes.Details. */
function quotaData(ctx: RenderContext, p: QuotaEventPayload): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  if (p.tag || p.digest) {
    const resource: Record<string, unknown> = {};
    if (p.digest) resource.digest = p.digest;
    if (p.tag) resource.tag = p.tag;
    data.resources = [resource];
  }
  data.repository = repository(ctx, p.repository, p);
  data.custom_attributes = { Details: p.message };
  return data;
}

/** Harbor's job statuses, which its replication webhook reports (Berth's tasks say Succeed/Failed). */
const jobStatusOf: Record<string, string> = { Succeed: 'Success', Failed: 'Error', Stopped: 'Stopped' };
/** Harbor's execution triggers (pkg/task). */
const triggerOf: Record<string, string> = { manual: 'MANUAL', scheduled: 'SCHEDULE', schedule: 'SCHEDULE', event_based: 'EVENT' };

/** REPLICATION: one finished task; the local side is this registry, the other the remote registry. */
function replicationData(ctx: RenderContext, p: ReplicationEventPayload & Optional): Record<string, unknown> {
  const status = jobStatusOf[p.status] ?? p.status;
  const srcNamespace = splitNamespace(p.src_resource)[0];
  const destNamespace = splitNamespace(p.dest_resource)[0];
  const pushing = p.direction === 'push';
  // registry_type and endpoint are always there in Harbor's ReplicationResource; the rest only when set.
  const remote = (namespace: string) => ({
    ...omitEmpty({ registry_name: p.registry?.name }),
    registry_type: p.registry?.type ?? '',
    endpoint: p.registry?.url ?? '',
    ...omitEmpty({ namespace }),
  });
  const local = (namespace: string) => ({ registry_type: 'harbor', endpoint: ctx.externalUrl, ...omitEmpty({ namespace }) });

  const replication: Record<string, unknown> = omitEmpty({
    harbor_hostname: hostnameOf(ctx.registryHost),
    job_status: status,
    description: p.description,
    artifact_type: p.resource_type,
    authentication_type: p.authentication_type,
    override_mode: p.override === true ? true : undefined,
    trigger_type: triggerOf[p.trigger] ?? p.trigger?.toUpperCase(),
    policy_creator: p.policy_creator,
    execution_timestamp: p.execution_started_at ? unixSeconds(p.execution_started_at) : undefined,
  });
  replication.src_resource = pushing ? local(srcNamespace) : remote(srcNamespace);
  replication.dest_resource = pushing ? remote(destNamespace) : local(destNamespace);
  // The local side's repository (within its project) and first tag, as retention's name_tag
  // reads; Harbor's reads `<repository> [N item(s) in total]`, its task's resource name.
  const name = splitNamespace(p.repository)[1];
  const artifact = {
    type: p.resource_type,
    status,
    name_tag: p.tags && p.tags.length > 0 ? `${name}:${p.tags[0]}` : `${name}@${p.digest}`,
    references: p.tags && p.tags.length > 0 ? p.tags : [p.digest],
  };
  if (status === 'Success') replication.successful_artifact = [artifact];
  if (status === 'Error') replication.failed_artifact = [artifact];
  if (p.execution_id) replication.execution_id = p.execution_id;
  if (p.task_id) replication.task_id = p.task_id;
  return replication;
}

/** TAG_RETENTION: Harbor reports a finished (non dry-run) retention with what it deleted. */
function retentionData(ctx: RenderContext, p: RetentionEventPayload & Optional): Record<string, unknown> {
  const result = /^succe/i.test(p.status) ? 'SUCCESS' : p.status.toUpperCase();
  const retention: Record<string, unknown> = {
    total: p.total,
    retained: p.retained,
    ...omitEmpty({ harbor_hostname: hostnameOf(ctx.registryHost), project_name: ctx.project.name, retention_policy_id: p.policy_id }),
  };
  if (Array.isArray(p.rules) && p.rules.length > 0) retention.retention_rule = p.rules;
  retention.result = result;
  const deleted = Array.isArray(p.deleted) ? p.deleted : [];
  if (deleted.length > 0) {
    retention.deleted_artifact = deleted.map((d) => {
      const name = withinProject(ctx, d.repository);
      return {
        type: 'image',
        status: result,
        name_tag: d.tags.length > 0 ? `${name}:${d.tags[0]}` : `${name}@${d.digest}`,
        // Harbor's ArtifactInfo.References has no omitempty and retention never sets it.
        references: null,
      };
    });
  }
  return retention;
}

/** Fields a producer may add beyond the shared payload shapes; each is left out when absent, as Harbor's omitempty does. */
interface Optional {
  description?: string;
  authentication_type?: string;
  override?: boolean;
  policy_creator?: string;
  execution_started_at?: string;
  policy_id?: number;
  rules?: unknown[];
}

function repository(ctx: RenderContext, fullName: string, p: object): Record<string, unknown> {
  const createdAt = (p as { repository_created_at?: string }).repository_created_at;
  const repo: Record<string, unknown> = {};
  if (createdAt) repo.date_created = unixSeconds(createdAt);
  repo.name = repositoryName(fullName);
  repo.namespace = ctx.project.name;
  repo.repo_full_name = fullName;
  repo.repo_type = ctx.project.public ? 'public' : 'private';
  return repo;
}

/** `<host>/<repository>:<tag>`, or `@<digest>` when the reference is one (Harbor's BuildImageResourceURL). */
function resourceUrl(ctx: RenderContext, repositoryFullName: string, reference: string): string {
  // A tag never holds a colon; a digest always does.
  const separator = reference.includes(':') ? '@' : ':';
  return `${ctx.registryHost}/${repositoryFullName}${separator}${reference}`;
}

/** The repository's name within its project (everything after the first slash). */
function repositoryName(fullName: string): string {
  const slash = fullName.indexOf('/');
  return slash < 0 ? '' : fullName.slice(slash + 1);
}

/** A repository named with or without its project, as Harbor's retention names it: without. */
function withinProject(ctx: RenderContext, repository: string): string {
  const prefix = `${ctx.project.name}/`;
  return repository.startsWith(prefix) ? repository.slice(prefix.length) : repository;
}

function splitNamespace(resource: string): [string, string] {
  const slash = resource.indexOf('/');
  return slash < 0 ? ['', resource] : [resource.slice(0, slash), resource.slice(slash + 1)];
}

/** Harbor's harbor_hostname: the external host without its port. */
function hostnameOf(host: string): string {
  try {
    return new URL(`http://${host}`).hostname;
  } catch {
    return host.split(':')[0];
  }
}

function unixSeconds(iso: string): number {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? 0 : Math.floor(ms / 1000);
}

function nonEmpty(value: unknown): value is object {
  return typeof value === 'object' && value !== null && Object.keys(value).length > 0;
}

function omitEmpty(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields))
    if (value !== undefined && value !== null && value !== '' && value !== 0) out[key] = value;
  return out;
}
