import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Kysely } from 'kysely';
import type { Database } from '../../src/db/types.js';
import { api } from '../helpers/api.js';
import { sha256, types } from '../helpers/oci.js';
import type { TestServer } from '../helpers/server.js';

/** What a client saw for one request that did not succeed. */
export interface Refusal {
  step: string;
  status: number | 'network';
  code?: string;
  retryAfter?: string | null;
  message: string;
}

export interface PushedImage {
  repo: string;
  tag: string;
  digest: string;
  blobs: { digest: string; data: Buffer }[];
}

/** An image of a config and one layer of `layerSize` random bytes, not pushed yet. */
export function makeImage(repo: string, tag: string, layerSize = 4096): PushedImage & { manifest: Buffer } {
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [] },
      tag,
      nonce: randomBytes(8).toString('hex'),
    }),
  );
  const layer = randomBytes(layerSize);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: types.manifest,
      config: { mediaType: types.config, digest: sha256(config), size: config.length },
      layers: [{ mediaType: types.layer, digest: sha256(layer), size: layer.length }],
    }),
  );
  return {
    repo,
    tag,
    digest: sha256(manifest),
    manifest,
    blobs: [
      { digest: sha256(config), data: config },
      { digest: sha256(layer), data: layer },
    ],
  };
}

async function refusalOf(step: string, res: Response): Promise<Refusal> {
  const text = await res.text();
  let code: string | undefined;
  try {
    code = (JSON.parse(text) as { errors?: { code?: string }[] }).errors?.[0]?.code;
  } catch {
    // not JSON
  }
  return { step, status: res.status, code, retryAfter: res.headers.get('retry-after'), message: text.slice(0, 300) };
}

/**
 * Pushes the image as a client does (each blob in one POST, then the manifest); stops at
 * the first request that does not succeed and returns what the client saw, or null when
 * the manifest PUT answered 201.
 */
export async function tryPush(
  base: string,
  image: PushedImage & { manifest: Buffer },
  headers: Record<string, string>,
): Promise<Refusal | null> {
  const attempt = async (step: string, send: () => Promise<Response>, ok: number): Promise<Refusal | null> => {
    let res: Response;
    try {
      res = await send();
    } catch (err) {
      return { step, status: 'network', message: String((err as Error).cause ?? err) };
    }
    if (res.status === ok) {
      await res.arrayBuffer();
      return null;
    }
    return refusalOf(step, res);
  };
  for (const blob of image.blobs) {
    const refused = await attempt(
      `blob ${blob.digest}`,
      () =>
        fetch(`${base}/v2/${image.repo}/blobs/uploads/?digest=${blob.digest}`, {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/octet-stream' },
          body: blob.data as Uint8Array<ArrayBuffer>,
          signal: AbortSignal.timeout(60_000),
        }),
      201,
    );
    if (refused) return refused;
  }
  return attempt(
    'manifest',
    () =>
      fetch(`${base}/v2/${image.repo}/manifests/${image.tag}`, {
        method: 'PUT',
        headers: { ...headers, 'content-type': types.manifest },
        body: image.manifest as Uint8Array<ArrayBuffer>,
        signal: AbortSignal.timeout(60_000),
      }),
    201,
  );
}

/** Asserts that a manifest and every blob it names are served whole (digests checked). */
export async function assertReadable(base: string, image: PushedImage, headers: Record<string, string>): Promise<void> {
  const manifest = await fetch(`${base}/v2/${image.repo}/manifests/${image.tag}`, { headers: { ...headers, accept: types.manifest } });
  assert.equal(manifest.status, 200, `${image.repo}:${image.tag} is readable`);
  assert.equal(sha256(Buffer.from(await manifest.arrayBuffer())), image.digest);
  for (const blob of image.blobs) {
    const res = await fetch(`${base}/v2/${image.repo}/blobs/${blob.digest}`, { headers });
    assert.equal(res.status, 200, `blob ${blob.digest} of ${image.repo}:${image.tag} is readable`);
    assert.equal(sha256(Buffer.from(await res.arrayBuffer())), blob.digest);
  }
}

/** The refusal is one a client retries: 503 UNAVAILABLE with Retry-After (never a bare 500). */
export function assertRetryable(refusal: Refusal): void {
  assert.equal(refusal.status, 503, `a retryable answer, not ${JSON.stringify(refusal)}`);
  assert.equal(refusal.code, 'UNAVAILABLE', JSON.stringify(refusal));
  assert.ok(refusal.retryAfter, `Retry-After is set: ${JSON.stringify(refusal)}`);
}

/** Starts a manual GC (deleting untagged artifacts) and waits for its run to end; returns the run. */
export async function runGc(base: string, authorization: string, timeoutMs = 60_000): Promise<{ id: number; status: string }> {
  const server = { url: base } as TestServer;
  const deadline = Date.now() + timeoutMs;
  let started;
  for (;;) {
    started = await api(server, 'POST', '/system/gc/schedule', {
      auth: authorization,
      body: { schedule: { type: 'Manual' }, parameters: { delete_untagged: true, workers: 1 } },
    });
    if (started.status === 201 || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  assert.equal(started.status, 201, JSON.stringify(started.body));
  const id = Number(started.headers.get('location')!.match(/(\d+)$/)![1]);
  return { id, status: await waitForGc(base, authorization, id, deadline) };
}

export async function waitForGc(base: string, authorization: string, id: number, deadline: number): Promise<string> {
  const server = { url: base } as TestServer;
  for (;;) {
    const run = await api(server, 'GET', `/system/gc/${id}`, { auth: authorization }).catch(() => undefined);
    const status = (run?.body as { job_status?: string } | undefined)?.job_status;
    if (status === 'Success' || status === 'Error' || status === 'Stopped') return status;
    if (Date.now() > deadline) throw new Error(`GC run ${id} did not end; last seen ${JSON.stringify(run?.body)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Whether an object exists, asked of the S3 server itself (not through a faulty proxy). */
export async function objectExists(client: S3Client, bucket: string, key: string): Promise<boolean> {
  try {
    await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (err) {
    const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
    if (e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404) return false;
    throw err;
  }
}

export function blobKey(digest: string, prefix = ''): string {
  const [algorithm, hex] = digest.split(':');
  return `${prefix}blobs/${algorithm}/${hex.slice(0, 2)}/${hex}`;
}

/**
 * "Never a manifest whose blobs are missing": for every manifest in the database, the
 * config and every layer it names is an object in the bucket. Returns how many manifests
 * were checked.
 */
export async function assertEveryManifestWhole(db: Kysely<Database>, exists: (digest: string) => Promise<boolean>): Promise<number> {
  const rows = await db.selectFrom('artifacts').select(['digest', 'manifest']).execute();
  for (const row of rows) {
    const manifest = JSON.parse(Buffer.from(row.manifest as Uint8Array).toString('utf8')) as {
      config?: { digest: string };
      layers?: { digest: string }[];
    };
    const digests = [...(manifest.config ? [manifest.config.digest] : []), ...(manifest.layers ?? []).map((l) => l.digest)];
    for (const digest of digests) assert.ok(await exists(digest), `manifest ${row.digest} names ${digest}, which is in the store`);
  }
  return rows.length;
}

/**
 * Creates a private project and its tag retention policy, which retains the tags `keep-*`
 * (so every artifact tagged only otherwise, e.g. `drop-*`, is deleted by a run); returns the
 * policy's id.
 */
export async function createKeepPolicy(base: string, authorization: string, projectName: string): Promise<number> {
  const server = { url: base } as TestServer;
  const created = await api(server, 'POST', '/projects', {
    auth: authorization,
    body: { project_name: projectName, metadata: { public: 'false' } },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const projectId = Number(created.headers.get('location')!.split('/').pop());
  const saved = await api(server, 'POST', '/retentions', {
    auth: authorization,
    body: {
      algorithm: 'or',
      rules: [
        {
          disabled: false,
          action: 'retain',
          template: 'always',
          params: {},
          tag_selectors: [{ kind: 'doublestar', decoration: 'matches', pattern: 'keep-*', extras: JSON.stringify({ untagged: false }) }],
          scope_selectors: { repository: [{ kind: 'doublestar', decoration: 'repoMatches', pattern: '**' }] },
        },
      ],
      trigger: { kind: 'Schedule', settings: { cron: '' } },
      scope: { level: 'project', ref: projectId },
    },
  });
  assert.equal(saved.status, 201, JSON.stringify(saved.body));
  return Number(saved.headers.get('location')!.split('/').pop());
}

/** Waits for a retention execution to end; returns it (its status) and its tasks. */
export async function waitForRetention(
  base: string,
  authorization: string,
  policyId: number,
  executionId: number,
  timeoutMs = 120_000,
): Promise<{
  execution: { id: number; status: string };
  tasks: { id: number; repository: string; status: string; job_id: string; total: number; retained: number }[];
}> {
  const server = { url: base } as TestServer;
  const execution = await until(
    `retention execution ${executionId} to end`,
    async () => {
      const res = await api(server, 'GET', `/retentions/${policyId}/executions?page_size=100`, { auth: authorization });
      const e = (res.body as { id: number; status: string }[]).find((x) => x.id === executionId);
      return e && ['Success', 'Error', 'Stopped'].includes(e.status) ? e : undefined;
    },
    timeoutMs,
  );
  const tasks = await api(server, 'GET', `/retentions/${policyId}/executions/${executionId}/tasks?page_size=100`, { auth: authorization });
  return { execution, tasks: tasks.body as never };
}

/**
 * Pushes into each repository three `keep-*` images and `drops` `drop-*` images (what
 * createKeepPolicy keeps and removes), adding them to `kept` and `dropped`.
 */
export async function pushKeepAndDrop(
  base: string,
  headers: Record<string, string>,
  repos: string[],
  drops: number,
  kept: PushedImage[],
  dropped: PushedImage[],
): Promise<void> {
  await Promise.all(
    repos.map(async (repo) => {
      for (let i = 0; i < 3; i++) {
        const image = makeImage(repo, `keep-${kept.length}-${i}`, 256);
        assert.equal(await tryPush(base, image, headers), null);
        kept.push(image);
      }
      for (let i = 0; i < drops; i++) {
        const image = makeImage(repo, `drop-${dropped.length}-${i}`, 256);
        assert.equal(await tryPush(base, image, headers), null);
        dropped.push(image);
      }
    }),
  );
}
