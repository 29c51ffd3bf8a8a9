import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Analyzer } from '../../../src/scanning/inventory/analyzer.js';
import { InventoryError, LayerCache, inventoryOf, platformManifests, type InventoryStats } from '../../../src/scanning/inventory/index.js';
import { cleanPath } from '../../../src/scanning/inventory/layers.js';
import { MemoryImage, layerOf, tarOf, compress, type Entry } from './helpers.js';

const debian12 = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n';

function stanza(name: string, version: string): string {
  return `Package: ${name}\nStatus: install ok installed\nArchitecture: amd64\nVersion: ${version}\nDescription: ${name}\n multi-line\n`;
}

const names = (inv: { packages: { name: string }[] }) => inv.packages.map((p) => p.name).sort();

test('layers merge in order: whiteouts remove lower files and subtrees, opaque dirs hide lower content but never their own layer, a symlink replaces a file', async () => {
  const image = new MemoryImage();
  const sd = 'var/lib/dpkg/status.d';
  const layers = [
    await layerOf([
      { path: 'usr/lib/os-release', content: debian12 },
      // Debian's etc/os-release is a symlink: the OS comes from the file it points at.
      { path: 'etc/os-release', symlink: '../usr/lib/os-release' },
      { path: `${sd}/a`, content: stanza('a', '1') },
      { path: `${sd}/a.md5sums`, content: 'd41d8cd98f00b204e9800998ecf8427e  /usr/bin/a\n' },
      { path: `${sd}/b`, content: stanza('b', '1') },
      { path: `${sd}/c`, content: stanza('c', '1') },
      { path: 'lib/apk/db/installed', content: 'P:musl\nV:1.2.4-r2\n\n' },
    ]),
    await layerOf([
      { path: `${sd}/.wh.a`, content: '' },
      { path: `${sd}/d`, content: stanza('d', '2') },
      // A whole directory deleted: the apk database under it goes too.
      { path: 'lib/.wh.apk', content: '' },
    ]),
    await layerOf([
      // The layer's own file comes BEFORE its opaque marker in the tar: it must survive anyway.
      { path: `${sd}/e`, content: stanza('e', '3') },
      { path: `${sd}/.wh..wh..opq`, content: '' },
      { path: `${sd}/c`, content: stanza('c', '3') },
    ]),
    await layerOf([
      { path: `./${sd}/f`, content: stanza('f', '4') },
      { path: `${sd}/c`, symlink: 'e' },
    ]),
  ];
  const digest = image.addImage(layers);
  const inventory = await inventoryOf(image, digest, { cache: null });
  assert.deepEqual(names(inventory), ['e', 'f']);
  const byName = new Map(inventory.packages.map((p) => [p.name, p]));
  assert.equal(byName.get('e')!.layer, 2);
  assert.equal(byName.get('e')!.path, `${sd}/e`);
  assert.equal(byName.get('f')!.layer, 3);
  assert.equal(byName.get('f')!.path, `${sd}/f`);
  assert.deepEqual(inventory.os, { family: 'debian', version: '12', name: 'Debian GNU/Linux 12 (bookworm)' });
  assert.equal(byName.get('e')!.ecosystem, 'Debian:12');
  assert.equal(byName.get('e')!.purl, 'pkg:deb/debian/e@3?arch=amd64&distro=debian-12');
  assert.equal(inventory.layers.length, 4);

  // Without the last two layers, the first whiteouts alone apply.
  const lower = await inventoryOf(image, image.addImage(layers.slice(0, 2)), { cache: null });
  assert.deepEqual(names(lower), ['b', 'c', 'd']);
  // The base alone: the .md5sums file is not a package; apk's database is read.
  const base = await inventoryOf(image, image.addImage(layers.slice(0, 1)), { cache: null });
  assert.deepEqual(names(base), ['a', 'b', 'c', 'musl']);
});

test('an opaque directory at the root hides every lower file; a re-added file in a later layer replaces the earlier one', async () => {
  const image = new MemoryImage();
  const status = 'var/lib/dpkg/status';
  const digest = image.addImage([
    await layerOf([{ path: status, content: stanza('old', '1') + '\n' + stanza('gone', '1') }]),
    await layerOf([{ path: status, content: stanza('old', '2') }]),
  ]);
  const inventory = await inventoryOf(image, digest, { cache: null });
  assert.deepEqual(
    inventory.packages.map((p) => [p.name, p.version, p.layer]),
    [['old', '2', 1]],
  );
  const opaqueRoot = image.addImage([
    await layerOf([{ path: status, content: stanza('old', '1') }]),
    await layerOf([{ path: '.wh..wh..opq', content: '' }]),
  ]);
  assert.deepEqual((await inventoryOf(image, opaqueRoot, { cache: null })).packages, []);
});

test('gzip, zstd and uncompressed layers give the same inventory; the compression is read off the bytes, whatever the media type says', async () => {
  const entries: Entry[] = [
    { path: 'etc/os-release', content: debian12 },
    { path: 'var/lib/dpkg/status', content: Array.from({ length: 300 }, (_, i) => stanza(`pkg${i}`, `1.${i}`)).join('\n') },
  ];
  const tar = await tarOf(entries);
  const image = new MemoryImage();
  const results = [];
  for (const [compression, mediaType] of [
    ['gzip', 'application/vnd.oci.image.layer.v1.tar+gzip'],
    ['zstd', 'application/vnd.oci.image.layer.v1.tar+zstd'],
    ['none', 'application/vnd.oci.image.layer.v1.tar'],
    ['gzip', 'application/vnd.docker.image.rootfs.diff.tar.gzip'],
    // Mislabelled: zstd bytes under the gzip media type.
    ['zstd', 'application/vnd.oci.image.layer.v1.tar+gzip'],
  ] as const) {
    const digest = image.addImage([{ mediaType, data: compress(tar, compression) }]);
    results.push(await inventoryOf(image, digest, { cache: null }));
  }
  for (const inventory of results) {
    assert.equal(inventory.packages.length, 300);
    assert.deepEqual(inventory.packages, results[0].packages);
    assert.deepEqual(inventory.notes, []);
  }
});

test('a Docker schema 2 manifest is read like an OCI one; blobs that are not filesystem layers are skipped with a note', async () => {
  const image = new MemoryImage();
  const layer = await layerOf([{ path: 'var/lib/dpkg/status', content: stanza('tzdata', '2024a-0+deb12u1') }]);
  const layerDigest = image.addBlob(layer.data);
  const chart = image.addBlob(Buffer.from('not a tar'));
  const config = image.addBlob(Buffer.from('{}'));
  const doc = {
    schemaVersion: 2,
    mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: config, size: 2 },
    layers: [
      { mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', digest: `sha256:${'1'.repeat(64)}`, size: 10 },
      { mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: layerDigest, size: layer.data.length },
      { mediaType: 'application/vnd.cncf.helm.chart.content.v1.tar+gzip', digest: chart, size: 9 },
    ],
  };
  const digest = image.addManifest(doc.mediaType, doc);
  const stats = {} as InventoryStats;
  const inventory = await inventoryOf(image, digest, { cache: null, stats });
  assert.deepEqual(names(inventory), ['tzdata']);
  assert.equal(inventory.packages[0].layer, 1);
  assert.deepEqual(inventory.layers, [layerDigest]);
  assert.equal(inventory.notes.length, 2);
  assert.match(inventory.notes.join('\n'), /layer 0 .* foreign/);
  assert.match(
    inventory.notes.join('\n'),
    /layer 2 .* not a filesystem layer \(application\/vnd\.cncf\.helm\.chart\.content\.v1\.tar\+gzip\)/,
  );
  assert.equal(stats.layersSkipped, 2);
  assert.equal(stats.layersRead, 1);
  // Nothing tried to open the blobs that were skipped.
  assert.equal(image.opened.get(chart), undefined);
});

test('a file larger than its analyzer reads is skipped with a note; analyzer failures become notes; a streaming analyzer may stop early', async () => {
  const seen: string[] = [];
  const small: Analyzer = {
    name: 'small',
    maxBytes: 16,
    wants: (path) => path.startsWith('small/'),
    analyze: ({ path, bytes }) => {
      if (bytes.toString() === 'boom') throw new Error('bad file');
      seen.push(`${path}=${bytes.toString()}`);
      return {};
    },
  };
  const streamed: Analyzer = {
    name: 'streamed',
    maxBytes: 0,
    wants: (path, entry) => path.startsWith('bin/') && (entry.mode & 0o111) !== 0,
    analyze: () => ({}),
    async analyzeStream({ path, size, stream }) {
      if (path === 'bin/ignored') return { notes: [`ignored ${size}`] };
      for await (const chunk of stream) {
        seen.push(`${path}:${(chunk as Buffer).subarray(0, 4).toString()}`);
        stream.destroy();
        break;
      }
      return { notes: [`read ${path}`] };
    },
  };
  const image = new MemoryImage();
  const digest = image.addImage([
    await layerOf([
      { path: 'bin/big', content: Buffer.concat([Buffer.from('ELF!'), Buffer.alloc(3 * 1024 * 1024, 7)]), mode: 0o755 },
      { path: 'bin/ignored', content: Buffer.alloc(200_000, 1), mode: 0o755 },
      { path: 'bin/data', content: 'not executable', mode: 0o644 },
      { path: 'small/ok', content: 'fine' },
      { path: 'small/large', content: 'x'.repeat(17) },
      { path: 'small/bad', content: 'boom' },
      { path: 'small/last', content: 'end' },
    ]),
  ]);
  const inventory = await inventoryOf(image, digest, { cache: null, analyzers: [small, streamed] });
  assert.deepEqual(seen.sort(), ['bin/big:ELF!', 'small/last=end', 'small/ok=fine']);
  const notes = inventory.notes.join('\n');
  assert.match(notes, /read bin\/big/);
  assert.match(notes, /ignored 200000/);
  assert.match(notes, /small\/large \(layer 0\) is 17 bytes, more than the 16 bytes the small analyzer reads; skipped/);
  assert.match(notes, /the small analyzer could not read small\/bad \(layer 0\): bad file/);
  assert.equal(inventory.notes.length, 4);
});

test('the layer cache: a warm scan opens no layer blob, and a shared base layer at another position reports its own index', async () => {
  const cache = new LayerCache(10);
  const image = new MemoryImage();
  const base = await layerOf([
    { path: 'etc/os-release', content: debian12 },
    { path: 'var/lib/dpkg/status', content: stanza('libc6', '2.36-9') },
  ]);
  const app = await layerOf([{ path: 'var/lib/dpkg/status.d/app', content: stanza('app', '1.0') }]);
  const first = image.addImage([base, app]);
  const cold = {} as InventoryStats;
  const one = await inventoryOf(image, first, { cache, stats: cold });
  assert.deepEqual([cold.layersRead, cold.layersFromCache], [2, 0]);
  const opened = new Map(image.opened);
  const warm = {} as InventoryStats;
  const two = await inventoryOf(image, first, { cache, stats: warm });
  assert.deepEqual([warm.layersRead, warm.layersFromCache], [0, 2]);
  assert.deepEqual(image.opened, opened, 'no blob was opened again');
  assert.deepEqual(two, one);

  const extra = await layerOf([{ path: 'tmp/x', content: 'x' }]);
  const shifted = image.addImage([extra, base]);
  const three = await inventoryOf(image, shifted, { cache });
  assert.deepEqual(
    three.packages.map((p) => [p.name, p.layer]),
    [['libc6', 1]],
  );
  assert.deepEqual(cache.stats(), { hits: 3, misses: 3, entries: 3 });
});

test('an index: platformManifests lists its image manifests with platforms and leaves attestations out; inventoryOf refuses it', async () => {
  const image = new MemoryImage();
  const amd = image.addImage([await layerOf([{ path: 'a', content: 'a' }])]);
  const arm = image.addImage([await layerOf([{ path: 'b', content: 'b' }])]);
  const index = image.addManifest('application/vnd.oci.image.index.v1+json', {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: amd, size: 1, platform: { architecture: 'amd64', os: 'linux' } },
      {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: arm,
        size: 2,
        platform: { architecture: 'arm64', os: 'linux', variant: 'v8' },
      },
      {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: amd,
        size: 3,
        platform: { architecture: 'unknown', os: 'unknown' },
        annotations: { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': amd },
      },
    ],
  });
  assert.deepEqual(await platformManifests(image, index), [
    { digest: amd, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 1, platform: { architecture: 'amd64', os: 'linux' } },
    {
      digest: arm,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      size: 2,
      platform: { architecture: 'arm64', os: 'linux', variant: 'v8' },
    },
  ]);
  assert.equal(await platformManifests(image, amd), null);
  await assert.rejects(inventoryOf(image, index), (err: Error) => err instanceof InventoryError && /is an image index/.test(err.message));
});

test('a broken layer fails the inventory with an error naming the layer, and is not cached', async () => {
  const image = new MemoryImage();
  const good = await layerOf([{ path: 'var/lib/dpkg/status', content: stanza('x', '1') }]);
  const truncated = { mediaType: good.mediaType, data: good.data.subarray(0, good.data.length - 20) };
  const digest = image.addImage([truncated]);
  const cache = new LayerCache(4);
  await assert.rejects(
    inventoryOf(image, digest, { cache }),
    (err: Error) => err instanceof InventoryError && /layer 0 \(sha256:[0-9a-f]{64}\) could not be read/.test(err.message),
  );
  assert.equal(cache.stats().entries, 0);
  const missing = image.addImage([], [{ mediaType: good.mediaType, digest: `sha256:${'9'.repeat(64)}`, size: 1 }]);
  await assert.rejects(
    inventoryOf(image, missing, { cache }),
    (err: Error) => err instanceof InventoryError && /layer 0 \(sha256:9{64}\) could not be read: no blob/.test(err.message),
  );
  const notJson = image.addManifest('application/vnd.oci.image.manifest.v1+json', 'x');
  image.manifests.set(notJson, { mediaType: 'application/vnd.oci.image.manifest.v1+json', bytes: Buffer.from('{oops') });
  await assert.rejects(inventoryOf(image, notJson), /is not JSON/);
  const config = image.addManifest('application/vnd.oci.image.config.v1+json', {});
  await assert.rejects(inventoryOf(image, config), /not an image manifest/);
});

test('a hard link to an analyzed file in the same layer carries its packages; an aborted walk rejects with the reason', async () => {
  const image = new MemoryImage();
  const digest = image.addImage([
    await layerOf([
      { path: 'var/lib/dpkg/status.d/base', content: stanza('base-files', '12.4') },
      { path: 'var/lib/dpkg/status.d/copy', hardlink: 'var/lib/dpkg/status.d/base' },
      { path: 'var/lib/dpkg/status.d/dangling', hardlink: 'nowhere' },
    ]),
  ]);
  const inventory = await inventoryOf(image, digest, { cache: null });
  assert.deepEqual(
    inventory.packages.map((p) => [p.name, p.path]),
    [
      ['base-files', 'var/lib/dpkg/status.d/base'],
      ['base-files', 'var/lib/dpkg/status.d/copy'],
    ],
  );
  const controller = new AbortController();
  controller.abort(new Error('scan stopped'));
  const cache = new LayerCache(4);
  await assert.rejects(inventoryOf(image, digest, { cache, signal: controller.signal }), /scan stopped/);
  assert.equal(cache.stats().entries, 0);
});

test('a file replaced by one no analyzer wants (too small, not executable) takes the earlier result away', async () => {
  const sized: Analyzer = {
    name: 'sized',
    maxBytes: 1 << 20,
    wants: (path, entry) => path.startsWith('bin/') && entry.size >= 100 && (entry.mode & 0o111) !== 0,
    analyze: ({ path }) => ({ notes: [`binary ${path}`] }),
  };
  const image = new MemoryImage();
  const digest = image.addImage([
    await layerOf([
      { path: 'bin/app', content: Buffer.alloc(200, 1), mode: 0o755 },
      { path: 'bin/tool', content: Buffer.alloc(200, 2), mode: 0o755 },
      { path: 'bin/kept', content: Buffer.alloc(200, 3), mode: 0o755 },
    ]),
    await layerOf([
      { path: 'bin/app', content: '#!/bin/sh\necho hi\n', mode: 0o755 },
      { path: 'bin/tool', content: Buffer.alloc(200, 2), mode: 0o644 },
      { path: 'bin/other', content: 'x' },
    ]),
  ]);
  const inventory = await inventoryOf(image, digest, { cache: null, analyzers: [sized] });
  assert.deepEqual(inventory.notes, ['binary bin/kept']);
});

test('tar paths are cleaned: leading ./ and /, trailing /, dot segments; a path leaving the root is dropped', () => {
  assert.equal(cleanPath('./var/lib/dpkg/status'), 'var/lib/dpkg/status');
  assert.equal(cleanPath('/etc/os-release'), 'etc/os-release');
  assert.equal(cleanPath('usr/lib/'), 'usr/lib');
  assert.equal(cleanPath('usr//lib/./x/../os-release'), 'usr/lib/os-release');
  assert.equal(cleanPath('.wh..wh..opq'), '.wh..wh..opq');
  assert.equal(cleanPath('../etc/passwd'), null);
  assert.equal(cleanPath('./'), '');
});
