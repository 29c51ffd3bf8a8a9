import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { HttpImageSource, RegistryFetchError } from '../../../src/scanning/inventory/http-source.js';
import { inventoryOf, platformManifests } from '../../../src/scanning/inventory/index.js';
import { LocalImageSource } from '../../../src/scanning/inventory/local-source.js';
import type { Inventory } from '../../../src/scanning/types.js';
import { buildImage, buildIndex, imageBlobs } from '../../helpers/layout.js';
import { pushBlob, pushManifest, types } from '../../helpers/oci.js';
import { startServer, type TestServer } from '../../helpers/server.js';
import { requireTools, runTool } from '../../helpers/tools.js';

// This machine's own dpkg database, plus stanzas for the states dpkg-query reports but that are
// not installed packages, and a binary package built from a differently versioned source.
const extraStanzas = [
  'Package: removed-keeps-config\nStatus: deinstall ok config-files\nPriority: optional\nArchitecture: amd64\nVersion: 1.0-1\nDescription: gone\n',
  'Package: purged\nStatus: purge ok not-installed\nPriority: optional\nArchitecture: amd64\nDescription: gone\n',
  'Package: libberth-test1\nStatus: install ok installed\nArchitecture: arm64\nMulti-Arch: same\nSource: berth-test (2:1.4-3)\nVersion: 2:1.4-3+b1\nDescription: a binNMU\n of a library\n',
].join('\n');

const skip = requireTools('dpkg-query');
// A private project: anonymous pulls are refused there.
const repo = 'scanprivate/inventory';
let server: TestServer;
let statusText: string;
let osRelease: string;
let imageDigest: string;
let indexDigest: string;
let local: Inventory;

before(async () => {
  if (skip) return;
  server = await startServer();
  await server.berth.projects.create('scanprivate', false);
  statusText = `${(await readFile('/var/lib/dpkg/status', 'utf8')).trimEnd()}\n\n${extraStanzas}`;
  osRelease = await readFile('/etc/os-release', 'utf8');
  const image = await buildImage({ architecture: 'amd64', os: 'linux' }, [
    { 'usr/lib/os-release': osRelease, 'var/lib/dpkg/status': 'Package: replaced\nVersion: 0\n' },
    { 'var/lib/dpkg/status': statusText, 'usr/bin/tool': 'x'.repeat(10_000) },
  ]);
  const other = await buildImage({ architecture: 'arm64', os: 'linux' }, [{ 'etc/alpine-release': '3.19.1\n' }]);
  for (const blob of [...imageBlobs(image), ...imageBlobs(other)]) {
    if (blob !== image.manifest && blob !== other.manifest) await pushBlob(server.url, repo, blob.data, server.admin);
  }
  imageDigest = (await pushManifest(server.url, repo, null, JSON.parse(image.manifest.data.toString()), types.manifest, server.admin))
    .digest;
  await pushManifest(server.url, repo, null, JSON.parse(other.manifest.data.toString()), types.manifest, server.admin);
  const index = buildIndex([image, other]);
  indexDigest = (await pushManifest(server.url, repo, 'multi', JSON.parse(index.data.toString()), types.index, server.admin)).digest;
});
after(async () => {
  await server?.stop();
});

async function dpkgQuery(status: string): Promise<string[]> {
  const dir = await mkdtemp(path.join(tmpdir(), 'berth-dpkg-'));
  try {
    await writeFile(path.join(dir, 'status'), status);
    const { stdout } = await runTool('/usr/bin/dpkg-query', [
      `--admindir=${dir}`,
      '-W',
      '-f',
      '${db:Status-Want} ${db:Status-Status}|${Package}|${Version}|${Architecture}|${source:Package}|${source:Version}\n',
    ]);
    return stdout
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => line.split('|'))
      .filter(([state]) => {
        const [want, status] = state.split(' ');
        return want !== 'deinstall' && want !== 'purge' && status !== 'not-installed' && status !== 'config-files';
      })
      .map(([, name, version, arch, sourceName, sourceVersion]) => [name, version, arch, sourceName, sourceVersion].join(' '))
      .sort();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('images in a real Berth', { skip }, () => {
  test('LocalImageSource: the packages of this machine’s dpkg status, pushed as an image, are exactly what dpkg-query lists for the same file', async () => {
    const source = new LocalImageSource(server.berth.registry, repo);
    local = await inventoryOf(source, imageDigest, { cache: null });
    const expected = await dpkgQuery(statusText);
    assert.ok(expected.length > 100, `dpkg-query listed only ${expected.length} packages`);
    const got = local.packages.map((p) => [p.name, p.version, p.arch, p.sourceName, p.sourceVersion].join(' ')).sort();
    assert.deepEqual(got, expected);
    assert.ok(expected.includes('libberth-test1 2:1.4-3+b1 arm64 berth-test 2:1.4-3'));
    assert.ok(!got.some((line) => line.startsWith('removed-keeps-config ') || line.startsWith('purged ') || line.startsWith('replaced ')));

    // The OS is this machine's, and names the ecosystem and the purl's distro.
    const fields = new Map(osRelease.split('\n').map((l) => [l.split('=')[0], l.slice(l.indexOf('=') + 1).replace(/^"|"$/g, '')]));
    assert.equal(local.os?.family, fields.get('ID'));
    assert.equal(local.os?.version, fields.get('VERSION_ID'));
    const test1 = local.packages.find((p) => p.name === 'libberth-test1')!;
    assert.equal(test1.ecosystem, `Debian:${fields.get('VERSION_ID')}`);
    assert.equal(test1.purl, `pkg:deb/debian/libberth-test1@2:1.4-3+b1?arch=arm64&distro=debian-${fields.get('VERSION_ID')}`);
    assert.equal(test1.layer, 1);
    assert.equal(test1.path, 'var/lib/dpkg/status');
    assert.equal(local.layers.length, 2);
  });

  test('platformManifests over the pushed index lists both platforms', async () => {
    const source = new LocalImageSource(server.berth.registry, repo);
    const children = await platformManifests(source, indexDigest);
    assert.deepEqual(
      children?.map((c) => c.platform),
      [
        { architecture: 'amd64', os: 'linux' },
        { architecture: 'arm64', os: 'linux' },
      ],
    );
    const alpine = await inventoryOf(source, children![1].digest, { cache: null });
    assert.deepEqual(alpine.os, { family: 'alpine', version: '3.19.1', name: null });
  });

  test('LocalImageSource: a digest the repository does not hold is an error, not an empty inventory', async () => {
    const source = new LocalImageSource(server.berth.registry, 'scanprivate/elsewhere');
    await assert.rejects(inventoryOf(source, imageDigest), /not in repository|not known/);
  });

  test('HttpImageSource over /v2 with Basic or a Bearer registry token gives the same inventory as reading in process', async () => {
    const basic = new HttpImageSource({ registryUrl: server.url, repository: repo, authorization: server.admin.authorization });
    assert.deepEqual(await inventoryOf(basic, imageDigest, { cache: null }), local);

    const params = new URLSearchParams({ service: 'harbor-registry', scope: `repository:${repo}:pull` });
    const res = await fetch(`${server.url}/service/token?${params}`, { headers: server.admin });
    const { token } = (await res.json()) as { token: string };
    const bearer = new HttpImageSource({ registryUrl: `${server.url}/`, repository: repo, authorization: `Bearer ${token}` });
    assert.deepEqual(await inventoryOf(bearer, imageDigest, { cache: null }), local);
    assert.equal((await platformManifests(bearer, indexDigest))?.length, 2);
  });

  test('HttpImageSource: refused credentials, an unknown repository and an unreachable registry are clear errors', async () => {
    const anonymous = new HttpImageSource({ registryUrl: server.url, repository: repo });
    await assert.rejects(
      anonymous.manifest(imageDigest),
      (err: Error) => err instanceof RegistryFetchError && err.status === 401 && /refused the credentials \(401\)/.test(err.message),
    );
    const wrong = new HttpImageSource({ registryUrl: server.url, repository: repo, authorization: 'Basic YWRtaW46d3Jvbmc=' });
    await assert.rejects(wrong.blob(imageDigest), (err: Error) => err instanceof RegistryFetchError && err.status === 401);
    const missing = new HttpImageSource({
      registryUrl: server.url,
      repository: 'scanprivate/nothing-here',
      authorization: server.admin.authorization,
    });
    await assert.rejects(
      missing.manifest(imageDigest),
      (err: Error) => err instanceof RegistryFetchError && err.status === 404 && /NAME_UNKNOWN|not found/.test(err.message),
    );
    const down = new HttpImageSource({ registryUrl: 'http://127.0.0.1:1', repository: repo, timeoutMs: 5000 });
    await assert.rejects(down.manifest(imageDigest), /cannot reach http:\/\/127\.0\.0\.1:1/);
    assert.throws(() => new HttpImageSource({ registryUrl: 'ftp://x', repository: repo }), /not http or https/);
    await assert.rejects(anonymous.blob('sha256:abc'), /is not a digest/);
  });
});
