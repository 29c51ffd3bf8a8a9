import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { zipSync } from 'fflate';
import { inventoryOf } from '../../../src/scanning/inventory/index.js';
import { languageAnalyzers } from '../../../src/scanning/inventory/languages/index.js';
import { layerOf, MemoryImage } from '../inventory/helpers.js';
import { requireTools, runTool } from '../../helpers/tools.js';

const repo = process.cwd();

describe('language packages through the image walk', { skip: requireTools('skopeo', 'python3') }, () => {
  test('an image holding real files of each kind: each analyzer finds its packages, a later layer replaces and whites out', async () => {
    const site: string = JSON.parse(
      (await runTool('python3', ['-c', 'import site, json; print(json.dumps(site.getsitepackages()[0]))'])).stdout,
    );
    const pipInfo = readdirSync(site).find((d) => d.startsWith('pip-') && d.endsWith('.dist-info'))!;
    const pipMeta = readFileSync(path.join(site, pipInfo, 'METADATA'));
    const pipVersion = /^Version: (.*)$/m.exec(pipMeta.toString())![1];
    const fastify = readFileSync(`${repo}/node_modules/fastify/package.json`);
    const fastifyVersion = JSON.parse(fastify.toString()).version;
    const jar = zipSync({
      'META-INF/maven/org.example/lib/pom.properties': Buffer.from('groupId=org.example\nartifactId=lib\nversion=1.2.3\n'),
    });
    const base = await layerOf(
      [
        { path: 'usr/bin/skopeo', content: readFileSync('/usr/bin/skopeo'), mode: 0o755 },
        { path: 'srv/node_modules/fastify/package.json', content: fastify },
        { path: 'srv/node_modules/fastify/lib/package.json', content: '{"type":"commonjs"}' },
        { path: `usr/lib/python3/site-packages/${pipInfo}/METADATA`, content: pipMeta },
        { path: 'opt/app/lib.jar', content: Buffer.from(jar) },
        {
          path: 'src/Cargo.lock',
          content:
            'version = 4\n\n[[package]]\nname = "libc"\nversion = "0.2.158"\nsource = "registry+https://github.com/rust-lang/crates.io-index"\n',
        },
        { path: 'tools/package-lock.json', content: readFileSync(`${repo}/package-lock.json`) },
        { path: 'srv/package-lock.json', content: readFileSync(`${repo}/package-lock.json`) },
      ],
      'none',
    );
    const top = await layerOf(
      [
        { path: 'srv/node_modules/fastify/package.json', content: JSON.stringify({ name: 'fastify', version: '9.9.9' }) },
        { path: `usr/lib/python3/site-packages/.wh.${pipInfo}`, content: '' },
      ],
      'zstd',
    );
    const image = new MemoryImage();
    const one = await inventoryOf(image, image.addImage([base]), { analyzers: languageAnalyzers, cache: null });
    const has = (inv: typeof one, ecosystem: string, name: string, version: string) =>
      inv.packages.filter((p) => p.ecosystem === ecosystem && p.name === name && p.version === version);

    const std = has(one, 'Go', 'stdlib', /go(\d+\.\d+\.\d+)/.exec(readFileSync('/usr/bin/skopeo').toString('latin1'))?.[1] ?? '?');
    assert.deepEqual(
      std.map((p) => p.path),
      ['usr/bin/skopeo'],
    );
    assert.deepEqual(
      has(one, 'npm', 'fastify', fastifyVersion)
        .map((p) => p.path)
        .sort(),
      ['srv/node_modules/fastify/package.json', 'tools/package-lock.json'],
    );
    assert.equal(has(one, 'PyPI', 'pip', pipVersion).length, 1);
    assert.equal(has(one, 'Maven', 'org.example:lib', '1.2.3').length, 1);
    assert.equal(has(one, 'crates.io', 'libc', '0.2.158').length, 1);
    assert.deepEqual(one.notes, []);
    // srv/ has an installed tree: its lockfile's packages are left out after the walk.
    assert.equal(one.packages.filter((p) => p.path === 'srv/package-lock.json').length, 0);

    const two = await inventoryOf(image, image.addImage([base, top]), { analyzers: languageAnalyzers, cache: null });
    assert.equal(has(two, 'PyPI', 'pip', pipVersion).length, 0, 'whited out');
    assert.deepEqual(
      has(two, 'npm', 'fastify', '9.9.9').map((p) => [p.path, p.layer]),
      [['srv/node_modules/fastify/package.json', 1]],
    );
    assert.equal(has(two, 'npm', 'fastify', fastifyVersion).filter((p) => p.path.startsWith('srv/')).length, 0, 'replaced');
    assert.equal(has(two, 'Go', 'stdlib', std[0].version).length, 1);

    // With srv/node_modules whited out, srv/ holds only its lockfile, which then speaks for it.
    const pruned = await layerOf([{ path: 'srv/.wh.node_modules', content: '' }]);
    const three = await inventoryOf(image, image.addImage([base, pruned]), { analyzers: languageAnalyzers, cache: null });
    const fromLock = three.packages.filter((p) => p.path === 'srv/package-lock.json');
    assert.deepEqual(
      fromLock.map((p) => `${p.name}@${p.version}`).sort(),
      three.packages
        .filter((p) => p.path === 'tools/package-lock.json')
        .map((p) => `${p.name}@${p.version}`)
        .sort(),
    );
    assert.ok(fromLock.some((p) => p.name === 'fastify' && p.version === fastifyVersion));
  });
});
