import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { api, createUser } from '../helpers/api.js';
import { pushContainerImage, pushCosignSignature } from '../helpers/artifacts.js';
import { basicAuth, startServer, type TestServer } from '../helpers/server.js';
import { addMember, artifactsPath, assertHarborError, createProject, dbState, seedApp, type Seeded } from './api-fixtures.js';

let server: TestServer;
let admin: string;
let s: Seeded;
let secret: Awaited<ReturnType<typeof pushContainerImage>>;
const developer = basicAuth('dev', 'Passw0rd1');
const guest = basicAuth('gina', 'Passw0rd1');
const outsider = basicAuth('otto', 'Passw0rd1');
const maintainer = basicAuth('mia', 'Passw0rd1');
const app = artifactsPath('library/app');
const team = artifactsPath('team/app');

/** A request as `auth`; null for anonymous. */
function call(method: string, path: string, auth: string | null, body?: unknown) {
  return api<any>(server, method, path, { auth: auth ?? undefined, body });
}

before(async () => {
  server = await startServer();
  admin = server.admin.authorization;
  s = await seedApp(server);
  await createProject(server, 'team');
  secret = await pushContainerImage(server, 'team/app', 'v1', { architecture: 'amd64', os: 'linux' }, { cmd: ['/secret'] });
  await pushCosignSignature(server, 'team/app', secret.digest);
  for (const name of ['dev', 'gina', 'otto', 'mia']) await createUser(server, name);
  await addMember(server, 'team', 'mia', 4);
  await addMember(server, 'team', 'dev', 2);
  await addMember(server, 'team', 'gina', 3);
});
after(async () => {
  await server.stop();
});

/** Every read of one artifact's API, for the repository at `base` and the tag `ref`. */
const reads = (base: string, ref: string) => [
  base,
  `${base}/${ref}`,
  `${base}/${ref}/tags`,
  `${base}/${ref}/accessories`,
  `${base}/${ref}/additions/build_history`,
];

describe('who may read', () => {
  test('anyone, anonymous included, reads the artifacts of a public project', async () => {
    for (const path of reads(app, 'v2')) assert.equal((await call('GET', path, null)).status, 200, path);
    for (const path of reads(app, 'v2')) assert.equal((await call('GET', path, outsider)).status, 200, path);
  });

  test('a private project’s artifacts: anonymous 401, a non-member 403, members 200', async () => {
    for (const path of reads(team, 'v1')) {
      assertHarborError(await call('GET', path, null), 401, 'UNAUTHORIZED');
      assertHarborError(await call('GET', path, outsider), 403, 'FORBIDDEN');
      assert.equal((await call('GET', path, guest)).status, 200, path);
      assert.equal((await call('GET', path, developer)).status, 200, path);
    }
  });

  test('a private project does not tell outsiders which repositories or artifacts exist', async () => {
    assertHarborError(await call('GET', `${artifactsPath('team/nothing')}/v1`, null), 401, 'UNAUTHORIZED');
    assertHarborError(await call('GET', `${artifactsPath('team/nothing')}/v1`, outsider), 403, 'FORBIDDEN');
    assertHarborError(await call('GET', `${team}/nope`, outsider), 403, 'FORBIDDEN');
  });
});

describe('who may change', () => {
  test('a guest cannot delete artifacts or create and delete tags (403); nothing changes', async () => {
    const before = await dbState(server);
    assertHarborError(await call('DELETE', `${team}/v1`, guest), 403, 'FORBIDDEN');
    assertHarborError(await call('POST', `${team}/v1/tags`, guest, { name: 'guest-tag' }), 403, 'FORBIDDEN');
    assertHarborError(await call('DELETE', `${team}/v1/tags/v1`, guest), 403, 'FORBIDDEN');
    assert.deepEqual(await dbState(server), before);
  });

  test('anonymous and signed-in strangers cannot change a public project (401 / 403)', async () => {
    const before = await dbState(server);
    assertHarborError(await call('DELETE', `${app}/v2`, null), 401, 'UNAUTHORIZED');
    assertHarborError(await call('DELETE', `${app}/v2`, outsider), 403, 'FORBIDDEN');
    assertHarborError(await call('POST', `${app}/v2/tags`, null, { name: 'anon' }), 401, 'UNAUTHORIZED');
    assertHarborError(await call('POST', `${app}/v2/tags`, outsider, { name: 'outsider' }), 403, 'FORBIDDEN');
    assertHarborError(await call('DELETE', `${app}/v2/tags/v2`, outsider), 403, 'FORBIDDEN');
    assert.deepEqual(await dbState(server), before);
  });

  test('a developer creates tags; deleting tags or artifacts needs a maintainer or more (403)', async () => {
    assert.equal((await call('POST', `${team}/v1/tags`, developer, { name: 'dev-tag' })).status, 201);
    assertHarborError(await call('DELETE', `${team}/v1/tags/dev-tag`, developer), 403, 'FORBIDDEN');
    assertHarborError(await call('DELETE', `${team}/v1`, developer), 403, 'FORBIDDEN');
    assert.equal((await call('DELETE', `${team}/v1/tags/dev-tag`, maintainer)).status, 200);
  });
});

describe('not found and bad references', () => {
  test('an unknown project, repository, digest or tag is 404 with Harbor’s error body', async () => {
    assertHarborError(await call('GET', `${artifactsPath('nowhere/app')}`, admin), 404, 'NOT_FOUND', /nowhere/);
    assertHarborError(await call('GET', `${artifactsPath('nowhere/app')}/v1`, admin), 404, 'NOT_FOUND', /nowhere/);
    assertHarborError(await call('GET', `${artifactsPath('library/nothing')}`, admin), 404, 'NOT_FOUND', /library\/nothing/);
    assertHarborError(await call('GET', `${artifactsPath('library/nothing')}/v1`, admin), 404, 'NOT_FOUND', /library\/nothing/);
    assertHarborError(await call('GET', `${app}/sha256:${'4'.repeat(64)}`, admin), 404, 'NOT_FOUND', /4444/);
    assertHarborError(await call('GET', `${app}/nope`, admin), 404, 'NOT_FOUND', /nope/);
    // A sha512 reference is longer than Fastify's default path parameter limit.
    assertHarborError(await call('GET', `${app}/sha512:${'5'.repeat(128)}`, admin), 404, 'NOT_FOUND', /5555/);
    for (const suffix of ['tags', 'accessories', 'additions/build_history']) {
      assertHarborError(await call('GET', `${app}/nope/${suffix}`, admin), 404, 'NOT_FOUND');
    }
    assertHarborError(await call('DELETE', `${app}/nope/tags/v1`, admin), 404, 'NOT_FOUND');
    assertHarborError(await call('POST', `${app}/nope/labels`, admin, { id: 1 }), 404, 'NOT_FOUND');
  });

  test('a reference that is neither a tag nor a digest is 400', async () => {
    for (const ref of [
      'sha256:xyz',
      `sha256:${'a'.repeat(63)}`,
      '-dash',
      '.dot',
      encodeURIComponent('not a tag'),
      encodeURIComponent('tag/with/slash'),
    ]) {
      for (const suffix of ['', '/tags', '/accessories', '/additions/build_history']) {
        assertHarborError(await call('GET', `${app}/${ref}${suffix}`, admin), 400, 'BAD_REQUEST');
      }
      assertHarborError(await call('DELETE', `${app}/${ref}`, admin), 400, 'BAD_REQUEST');
    }
  });

  test('a repository name that is not valid is 400', async () => {
    assertHarborError(await call('GET', '/projects/library/repositories/UPPER/artifacts', admin), 400, 'BAD_REQUEST');
  });
});

describe('repository names with slashes', () => {
  test('the name inside the project is encoded twice (a%252Fb); the repository answers as project/a/b', async () => {
    const nested = await pushContainerImage(
      server,
      'library/deep/er/app',
      'v1',
      { architecture: 'amd64', os: 'linux' },
      { cmd: ['/deep'] },
    );
    const path = artifactsPath('library/deep/er/app');
    assert.equal(path, '/projects/library/repositories/deep%252Fer%252Fapp/artifacts');
    const listed = await call('GET', path, null);
    assert.equal(listed.status, 200, JSON.stringify(listed.body));
    assert.deepEqual(
      listed.body.map((a: { digest: string; repository_name: string }) => [a.digest, a.repository_name]),
      [[nested.digest, 'library/deep/er/app']],
    );
    const one = await call('GET', `${path}/v1`, null);
    assert.equal(one.body.addition_links.build_history.href, `/api/v2.0${path}/${nested.digest}/additions/build_history`);
    assert.equal((await call('POST', `${path}/v1/tags`, admin, { name: 'v1.1' })).status, 201);
    assert.equal((await call('GET', `${path}/v1.1/tags`, null)).body.length, 2);
    assert.equal((await call('DELETE', `${path}/v1.1`, admin)).status, 200);
    assertHarborError(await call('GET', `${path}/v1`, null), 404, 'NOT_FOUND');
    // Only the first segment is the project: deep/er/app is not a project.
    assertHarborError(await call('GET', '/projects/deep/repositories/er%252Fapp/artifacts', admin), 404, 'NOT_FOUND');
  });
});
