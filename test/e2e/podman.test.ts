import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildImage, buildIndex, imageBlobs, writeOciLayout, type BuiltImage } from '../helpers/layout.js';
import { sha256, types } from '../helpers/oci.js';
import { adminPassword, startServer, type TestServer } from '../helpers/server.js';
import { podmanIn, podmanSkip } from '../helpers/podman.js';

/**
 * podman push and pull need no container runtime, cgroups or namespaces: only its image
 * store, which vfs keeps in plain directories (test/helpers/podman.ts). Only the blob-info
 * cache is shared with every other podman and skopeo run by root
 * (/var/lib/containers/cache); it is keyed by registry host:port, and each test server has
 * a fresh random port.
 */
const skip = podmanSkip();

/** Berth's admin for these tests; `podman login` stores it in the store's own auth file. */
const admin = { username: 'admin', password: adminPassword };

interface PodmanImage {
  Id: string;
  Digest: string;
  RepoTags: string[];
  RepoDigests: string[];
  Architecture: string;
  Os: string;
  RootFS: { Layers: string[] };
  Config: { Labels?: Record<string, string>; Cmd?: string[] };
}

describe('podman against Berth', { skip }, () => {
  let server: TestServer;
  let work: string;
  let host: string;
  let image: BuiltImage;
  let arm64: BuiltImage;
  let podman: ReturnType<typeof podmanIn>;

  const inspect = async (ref: string) => (JSON.parse((await podman('image', 'inspect', ref)).stdout) as PodmanImage[])[0];
  const head = (repo: string, reference: string) =>
    fetch(`${server.url}/v2/${repo}/manifests/${reference}`, {
      method: 'HEAD',
      headers: { accept: [types.manifest, types.dockerManifest, types.index, types.dockerList].join(', ') },
    });

  before(async () => {
    server = await startServer();
    host = new URL(server.url).host;
    // Lower case only: podman names an image pulled from an OCI layout after the layout's path.
    work = path.join(tmpdir(), `berth-podman-${randomBytes(6).toString('hex')}`);
    await mkdir(path.join(work, 'tmp'), { recursive: true });
    podman = podmanIn(work);
    await podman('login', '--tls-verify=false', '--username', admin.username, '--password', admin.password, host);
    image = await buildImage({ architecture: 'amd64', os: 'linux' }, [
      { 'bin/': '', 'bin/hello': '#!/bin/sh\necho hello from berth\n' },
      { 'etc/motd': 'pushed by podman, pulled by podman\n' },
    ]);
    arm64 = await buildImage({ architecture: 'arm64', os: 'linux' }, [{ 'bin/': '', 'bin/hello': '#!/bin/sh\necho hello from arm64\n' }]);
    const multi = buildIndex([image, arm64]);
    const layout = path.join(work, 'layout');
    await writeOciLayout(layout, { v1: image.manifest, multi }, [...imageBlobs(image), ...imageBlobs(arm64), multi]);
    // The starting image comes from an OCI layout on disk: no network.
    await podman('pull', `oci:${layout}:v1`);
    await podman('tag', image.config.digest.slice('sha256:'.length), 'localhost/e2e/hello:v1');
  });

  after(async () => {
    await server?.stop();
    // podman removes its own layers (vfs copies may hold read-only directories). Not
    // `system reset`: that would also remove the machine's podman networks.
    if (podman) await podman('rmi', '--all', '--force').catch(() => undefined);
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('podman push (OCI) stores the manifest under the digest podman reports', async () => {
    const digestFile = path.join(work, 'digest-oci');
    await podman('push', '--tls-verify=false', '--digestfile', digestFile, 'localhost/e2e/hello:v1', `docker://${host}/library/podman:v1`);
    const digest = (await readFile(digestFile, 'utf8')).trim();
    const res = await head('library/podman', 'v1');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('docker-content-digest'), digest);
    assert.equal(res.headers.get('content-type'), types.manifest);

    // The config podman pushed is the one built, byte for byte (podman keeps OCI configs as they are).
    const manifest = JSON.parse(Buffer.from(await (await fetch(`${server.url}/v2/library/podman/manifests/${digest}`, { headers: { accept: types.manifest } })).arrayBuffer()).toString()) as {
      config: { digest: string };
      layers: { digest: string; size: number }[];
    };
    assert.equal(manifest.config.digest, image.config.digest);
    assert.equal(manifest.layers.length, image.layers.length);
    for (const layer of manifest.layers) {
      const blob = Buffer.from(await (await fetch(`${server.url}/v2/library/podman/blobs/${layer.digest}`)).arrayBuffer());
      assert.equal(sha256(blob), layer.digest);
      assert.equal(blob.length, layer.size);
    }
  });

  test('podman push --format v2s2 stores a Docker schema 2 manifest', async () => {
    const digestFile = path.join(work, 'digest-v2s2');
    await podman('push', '--tls-verify=false', '--format', 'v2s2', '--digestfile', digestFile, 'localhost/e2e/hello:v1', `docker://${host}/library/podman:v2s2`);
    const digest = (await readFile(digestFile, 'utf8')).trim();
    const res = await head('library/podman', 'v2s2');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('docker-content-digest'), digest);
    assert.equal(res.headers.get('content-type'), types.dockerManifest);
  });

  test('podman pull gets back the same image: digest, diff IDs, config and files', async () => {
    const pushed = (await head('library/podman', 'v1')).headers.get('docker-content-digest')!;
    // Remove the image under every name, so the pull has to fetch it (podman keeps an
    // image's first digest as its Digest while any name is left).
    await podman('rmi', '--all', '--force');
    await assert.rejects(inspect('localhost/e2e/hello:v1'));

    await podman('pull', '--tls-verify=false', `${host}/library/podman:v1`);
    const pulled = await inspect(`${host}/library/podman:v1`);
    assert.equal(pulled.Digest, pushed);
    assert.ok(pulled.RepoDigests.includes(`${host}/library/podman@${pushed}`), `RepoDigests: ${pulled.RepoDigests.join(', ')}`);
    assert.equal(pulled.Id, image.config.digest.slice('sha256:'.length));
    assert.deepEqual(pulled.RootFS.Layers, image.diffIds);
    assert.equal(pulled.Architecture, 'amd64');
    assert.equal(pulled.Config.Labels?.['org.example.built-by'], 'berth-e2e');

    const mount = (await podman('image', 'mount', `${host}/library/podman:v1`)).stdout.trim();
    try {
      assert.equal(await readFile(path.join(mount, 'bin', 'hello'), 'utf8'), '#!/bin/sh\necho hello from berth\n');
      assert.equal(await readFile(path.join(mount, 'etc', 'motd'), 'utf8'), 'pushed by podman, pulled by podman\n');
    } finally {
      await podman('image', 'unmount', `${host}/library/podman:v1`);
    }
  });

  test('podman pull by digest of the schema 2 image', async () => {
    const digest = (await head('library/podman', 'v2s2')).headers.get('docker-content-digest')!;
    await podman('rmi', '--all', '--force');
    await podman('pull', '--tls-verify=false', `${host}/library/podman@${digest}`);
    const pulled = await inspect(`${host}/library/podman@${digest}`);
    assert.equal(pulled.Digest, digest);
    assert.deepEqual(pulled.RootFS.Layers, image.diffIds);
  });

  test('podman push --compression-format zstd, and pull it back', async () => {
    await podman('pull', '--tls-verify=false', `${host}/library/podman:v1`);
    // The blob-info cache that podman and skopeo share (/var/lib/containers/cache for root)
    // knows gzip copies of these layers at 127.0.0.1:PORT and podman would reuse them
    // instead of compressing with zstd; under the registry's other name it knows none.
    const other = `localhost:${new URL(server.url).port}`;
    await podman('login', '--tls-verify=false', '--username', admin.username, '--password', admin.password, other);
    const digestFile = path.join(work, 'digest-zstd');
    await podman('push', '--tls-verify=false', '--compression-format', 'zstd', '--digestfile', digestFile, `${host}/library/podman:v1`, `docker://${other}/library/podman:zstd`);
    const digest = (await readFile(digestFile, 'utf8')).trim();
    const res = await fetch(`${server.url}/v2/library/podman/manifests/zstd`, { headers: { accept: types.manifest } });
    assert.equal(res.headers.get('docker-content-digest'), digest);
    const manifest = (await res.json()) as { layers: { mediaType: string; digest: string }[] };
    assert.deepEqual(manifest.layers.map((l) => l.mediaType), image.layers.map(() => 'application/vnd.oci.image.layer.v1.tar+zstd'));
    for (const layer of manifest.layers) {
      const blob = Buffer.from(await (await fetch(`${server.url}/v2/library/podman/blobs/${layer.digest}`)).arrayBuffer());
      assert.equal(blob.readUInt32LE(0), 0xfd2fb528, `${layer.digest} is not a zstd frame`);
    }

    await podman('rmi', '--all', '--force');
    await podman('pull', '--tls-verify=false', `${host}/library/podman:zstd`);
    const pulled = await inspect(`${host}/library/podman:zstd`);
    assert.equal(pulled.Digest, digest);
    assert.deepEqual(pulled.RootFS.Layers, image.diffIds);
  });

  test('podman manifest push --all pushes a multi-platform list that podman pulls per platform', async () => {
    const layout = path.join(work, 'layout');
    await podman('pull', `oci:${layout}:v1`);
    await podman('pull', '--arch', 'arm64', `oci:${layout}:multi`);
    const id = (b: BuiltImage) => `containers-storage:${b.config.digest.slice('sha256:'.length)}`;
    await podman('manifest', 'create', 'localhost/e2e/list');
    await podman('manifest', 'add', 'localhost/e2e/list', id(image));
    await podman('manifest', 'add', 'localhost/e2e/list', id(arm64));
    const digestFile = path.join(work, 'digest-list');
    await podman('manifest', 'push', '--all', '--tls-verify=false', '--digestfile', digestFile, 'localhost/e2e/list', `docker://${host}/library/podman-list:v1`);
    const digest = (await readFile(digestFile, 'utf8')).trim();

    const res = await fetch(`${server.url}/v2/library/podman-list/manifests/v1`, { headers: { accept: [types.index, types.dockerList].join(', ') } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('docker-content-digest'), digest);
    const bytes = Buffer.from(await res.arrayBuffer());
    assert.equal(sha256(bytes), digest);
    const list = JSON.parse(bytes.toString()) as { mediaType: string; manifests: { digest: string; platform: { architecture: string } }[] };
    assert.ok([types.index, types.dockerList].includes(list.mediaType), list.mediaType);
    assert.equal(res.headers.get('content-type'), list.mediaType);
    assert.deepEqual(list.manifests.map((m) => m.platform.architecture), ['amd64', 'arm64']);

    await podman('rmi', '--all', '--force');
    await podman('pull', '--tls-verify=false', '--arch', 'arm64', `${host}/library/podman-list:v1`);
    const pulled = await inspect(`${host}/library/podman-list:v1`);
    assert.equal(pulled.Architecture, 'arm64');
    // podman records the list's digest as the image's, and both as its repo digests.
    assert.equal(pulled.Digest, digest);
    assert.deepEqual([...pulled.RepoDigests].sort(), [digest, list.manifests[1].digest].map((d) => `${host}/library/podman-list@${d}`).sort());
    assert.deepEqual(pulled.RootFS.Layers, arm64.diffIds);
  });

  test('podman search --list-tags lists the tags of the repository', async () => {
    const { stdout } = await podman('search', '--list-tags', '--tls-verify=false', '--format', 'json', `${host}/library/podman`);
    const listed = JSON.parse(stdout) as { Name: string; Tags: string[] }[];
    assert.equal(listed[0].Name, `${host}/library/podman`);
    assert.deepEqual([...listed[0].Tags].sort(), ['v1', 'v2s2', 'zstd']);
  });
});
