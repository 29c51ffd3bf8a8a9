// The quota phase: concurrent image pushes into one project with a storage limit, against
// the same pushes into a project without one. Berth keeps a limited project's usage exact
// inside every push transaction without a row that all pushes update (docs/ARCHITECTURE.md,
// "Quotas"); the ratio of the two throughputs shows what enforcement costs under
// concurrency (goal: at least 0.8), and the final usage is checked against what was pushed.
import { createHash } from 'node:crypto';
import { pool, type Client } from './http.js';

export interface QuotaSettings {
  /** Concurrent clients, each pushing whole images (config, layer, manifest) one after another. */
  clients: number;
  /** Images per measurement (spread over the clients). */
  images: number;
  /** Measurements of each kind, alternating which goes first. */
  rounds: number;
  layerBytes: number;
  /** The limited project's limit (bytes): large, so that every push is admitted and checked. */
  limit: number;
}

export interface QuotaResult {
  /** Images per second of each measurement. */
  unlimited: number[];
  limited: number[];
  /** Bytes pushed into the limited project, and the usage Berth reports for it. */
  expected: number;
  used: number;
}

const sha256 = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

async function pushSmall(client: Client, repo: string, data: Buffer): Promise<void> {
  const start = await client.expect([202], 'POST', `/v2/${repo}/blobs/uploads/`);
  const put = client.url(String(start.headers.location));
  put.searchParams.set('digest', sha256(data));
  await client.expect([201], 'PUT', put.href, { headers: { 'content-type': 'application/octet-stream' }, body: data });
}

/** One image with a config and a layer of its own: every byte of it is new to the project. */
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
  return config.length + layer.length + manifest.length;
}

async function createProject(client: Client, name: string, limit: number): Promise<number> {
  const res = await client.expect([201], 'POST', '/api/v2.0/projects', {
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ project_name: name, metadata: { public: 'false' }, storage_limit: limit }),
  });
  return Number(String(res.headers.location).split('/').pop());
}

/** Runs the phase on one Berth; `log` reports each measurement. */
export async function measureQuota(client: Client, s: QuotaSettings, deadline: number, log: (line: string) => void): Promise<QuotaResult> {
  const stamp = Date.now().toString(36);
  const unlimitedProject = `bench-quota-free-${stamp}`;
  const limitedProject = `bench-quota-limited-${stamp}`;
  await createProject(client, unlimitedProject, -1);
  const limitedId = await createProject(client, limitedProject, s.limit);
  const layerBase = createHash('sha512').update(stamp).digest();
  const base = Buffer.alloc(s.layerBytes);
  for (let i = 0; i < base.length; i += layerBase.length) layerBase.copy(base, i);
  const result: QuotaResult = { unlimited: [], limited: [], expected: 0, used: 0 };
  let batch = 0;
  const measure = async (project: string, kind: 'unlimited' | 'limited') => {
    batch += 1;
    let bytes = 0;
    const t0 = performance.now();
    const { done, timedOut } = await pool(s.images, s.clients, deadline, async (i) => {
      // Five repositories of one project: pushes share the project, not a repository.
      const pushed = await pushImage(client, `${project}/app-${i % 5}`, `b${batch}-${i}`, base);
      bytes += pushed;
    });
    const seconds = (performance.now() - t0) / 1000;
    if (timedOut) throw new Error(`the quota phase ran past its deadline after ${done} of ${s.images} images`);
    if (kind === 'limited') result.expected += bytes;
    const rate = done / seconds;
    result[kind].push(rate);
    log(`${kind.padEnd(9)} ${done} images by ${s.clients} clients in ${seconds.toFixed(2)} s: ${rate.toFixed(1)} images/s`);
  };
  for (let round = 0; round < s.rounds; round++) {
    const order: Array<'unlimited' | 'limited'> = round % 2 === 0 ? ['unlimited', 'limited'] : ['limited', 'unlimited'];
    for (const kind of order) await measure(kind === 'limited' ? limitedProject : unlimitedProject, kind);
  }
  const quota = JSON.parse((await client.expect([200], 'GET', `/api/v2.0/quotas/${limitedId}`)).body.toString('utf8'));
  result.used = Number(quota.used.storage);
  return result;
}
