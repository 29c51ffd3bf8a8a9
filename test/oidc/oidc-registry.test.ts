import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { api } from '../helpers/api.js';
import { buildImage, imageBlobs, readOciLayout, writeOciLayout, type BuiltImage } from '../helpers/layout.js';
import { signInThroughProvider, startOidcProvider, type TestOidcProvider } from '../helpers/oidc-provider.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { requireTools, runTool } from '../helpers/tools.js';

const skip = requireTools('skopeo', 'tar');

/**
 * A real registry client with an OIDC user's CLI secret: skopeo logs in with the username and
 * secret (the token service), pushes to and pulls from a project the user is a developer of,
 * is refused with a wrong secret, and is refused once the provider has revoked the user's
 * tokens and the stored one has expired.
 */
describe('skopeo with an OIDC CLI secret', { skip }, () => {
  let server: TestServer;
  let provider: TestOidcProvider;
  let work: string;
  let host: string;
  let image: BuiltImage;
  let layout: string;
  let secret = '';

  function skopeo(authFile: string, ...args: string[]) {
    return runTool('skopeo', ['--insecure-policy', ...args], { env: { ...process.env, REGISTRY_AUTH_FILE: authFile }, timeoutMs: 180_000 });
  }

  before(async () => {
    server = await startServer();
    host = new URL(server.url).host;
    provider = await startOidcProvider({
      berthUrls: [server.url],
      accounts: [{ id: 'alice-sub', preferred_username: 'alice', name: 'Alice', email: 'alice@example.com', groups: ['dev'] }],
    });
    const admin = server.admin.authorization;
    assert.equal((await api(server, 'PUT', '/configurations', { auth: admin, body: provider.settings() })).status, 200);
    assert.equal(
      (await api(server, 'POST', '/projects', { auth: admin, body: { project_name: 'team', metadata: { public: 'false' } } })).status,
      201,
    );
    const signIn = await signInThroughProvider(server.url, 'alice-sub');
    const cookie = `sid=${signIn.cookies.get('sid')}`;
    secret = (await api(server, 'GET', '/users/current', { headers: { cookie } })).body.oidc_user_meta.secret;
    const member = await api(server, 'POST', '/projects/team/members', {
      auth: admin,
      body: { role_id: 2, member_user: { username: 'alice' } },
    });
    assert.equal(member.status, 201, JSON.stringify(member.body));
    work = await mkdtemp(path.join(tmpdir(), 'berth-oidc-skopeo-'));
    image = await buildImage({ architecture: 'amd64', os: 'linux' }, [{ 'etc/motd': 'pushed with a CLI secret\n' }]);
    layout = path.join(work, 'source');
    await writeOciLayout(layout, { v1: image.manifest }, imageBlobs(image));
  });

  after(async () => {
    await server?.stop();
    await provider?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('skopeo login with the CLI secret, then push and pull', async () => {
    const auth = path.join(work, 'alice.json');
    await skopeo(auth, 'login', '--tls-verify=false', '--username', 'alice', '--password', secret, host);
    await skopeo(auth, 'copy', '--preserve-digests', '--dest-tls-verify=false', `oci:${layout}:v1`, `docker://${host}/team/app:v1`);
    const out = path.join(work, 'out');
    await skopeo(auth, 'copy', '--preserve-digests', '--src-tls-verify=false', `docker://${host}/team/app:v1`, `oci:${out}:v1`);
    const copied = await readOciLayout(out);
    assert.equal(copied.manifests[0].digest, image.manifest.digest);
    for (const b of imageBlobs(image)) assert.ok(copied.blobs.get(b.digest)?.equals(b.data), `${b.digest} came back`);
  });

  test('skopeo login with a wrong secret is refused', async () => {
    await assert.rejects(
      skopeo(path.join(work, 'wrong.json'), 'login', '--tls-verify=false', '--username', 'alice', '--password', 'Wrong123456', host),
    );
  });

  test('once the provider revoked the tokens and the stored one expired, the secret no longer logs in', async () => {
    provider.revokeAccount('alice-sub');
    const db = server.berth.database.db;
    await db
      .updateTable('oidc_users')
      .set({ token_expires_at: Date.now() - 1000 })
      .execute();
    server.berth.authenticator.invalidate();
    const auth = path.join(work, 'revoked.json');
    await assert.rejects(skopeo(auth, 'login', '--tls-verify=false', '--username', 'alice', '--password', secret, host));
    await assert.rejects(
      skopeo(auth, 'inspect', '--raw', '--tls-verify=false', '--creds', `alice:${secret}`, `docker://${host}/team/app:v1`),
    );
  });
});
