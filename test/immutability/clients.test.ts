import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { api } from '../helpers/api.js';
import { buildImage, imageBlobs, writeOciLayout, type BuiltImage } from '../helpers/layout.js';
import { podmanIn, podmanSkip } from '../helpers/podman.js';
import { adminPassword, startServer, type TestServer } from '../helpers/server.js';
import { requireTools, runTool } from '../helpers/tools.js';
import { createProject } from '../projects/fixtures.js';

/** Real clients against a project whose `v*` tags are immutable. */
let server: TestServer;
let work: string;
let host: string;
let first: BuiltImage;
let second: BuiltImage;
let layout: string;

async function tagDigest(repository: string, tag: string): Promise<string> {
  const res = await fetch(`${server.url}/v2/${repository}/manifests/${tag}`, {
    method: 'HEAD',
    headers: { ...server.admin, accept: 'application/vnd.oci.image.manifest.v1+json' },
  });
  assert.equal(res.status, 200);
  return res.headers.get('docker-content-digest')!;
}

before(async () => {
  server = await startServer();
  host = new URL(server.url).host;
  // Lower case only: podman reads an oci: path as an image name.
  work = path.join(tmpdir(), `berth-immutability-${randomBytes(6).toString('hex')}`);
  await mkdir(work);
  await createProject(server, { project_name: 'releases' });
  const rule = await api(server, 'POST', '/projects/releases/immutabletagrules', {
    auth: server.admin.authorization,
    body: {
      tag_selectors: [{ kind: 'doublestar', decoration: 'matches', pattern: 'v*' }],
      scope_selectors: { repository: [{ kind: 'doublestar', decoration: 'repoMatches', pattern: '**' }] },
    },
  });
  assert.equal(rule.status, 201);
  first = await buildImage({ architecture: 'amd64', os: 'linux' }, [{ 'etc/motd': 'first build\n' }]);
  second = await buildImage({ architecture: 'amd64', os: 'linux' }, [{ 'etc/motd': 'second build\n' }]);
  layout = path.join(work, 'layout');
  await writeOciLayout(layout, { first: first.manifest, second: second.manifest }, [...imageBlobs(first), ...imageBlobs(second)]);
});
after(async () => {
  await server?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('skopeo and an immutable tag', { skip: requireTools('skopeo', 'tar') }, () => {
  const authFile = () => path.join(work, 'skopeo-auth.json');
  const skopeo = (...args: string[]) =>
    runTool('skopeo', ['--insecure-policy', ...args], { env: { ...process.env, REGISTRY_AUTH_FILE: authFile() }, timeoutMs: 180_000 });

  test('pushing a different image to v1 fails with the policy message; the same image again succeeds', async () => {
    await skopeo('login', '--tls-verify=false', '--username', 'admin', '--password', adminPassword, host);
    await skopeo('copy', '--dest-tls-verify=false', `oci:${layout}:first`, `docker://${host}/releases/app:v1`);
    assert.equal(await tagDigest('releases/app', 'v1'), first.manifest.digest);

    const refused = await skopeo(
      'copy',
      '--retry-times',
      '0',
      '--dest-tls-verify=false',
      `oci:${layout}:second`,
      `docker://${host}/releases/app:v1`,
    ).then(
      () => assert.fail('moving an immutable tag succeeded'),
      (err: Error & { stderr: string }) => err,
    );
    assert.match(refused.stderr, /configured as immutable/);
    console.log(`# skopeo said: ${refused.stderr.trim().split('\n').at(-1)}`);
    assert.equal(await tagDigest('releases/app', 'v1'), first.manifest.digest);

    await skopeo('copy', '--dest-tls-verify=false', `oci:${layout}:first`, `docker://${host}/releases/app:v1`);
    assert.equal(await tagDigest('releases/app', 'v1'), first.manifest.digest);
    // A tag no rule matches moves as before.
    await skopeo('copy', '--dest-tls-verify=false', `oci:${layout}:second`, `docker://${host}/releases/app:latest`);
    await skopeo('copy', '--dest-tls-verify=false', `oci:${layout}:first`, `docker://${host}/releases/app:latest`);
  });
});

describe('podman and an immutable tag', { skip: podmanSkip() }, () => {
  test('podman pushing the same image again under v1 succeeds; a different image is refused', async () => {
    const dir = path.join(work, 'podman');
    await mkdir(path.join(dir, 'tmp'), { recursive: true });
    const podman = podmanIn(dir);
    try {
      await podman('login', '--tls-verify=false', '--username', 'admin', '--password', adminPassword, host);
      await podman('pull', `oci:${layout}:first`);
      await podman('tag', first.config.digest.slice('sha256:'.length), 'localhost/imm/app:one');
      await podman('pull', `oci:${layout}:second`);
      await podman('tag', second.config.digest.slice('sha256:'.length), 'localhost/imm/app:two');
      const digestFile = path.join(dir, 'digest');
      await podman(
        'push',
        '--tls-verify=false',
        '--digestfile',
        digestFile,
        'localhost/imm/app:one',
        `docker://${host}/releases/podman:v1`,
      );
      const pushed = (await readFile(digestFile, 'utf8')).trim();
      await podman(
        'push',
        '--tls-verify=false',
        '--digestfile',
        digestFile,
        'localhost/imm/app:one',
        `docker://${host}/releases/podman:v1`,
      );
      assert.equal((await readFile(digestFile, 'utf8')).trim(), pushed);
      const refused = await podman('push', '--tls-verify=false', 'localhost/imm/app:two', `docker://${host}/releases/podman:v1`).then(
        () => assert.fail('moving an immutable tag succeeded'),
        (err: Error & { stderr: string }) => err,
      );
      assert.match(refused.stderr, /configured as immutable/);
      const head = await fetch(`${server.url}/v2/releases/podman/manifests/v1`, {
        method: 'HEAD',
        headers: {
          ...server.admin,
          accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json',
        },
      });
      assert.equal(head.headers.get('docker-content-digest'), pushed);
    } finally {
      await podman('rmi', '--all', '--force').catch(() => undefined);
    }
  });
});
