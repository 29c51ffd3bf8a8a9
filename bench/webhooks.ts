// The webhooks phase: concurrent image pushes into a project without webhook policies, into
// one with N policies (each an http target on a receiver in this process, on loopback, PUSH_ARTIFACT,
// Default format), and into one whose N policies point at a port where nothing listens. Deliveries
// leave the push's transaction as an outbox event, become tasks and WEBHOOK jobs, and are sent by
// the job runner, so the pushes should not slow down for them (goal: push rate with webhooks at
// least 0.8 of without, and with a dead receiver the same). Also measured: deliveries per second
// and each delivery's latency, from the manifest PUT's 201 to the receiver's reading of the body.
import { createHash } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { pool, type Client } from './http.js';

export interface WebhookSettings {
  /** Concurrent clients, each pushing whole images (config, layer, manifest) one after another. */
  clients: number;
  /** Images per measurement (spread over the clients). */
  images: number;
  /** Measurements of each kind, alternating which goes first. */
  rounds: number;
  /** Webhook policies of the projects with webhooks (each one delivery per push). */
  policies: number;
  layerBytes: number;
  /** How long to wait for the last deliveries after the last push of a round (ms). */
  drainMs: number;
}

export interface WebhookRound {
  /** Images per second. */
  none: number;
  live: number;
  dead: number;
  /** Deliveries received for the live round, and expected (images × policies). */
  received: number;
  expected: number;
  /** Deliveries per second: received ÷ (last delivery − first push started). */
  deliveriesPerSecond: number;
  /** Seconds from each image's manifest 201 to each of its deliveries' arrival. */
  latencies: number[];
  /** Seconds from the last push's 201 until the last delivery arrived. */
  drainSeconds: number;
}

export interface WebhookResult {
  rounds: WebhookRound[];
  /** Deliveries still arriving at the live receiver after the measurements (duplicates are possible: at least once). */
  duplicates: number;
  /** Dead-receiver tasks as the API shows them right after each dead run (status → count), on its first policy. */
  deadTasks: Record<string, number>;
}

const sha256 = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

async function pushSmall(client: Client, repo: string, data: Buffer): Promise<void> {
  const start = await client.expect([202], 'POST', `/v2/${repo}/blobs/uploads/`);
  const put = client.url(String(start.headers.location));
  put.searchParams.set('digest', sha256(data));
  await client.expect([201], 'PUT', put.href, { headers: { 'content-type': 'application/octet-stream' }, body: data });
}

/** One image with a config and a layer of its own; resolves when the manifest PUT answered 201 (performance.now()). */
async function pushImage(client: Client, repo: string, tag: string, layerBase: Buffer): Promise<number> {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, tag, repo }));
  const layer = Buffer.concat([Buffer.from(`${repo}:${tag}:`), layerBase]);
  await pushSmall(client, repo, config);
  await pushSmall(client, repo, layer);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(layer), size: layer.length }],
    }),
  );
  await client.expect([201], 'PUT', `/v2/${repo}/manifests/${tag}`, {
    headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
    body: manifest,
  });
  return performance.now();
}

const json = { 'content-type': 'application/json' };

async function createProject(client: Client, name: string): Promise<void> {
  await client.expect([201], 'POST', '/api/v2.0/projects', {
    headers: json,
    body: JSON.stringify({ project_name: name, metadata: { public: 'false' } }),
  });
}

async function createPolicies(client: Client, project: string, count: number, address: string, prefix = 'bench'): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < count; i++) {
    const res = await client.expect([201], 'POST', `/api/v2.0/projects/${project}/webhook/policies`, {
      headers: json,
      body: JSON.stringify({
        name: `${prefix}-${i}`,
        enabled: true,
        event_types: ['PUSH_ARTIFACT'],
        targets: [{ type: 'http', address: `${address}/hook/${i}`, skip_cert_verify: true, payload_format: 'Default' }],
      }),
    });
    ids.push(Number(String(res.headers.location).split('/').pop()));
  }
  return ids;
}

/** A receiver on loopback: answers 200 at once and records when each (tag, policy) delivery arrived. */
function startReceiver(): Promise<{ url: string; arrivals: Map<string, number[]>; count: () => number; close: () => Promise<void> }> {
  const arrivals = new Map<string, number[]>();
  let total = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = performance.now();
      total += 1;
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        const tag = body?.event_data?.resources?.[0]?.tag;
        if (typeof tag === 'string') {
          const list = arrivals.get(tag) ?? [];
          list.push(at);
          arrivals.set(tag, list);
        }
      } catch {
        // Not a delivery of ours: counted, not timed.
      }
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  server.keepAliveTimeout = 30_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        arrivals,
        count: () => total,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}

/** A loopback port where nothing listens (bound, then closed). */
async function deadAddress(): Promise<string> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

function quantile(values: number[], q: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}

export function latencyStats(values: number[]): { p50: number; p95: number; max: number } {
  return { p50: quantile(values, 0.5), p95: quantile(values, 0.95), max: quantile(values, 1) };
}

/** Runs the phase on one Berth; `log` reports each measurement. */
export async function measureWebhooks(
  client: Client,
  s: WebhookSettings,
  deadline: number,
  log: (line: string) => void,
): Promise<WebhookResult> {
  const stamp = Date.now().toString(36);
  const projects = { none: `bench-hooks-none-${stamp}`, live: `bench-hooks-live-${stamp}`, dead: `bench-hooks-dead-${stamp}` };
  const receiver = await startReceiver();
  try {
    for (const p of Object.values(projects)) await createProject(client, p);
    await createPolicies(client, projects.live, s.policies, receiver.url);
    const dead = await deadAddress();
    const deadTasks: Record<string, number> = {};
    const layerBase = createHash('sha512').update(stamp).digest();
    const base = Buffer.alloc(s.layerBytes);
    for (let i = 0; i < base.length; i += layerBase.length) layerBase.copy(base, i);

    let batch = 0;
    /** Pushes one batch into a project; returns images/s, when it started, and each tag's 201 time. */
    const push = async (kind: keyof typeof projects) => {
      batch += 1;
      const done201 = new Map<string, number>();
      const t0 = performance.now();
      const { done, timedOut } = await pool(s.images, s.clients, deadline, async (i) => {
        const tag = `b${batch}-${i}`;
        done201.set(tag, await pushImage(client, `${projects[kind]}/app-${i % 5}`, tag, base));
      });
      const seconds = (performance.now() - t0) / 1000;
      if (timedOut) throw new Error(`the webhooks phase ran past its deadline after ${done} of ${s.images} images`);
      const rate = done / seconds;
      log(`${kind.padEnd(4)} ${done} images by ${s.clients} clients in ${seconds.toFixed(2)} s: ${rate.toFixed(1)} images/s`);
      return { rate, t0, done201 };
    };

    const rounds: WebhookRound[] = [];
    for (let round = 0; round < s.rounds; round++) {
      const order: Array<keyof typeof projects> = round % 2 === 0 ? ['none', 'live', 'dead'] : ['live', 'none', 'dead'];
      const rates: Partial<Record<keyof typeof projects, number>> = {};
      let live: Awaited<ReturnType<typeof push>> | undefined;
      for (const kind of order) {
        // The dead receiver's policies live for their run only: their deliveries would go on being retried
        // (first after webhooks.retry_base_seconds) into the runs after it; deleting a policy drops its pending deliveries.
        const deadPolicies = kind === 'dead' ? await createPolicies(client, projects.dead, s.policies, dead, `dead-${round}`) : [];
        const r = await push(kind);
        rates[kind] = r.rate;
        if (kind === 'dead') {
          const path = `/api/v2.0/projects/${projects.dead}/webhook/jobs?policy_id=${deadPolicies[0]}&page_size=100`;
          const tasks = JSON.parse((await client.expect([200], 'GET', path)).body.toString('utf8')) as Array<{ status: string }>;
          for (const t of tasks) deadTasks[t.status] = (deadTasks[t.status] ?? 0) + 1;
          for (const id of deadPolicies) await client.expect([200], 'DELETE', `/api/v2.0/projects/${projects.dead}/webhook/policies/${id}`);
        }
        if (kind !== 'live') continue;
        live = r;
        // Wait for this round's deliveries before the next measurement, so that it measures pushes alone.
        const expected = s.images * s.policies;
        const until = Math.min(deadline, Date.now() + s.drainMs);
        const arrived = () => [...r.done201.keys()].reduce((n, tag) => n + (receiver.arrivals.get(tag)?.length ?? 0), 0);
        while (arrived() < expected && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const expected = s.images * s.policies;
      const latencies: number[] = [];
      let last = 0;
      let received = 0;
      for (const [tag, at201] of live!.done201) {
        const arrivals = receiver.arrivals.get(tag) ?? [];
        received += arrivals.length;
        for (const at of arrivals) {
          latencies.push((at - at201) / 1000);
          last = Math.max(last, at);
        }
      }
      const lastPush = Math.max(...live!.done201.values());
      const result: WebhookRound = {
        none: rates.none!,
        live: rates.live!,
        dead: rates.dead!,
        received,
        expected,
        deliveriesPerSecond: received / ((last - live!.t0) / 1000),
        latencies,
        drainSeconds: (last - lastPush) / 1000,
      };
      rounds.push(result);
      const l = latencyStats(latencies);
      log(
        `round ${round + 1}: ${received}/${expected} deliveries, ${result.deliveriesPerSecond.toFixed(1)}/s; latency p50 ${(l.p50 * 1000).toFixed(0)} ms, ` +
          `p95 ${(l.p95 * 1000).toFixed(0)} ms, max ${(l.max * 1000).toFixed(0)} ms; last one ${result.drainSeconds.toFixed(2)} s after the last push`,
      );
    }
    const timed = rounds.reduce((n, r) => n + r.received, 0);
    const duplicates = Math.max(0, receiver.count() - timed);
    return { rounds, duplicates, deadTasks };
  } finally {
    await receiver.close();
  }
}
