import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { api } from '../helpers/api.js';
import { buildImage, imageBlobs, writeOciLayout } from '../helpers/layout.js';
import { podmanIn, podmanSkip } from '../helpers/podman.js';
import { basicAuth, startServer, type TestServer } from '../helpers/server.js';
import { ldapSettings, slapdSkip, startSlapd, type Slapd } from '../helpers/slapd.js';

/**
 * A real client signing in with a directory password: `podman login` to Berth in ldap_auth,
 * then push and pull; and project access given to an LDAP group, taken by a user who is in it
 * only through a nested group.
 */
const skip = slapdSkip() || podmanSkip();

describe('podman with LDAP users', { skip }, () => {
  let slapd: Slapd;
  let server: TestServer;
  let host: string;
  let work: string;
  const podmen = new Map<string, ReturnType<typeof podmanIn>>();
  const admin = () => server.admin.authorization;

  /** A podman with its own store and auth file, logged in to Berth as this LDAP user. */
  async function podmanAs(username: string, password: string) {
    const dir = path.join(work, username);
    await mkdir(path.join(dir, 'tmp'), { recursive: true });
    const podman = podmanIn(dir);
    await podman('login', '--tls-verify=false', '--username', username, '--password', password, host);
    await podman('pull', `oci:${path.join(work, 'layout')}:v1`);
    podmen.set(username, podman);
    return podman;
  }

  before(async () => {
    slapd = await startSlapd();
    server = await startServer();
    host = new URL(server.url).host;
    const res = await api(server, 'PUT', '/configurations', { auth: admin(), body: { auth_mode: 'ldap_auth', ...ldapSettings(slapd) } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    // Lower case only: podman names an image pulled from an OCI layout after the layout's path.
    work = path.join(tmpdir(), `berth-ldap-podman-${randomBytes(6).toString('hex')}`);
    const image = await buildImage({ architecture: 'amd64', os: 'linux' }, [{ 'etc/motd': 'pushed by an LDAP user\n' }]);
    await writeOciLayout(path.join(work, 'layout'), { v1: image.manifest }, imageBlobs(image));
  });

  after(async () => {
    await server?.stop();
    await slapd?.stop();
    for (const podman of podmen.values()) await podman('rmi', '--all', '--force').catch(() => undefined);
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('podman login with the directory password, push to the own project, pull back', async () => {
    // A wrong directory password is refused by the login itself.
    const dir = path.join(work, 'wrong');
    await mkdir(path.join(dir, 'tmp'), { recursive: true });
    await assert.rejects(
      podmanIn(dir)('login', '--tls-verify=false', '--username', 'alice', '--password', 'wrong', host),
      /401|unauthorized|invalid/i,
    );

    const podman = await podmanAs('alice', 'alice-ldap-pw');
    const created = await api(server, 'POST', '/projects', {
      auth: basicAuth('alice', 'alice-ldap-pw'),
      body: { project_name: 'alice-proj', metadata: { public: 'false' } },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const images = JSON.parse((await podman('images', '--format', 'json')).stdout) as Array<{ Id: string }>;
    await podman('push', '--tls-verify=false', images[0]!.Id, `docker://${host}/alice-proj/hello:v1`);
    const tags = await api(server, 'GET', '/projects/alice-proj/repositories/hello/artifacts?with_tag=true', {
      auth: basicAuth('alice', 'alice-ldap-pw'),
    });
    assert.equal(tags.status, 200);
    assert.equal(tags.body[0].tags[0].name, 'v1');
    await podman('rmi', '--all', '--force');
    await podman('pull', '--tls-verify=false', `${host}/alice-proj/hello:v1`);
    const pulled = JSON.parse((await podman('images', '--format', 'json')).stdout) as Array<{ Names?: string[] }>;
    assert.ok(pulled.some((i) => i.Names?.includes(`${host}/alice-proj/hello:v1`)));
  });

  test('an LDAP group as project developer lets a user in it (through a nested group) push; removing the group takes that away', async () => {
    const project = await api(server, 'POST', '/projects', {
      auth: admin(),
      body: { project_name: 'devs', metadata: { public: 'false' } },
    });
    assert.equal(project.status, 201, JSON.stringify(project.body));
    // carol signs in first, so Berth knows her groups (team-a, and developers through it).
    const podman = await podmanAs('carol', 'carol-ldap-pw');
    const image = (JSON.parse((await podman('images', '--format', 'json')).stdout) as Array<{ Id: string }>)[0]!.Id;
    await assert.rejects(
      podman('push', '--tls-verify=false', image, `docker://${host}/devs/app:v1`),
      /denied|unauthorized|forbidden|401|403/i,
    );

    const added = await api(server, 'POST', '/projects/devs/members', {
      auth: admin(),
      body: { role_id: 2, member_group: { group_type: 1, ldap_group_dn: slapd.groups.developers!.dn } },
    });
    assert.equal(added.status, 201, JSON.stringify(added.body));
    const members = await api(server, 'GET', '/projects/devs/members', { auth: admin() });
    assert.ok(!(members.body as Array<{ entity_name: string }>).some((m) => m.entity_name === 'carol'), 'carol is not a direct member');

    await podman('push', '--tls-verify=false', image, `docker://${host}/devs/app:v1`);
    const artifacts = await api(server, 'GET', '/projects/devs/repositories/app/artifacts', { auth: admin() });
    assert.equal(artifacts.status, 200);
    assert.equal((artifacts.body as unknown[]).length, 1);

    const memberId = added.headers.get('location')!.split('/').pop();
    const removed = await api(server, 'DELETE', `/projects/devs/members/${memberId}`, { auth: admin() });
    assert.equal(removed.status, 200);
    await assert.rejects(
      podman('push', '--tls-verify=false', image, `docker://${host}/devs/app:v2`),
      /denied|unauthorized|forbidden|401|403/i,
    );
    await assert.rejects(podman('pull', '--tls-verify=false', `${host}/devs/app:v1`), /denied|unauthorized|forbidden|401|403|not found/i);
  });
});
