import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { api, createUser, errorCode, type ApiResponse } from '../helpers/api.js';
import { body, pushBlob, pushImage, sha256, types } from '../helpers/oci.js';
import { basicAuth, startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let admin: string;
const rita = basicAuth('rita', 'Passw0rd1');
const otto = basicAuth('otto', 'Passw0rd1');

const repositoryKeys = ['artifact_count', 'creation_time', 'description', 'id', 'name', 'project_id', 'pull_count', 'update_time'];

function assertError(res: ApiResponse, status: number, code: string): void {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(errorCode(res), code);
  assert.equal(typeof (res.body as { errors: Array<{ message: string }> }).errors[0].message, 'string');
}

/** PUTs a manifest document under a tag, or by its own digest when `tag` is null. */
async function putManifest(repo: string, tag: string | null, manifest: Record<string, unknown>, mediaType: string) {
  const bytes = Buffer.from(JSON.stringify(manifest));
  const digest = sha256(bytes);
  const res = await fetch(`${server.url}/v2/${repo}/manifests/${tag ?? digest}`, {
    method: 'PUT',
    headers: { ...server.admin, 'content-type': mediaType },
    body: body(bytes),
  });
  assert.equal(res.status, 201, await res.text());
  return { digest, size: bytes.length, mediaType };
}

/** An image manifest pushed by digest (untagged). */
async function pushUntagged(repo: string, label: string) {
  const config = await pushBlob(
    server.url,
    repo,
    JSON.stringify({ architecture: label, os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }),
    server.admin,
  );
  const layer = await pushBlob(server.url, repo, `layer ${label} ${Math.random()}`, server.admin);
  return putManifest(
    repo,
    null,
    {
      schemaVersion: 2,
      mediaType: types.manifest,
      config: { mediaType: types.config, digest: config.digest, size: config.size },
      layers: [{ mediaType: types.layer, digest: layer.digest, size: layer.size }],
    },
    types.manifest,
  );
}

async function names(path: string, auth = admin): Promise<string[]> {
  const res = await api<any[]>(server, 'GET', path, { auth });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.map((r) => r.name);
}

before(async () => {
  server = await startServer();
  admin = server.admin.authorization;
  await createUser(server, 'rita');
  await createUser(server, 'otto');
  assert.equal(
    (await api(server, 'POST', '/projects', { auth: admin, body: { project_name: 'secret', metadata: { public: 'false' } } })).status,
    201,
  );
  assert.equal(
    (await api(server, 'POST', '/projects/secret/members', { auth: admin, body: { role_id: 3, member_user: { username: 'rita' } } }))
      .status,
    201,
  );
  await pushImage(server.url, 'library/alpha', 'v1', { headers: server.admin });
  await pushImage(server.url, 'library/beta', 'v1', { headers: server.admin });
  await pushImage(server.url, 'library/nested/deep', 'v1', { headers: server.admin });
  await pushImage(server.url, 'secret/app', 'v1', { headers: server.admin });
  // A repository with a blob but no artifact yet: Harbor does not know it.
  await pushBlob(server.url, 'library/uploadonly', 'just a blob', server.admin);
});
after(async () => {
  await server.stop();
});

describe('GET /projects/{project_name}/repositories', () => {
  test('lists the repositories holding an artifact, newest first, as Harbor shows them', async () => {
    const res = await api<any[]>(server, 'GET', '/projects/library/repositories');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-total-count'), '3');
    assert.deepEqual(
      res.body.map((r) => r.name),
      ['library/nested/deep', 'library/beta', 'library/alpha'],
    );
    const alpha = res.body.find((r) => r.name === 'library/alpha');
    assert.deepEqual(Object.keys(alpha).sort(), repositoryKeys);
    assert.equal(alpha.artifact_count, 1);
    assert.equal(alpha.pull_count, 0);
    assert.equal(alpha.description, '');
    assert.equal(typeof alpha.id, 'number');
    assert.match(alpha.creation_time, /^\d{4}-\d\d-\d\dT/);
    const project = await api(server, 'GET', '/projects/library', { auth: admin });
    assert.equal(alpha.project_id, project.body.project_id);
    assert.equal(project.body.repo_count, 3);
  });

  test('sorts, filters with q and pages with X-Total-Count and Link', async () => {
    assert.deepEqual(await names('/projects/library/repositories?sort=name'), ['library/alpha', 'library/beta', 'library/nested/deep']);
    assert.deepEqual(await names('/projects/library/repositories?sort=-name'), ['library/nested/deep', 'library/beta', 'library/alpha']);
    assert.deepEqual(await names('/projects/library/repositories?sort=creation_time'), [
      'library/alpha',
      'library/beta',
      'library/nested/deep',
    ]);
    assert.equal((await names('/projects/library/repositories?sort=-update_time,pull_count')).length, 3);
    assert.deepEqual(await names(`/projects/library/repositories?q=${encodeURIComponent('name=~deep')}`), ['library/nested/deep']);
    assert.deepEqual(await names(`/projects/library/repositories?q=${encodeURIComponent('name=library/beta')}`), ['library/beta']);
    assert.deepEqual(await names(`/projects/library/repositories?q=${encodeURIComponent('name=~%')}`), []);
    const page = await api<any[]>(server, 'GET', '/projects/library/repositories?sort=name&page=2&page_size=1');
    assert.equal(page.status, 200);
    assert.deepEqual(
      page.body.map((r) => r.name),
      ['library/beta'],
    );
    assert.equal(page.headers.get('x-total-count'), '3');
    const link = page.headers.get('link')!;
    assert.match(link, /page=1&page_size=1>; rel="prev"/);
    assert.match(link, /page=3&page_size=1>; rel="next"/);
    assert.match(link, /^<\/api\/v2\.0\/projects\/library\/repositories\?/);
  });

  test('refuses bad q, sort and paging with 400', async () => {
    assertError(await api(server, 'GET', `/projects/library/repositories?q=${encodeURIComponent('name')}`), 400, 'BAD_REQUEST');
    assertError(await api(server, 'GET', `/projects/library/repositories?q=${encodeURIComponent('color=red')}`), 400, 'BAD_REQUEST');
    assertError(await api(server, 'GET', `/projects/library/repositories?q=${encodeURIComponent('pull_count=[1~')}`), 400, 'BAD_REQUEST');
    assertError(await api(server, 'GET', `/projects/library/repositories?q=${encodeURIComponent('pull_count=many')}`), 400, 'BAD_REQUEST');
    assertError(await api(server, 'GET', '/projects/library/repositories?sort=color'), 400, 'BAD_REQUEST');
    assertError(await api(server, 'GET', '/projects/library/repositories?page_size=101'), 400, 'BAD_REQUEST');
    assertError(await api(server, 'GET', '/projects/library/repositories?page=0'), 400, 'BAD_REQUEST');
  });

  test('404 for an unknown project', async () => {
    assertError(await api(server, 'GET', '/projects/nosuch/repositories', { auth: admin }), 404, 'NOT_FOUND');
  });

  test('a private project: 401 anonymous, 403 a non-member, 200 a member', async () => {
    assertError(await api(server, 'GET', '/projects/secret/repositories'), 401, 'UNAUTHORIZED');
    assertError(await api(server, 'GET', '/projects/secret/repositories', { auth: otto }), 403, 'FORBIDDEN');
    assert.deepEqual(await names('/projects/secret/repositories', rita), ['secret/app']);
    assert.deepEqual(await names('/projects/secret/repositories', admin), ['secret/app']);
  });
});

describe('GET /projects/{project_name}/repositories/{repository_name}', () => {
  test('answers Harbor’s Repository, for anonymous callers of a public project too', async () => {
    const res = await api(server, 'GET', '/projects/library/repositories/alpha');
    assert.equal(res.status, 200);
    assert.deepEqual(Object.keys(res.body).sort(), repositoryKeys);
    assert.equal(res.body.name, 'library/alpha');
    assert.equal(res.body.artifact_count, 1);
  });

  test('a nested name is encoded twice (a/b → a%252Fb); once works too', async () => {
    const twice = await api(server, 'GET', '/projects/library/repositories/nested%252Fdeep');
    assert.equal(twice.status, 200, JSON.stringify(twice.body));
    assert.equal(twice.body.name, 'library/nested/deep');
    const once = await api(server, 'GET', '/projects/library/repositories/nested%2Fdeep');
    assert.equal(once.body.name, 'library/nested/deep');
  });

  test('404 with Harbor’s error body for an unknown repository or project, or one with no artifact', async () => {
    assertError(await api(server, 'GET', '/projects/library/repositories/nosuch'), 404, 'NOT_FOUND');
    assertError(await api(server, 'GET', '/projects/library/repositories/nested'), 404, 'NOT_FOUND');
    assertError(await api(server, 'GET', '/projects/library/repositories/uploadonly'), 404, 'NOT_FOUND');
    assertError(await api(server, 'GET', '/projects/nosuch/repositories/alpha', { auth: admin }), 404, 'NOT_FOUND');
  });

  test('400 for a name that is not valid URL encoding', async () => {
    assertError(await api(server, 'GET', '/projects/library/repositories/bad%25zz'), 400, 'BAD_REQUEST');
  });

  test('a private project’s repository: 401 anonymous, 403 a non-member even when it does not exist', async () => {
    assertError(await api(server, 'GET', '/projects/secret/repositories/app'), 401, 'UNAUTHORIZED');
    assertError(await api(server, 'GET', '/projects/secret/repositories/app', { auth: otto }), 403, 'FORBIDDEN');
    assertError(await api(server, 'GET', '/projects/secret/repositories/nosuch', { auth: otto }), 403, 'FORBIDDEN');
    assert.equal((await api(server, 'GET', '/projects/secret/repositories/app', { auth: rita })).body.name, 'secret/app');
  });

  test('pull_count counts manifest pulls', async () => {
    await pushImage(server.url, 'library/pulled', 'v1', { headers: server.admin });
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${server.url}/v2/library/pulled/manifests/v1`, { headers: { ...server.admin, accept: types.manifest } });
      assert.equal(res.status, 200);
      await res.arrayBuffer();
    }
    await server.berth.pulls.flush();
    assert.equal((await api(server, 'GET', '/projects/library/repositories/pulled')).body.pull_count, 2);
    assert.deepEqual(await names('/projects/library/repositories?sort=-pull_count&page_size=1'), ['library/pulled']);
    assert.equal((await api(server, 'DELETE', '/projects/library/repositories/pulled', { auth: admin })).status, 200);
  });
});

describe('artifact_count', () => {
  test('counts top-level artifacts: not accessories, not untagged children of an index', async () => {
    const repo = 'library/multi';
    const v1 = await pushImage(server.url, repo, 'v1', { headers: server.admin });
    await pushImage(server.url, repo, 'v2', { headers: server.admin });
    const childA = await pushUntagged(repo, 'arm64');
    const childB = await pushImage(server.url, repo, 'b', { headers: server.admin, platform: { architecture: 'ppc64le', os: 'linux' } });
    await putManifest(
      repo,
      'multi',
      {
        schemaVersion: 2,
        mediaType: types.index,
        manifests: [
          { mediaType: types.manifest, digest: childA.digest, size: childA.size, platform: { architecture: 'arm64', os: 'linux' } },
          { mediaType: types.manifest, digest: childB.digest, size: childB.size, platform: { architecture: 'ppc64le', os: 'linux' } },
        ],
      },
      types.index,
    );
    // A signature-like accessory of v1.
    const empty = await pushBlob(server.url, repo, '{}', server.admin);
    const sig = await pushBlob(server.url, repo, 'signature bytes', server.admin);
    await putManifest(
      repo,
      null,
      {
        schemaVersion: 2,
        mediaType: types.manifest,
        artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json',
        config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: empty.digest, size: empty.size },
        layers: [{ mediaType: 'application/octet-stream', digest: sig.digest, size: sig.size }],
        subject: { mediaType: types.manifest, digest: v1.digest, size: v1.size },
      },
      types.manifest,
    );
    const rows = await server.berth.database.db
      .selectFrom('artifacts as a')
      .innerJoin('repositories as r', 'r.id', 'a.repository_id')
      .select('a.id')
      .where('r.name', '=', repo)
      .execute();
    assert.equal(rows.length, 6);
    // v1, v2, the index and child b (it has a tag of its own); not child a, not the signature.
    assert.equal((await api(server, 'GET', '/projects/library/repositories/multi')).body.artifact_count, 4);
    const listed = await api<any[]>(server, 'GET', `/projects/library/repositories?q=${encodeURIComponent('name=library/multi')}`);
    assert.equal(listed.body[0].artifact_count, 4);
  });
});

describe('PUT /projects/{project_name}/repositories/{repository_name}', () => {
  test('sets the description', async () => {
    const res = await api(server, 'PUT', '/projects/library/repositories/nested%252Fdeep', {
      auth: admin,
      body: { description: 'a deep one' },
    });
    assert.equal(res.status, 200);
    assert.equal((await api(server, 'GET', '/projects/library/repositories/nested%252Fdeep')).body.description, 'a deep one');
    assert.equal(
      (await api(server, 'PUT', '/projects/secret/repositories/app', { auth: admin, body: { description: 'private' } })).status,
      200,
    );
    assert.equal((await api(server, 'GET', '/projects/secret/repositories/app', { auth: rita })).body.description, 'private');
  });

  test('refuses bad bodies, unknown repositories and callers without repository:update', async () => {
    const before = (await api(server, 'GET', '/projects/library/repositories/alpha')).body;
    assertError(
      await api(server, 'PUT', '/projects/library/repositories/alpha', { auth: admin, body: { description: 42 } }),
      400,
      'BAD_REQUEST',
    );
    assertError(await api(server, 'PUT', '/projects/library/repositories/alpha', { auth: admin, rawBody: '[1]' }), 400, 'BAD_REQUEST');
    assertError(
      await api(server, 'PUT', '/projects/library/repositories/nosuch', { auth: admin, body: { description: 'x' } }),
      404,
      'NOT_FOUND',
    );
    assertError(
      await api(server, 'PUT', '/projects/nosuch/repositories/alpha', { auth: admin, body: { description: 'x' } }),
      404,
      'NOT_FOUND',
    );
    assertError(await api(server, 'PUT', '/projects/library/repositories/alpha', { body: { description: 'x' } }), 401, 'UNAUTHORIZED');
    assertError(
      await api(server, 'PUT', '/projects/library/repositories/alpha', { auth: otto, body: { description: 'x' } }),
      403,
      'FORBIDDEN',
    );
    // A guest may read but not describe.
    assertError(
      await api(server, 'PUT', '/projects/secret/repositories/app', { auth: rita, body: { description: 'x' } }),
      403,
      'FORBIDDEN',
    );
    assert.deepEqual((await api(server, 'GET', '/projects/library/repositories/alpha')).body, before);
  });
});

describe('DELETE /projects/{project_name}/repositories/{repository_name}', () => {
  test('refuses callers without repository:delete and unknown names, changing nothing', async () => {
    assertError(await api(server, 'DELETE', '/projects/library/repositories/alpha'), 401, 'UNAUTHORIZED');
    assertError(await api(server, 'DELETE', '/projects/library/repositories/alpha', { auth: otto }), 403, 'FORBIDDEN');
    assertError(await api(server, 'DELETE', '/projects/secret/repositories/app', { auth: rita }), 403, 'FORBIDDEN');
    assertError(await api(server, 'DELETE', '/projects/library/repositories/nosuch', { auth: admin }), 404, 'NOT_FOUND');
    assertError(await api(server, 'DELETE', '/projects/nosuch/repositories/alpha', { auth: admin }), 404, 'NOT_FOUND');
    assert.equal((await api(server, 'GET', '/projects/library/repositories/alpha')).status, 200);
  });

  test('deletes the repository with all its artifacts and tags, and records it in the audit log', async () => {
    const db = server.berth.database.db;
    const repo = await db.selectFrom('repositories').selectAll().where('name', '=', 'library/multi').executeTakeFirstOrThrow();
    const res = await api(server, 'DELETE', '/projects/library/repositories/multi', { auth: admin });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assertError(await api(server, 'GET', '/projects/library/repositories/multi'), 404, 'NOT_FOUND');
    const tags = await fetch(`${server.url}/v2/library/multi/tags/list`, { headers: server.admin });
    assert.equal(tags.status, 404);
    assert.equal(((await tags.json()) as { errors: Array<{ code: string }> }).errors[0].code, 'NAME_UNKNOWN');
    const count = async (table: 'artifacts' | 'tags' | 'repository_blobs') =>
      Number(
        (
          await db
            .selectFrom(table)
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .where('repository_id', '=', repo.id)
            .executeTakeFirstOrThrow()
        ).n,
      );
    assert.equal(await count('artifacts'), 0);
    assert.equal(await count('tags'), 0);
    assert.equal(await count('repository_blobs'), 0);
    const logs = await api<any[]>(server, 'GET', `/audit-logs?q=${encodeURIComponent('resource_type=repository,operation=delete')}`, {
      auth: admin,
    });
    assert.ok(
      logs.body.some((l) => l.resource === 'library/multi' && l.username === 'admin'),
      JSON.stringify(logs.body),
    );
    assertError(await api(server, 'DELETE', '/projects/library/repositories/multi', { auth: admin }), 404, 'NOT_FOUND');
    // Other repositories are untouched, and the name can be pushed to again.
    assert.equal((await api(server, 'GET', '/projects/library/repositories/alpha')).body.artifact_count, 1);
    await pushImage(server.url, 'library/multi', 'again', { headers: server.admin });
    assert.equal((await api(server, 'GET', '/projects/library/repositories/multi')).body.artifact_count, 1);
    assert.equal((await api(server, 'DELETE', '/projects/library/repositories/multi', { auth: admin })).status, 200);
  });

  test('a nested name, encoded twice', async () => {
    await pushImage(server.url, 'library/a/b/c', 'v1', { headers: server.admin });
    assert.equal((await api(server, 'DELETE', '/projects/library/repositories/a%252Fb%252Fc', { auth: admin })).status, 200);
    const tags = await fetch(`${server.url}/v2/library/a/b/c/tags/list`, { headers: server.admin });
    assert.equal(tags.status, 404);
  });
});

describe('GET /repositories', () => {
  test('lists every project’s repositories for a system administrator', async () => {
    const res = await api<any[]>(server, 'GET', '/repositories?sort=name&page_size=100', { auth: admin });
    assert.equal(res.status, 200);
    assert.deepEqual(
      res.body.map((r) => r.name),
      ['library/alpha', 'library/beta', 'library/nested/deep', 'secret/app'],
    );
    assert.equal(res.headers.get('x-total-count'), '4');
    assert.deepEqual(Object.keys(res.body[0]).sort(), repositoryKeys);
    assert.deepEqual(await names(`/repositories?q=${encodeURIComponent('name=~app')}`), ['secret/app']);
    const page = await api<any[]>(server, 'GET', '/repositories?sort=-name&page_size=2', { auth: admin });
    assert.deepEqual(
      page.body.map((r) => r.name),
      ['secret/app', 'library/nested/deep'],
    );
    assert.match(page.headers.get('link')!, /rel="next"/);
  });

  test('others see the repositories of public projects and of their own, as in Harbor', async () => {
    const anonymous = await api<any[]>(server, 'GET', '/repositories?sort=name');
    assert.equal(anonymous.status, 200);
    assert.deepEqual(
      anonymous.body.map((r) => r.name),
      ['library/alpha', 'library/beta', 'library/nested/deep'],
    );
    assert.deepEqual(await names('/repositories?sort=name', rita), ['library/alpha', 'library/beta', 'library/nested/deep', 'secret/app']);
    assert.deepEqual(await names('/repositories?sort=name', otto), ['library/alpha', 'library/beta', 'library/nested/deep']);
  });

  test('400 bad input', async () => {
    assertError(await api(server, 'GET', '/repositories?page_size=1000', { auth: admin }), 400, 'BAD_REQUEST');
    assertError(await api(server, 'GET', `/repositories?q=${encodeURIComponent('name=(a')}`, { auth: admin }), 400, 'BAD_REQUEST');
  });
});

describe('empty repositories stay, as in Harbor', () => {
  const project = 'cleanup';
  before(async () => {
    assert.equal((await api(server, 'POST', '/projects', { auth: admin, body: { project_name: project } })).status, 201);
  });

  async function catalogNames(): Promise<string[]> {
    const res = await fetch(`${server.url}/v2/_catalog?n=1000`, { headers: server.admin });
    assert.equal(res.status, 200);
    return ((await res.json()) as { repositories: string[] }).repositories;
  }

  async function projectState() {
    const info = await api(server, 'GET', `/projects/${project}`, { auth: admin });
    const deletable = await api(server, 'GET', `/projects/${project}/_deletable`, { auth: admin });
    return { repo_count: info.body.repo_count, deletable: deletable.body.deletable };
  }

  /** What each listing says about `name`: its artifact_count there, or absent. */
  async function seen(name: string) {
    const inProject = await api<any[]>(server, 'GET', `/projects/${project}/repositories?page_size=100`, { auth: admin });
    const everywhere = await api<any[]>(server, 'GET', `/repositories?page_size=100&q=${encodeURIComponent(`name=${name}`)}`, { auth: admin });
    const search = await api<any>(server, 'GET', `/search?q=${encodeURIComponent(name)}`, { auth: admin });
    const one = await api<any>(server, 'GET', `/projects/${project}/repositories/${name.slice(project.length + 1)}`, { auth: admin });
    return {
      get: one.status === 200 ? one.body.artifact_count : one.status,
      project: inProject.body.find((r) => r.name === name)?.artifact_count ?? 'absent',
      all: everywhere.body.find((r) => r.name === name)?.artifact_count ?? 'absent',
      search: search.body.repository.find((r: any) => r.repository_name === name)?.artifact_count ?? 'absent',
      catalog: (await catalogNames()).includes(name),
    };
  }

  const shown = (count: number) => ({ get: count, project: count, all: count, search: count, catalog: true });
  const gone = { get: 404, project: 'absent', all: 'absent', search: 'absent', catalog: false };

  test('deleting the last artifact through the API leaves the repository with artifact_count 0; DELETE removes it', async () => {
    const name = `${project}/by-api`;
    await pushImage(server.url, name, 'v1', { headers: server.admin });
    assert.deepEqual(await seen(name), shown(1));
    const created = (await api(server, 'GET', `/projects/${project}/repositories/by-api`, { auth: admin })).body;
    assert.equal(
      (await api(server, 'DELETE', `/projects/${project}/repositories/by-api/artifacts/v1`, { auth: admin })).status,
      200,
    );
    assert.deepEqual(await seen(name), shown(0));
    assert.deepEqual(await projectState(), { repo_count: 1, deletable: false });
    assertError(await api(server, 'DELETE', `/projects/${project}`, { auth: admin }), 412, 'PRECONDITION');
    // The empty repository's artifacts and tags list empty, not 404.
    const artifacts = await api<any[]>(server, 'GET', `/projects/${project}/repositories/by-api/artifacts`, { auth: admin });
    assert.equal(artifacts.status, 200);
    assert.deepEqual(artifacts.body, []);
    // Pushing again fills the same repository: same id, same creation time.
    await pushImage(server.url, name, 'v2', { headers: server.admin });
    const refilled = (await api(server, 'GET', `/projects/${project}/repositories/by-api`, { auth: admin })).body;
    assert.equal(refilled.id, created.id);
    assert.equal(refilled.creation_time, created.creation_time);
    assert.equal(refilled.artifact_count, 1);

    assert.equal((await api(server, 'DELETE', `/projects/${project}/repositories/by-api`, { auth: admin })).status, 200);
    assert.deepEqual(await seen(name), gone);
    assertError(await api(server, 'DELETE', `/projects/${project}/repositories/by-api`, { auth: admin }), 404, 'NOT_FOUND');
    assert.deepEqual(await projectState(), { repo_count: 0, deletable: true });
  });

  test('deleting the last manifest through /v2 (with its signature) leaves it too', async () => {
    const name = `${project}/by-v2`;
    const image = await pushImage(server.url, name, 'v1', { headers: server.admin });
    const empty = await pushBlob(server.url, name, '{}', server.admin);
    const sig = await pushBlob(server.url, name, 'signature bytes', server.admin);
    await putManifest(
      name,
      null,
      {
        schemaVersion: 2,
        mediaType: types.manifest,
        artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json',
        config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: empty.digest, size: empty.size },
        layers: [{ mediaType: 'application/octet-stream', digest: sig.digest, size: sig.size }],
        subject: { mediaType: types.manifest, digest: image.digest, size: image.size },
      },
      types.manifest,
    );
    const res = await fetch(`${server.url}/v2/${name}/manifests/${image.digest}`, { method: 'DELETE', headers: server.admin });
    assert.equal(res.status, 202);
    assert.deepEqual(await seen(name), shown(0));
    const rows = await server.berth.database.db
      .selectFrom('artifacts as a')
      .innerJoin('repositories as r', 'r.id', 'a.repository_id')
      .select('a.id')
      .where('r.name', '=', name)
      .execute();
    assert.deepEqual(rows, [], 'the signature went with its subject');
    const tags = await fetch(`${server.url}/v2/${name}/tags/list`, { headers: server.admin });
    assert.equal(tags.status, 200);
    assert.deepEqual(((await tags.json()) as { tags: string[] }).tags, []);
    assert.equal((await api(server, 'DELETE', `/projects/${project}/repositories/by-v2`, { auth: admin })).status, 200);
    assert.deepEqual(await seen(name), gone);
  });

  test('a repository only uploaded to (no manifest ever) is not one: unlisted, not in the catalog, and the project stays deletable', async () => {
    const name = `${project}/blobs-only`;
    await pushBlob(server.url, name, 'a lone blob', server.admin);
    assert.deepEqual(await seen(name), gone);
    assert.deepEqual(await projectState(), { repo_count: 0, deletable: true });
    assertError(await api(server, 'DELETE', `/projects/${project}/repositories/blobs-only`, { auth: admin }), 404, 'NOT_FOUND');
    // The first manifest push makes it a repository.
    await pushImage(server.url, name, 'v1', { headers: server.admin });
    assert.deepEqual(await seen(name), shown(1));
    assert.equal((await api(server, 'DELETE', `/projects/${project}/repositories/blobs-only`, { auth: admin })).status, 200);
    await pushBlob(server.url, name, 'another lone blob', server.admin);
    assert.equal((await api(server, 'DELETE', `/projects/${project}`, { auth: admin })).status, 200);
    assertError(await api(server, 'GET', `/projects/${project}`, { auth: admin }), 404, 'NOT_FOUND');
  });
});
