import assert from 'node:assert/strict';
import { api, type ApiResponse } from '../helpers/api.js';
import {
  pushChart,
  pushCnab,
  pushContainerImage,
  pushCosignSignature,
  pushMultiPlatform,
  pushNotationSignature,
  pushSbomReferrer,
  pushWasm,
  type ChartOptions,
} from '../helpers/artifacts.js';
import type { TestServer } from '../helpers/server.js';

/**
 * What the artifact API tests push, in this order, so that "newest push first" is known:
 *
 * library/app      amd64 and arm64 images (by digest), the index over them (v1), a cosign
 *                  tag-scheme signature, an SPDX SBOM referrer and a notation signature of
 *                  the index, an image (v2), a chart (1.2.3), a WASM module (wasm-1) and an
 *                  untagged image (by digest).
 * library/bundle   a CNAB bundle (v1) with its config manifest and invocation image.
 */
export const chartOptions: ChartOptions = {
  name: 'nginx',
  version: '1.2.3',
  values: 'replicaCount: 3\nimage:\n  repository: nginx\n  tag: "1.25"\n',
  readme: '# nginx\n\nServes static files.\n',
  dependencies: [
    { name: 'redis', version: '17.3.2', repository: 'https://charts.bitnami.com/bitnami', condition: 'redis.enabled' },
    { name: 'common', version: '2.x.x', repository: 'oci://registry.example.com/charts' },
  ],
};

export async function seedApp(server: TestServer, repo = 'library/app') {
  const index = await pushMultiPlatform(server, repo, 'v1');
  const cosign = await pushCosignSignature(server, repo, index.digest);
  const sbom = await pushSbomReferrer(server, repo, index.digest);
  const notation = await pushNotationSignature(server, repo, index.digest);
  const image = await pushContainerImage(server, repo, 'v2', { architecture: 'amd64', os: 'linux' }, { cmd: ['/app/v2'] });
  const chart = await pushChart(server, repo, chartOptions);
  const wasm = await pushWasm(server, repo, 'wasm-1');
  const untagged = await pushContainerImage(server, repo, null, { architecture: 's390x', os: 'linux' });
  return { index, cosign, sbom, notation, image, chart, wasm, untagged };
}

export type Seeded = Awaited<ReturnType<typeof seedApp>>;

export async function seedBundle(server: TestServer, repo = 'library/bundle') {
  return pushCnab(server, repo, 'v1');
}

/** The artifacts path of a repository ("project/a/b"), the name inside the project encoded twice as Harbor wants. */
export function artifactsPath(repository: string): string {
  const slash = repository.indexOf('/');
  const project = repository.slice(0, slash);
  const inner = encodeURIComponent(encodeURIComponent(repository.slice(slash + 1)));
  return `/projects/${project}/repositories/${inner}/artifacts`;
}

/** A query string from pairs, each value URL-encoded. */
export function qs(params: Record<string, string | number | boolean>): string {
  const parts = Object.entries(params).map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`);
  return parts.length > 0 ? `?${parts.join('&')}` : '';
}

/** Asserts Harbor's error body: one error with `code` and a message matching `message`. */
export function assertHarborError(res: ApiResponse, status: number, code: string, message?: RegExp): void {
  const body = res.body as { errors?: Array<{ code: string; message: string }> };
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.ok(Array.isArray(body?.errors) && body.errors.length === 1, `Harbor error body: ${JSON.stringify(res.body)}`);
  assert.deepEqual(Object.keys(body.errors![0]).sort(), ['code', 'message']);
  assert.equal(body.errors![0].code, code);
  assert.equal(typeof body.errors![0].message, 'string');
  if (message) assert.match(body.errors![0].message, message);
}

/** Adds a user to a project with a Harbor role id (1 admin, 2 developer, 3 guest, 4 maintainer). */
export async function addMember(server: TestServer, project: string, username: string, role: number): Promise<void> {
  const res = await api(server, 'POST', `/projects/${project}/members`, {
    auth: server.admin.authorization,
    body: { role_id: role, member_user: { username } },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
}

/** POST /projects as admin; private unless `public`. */
export async function createProject(server: TestServer, name: string, isPublic = false): Promise<number> {
  const res = await api(server, 'POST', '/projects', {
    auth: server.admin.authorization,
    body: { project_name: name, metadata: { public: String(isPublic) } },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return Number(res.headers.get('location')!.split('/').pop());
}

/** A /v2 request as `auth` (admin by default); the body as a Buffer. */
export async function v2(server: TestServer, method: string, path: string, headers: Record<string, string> = server.admin) {
  const accept = [
    'application/vnd.oci.image.manifest.v1+json',
    'application/vnd.oci.image.index.v1+json',
    'application/vnd.docker.distribution.manifest.v2+json',
    'application/vnd.docker.distribution.manifest.list.v2+json',
  ].join(', ');
  const res = await fetch(`${server.url}/v2/${path}`, { method, headers: { accept, ...headers } });
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

/** Tag names /v2/<repo>/tags/list answers. */
export async function v2Tags(server: TestServer, repository: string): Promise<string[]> {
  const res = await v2(server, 'GET', `${repository}/tags/list`);
  assert.equal(res.status, 200, res.body.toString());
  return (JSON.parse(res.body.toString()) as { tags: string[] }).tags;
}

/** Digests of the referrers of `digest` in the repository, from /v2. */
export async function v2Referrers(server: TestServer, repository: string, digest: string): Promise<string[]> {
  const res = await v2(server, 'GET', `${repository}/referrers/${digest}`);
  assert.equal(res.status, 200, res.body.toString());
  return (JSON.parse(res.body.toString()) as { manifests: Array<{ digest: string }> }).manifests.map((m) => m.digest).sort();
}

/** Every row an artifact request could change, to prove that a refusal changed nothing. */
export async function dbState(server: TestServer) {
  // Pulls are written in batches (audit records included): the earlier tests' pulls land now, not during the next one.
  await server.berth.pulls.flush();
  const db = server.berth.database.db;
  const audits = await db
    .selectFrom('audit_logs')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return {
    repositories: await db.selectFrom('repositories').select(['id', 'name']).orderBy('id').execute(),
    artifacts: await db.selectFrom('artifacts').select(['id', 'repository_id', 'digest', 'accessory_of']).orderBy('id').execute(),
    tags: await db.selectFrom('tags').select(['id', 'repository_id', 'artifact_id', 'name']).orderBy('id').execute(),
    references: await db
      .selectFrom('artifact_references')
      .select(['parent_id', 'child_id'])
      .orderBy('parent_id')
      .orderBy('child_id')
      .execute(),
    labels: await db.selectFrom('artifact_labels').select(['artifact_id', 'label_id']).orderBy('artifact_id').orderBy('label_id').execute(),
    repositoryBlobs: await db
      .selectFrom('repository_blobs')
      .select(['repository_id', 'digest'])
      .orderBy('repository_id')
      .orderBy('digest')
      .execute(),
    audits: Number(audits.n),
  };
}

/** Digests of the artifacts stored in a repository, from the database. */
export async function storedDigests(server: TestServer, repository: string): Promise<string[]> {
  const rows = await server.berth.database.db
    .selectFrom('artifacts as a')
    .innerJoin('repositories as r', 'r.id', 'a.repository_id')
    .select('a.digest')
    .where('r.name', '=', repository)
    .execute();
  return rows.map((r) => r.digest).sort();
}

/** The keys of Harbor's Tag model as Berth answers them by default. */
export const tagKeys = ['artifact_id', 'id', 'immutable', 'name', 'pull_time', 'push_time', 'repository_id'];

/** The keys of Harbor's Accessory model. */
export const accessoryKeys = [
  'artifact_id',
  'creation_time',
  'digest',
  'icon',
  'id',
  'size',
  'subject_artifact_digest',
  'subject_artifact_id',
  'subject_artifact_repo',
  'type',
];

/** The keys every Artifact has with the default options (with_tag=true, nothing else). */
export const artifactKeys = [
  'addition_links',
  'annotations',
  'artifact_type',
  'digest',
  'extra_attrs',
  'icon',
  'id',
  'manifest_media_type',
  'media_type',
  'project_id',
  'pull_time',
  'push_time',
  'references',
  'repository_id',
  'repository_name',
  'size',
  'tags',
  'type',
];

export const sorted = (values: string[]) => [...values].sort();
