import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  buildImage,
  buildIndex,
  imageBlobs,
  listLayer,
  readOciLayout,
  writeOciLayout,
  type BuiltBlob,
  type BuiltImage,
} from '../helpers/layout.js';
import { sha256, types } from '../helpers/oci.js';
import { recordRequests } from '../helpers/requests.js';
import { adminPassword, startServer, type TestServer } from '../helpers/server.js';
import { requireTools, runTool } from '../helpers/tools.js';

const skip = requireTools('skopeo', 'tar');

/** Berth's admin for these tests; `skopeo login` stores it in a temp auth file that every call uses. */
const admin = { username: 'admin', password: adminPassword };
let authFile = '';

/** skopeo with no signature policy file needed and credentials from the test's own auth file. */
function skopeo(...args: string[]) {
  return runTool('skopeo', ['--insecure-policy', ...args], { env: { ...process.env, REGISTRY_AUTH_FILE: authFile }, timeoutMs: 180_000 });
}

async function headManifest(server: TestServer, repo: string, reference: string, accept = [types.index, types.manifest, types.dockerManifest, types.dockerList]) {
  return fetch(`${server.url}/v2/${repo}/manifests/${reference}`, { method: 'HEAD', headers: { accept: accept.join(', ') } });
}

describe('skopeo against Berth', { skip }, () => {
  let server: TestServer;
  let work: string;
  let host: string;
  let amd64: BuiltImage;
  let arm64: BuiltImage;
  let single: BuiltImage;
  let index: BuiltBlob;
  let layout: string;

  before(async () => {
    server = await startServer();
    host = new URL(server.url).host;
    work = await mkdtemp(path.join(tmpdir(), 'berth-skopeo-'));
    authFile = path.join(work, 'auth.json');
    await skopeo('login', '--tls-verify=false', '--username', admin.username, '--password', admin.password, host);
    amd64 = await buildImage({ architecture: 'amd64', os: 'linux' }, [
      { 'bin/': '', 'bin/hello': '#!/bin/sh\necho hello from amd64\n', 'etc/os-release': 'ID=berth-e2e\n' },
      { 'etc/motd': 'second layer, amd64\n' },
    ]);
    arm64 = await buildImage({ architecture: 'arm64', os: 'linux', variant: 'v8' }, [
      { 'bin/': '', 'bin/hello': '#!/bin/sh\necho hello from arm64\n', 'etc/os-release': 'ID=berth-e2e\n' },
    ]);
    // Incompressible, and large enough that the layer crosses many socket reads and writes.
    single = await buildImage({ architecture: 'amd64', os: 'linux' }, [
      { 'srv/data.txt': 'a single-platform image\n'.repeat(100) },
      { 'srv/random.bin': randomBytes(6 * 1024 * 1024) },
    ]);
    index = buildIndex([amd64, arm64]);
    layout = path.join(work, 'source');
    await writeOciLayout(layout, { v1: index, single: single.manifest }, [index, ...imageBlobs(amd64), ...imageBlobs(arm64), ...imageBlobs(single)]);
  });

  after(async () => {
    await server?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('the built layers are real gzip tar archives', () => {
    assert.deepEqual(listLayer(amd64.layers[0].data), ['bin/', 'bin/hello', 'etc/', 'etc/os-release']);
    assert.deepEqual(listLayer(amd64.layers[1].data), ['etc/', 'etc/motd']);
  });

  test('copy --all of a multi-platform OCI index in and back out keeps every digest and byte', async () => {
    await skopeo('copy', '--all', '--preserve-digests', '--dest-tls-verify=false', `oci:${layout}:v1`, `docker://${host}/library/multi:v1`);

    const head = await headManifest(server, 'library/multi', 'v1');
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('docker-content-digest'), index.digest);
    assert.equal(head.headers.get('content-type'), types.index);

    const out = path.join(work, 'out-multi');
    await skopeo('copy', '--all', '--preserve-digests', '--src-tls-verify=false', `docker://${host}/library/multi:v1`, `oci:${out}:v1`);
    const copied = await readOciLayout(out);
    assert.equal(copied.manifests.length, 1);
    assert.equal(copied.manifests[0].digest, index.digest);
    assert.equal(copied.manifests[0].mediaType, types.index);
    assert.equal(copied.manifests[0].annotations?.['org.opencontainers.image.ref.name'], 'v1');
    const expected = [index, ...imageBlobs(amd64), ...imageBlobs(arm64)];
    assert.deepEqual([...copied.blobs.keys()].sort(), expected.map((b) => b.digest).sort());
    for (const b of expected) assert.ok(copied.blobs.get(b.digest)!.equals(b.data), `${b.digest} (${b.mediaType}) came back with other bytes`);
  });

  test('inspect --raw returns the index bytes; inspect resolves each platform', async () => {
    const raw = await skopeo('inspect', '--raw', '--tls-verify=false', `docker://${host}/library/multi:v1`);
    assert.equal(sha256(raw.stdout), index.digest);
    assert.equal(raw.stdout, index.data.toString('utf8'));

    const rawChild = await skopeo('inspect', '--raw', '--tls-verify=false', `docker://${host}/library/multi@${arm64.manifest.digest}`);
    assert.equal(rawChild.stdout, arm64.manifest.data.toString('utf8'));

    const config = await skopeo('inspect', '--config', '--raw', '--tls-verify=false', `docker://${host}/library/multi@${amd64.manifest.digest}`);
    assert.equal(config.stdout, amd64.config.data.toString('utf8'));

    for (const image of [amd64, arm64]) {
      const { stdout } = await skopeo(
        '--override-os', 'linux', '--override-arch', image.platform.architecture,
        ...(image.platform.variant ? ['--override-variant', image.platform.variant] : []),
        'inspect', '--tls-verify=false', `docker://${host}/library/multi:v1`,
      );
      const info = JSON.parse(stdout) as { Name: string; Digest: string; RepoTags: string[]; Architecture: string; Os: string; Layers: string[]; Labels: Record<string, string> };
      assert.equal(info.Name, `${host}/library/multi`);
      assert.equal(info.Architecture, image.platform.architecture);
      assert.equal(info.Os, 'linux');
      assert.deepEqual(info.Layers, image.layers.map((l) => l.digest));
      assert.deepEqual(info.RepoTags, ['v1']);
      assert.equal(info.Labels['org.example.built-by'], 'berth-e2e');
      // skopeo reports the digest of what the tag names (the index), whichever platform it shows.
      assert.equal(info.Digest, index.digest);
    }
  });

  test('list-tags lists every tag; delete removes a tag by digest', async () => {
    await skopeo('copy', '--all', '--preserve-digests', '--dest-tls-verify=false', `oci:${layout}:v1`, `docker://${host}/library/multi:v2`);
    await skopeo('copy', '--preserve-digests', '--dest-tls-verify=false', `oci:${layout}:single`, `docker://${host}/library/multi:single`);
    const listed = JSON.parse((await skopeo('list-tags', '--tls-verify=false', `docker://${host}/library/multi`)).stdout) as { Repository: string; Tags: string[] };
    assert.equal(listed.Repository, `${host}/library/multi`);
    assert.deepEqual([...listed.Tags].sort(), ['single', 'v1', 'v2']);

    // skopeo delete resolves the reference to its digest and deletes the manifest: the
    // artifact goes, and with it every tag pointing at it.
    await skopeo('delete', '--tls-verify=false', `docker://${host}/library/multi:single`);
    assert.equal((await headManifest(server, 'library/multi', single.manifest.digest)).status, 404);
    assert.equal((await headManifest(server, 'library/multi', 'single')).status, 404);

    // A manifest that an index lists is not deleted on its own; skopeo shows Berth's reason.
    await assert.rejects(
      skopeo('delete', '--tls-verify=false', `docker://${host}/library/multi@${arm64.manifest.digest}`),
      /is part of index sha256:[0-9a-f]{64} in library\/multi; delete the index first/,
    );
    await skopeo('delete', '--tls-verify=false', `docker://${host}/library/multi@${index.digest}`);
    const after = JSON.parse((await skopeo('list-tags', '--tls-verify=false', `docker://${host}/library/multi`)).stdout) as { Tags: string[] };
    assert.deepEqual(after.Tags, []);
    await assert.rejects(skopeo('inspect', '--raw', '--tls-verify=false', `docker://${host}/library/multi:v1`), /manifest unknown/i);

    // With its last manifests deleted, the repository stays, empty, as in Harbor, until deleted itself.
    for (const image of [amd64, arm64]) await skopeo('delete', '--tls-verify=false', `docker://${host}/library/multi@${image.manifest.digest}`);
    const auth = { authorization: `Basic ${Buffer.from(`${admin.username}:${admin.password}`).toString('base64')}` };
    const emptied = await fetch(`${server.url}/api/v2.0/projects/library/repositories/multi`, { headers: auth });
    assert.equal(emptied.status, 200);
    assert.equal(((await emptied.json()) as { artifact_count: number }).artifact_count, 0);
    const removed = await fetch(`${server.url}/api/v2.0/projects/library/repositories/multi`, { method: 'DELETE', headers: auth });
    assert.equal(removed.status, 200);
  });

  test('a push into a project that does not exist fails with a message skopeo shows', async () => {
    await assert.rejects(
      skopeo('copy', '--preserve-digests', '--dest-tls-verify=false', `oci:${layout}:single`, `docker://${host}/nosuch/app:v1`),
      /name unknown: project \\?"nosuch\\?" does not exist; create it before pushing to nosuch\/app/,
    );
    await assert.rejects(
      skopeo('inspect', '--raw', '--tls-verify=false', `docker://${host}/library/never-pushed:v1`),
      /name unknown: repository library\/never-pushed is not known/,
    );
  });

  test('copy --format v2s2 pushes a Docker schema 2 image whose digests hold on the way back', async () => {
    const { requests, stop } = recordRequests(server);
    try {
      await skopeo('copy', '--format', 'v2s2', '--dest-tls-verify=false', `oci:${layout}:single`, `docker://${host}/library/docker:v1`);
    } finally {
      stop();
    }
    const put = requests.find((r) => r.method === 'PUT' && r.url.startsWith('/v2/library/docker/manifests/'));
    assert.equal(put?.status, 201);

    const head = await headManifest(server, 'library/docker', 'v1');
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-type'), types.dockerManifest);
    const digest = head.headers.get('docker-content-digest')!;

    const raw = (await skopeo('inspect', '--raw', '--tls-verify=false', `docker://${host}/library/docker:v1`)).stdout;
    assert.equal(sha256(raw), digest);
    const manifest = JSON.parse(raw) as { mediaType: string; config: { mediaType: string; digest: string }; layers: { mediaType: string; digest: string; size: number }[] };
    assert.equal(manifest.mediaType, types.dockerManifest);
    assert.equal(manifest.config.mediaType, types.dockerConfig);
    assert.equal(manifest.config.digest, single.config.digest);
    assert.deepEqual(
      manifest.layers.map((l) => [l.mediaType, l.digest, l.size]),
      single.layers.map((l) => [types.dockerLayer, l.digest, l.size]),
    );

    // Back out to a dir: layout, which keeps the manifest exactly as the registry served it.
    const out = path.join(work, 'out-docker');
    await skopeo('copy', '--preserve-digests', '--src-tls-verify=false', `docker://${host}/library/docker:v1`, `dir:${out}`);
    const manifestBack = await readFile(path.join(out, 'manifest.json'));
    assert.equal(sha256(manifestBack), digest);
    for (const b of [single.config, ...single.layers]) {
      const data = await readFile(path.join(out, b.digest.slice('sha256:'.length)));
      assert.ok(data.equals(b.data), `${b.digest} came back with other bytes`);
    }
    assert.equal((await readdir(out)).filter((f) => /^[0-9a-f]{64}$/.test(f)).length, 1 + single.layers.length);

    // By digest, the same manifest.
    const byDigest = await skopeo('inspect', '--raw', '--tls-verify=false', `docker://${host}/library/docker@${digest}`);
    assert.equal(byDigest.stdout, raw);
  });

  test('copy --all --format v2s2 makes a Docker manifest list, served and copied on as pushed', async () => {
    await skopeo('copy', '--all', '--format', 'v2s2', '--dest-tls-verify=false', `oci:${layout}:v1`, `docker://${host}/library/dockerlist:v1`);
    const head = await headManifest(server, 'library/dockerlist', 'v1');
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-type'), types.dockerList);
    const digest = head.headers.get('docker-content-digest')!;

    const raw = (await skopeo('inspect', '--raw', '--tls-verify=false', `docker://${host}/library/dockerlist:v1`)).stdout;
    assert.equal(sha256(raw), digest);
    const list = JSON.parse(raw) as { mediaType: string; manifests: { mediaType: string; digest: string; platform: { architecture: string; variant?: string } }[] };
    assert.equal(list.mediaType, types.dockerList);
    assert.deepEqual(list.manifests.map((m) => [m.mediaType, m.platform.architecture, m.platform.variant]), [
      [types.dockerManifest, 'amd64', undefined],
      [types.dockerManifest, 'arm64', 'v8'],
    ]);
    for (const [i, image] of [amd64, arm64].entries()) {
      const child = (await skopeo('inspect', '--raw', '--tls-verify=false', `docker://${host}/library/dockerlist@${list.manifests[i].digest}`)).stdout;
      assert.equal(sha256(child), list.manifests[i].digest);
      const parsed = JSON.parse(child) as { mediaType: string; config: { digest: string }; layers: { digest: string }[] };
      assert.equal(parsed.mediaType, types.dockerManifest);
      assert.equal(parsed.config.digest, image.config.digest);
      assert.deepEqual(parsed.layers.map((l) => l.digest), image.layers.map((l) => l.digest));
    }

    await skopeo('copy', '--all', '--preserve-digests', '--src-tls-verify=false', '--dest-tls-verify=false', `docker://${host}/library/dockerlist:v1`, `docker://${host}/library/dockerlist-copy:v1`);
    assert.equal((await headManifest(server, 'library/dockerlist-copy', 'v1')).headers.get('docker-content-digest'), digest);
  });

  test('copy between two Berth repositories mounts the blobs instead of uploading them', async () => {
    await skopeo('copy', '--all', '--preserve-digests', '--dest-tls-verify=false', `oci:${layout}:v1`, `docker://${host}/library/a:v1`);

    const { requests, stop } = recordRequests(server);
    try {
      await skopeo('copy', '--all', '--preserve-digests', '--src-tls-verify=false', '--dest-tls-verify=false', `docker://${host}/library/a:v1`, `docker://${host}/library/b:v1`);
    } finally {
      stop();
    }
    const blobs = [...imageBlobs(amd64), ...imageBlobs(arm64)].filter((b) => b.mediaType !== types.manifest);
    const mounts = requests.filter((r) => r.method === 'POST' && r.url.startsWith('/v2/library/b/blobs/uploads/') && r.url.includes('mount='));
    const mounted = new Set(
      mounts.filter((r) => r.status === 201).map((r) => new URL(r.url, server.url).searchParams.get('mount')),
    );
    for (const r of mounts) assert.equal(new URL(r.url, server.url).searchParams.get('from'), 'library/a');
    // skopeo mounts what its blob-info cache saw in library/a; nothing it mounted was uploaded again.
    assert.ok(mounted.size > 0, `no blob was mounted; requests:\n${requests.map((r) => `${r.method} ${r.url} ${r.status}`).join('\n')}`);
    const patched = requests.filter((r) => r.method === 'PATCH' || (r.method === 'PUT' && r.url.includes('/blobs/uploads/')));
    for (const b of blobs) {
      if (mounted.has(b.digest)) {
        assert.ok(!patched.some((r) => r.url.includes(encodeURIComponent(b.digest)) || r.url.includes(b.digest)), `${b.digest} was mounted and uploaded`);
      }
    }

    const head = await headManifest(server, 'library/b', 'v1');
    assert.equal(head.headers.get('docker-content-digest'), index.digest);
    const out = path.join(work, 'out-b');
    await skopeo('copy', '--all', '--preserve-digests', '--src-tls-verify=false', `docker://${host}/library/b:v1`, `oci:${out}:v1`);
    const copied = await readOciLayout(out);
    assert.equal(copied.manifests[0].digest, index.digest);
    for (const b of [index, ...imageBlobs(amd64), ...imageBlobs(arm64)]) assert.ok(copied.blobs.get(b.digest)?.equals(b.data), `${b.digest} missing or changed in library/b`);

    // The blobs are in b on their own: deleting a's tag does not take them away from b.
    await skopeo('delete', '--tls-verify=false', `docker://${host}/library/a:v1`);
    for (const b of blobs) {
      const res = await fetch(`${server.url}/v2/library/b/blobs/${b.digest}`, { method: 'HEAD' });
      assert.equal(res.status, 200, `${b.digest} is gone from library/b`);
    }
  });
});
