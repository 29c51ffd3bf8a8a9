import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/*
 * A loopback stand-in for a Dragonfly manager's open API, written from Dragonfly's published
 * documentation (d7y.io, "Preheat" in the open API guides), because Dragonfly cannot be
 * installed here:
 * - POST /oapi/v1/jobs with {"type": "preheat", "args": {"type": "image", "url", "headers",
 *   "scope", …}, "scheduler_cluster_ids": […]} and "Authorization: Bearer <personal access
 *   token>" creates a job and answers {"id", "created_at", "updated_at", "task_id", "type",
 *   "state": "PENDING", "args", "result": null, "scheduler_clusters"};
 * - GET /oapi/v1/jobs/{id} answers the job, whose state becomes SUCCESS or FAILURE;
 * - GET /healthy answers while the manager is up.
 * The documentation shows "result": null; the per-cluster result of an ended job
 * ({"job_states": [{"error", "results": [{"scheduler_cluster_id", "success_tasks",
 * "failure_tasks"}]}]}) has the shape Harbor's Dragonfly driver reads.
 *
 * Like a seed peer, the stand-in pulls what it is asked to preheat: the manifest at args.url
 * with args.headers, then the blobs the manifest names (an index: each child manifest and its
 * blobs). A pull that fails makes the job FAILURE with the registry's answer as its error, so a
 * test sees whether the URL and the pull token Berth sent really work.
 */

export interface DragonflyJob {
  id: number;
  type: string;
  args: Record<string, any>;
  scheduler_cluster_ids?: number[];
  state: 'PENDING' | 'SUCCESS' | 'FAILURE';
  /** The Authorization header of the create request. */
  authorization: string | undefined;
  /** Digests the stand-in pulled for it (manifests and blobs). */
  pulled: string[];
  error: string;
  polls: number;
}

export interface DragonflyFakeOptions {
  /** Required personal access token (Authorization: Bearer …); unset: any request is accepted. */
  token?: string;
  /** GETs of a job that still answer PENDING before it ends (default 1). */
  pendingPolls?: number;
  /** Make every job end in FAILURE with this error (a preheat the cluster could not do). */
  failWith?: string;
  /** Skip pulling from the registry. */
  noPull?: boolean;
}

export interface DragonflyFake {
  url: string;
  jobs: DragonflyJob[];
  /** Every request: method, path and Authorization. */
  requests: Array<{ method: string; path: string; authorization: string | undefined }>;
  options: DragonflyFakeOptions;
  close(): Promise<void>;
}

const manifestTypes = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
];

async function pullImage(url: string, headers: Record<string, string>, pulled: string[]): Promise<void> {
  const res = await fetch(url, { headers: { ...headers, accept: manifestTypes.join(', ') } });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`pull manifest ${url}: ${res.status} ${text.slice(0, 200)}`);
  pulled.push(res.headers.get('docker-content-digest') ?? '');
  const manifest = JSON.parse(text) as {
    manifests?: Array<{ digest: string }>;
    config?: { digest: string };
    layers?: Array<{ digest: string }>;
  };
  const base = url.slice(0, url.lastIndexOf('/manifests/'));
  for (const child of manifest.manifests ?? []) await pullImage(`${base}/manifests/${child.digest}`, headers, pulled);
  for (const blob of [...(manifest.config ? [manifest.config] : []), ...(manifest.layers ?? [])]) {
    const b = await fetch(`${base}/blobs/${blob.digest}`, { headers });
    await b.arrayBuffer();
    if (b.status !== 200) throw new Error(`pull blob ${blob.digest}: ${b.status}`);
    pulled.push(blob.digest);
  }
}

function view(job: DragonflyJob) {
  const ended = job.state !== 'PENDING';
  const now = new Date().toISOString();
  return {
    id: job.id,
    created_at: now,
    updated_at: now,
    task_id: `group_${randomUUID()}`,
    type: job.type,
    state: job.state,
    args: job.args,
    result: ended
      ? {
          job_states: [
            {
              error: job.error,
              results:
                job.state === 'SUCCESS'
                  ? [
                      {
                        scheduler_cluster_id: 1,
                        success_tasks: job.pulled.map((d) => ({ url: d, hostname: 'seed-peer-1', ip: '127.0.0.1' })),
                        failure_tasks: [],
                      },
                    ]
                  : [],
            },
          ],
        }
      : null,
    scheduler_clusters: [{ id: 1, name: 'cluster-1' }],
  };
}

export async function startDragonflyFake(options: DragonflyFakeOptions = {}): Promise<DragonflyFake> {
  const jobs: DragonflyJob[] = [];
  const requests: DragonflyFake['requests'] = [];
  const send = (res: http.ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(body));
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const path = (req.url ?? '').split('?')[0];
        const authorization = req.headers.authorization;
        requests.push({ method: req.method ?? '', path, authorization });
        if (req.method === 'GET' && path === '/healthy') return send(res, 200, { status: 'OK' });
        if (!path.startsWith('/oapi/v1/jobs')) return send(res, 404, { message: `no route ${req.method} ${path}` });
        if (options.token !== undefined && authorization !== `Bearer ${options.token}`)
          return send(res, 401, { message: 'personal access token is invalid' });
        if (req.method === 'POST' && path === '/oapi/v1/jobs') {
          let body: any;
          try {
            body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            return send(res, 400, { message: 'invalid JSON' });
          }
          if (body?.type !== 'preheat') return send(res, 400, { message: `unsupported job type ${JSON.stringify(body?.type)}` });
          const args = body.args ?? {};
          if (args.type !== 'image' && args.type !== 'file')
            return send(res, 400, { message: `unsupported preheat type ${JSON.stringify(args.type)}` });
          if (args.type === 'image' && (typeof args.url !== 'string' || !/\/v2\/.+\/manifests\/[^/]+$/.test(args.url)))
            return send(res, 400, { message: `args.url must be a manifest URL, not ${JSON.stringify(args.url)}` });
          if (args.scope !== undefined && !['single_seed_peer', 'all_seed_peers', 'all_peers'].includes(args.scope))
            return send(res, 400, { message: `invalid scope ${JSON.stringify(args.scope)}` });
          const job: DragonflyJob = {
            id: jobs.length + 1,
            type: body.type,
            args,
            scheduler_cluster_ids: body.scheduler_cluster_ids,
            state: 'PENDING',
            authorization,
            pulled: [],
            error: '',
            polls: 0,
          };
          jobs.push(job);
          return send(res, 200, view(job));
        }
        const match = /^\/oapi\/v1\/jobs\/(\d+)$/.exec(path);
        if (req.method === 'GET' && match) {
          const job = jobs.find((j) => j.id === Number(match[1]));
          if (!job) return send(res, 404, { message: 'job not found' });
          job.polls += 1;
          if (job.state === 'PENDING' && job.polls > (options.pendingPolls ?? 1)) {
            if (options.failWith) {
              job.state = 'FAILURE';
              job.error = options.failWith;
            } else {
              try {
                if (!options.noPull) await pullImage(job.args.url, job.args.headers ?? {}, job.pulled);
                job.state = 'SUCCESS';
              } catch (err) {
                job.state = 'FAILURE';
                job.error = (err as Error).message;
              }
            }
          }
          return send(res, 200, view(job));
        }
        return send(res, 404, { message: `no route ${req.method} ${path}` });
      })().catch((err) => send(res, 500, { message: String(err) }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    jobs,
    requests,
    options,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
