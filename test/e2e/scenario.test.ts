import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { api, createUser } from '../helpers/api.js';
import { buildImage, imageBlobs, writeOciLayout } from '../helpers/layout.js';
import { types } from '../helpers/oci.js';
import { podmanIn, podmanSkip } from '../helpers/podman.js';
import { startServer, type TestServer } from '../helpers/server.js';

const skip = podmanSkip();

/**
 * The "done when" story: an admin sets up a private project with a developer and a guest;
 * the developer pushes with podman, the guest pulls but cannot push, and the project's log
 * shows all of it.
 */
describe('scenario: a private team project with a developer and a guest, driven by podman', { skip }, () => {
  let server: TestServer;
  let work: string;
  let host: string;
  let podman: ReturnType<typeof podmanIn>;
  const authFile = (who: string) => path.join(work, `auth-${who}.json`);
  const ref = () => `${host}/team/app:1.0`;

  before(async () => {
    server = await startServer();
    host = new URL(server.url).host;
    work = path.join(tmpdir(), `berth-scenario-${randomBytes(6).toString('hex')}`);
    await mkdir(path.join(work, 'tmp'), { recursive: true });
    // REGISTRY_AUTH_FILE (the store's default auth file) must exist; each user gets their own --authfile besides.
    await writeFile(path.join(work, 'tmp', 'auth.json'), '{"auths":{}}');
    podman = podmanIn(work);
    const image = await buildImage({ architecture: 'amd64', os: 'linux' }, [{ 'app/': '', 'app/hello.txt': 'hello team\n' }]);
    const layout = path.join(work, 'layout');
    await writeOciLayout(layout, { v1: image.manifest }, imageBlobs(image));
    await podman('pull', `oci:${layout}:v1`);
    await podman('tag', image.config.digest.slice('sha256:'.length), 'localhost/scenario/app:1.0');
  });

  after(async () => {
    await server?.stop();
    if (podman) await podman('rmi', '--all', '--force').catch(() => undefined);
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('admin creates the private project team, users dev1 and guest1, and adds them as Developer and Guest', async () => {
    const admin = server.admin.authorization;
    const created = await api(server, 'POST', '/projects', { auth: admin, body: { project_name: 'team', metadata: { public: 'false' } } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    await createUser(server, 'dev1', 'Passw0rd1');
    await createUser(server, 'guest1', 'Passw0rd1');
    for (const [username, role_id] of [['dev1', 2], ['guest1', 3]] as const) {
      const res = await api(server, 'POST', '/projects/team/members', { auth: admin, body: { role_id, member_user: { username } } });
      assert.equal(res.status, 201, JSON.stringify(res.body));
    }
    const members = await api<any[]>(server, 'GET', '/projects/team/members', { auth: admin });
    assert.deepEqual(members.body.map((m) => `${m.entity_name}:${m.role_name}`).sort(), ['admin:projectAdmin', 'dev1:developer', 'guest1:guest']);
  });

  test('dev1 logs in with podman and pushes team/app:1.0', async () => {
    await podman('login', '--tls-verify=false', '--authfile', authFile('dev1'), '--username', 'dev1', '--password', 'Passw0rd1', host);
    await podman('push', '--tls-verify=false', '--authfile', authFile('dev1'), 'localhost/scenario/app:1.0', `docker://${ref()}`);
    const res = await fetch(`${server.url}/v2/team/app/manifests/1.0`, { method: 'HEAD', headers: { ...server.admin, accept: types.manifest } });
    assert.equal(res.status, 200);
    // Private: nobody anonymous sees it.
    assert.equal((await fetch(`${server.url}/v2/team/app/manifests/1.0`, { headers: { accept: types.manifest } })).status, 401);
  });

  test('guest1 pulls it, and is refused a push', async () => {
    await podman('login', '--tls-verify=false', '--authfile', authFile('guest1'), '--username', 'guest1', '--password', 'Passw0rd1', host);
    await podman('rmi', '--force', 'localhost/scenario/app:1.0');
    await podman('pull', '--tls-verify=false', '--authfile', authFile('guest1'), ref());
    const inspected = JSON.parse((await podman('image', 'inspect', ref())).stdout) as Array<{ RepoTags: string[] }>;
    assert.ok(inspected[0].RepoTags.includes(ref()));

    await podman('tag', ref(), `${host}/team/app:guest`);
    await assert.rejects(
      podman('push', '--tls-verify=false', '--authfile', authFile('guest1'), `${host}/team/app:guest`),
      (err: Error) => /denied|unauthorized|403|401/i.test(err.message),
    );
    const tags = (await (await fetch(`${server.url}/v2/team/app/tags/list`, { headers: server.admin })).json()) as { tags: string[] };
    assert.deepEqual(tags.tags, ['1.0']);
  });

  test("the project's log, read by admin, shows the member additions, dev1's push and guest1's pull", async () => {
    // Pull records are batched (src/registry/pulls.ts); write out the pending batch first.
    await server.berth.pulls.flush();
    const res = await api<any[]>(server, 'GET', '/projects/team/logs?page_size=100', { auth: server.admin.authorization });
    assert.equal(res.status, 200);
    const lines = res.body.map((l) => `${l.username} ${l.operation} ${l.resource_type} ${l.resource}`);
    const has = (re: RegExp) => assert.ok(lines.some((l) => re.test(l)), `no line matches ${re}:\n${lines.join('\n')}`);
    has(/^admin create member team:dev1$/);
    has(/^admin create member team:guest1$/);
    has(/^dev1 create artifact team\/app:1\.0$/);
    has(/^guest1 pull artifact team\/app[:@]/);
    assert.ok(!lines.some((l) => /^guest1 create artifact/.test(l)), 'the refused push left no record');
  });
});
