import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { api } from '../helpers/api.js';
import type { TestServer } from '../helpers/server.js';
import { digestOf, V2 } from '../helpers/v2.js';

export const types = {
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
};

/** Creates a project as admin with a storage limit (bytes; -1 unlimited); returns its id. */
export async function createProject(server: TestServer, name: string, storageLimit: number): Promise<number> {
  const res = await api(server, 'POST', '/projects', {
    auth: server.admin.authorization,
    body: { project_name: name, metadata: { public: 'false' }, storage_limit: storageLimit },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return Number(res.headers.get('location')!.split('/').pop());
}

/** Sets a project's limit through PUT /quotas/{id} as admin. */
export async function setLimit(server: TestServer, projectId: number, storage: number): Promise<void> {
  const res = await api(server, 'PUT', `/quotas/${projectId}`, { auth: server.admin.authorization, body: { hard: { storage } } });
  assert.equal(res.status, 200, JSON.stringify(res.body));
}

/** The quota as GET /quotas/{id} answers it. */
export async function quotaOf(server: TestServer, projectId: number): Promise<{ hard: { storage: number }; used: { storage: number } }> {
  const res = await api<any>(server, 'GET', `/quotas/${projectId}`, { auth: server.admin.authorization });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body;
}

/** Stored usage (what the API shows). */
export async function usedOf(server: TestServer, projectId: number): Promise<number> {
  return (await quotaOf(server, projectId)).used.storage;
}

/**
 * The usage recomputed in the test, straight from the base tables (not through the quota
 * code): the distinct digests linked to the project's repositories (links not released by a
 * deletion), with blob sizes, and the manifests of its artifacts, with their byte lengths.
 */
export async function independentRecount(server: TestServer, projectId: number): Promise<number> {
  const db = server.berth.database.db;
  const links = await db
    .selectFrom('repository_blobs as rb')
    .innerJoin('repositories as r', 'r.id', 'rb.repository_id')
    .innerJoin('blobs as b', 'b.digest', 'rb.digest')
    .select(['rb.digest', 'b.size'])
    .where('r.project_id', '=', projectId)
    // A link released by an artifact deletion is served until GC but not held.
    .where('rb.released_at', 'is', null)
    .execute();
  const manifests = await db
    .selectFrom('artifacts as a')
    .innerJoin('repositories as r', 'r.id', 'a.repository_id')
    .select(['a.digest', 'a.manifest'])
    .where('r.project_id', '=', projectId)
    .execute();
  const sizes = new Map<string, number>();
  for (const l of links) sizes.set(l.digest, Number(l.size));
  for (const m of manifests) sizes.set(m.digest, Buffer.from(m.manifest).length);
  let total = 0;
  for (const size of sizes.values()) total += size;
  return total;
}

/** Rows of a table, for "nothing changed" checks. */
export async function count(server: TestServer, table: string): Promise<number> {
  const { rows } = await sql<{ n: number }>`select count(*) as n from ${sql.table(table)}`.execute(server.berth.database.db);
  return Number(rows[0].n);
}

export function bytes(size: number): Buffer {
  return randomBytes(size);
}

export interface Image {
  config: Buffer;
  layers: Buffer[];
  manifest: Buffer;
  digest: string;
}

/** An OCI image manifest over a config and layers (not pushed). */
export function image(layers: Buffer[], label = randomBytes(4).toString('hex')): Image {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, label }));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: types.manifest,
      config: { mediaType: types.config, digest: digestOf(config), size: config.length },
      layers: layers.map((l) => ({ mediaType: types.layer, digest: digestOf(l), size: l.length })),
    }),
  );
  return { config, layers, manifest, digest: digestOf(manifest) };
}

/** Pushes an image's blobs and manifest; asserts each step succeeded. */
export async function pushImage(v2: V2, repo: string, tag: string, img: Image): Promise<void> {
  await v2.pushBlob(repo, img.config);
  for (const layer of img.layers) await v2.pushBlob(repo, layer);
  const res = await v2.putManifest(repo, tag, img.manifest, types.manifest);
  assert.equal(res.status, 201, res.text);
}

export { V2, digestOf };
