import type { Instance, PreheatImage, PreheatStatus } from '../types.js';
import { ProviderClient, ProviderError } from './client.js';
import type { Driver, Provider } from './driver.js';

/*
 * Dragonfly (d7y.io), through its manager's open API as its documentation describes it
 * ("Preheat" under the open API guides): POST /oapi/v1/jobs with {"type": "preheat", "args":
 * {"type": "image", "url": <manifest URL>, "headers": {…}, "scope": …}, "scheduler_cluster_ids":
 * […]} creates a job and answers it ({"id", "state": "PENDING", …}); GET /oapi/v1/jobs/{id}
 * answers its state (PENDING, SUCCESS, FAILURE) and, once it ended, its result per scheduler
 * cluster. The instance's credential is a personal access token with the job scope (auth mode
 * OAUTH: "Authorization: Bearer <token>"). GET /healthy answers while the manager is up.
 */

const jobsPath = '/oapi/v1/jobs';
const healthPath = '/healthy';
export const dragonflyScopes = ['single_seed_peer', 'all_seed_peers', 'all_peers'];

interface JobAnswer {
  id?: number | string;
  state?: string;
  result?: {
    job_states?: Array<{
      error?: string;
      results?: Array<{
        scheduler_cluster_id?: number;
        success_tasks?: Array<{ url?: string; hostname?: string; ip?: string } | null>;
        failure_tasks?: Array<{ url?: string; hostname?: string; ip?: string; description?: string } | null>;
      }>;
    }>;
  } | null;
}

/** What a finished job says, one line per peer task, for the task's log. */
function describeResult(job: JobAnswer): string {
  const lines: string[] = [];
  for (const state of job.result?.job_states ?? []) {
    for (const r of state.results ?? []) {
      const cluster = r.scheduler_cluster_id ?? '';
      for (const t of r.success_tasks ?? [])
        if (t) lines.push(`SUCCESS cluster=${cluster} host=${t.hostname ?? ''} ip=${t.ip ?? ''} ${t.url ?? ''}`.trim());
      for (const t of r.failure_tasks ?? [])
        if (t)
          lines.push(`FAILURE cluster=${cluster} host=${t.hostname ?? ''} ip=${t.ip ?? ''} ${t.url ?? ''}: ${t.description ?? ''}`.trim());
    }
  }
  return lines.join('\n');
}

function statusOf(job: JobAnswer): PreheatStatus {
  const taskId = String(job.id ?? '');
  switch (job.state) {
    case 'PENDING':
      return { taskId, status: 'Running' };
    case 'SUCCESS':
      return { taskId, status: 'Success', message: describeResult(job) };
    case 'FAILURE': {
      const errors = (job.result?.job_states ?? []).map((s) => s.error).filter((e): e is string => typeof e === 'string' && e !== '');
      return { taskId, status: 'Fail', error: errors.length > 0 ? errors.join('; ') : 'the Dragonfly job failed without saying why' };
    }
    default:
      return { taskId, status: 'Fail', error: `unknown state: ${String(job.state)}` };
  }
}

class DragonflyDriver implements Driver {
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
    const attrs = image.extraAttrs ?? {};
    const args: Record<string, unknown> = { type: 'image', url: image.url, headers: image.headers };
    if (typeof attrs.scope === 'string' && attrs.scope !== '') args.scope = attrs.scope;
    const body: Record<string, unknown> = { type: 'preheat', args };
    if (Array.isArray(attrs.cluster_ids) && attrs.cluster_ids.length > 0) body.scheduler_cluster_ids = attrs.cluster_ids;
    const job = ProviderClient.json<JobAnswer>(await this.client.post(jobsPath, body), 'create the Dragonfly preheat job');
    if (job.id === undefined || job.id === null || job.id === '')
      throw new ProviderError('Dragonfly answered the preheat job without its id');
    const status = statusOf(job);
    // A job is created pending; its state is followed with GET until it ends.
    return status.status === 'Success' ? { ...status, status: 'Running' } : status;
  }

  async progress(taskId: string): Promise<PreheatStatus> {
    const answer = await this.client.get(`${jobsPath}/${encodeURIComponent(taskId)}`);
    return statusOf(ProviderClient.json<JobAnswer>(answer, `read the Dragonfly job ${taskId}`));
  }

  close(): void {
    this.client.close();
  }
}

export const dragonfly: Provider = {
  metadata: {
    id: 'dragonfly',
    name: 'Dragonfly',
    icon: 'https://raw.githubusercontent.com/dragonflyoss/Dragonfly2/main/docs/images/logo/dragonfly-linear.png',
    maintainers: [],
    version: '2.x (manager open API v1)',
    source: 'https://github.com/dragonflyoss/dragonfly',
  },
  create: (instance) => new DragonflyDriver(instance),
  checkExtraAttrs(attrs) {
    if (attrs.scope !== undefined && (typeof attrs.scope !== 'string' || !dragonflyScopes.includes(attrs.scope)))
      return `extra_attrs.scope must be one of ${dragonflyScopes.join(', ')}, not ${JSON.stringify(attrs.scope)}`;
    if (attrs.cluster_ids !== undefined) {
      const ids = attrs.cluster_ids;
      if (!Array.isArray(ids) || ids.some((id) => !Number.isSafeInteger(id) || (id as number) < 1))
        return `extra_attrs.cluster_ids must be a list of positive integers (Dragonfly scheduler cluster ids), not ${JSON.stringify(ids)}`;
    }
    return null;
  },
};
