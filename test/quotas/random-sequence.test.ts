import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { api } from '../helpers/api.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { createProject, digestOf, independentRecount, types, usedOf, V2 } from './fixtures.js';

/**
 * A long random sequence of what users do — pushes (sharing layers across repositories and
 * projects), blobs pushed without a manifest, mounts, artifact copies, signatures, tag and
 * artifact deletes, blob and repository deletes, limit changes that make pushes fail — and
 * after every step each project's stored usage equals a recount made here, from the base
 * tables, without the quota code.
 */

let server: TestServer;
let v2: V2;
const projects = ['qa', 'qb'];
const repositories = ['qa/one', 'qa/two', 'qa/deep/three', 'qb/one'];
const projectIds = new Map<string, number>();
/** Layers and configs shared by every image: the same bytes land in many repositories. */
const pool = Array.from({ length: 8 }, (_, i) => randomBytes(200 + i * 450));

before(async () => {
  server = await startServer();
  v2 = new V2(server);
  for (const name of projects) projectIds.set(name, await createProject(server, name, -1));
});
after(async () => {
  await server.stop();
});

type Op =
  | { kind: 'image'; repo: string; layers: number[]; tag: string }
  | { kind: 'blob'; repo: string; layer: number }
  | { kind: 'mount'; repo: string; from: string; layer: number }
  | { kind: 'copy'; repo: string; from: string; tag: string }
  | { kind: 'sign'; repo: string; tag: string; layer: number }
  | { kind: 'untag'; repo: string; tag: string }
  | { kind: 'deleteArtifact'; repo: string; tag: string }
  | { kind: 'deleteBlob'; repo: string; layer: number }
  | { kind: 'deleteRepository'; repo: string }
  | { kind: 'limit'; project: string; slack: number | null };

const repo = fc.constantFrom(...repositories);
const tag = fc.constantFrom('v1', 'v2', 'v3');
const layer = fc.integer({ min: 0, max: pool.length - 1 });
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({ kind: fc.constant('image' as const), repo, layers: fc.uniqueArray(layer, { minLength: 1, maxLength: 3 }), tag }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('blob' as const), repo, layer }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('mount' as const), repo, from: repo, layer }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('copy' as const), repo, from: repo, tag }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('sign' as const), repo, tag, layer }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('untag' as const), repo, tag }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('deleteArtifact' as const), repo, tag }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('deleteBlob' as const), repo, layer }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('deleteRepository' as const), repo }) },
  {
    weight: 1,
    // null: unlimited; otherwise the current usage plus this many bytes (negative: below usage).
    arbitrary: fc.record({
      kind: fc.constant('limit' as const),
      project: fc.constantFrom(...projects),
      slack: fc.oneof(fc.constant(null), fc.integer({ min: -3000, max: 20000 })),
    }),
  },
);

/** What happened, so that the test shows it exercised each kind of change (and refusals). */
const seen = new Map<string, number>();
const note = (what: string) => seen.set(what, (seen.get(what) ?? 0) + 1);

const projectOf = (repository: string) => repository.slice(0, repository.indexOf('/'));
const repositoryPath = (repository: string) =>
  `/projects/${projectOf(repository)}/repositories/${encodeURIComponent(encodeURIComponent(repository.slice(repository.indexOf('/') + 1)))}`;

/** The config of an image over these layers: the same layers give the same manifest digest everywhere. */
function imageOf(layerIds: number[]) {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', layers: layerIds }));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: types.manifest,
      config: { mediaType: types.config, digest: digestOf(config), size: config.length },
      layers: layerIds.map((i) => ({ mediaType: types.layer, digest: digestOf(pool[i]), size: pool[i].length })),
    }),
  );
  return { config, manifest };
}

/** A blob push that may be refused for quota; anything else is a failure of the test. */
async function pushBlob(repository: string, data: Buffer): Promise<boolean> {
  const res = await v2.call('POST', `/v2/${repository}/blobs/uploads/?digest=${digestOf(data)}`, {
    headers: { 'content-type': 'application/octet-stream' },
    body: data,
  });
  if (res.status === 403) {
    assert.equal(res.json().errors[0].code, 'DENIED', res.text);
    note('refused');
    return false;
  }
  assert.equal(res.status, 201, res.text);
  return true;
}

async function putManifest(repository: string, reference: string, bytes: Buffer): Promise<void> {
  const res = await v2.putManifest(repository, reference, bytes, types.manifest);
  // 403: refused for quota; 404 MANIFEST_BLOB_UNKNOWN: a blob it names was refused just before.
  assert.ok([201, 403, 404].includes(res.status), `${res.status} ${res.text}`);
  if (res.status === 403) assert.match(res.text, /will exceed the configured upper limit/);
  note(`manifest ${res.status}`);
}

async function manifestDigest(repository: string, reference: string): Promise<string | null> {
  const res = await v2.call('HEAD', `/v2/${repository}/manifests/${reference}`, { headers: { accept: types.manifest } });
  return res.status === 200 ? res.headers.get('docker-content-digest') : null;
}

async function apply(o: Op): Promise<void> {
  switch (o.kind) {
    case 'image': {
      const { config, manifest } = imageOf(o.layers);
      let complete = await pushBlob(o.repo, config);
      for (const i of o.layers) complete = (await pushBlob(o.repo, pool[i])) && complete;
      if (complete) await putManifest(o.repo, o.tag, manifest);
      return;
    }
    case 'blob':
      await pushBlob(o.repo, pool[o.layer]);
      return;
    case 'mount': {
      const res = await v2.call('POST', `/v2/${o.repo}/blobs/uploads/?mount=${digestOf(pool[o.layer])}&from=${o.from}`);
      assert.ok([201, 202, 403].includes(res.status), `${res.status} ${res.text}`);
      note(`mount ${res.status}`);
      // Not mountable: the registry opened a session instead; close it.
      if (res.status === 202)
        assert.equal((await v2.call('DELETE', new URL(res.headers.get('location')!, server.url).pathname)).status, 204);
      return;
    }
    case 'copy': {
      const res = await api(server, 'POST', `${repositoryPath(o.repo)}/artifacts?from=${encodeURIComponent(`${o.from}:${o.tag}`)}`, {
        auth: server.admin.authorization,
      });
      assert.ok([201, 403, 404].includes(res.status), `${res.status} ${JSON.stringify(res.body)}`);
      note(`copy ${res.status}`);
      return;
    }
    case 'sign': {
      const subject = await manifestDigest(o.repo, o.tag);
      if (!subject) return;
      const config = Buffer.from('{}');
      if (!(await pushBlob(o.repo, config)) || !(await pushBlob(o.repo, pool[o.layer]))) return;
      const signature = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: types.manifest,
          artifactType: 'application/vnd.example.signature',
          config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: digestOf(config), size: config.length },
          layers: [{ mediaType: types.layer, digest: digestOf(pool[o.layer]), size: pool[o.layer].length }],
          subject: { mediaType: types.manifest, digest: subject, size: 0 },
        }),
      );
      await putManifest(o.repo, digestOf(signature), signature);
      note('signed');
      return;
    }
    case 'untag': {
      const res = await v2.call('DELETE', `/v2/${o.repo}/manifests/${o.tag}`);
      assert.ok([202, 404].includes(res.status), `${res.status} ${res.text}`);
      note(`untag ${res.status}`);
      return;
    }
    case 'deleteArtifact': {
      const digest = await manifestDigest(o.repo, o.tag);
      if (!digest) return;
      const res = await v2.call('DELETE', `/v2/${o.repo}/manifests/${digest}`);
      assert.ok([202, 404].includes(res.status), `${res.status} ${res.text}`);
      note(`delete artifact ${res.status}`);
      return;
    }
    case 'deleteBlob': {
      const res = await v2.call('DELETE', `/v2/${o.repo}/blobs/${digestOf(pool[o.layer])}`);
      assert.ok([202, 404].includes(res.status), `${res.status} ${res.text}`);
      note(`delete blob ${res.status}`);
      return;
    }
    case 'deleteRepository': {
      const res = await api(server, 'DELETE', repositoryPath(o.repo), { auth: server.admin.authorization });
      assert.ok([200, 404].includes(res.status), `${res.status} ${JSON.stringify(res.body)}`);
      note(`delete repository ${res.status}`);
      return;
    }
    case 'limit': {
      const id = projectIds.get(o.project)!;
      const storage = o.slack === null ? -1 : Math.max(1, (await usedOf(server, id)) + o.slack);
      const res = await api(server, 'PUT', `/quotas/${id}`, { auth: server.admin.authorization, body: { hard: { storage } } });
      assert.equal(res.status, 200, JSON.stringify(res.body));
    }
  }
}

/** The project's held digests as the quota tables list them, and as the base tables say. */
async function assertExact(step: string): Promise<void> {
  const db = server.berth.database.db;
  for (const [name, id] of projectIds) {
    const recount = await independentRecount(server, id);
    const stored = await usedOf(server, id);
    assert.equal(stored, recount, `${step}: project ${name} stores ${stored} bytes, the base tables say ${recount}`);
    const rows = await db.selectFrom('project_blobs').select(['digest', 'size']).where('project_id', '=', id).orderBy('digest').execute();
    const listed = rows.reduce((sum, r) => sum + Number(r.size), 0);
    assert.equal(listed, recount, `${step}: project ${name}'s project_blobs rows`);
  }
}

// A fixed seed by default, so a failure is replayed exactly; BERTH_QUOTA_SEED explores others.
const seed = Number(process.env.BERTH_QUOTA_SEED ?? 7);

test('after every step of random sequences, stored usage equals a recount from the base tables', async () => {
  let step = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(op, { minLength: 40, maxLength: 70 }), async (ops) => {
      for (const o of ops) {
        await apply(o);
        step += 1;
        await assertExact(`step ${step} (${JSON.stringify(o)})`);
      }
    }),
    { numRuns: 8, seed, endOnFailure: true },
  );
  assert.ok(step >= 300, `ran ${step} steps`);
  const outcomes = Object.fromEntries([...seen].sort());
  for (const what of [
    'manifest 201',
    'manifest 403',
    'refused',
    'mount 201',
    'copy 201',
    'untag 202',
    'delete artifact 202',
    'delete blob 202',
    'delete repository 200',
    'signed',
  ]) {
    assert.ok(seen.has(what), `the sequences never gave "${what}": ${JSON.stringify(outcomes)}`);
  }
  console.log(`# seed ${seed}, ${step} steps: ${JSON.stringify(outcomes)}`);
});
