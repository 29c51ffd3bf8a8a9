import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { api } from '../helpers/api.js';
import { body, pushManifest, sha256, types } from '../helpers/oci.js';
import type { TestServer } from '../helpers/server.js';
import type { V2 } from '../helpers/v2.js';

/** Registers `url` as a docker-registry endpoint through /registries; returns its id. */
export async function createEndpoint(server: TestServer, name: string, url: string): Promise<number> {
  const res = await api(server, 'POST', '/registries', {
    auth: server.admin.authorization,
    body: { name, type: 'docker-registry', url, insecure: true },
  });
  assert.equal(res.status, 201, `creating registry ${name}: ${res.status} ${JSON.stringify(res.body)}`);
  return Number(res.headers.get('location')!.split('/').pop());
}

/** Creates a proxy cache project of the endpoint as admin; returns its id. */
export async function createProxyProject(
  server: TestServer,
  name: string,
  registryId: number,
  extra: { metadata?: Record<string, string>; storage_limit?: number } = {},
): Promise<number> {
  const res = await api(server, 'POST', '/projects', {
    auth: server.admin.authorization,
    body: {
      project_name: name,
      registry_id: registryId,
      metadata: { public: 'false', ...extra.metadata },
      storage_limit: extra.storage_limit,
    },
  });
  assert.equal(res.status, 201, `creating proxy project ${name}: ${res.status} ${JSON.stringify(res.body)}`);
  return Number(res.headers.get('location')!.split('/').pop());
}

/** Pushes a blob to a Distribution registry the two-step way (POST, then PUT with the bytes). */
export async function pushBlob(base: string, repo: string, data: Buffer | string) {
  const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data);
  const digest = sha256(bytes);
  const start = await fetch(`${base}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  await start.arrayBuffer();
  assert.equal(start.status, 202, `starting an upload to ${base}/v2/${repo}`);
  const location = new URL(start.headers.get('location')!, base);
  location.searchParams.set('digest', digest);
  const put = await fetch(location, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: body(bytes) });
  await put.arrayBuffer();
  assert.equal(put.status, 201, `finishing the upload of ${digest}`);
  return { digest, size: bytes.length, data: bytes };
}

export interface UpstreamImage {
  repo: string;
  tag: string;
  digest: string;
  manifest: Buffer;
  /** Config first, then the layers. */
  blobs: Array<{ digest: string; size: number; data: Buffer }>;
}

/** Pushes an OCI image straight into the upstream (no proxy in between): a config and layers of random bytes. */
export async function pushUpstream(base: string, repo: string, tag: string, layerSizes: number[]): Promise<UpstreamImage> {
  const config = await pushBlob(
    base,
    repo,
    JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, n: randomBytes(8).toString('hex') }),
  );
  const layers = [];
  for (const size of layerSizes) layers.push(await pushBlob(base, repo, randomBytes(size)));
  const manifest = {
    schemaVersion: 2,
    mediaType: types.manifest,
    config: { mediaType: types.config, digest: config.digest, size: config.size },
    layers: layers.map((l) => ({ mediaType: types.layer, digest: l.digest, size: l.size })),
  };
  const pushed = await pushManifest(base, repo, tag, manifest, types.manifest);
  return { repo, tag, digest: pushed.digest, manifest: pushed.bytes, blobs: [config, ...layers] };
}

/** Rows of the tables a refused request must leave alone. */
export async function projectState(server: TestServer) {
  const db = server.berth.database.db;
  return {
    projects: await db.selectFrom('projects').select(['id', 'name', 'registry_id']).orderBy('id').execute(),
    metadata: await db.selectFrom('project_metadata').selectAll().orderBy('project_id').orderBy('name').execute(),
    members: await db.selectFrom('project_members').select(['project_id', 'entity_id']).orderBy('project_id').execute(),
  };
}

/**
 * Asks for each blob again (HEAD), as a client that has just pulled it would: a client's transfer
 * ends once the bytes are verified, while storing them finishes (file, rows, quota); a request
 * meanwhile waits for that, so each answer means the blob is in the cache.
 */
export async function cachedBlobs(v2: V2, repository: string, blobs: Array<{ digest: string; size: number }>): Promise<void> {
  for (const b of blobs) {
    const head = await v2.call('HEAD', `/v2/${repository}/blobs/${b.digest}`);
    assert.equal(head.status, 200, `HEAD of ${b.digest} after the pull: ${head.status}`);
    assert.equal(head.headers.get('content-length'), String(b.size));
  }
}
