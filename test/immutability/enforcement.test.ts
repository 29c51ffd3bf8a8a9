import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { api } from '../helpers/api.js';
import { pushImage, pushManifest, types } from '../helpers/oci.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { assertError, createProject } from '../projects/fixtures.js';

let server: TestServer;
let admin: string;
let headers: Record<string, string>;
let ruleId: number;
let v1: Awaited<ReturnType<typeof pushImage>>;
const registryMessage = (tag: string) => `Failed to process request due to 'app:${tag}' configured as immutable.`;

/** Every row a refused change could have touched. */
async function state() {
  await server.berth.pulls.flush(); // pull audit records are written in batches
  const db = server.berth.database.db;
  const audits = await db
    .selectFrom('audit_logs')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return {
    artifacts: await db.selectFrom('artifacts').select(['id', 'repository_id', 'digest', 'push_time']).orderBy('id').execute(),
    tags: await db.selectFrom('tags').select(['id', 'repository_id', 'artifact_id', 'name', 'push_time']).orderBy('id').execute(),
    repositories: await db.selectFrom('repositories').select(['id', 'name']).orderBy('id').execute(),
    links: await db.selectFrom('repository_blobs').select(['repository_id', 'digest']).orderBy('repository_id').orderBy('digest').execute(),
    audits: Number(audits.n),
  };
}

async function v2(method: string, path: string) {
  const res = await fetch(`${server.url}/v2/${path}`, { method, headers });
  return { status: res.status, body: (await res.json().catch(() => undefined)) as any };
}

function assertRegistryRefusal(res: { status: number; body: any }, tag: string) {
  assert.equal(res.status, 412, JSON.stringify(res.body));
  assert.deepEqual(res.body, { errors: [{ code: 'PROJECTPOLICYVIOLATION', message: registryMessage(tag) }] });
}

async function pushRefused(reference: string, manifest: Record<string, unknown>) {
  const bytes = JSON.stringify(manifest);
  const res = await fetch(`${server.url}/v2/locked/app/manifests/${reference}`, {
    method: 'PUT',
    headers: { ...headers, 'content-type': types.manifest },
    body: bytes,
  });
  return { status: res.status, body: res.status === 201 ? undefined : await res.json() };
}

before(async () => {
  server = await startServer();
  admin = server.admin.authorization;
  headers = { authorization: admin };
  await createProject(server, { project_name: 'locked' });
  const res = await api(server, 'POST', '/projects/locked/immutabletagrules', {
    auth: admin,
    body: {
      tag_selectors: [{ kind: 'doublestar', decoration: 'matches', pattern: 'v*' }],
      scope_selectors: { repository: [{ kind: 'doublestar', decoration: 'repoMatches', pattern: '{app,tools/**}' }] },
    },
  });
  assert.equal(res.status, 201);
  ruleId = Number(res.headers.get('location')!.split('/').pop());
  v1 = await pushImage(server.url, 'locked/app', 'v1', { headers, layer: 'first' });
});
after(async () => server.stop());

describe('tag immutability enforcement', () => {
  test('pushing another manifest under an immutable tag is 412 and changes nothing', async () => {
    const other = await pushImage(server.url, 'locked/app', 'scratch', { headers, layer: 'second' });
    const before = await state();
    const res = await pushRefused('v1', other.manifest);
    assertRegistryRefusal(res, 'v1');
    assert.deepEqual(await state(), before);
    // A manifest new to the repository is not left behind either.
    const fresh = await pushImage(server.url, 'locked/app', 'scratch2', { headers, layer: 'third' });
    const before2 = await state();
    const manifest = { ...fresh.manifest, annotations: { new: 'yes' } };
    assertRegistryRefusal(await pushRefused('v1', manifest), 'v1');
    assert.deepEqual(await state(), before2);
  });

  test('pushing the same manifest again under the immutable tag succeeds (Berth goes beyond Harbor)', async () => {
    const again = await pushManifest(server.url, 'locked/app', 'v1', v1.manifest, types.manifest, headers);
    assert.equal(again.digest, v1.digest);
    const tag = await server.berth.database.db
      .selectFrom('tags')
      .innerJoin('artifacts as a', 'a.id', 'tags.artifact_id')
      .select('a.digest')
      .where('tags.name', '=', 'v1')
      .executeTakeFirstOrThrow();
    assert.equal(tag.digest, v1.digest);
  });

  test('new tags, tags no rule matches and repositories out of scope move freely', async () => {
    await pushImage(server.url, 'locked/app', 'latest', { headers, layer: 'l1' });
    await pushImage(server.url, 'locked/app', 'latest', { headers, layer: 'l2' });
    await pushImage(server.url, 'locked/app', 'v2', { headers, layer: 'v2' });
    await pushImage(server.url, 'locked/other', 'v1', { headers, layer: 'o1' });
    await pushImage(server.url, 'locked/other', 'v1', { headers, layer: 'o2' });
    await pushImage(server.url, 'locked/tools/x', 'v1', { headers, layer: 't1' });
    await assert.rejects(pushImage(server.url, 'locked/tools/x', 'v1', { headers, layer: 't2' }), /412/);
  });

  test('concurrent pushes of different manifests to a new immutable tag: exactly one wins', async () => {
    const images = await Promise.all(
      Array.from({ length: 8 }, (_, i) => pushImage(server.url, 'locked/app', `race-base-${i}`, { headers, layer: `race ${i}` })),
    );
    const answers = await Promise.all(images.map((image) => pushRefused('v-race', image.manifest)));
    const won = answers.filter((a) => a.status === 201);
    assert.equal(won.length, 1, JSON.stringify(answers.map((a) => a.status)));
    for (const lost of answers.filter((a) => a.status !== 201)) assertRegistryRefusal(lost, 'v-race');
    const winner = images[answers.findIndex((a) => a.status === 201)];
    const tag = await server.berth.database.db
      .selectFrom('tags')
      .innerJoin('artifacts as a', 'a.id', 'tags.artifact_id')
      .select('a.digest')
      .where('tags.name', '=', 'v-race')
      .execute();
    assert.deepEqual(tag, [{ digest: winner.digest }]);
  });

  test('/v2 deletes of an immutable tag or of its artifact are 412 and change nothing', async () => {
    const before = await state();
    assertRegistryRefusal(await v2('DELETE', 'locked/app/manifests/v1'), 'v1');
    assertRegistryRefusal(await v2('DELETE', `locked/app/manifests/${v1.digest}`), 'v1');
    assert.deepEqual(await state(), before);
  });

  test("the API's artifact, tag and repository deletes are Harbor's 412 and change nothing", async () => {
    const before = await state();
    const artifact = await api<any>(server, 'DELETE', '/projects/locked/repositories/app/artifacts/v1', { auth: admin });
    assert.equal(artifact.status, 412);
    assert.deepEqual(artifact.body, {
      errors: [{ code: 'PRECONDITION', message: 'the tag v1 configured as immutable, cannot be deleted' }],
    });
    const byDigest = await api<any>(server, 'DELETE', `/projects/locked/repositories/app/artifacts/${v1.digest}`, { auth: admin });
    assertError(byDigest, 412, 'PRECONDITION');
    const tag = await api<any>(server, 'DELETE', `/projects/locked/repositories/app/artifacts/${v1.digest}/tags/v1`, { auth: admin });
    assert.deepEqual(tag.body, { errors: [{ code: 'PRECONDITION', message: 'the tag v1 configured as immutable, cannot be deleted' }] });
    assert.equal(tag.status, 412);
    const repository = await api<any>(server, 'DELETE', '/projects/locked/repositories/app', { auth: admin });
    assertError(repository, 412, 'PRECONDITION');
    assert.match(repository.body.errors[0].message, /configured as immutable, cannot be deleted/);
    assert.deepEqual(await state(), before);
    // A mutable tag of the same repository still goes.
    const latest = await api<any>(server, 'GET', '/projects/locked/repositories/app/artifacts/latest', { auth: admin });
    const del = await api(server, 'DELETE', `/projects/locked/repositories/app/artifacts/${latest.body.digest}/tags/latest`, {
      auth: admin,
    });
    assert.equal(del.status, 200);
  });

  test('with_immutable_status=true reports immutable on each tag', async () => {
    const list = await api<any[]>(
      server,
      'GET',
      '/projects/locked/repositories/app/artifacts?with_tag=true&with_immutable_status=true&page_size=50',
      { auth: admin },
    );
    assert.equal(list.status, 200);
    const tags = Object.fromEntries(list.body.flatMap((a) => a.tags ?? []).map((t: any) => [t.name, t.immutable]));
    assert.equal(tags.v1, true);
    assert.equal(tags.v2, true);
    assert.equal(tags.scratch, false);
    const without = await api<any[]>(server, 'GET', '/projects/locked/repositories/app/artifacts?with_tag=true', { auth: admin });
    assert.ok(without.body.flatMap((a) => a.tags ?? []).every((t: any) => t.immutable === false));
    const tagList = await api<any[]>(
      server,
      'GET',
      `/projects/locked/repositories/app/artifacts/${v1.digest}/tags?with_immutable_status=true`,
      { auth: admin },
    );
    assert.deepEqual(
      tagList.body.map((t) => [t.name, t.immutable]),
      [['v1', true]],
    );
  });

  test('a disabled rule protects nothing', async () => {
    const rules = await api<any[]>(server, 'GET', '/projects/locked/immutabletagrules', { auth: admin });
    const put = await api(server, 'PUT', `/projects/locked/immutabletagrules/${ruleId}`, {
      auth: admin,
      body: { ...rules.body[0], disabled: true },
    });
    assert.equal(put.status, 200);
    const del = await v2('DELETE', 'locked/app/manifests/v1');
    assert.equal(del.status, 202);
    const gone = await api(server, 'DELETE', `/projects/locked/repositories/app/artifacts/${v1.digest}`, { auth: admin });
    assert.equal(gone.status, 200);
  });
});
