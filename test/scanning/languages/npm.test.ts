import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { finishLanguagePackages } from '../../../src/scanning/inventory/languages/index.js';
import { analyzeLockfile, isInstalledManifest, npmAnalyzer } from '../../../src/scanning/inventory/languages/npm.js';
import { runTool } from '../../helpers/tools.js';
import { analyzeTree, nameAtVersion } from './helpers.js';

const repo = process.cwd();
const file = (path: string, json: unknown, layer = 0) => ({ path, layer, bytes: Buffer.from(JSON.stringify(json)) });

interface NpmNode {
  location: string;
  version?: string;
  path: string;
  realpath: string;
}

test('installed packages: every package.json under node_modules of this repository, the same set npm itself reads (npm query)', async () => {
  const found = await analyzeTree(npmAnalyzer, repo, 'node_modules');
  const nodes: NpmNode[] = JSON.parse((await runTool('npm', ['query', '*'], { cwd: repo })).stdout);
  // npm's node names are folder names (an alias differs from the package's own name): compare each location's package.json.
  const expected = new Set(
    nodes
      .filter((n) => n.location !== '' && n.path === n.realpath && n.version)
      .map((n) => {
        const manifest = JSON.parse(readFileSync(`${n.realpath}/package.json`, 'utf8'));
        return `${n.location}/package.json ${manifest.name}@${manifest.version}`;
      }),
  );
  const actual = new Set(found.packages.map((p) => `${p.path} ${nameAtVersion(p)}`));
  assert.ok(expected.size > 300, `npm lists ${expected.size} installed packages`);
  assert.deepEqual(
    [...actual].filter((x) => !expected.has(x)),
    [],
    'found but not installed according to npm',
  );
  assert.deepEqual(
    [...expected].filter((x) => !actual.has(x)),
    [],
    'installed according to npm but not found',
  );
  assert.deepEqual(found.notes, []);
  const fastify = found.packages.find((p) => p.name === 'fastify' && p.path === 'node_modules/fastify/package.json')!;
  assert.equal(fastify.ecosystem, 'npm');
  assert.equal(fastify.license, 'MIT');
  assert.equal(fastify.purl, `pkg:npm/fastify@${fastify.version}`);
  const scoped = found.packages.find((p) => p.name === '@fastify/cookie')!;
  assert.equal(scoped.purl, `pkg:npm/%40fastify/cookie@${scoped.version}`);
});

test('package.json files that are not a package root are not wanted (hint files inside packages, the project root)', () => {
  const stat = { size: 100, mode: 0o644 };
  assert.equal(npmAnalyzer.wants('app/node_modules/a/package.json', stat), true);
  assert.equal(npmAnalyzer.wants('node_modules/@s/b/package.json', stat), true);
  assert.equal(npmAnalyzer.wants('node_modules/a/node_modules/@s/b/package.json', stat), true);
  assert.equal(npmAnalyzer.wants('node_modules/.pnpm/a@1.0.0/node_modules/a/package.json', stat), true);
  assert.equal(npmAnalyzer.wants('node_modules/a/lib/package.json', stat), false);
  assert.equal(npmAnalyzer.wants('node_modules/@s/b/esm/package.json', stat), false);
  assert.equal(npmAnalyzer.wants('app/package.json', stat), false);
  assert.equal(npmAnalyzer.wants('package.json', stat), false);
  assert.equal(npmAnalyzer.wants('app/package-lock.json', stat), true);
  assert.equal(npmAnalyzer.wants('package-lock.json', stat), true);
  assert.equal(npmAnalyzer.wants('node_modules/a/package-lock.json', stat), false);
  assert.equal(npmAnalyzer.wants('node_modules/.package-lock.json', stat), false);
  assert.equal(isInstalledManifest('node_modules/x/package.json.bak'), false);
});

test('a package.json without name or version gives nothing; broken JSON gives a note, not an exception', async () => {
  assert.deepEqual(await npmAnalyzer.analyze(file('node_modules/a/package.json', { name: 'a' })), {});
  assert.deepEqual(await npmAnalyzer.analyze(file('node_modules/a/package.json', { version: '1.0.0' })), {});
  const broken = await npmAnalyzer.analyze({ path: 'node_modules/a/package.json', layer: 2, bytes: Buffer.from('{"name": ') });
  assert.equal(broken.packages, undefined);
  assert.match(broken.notes![0], /^node_modules\/a\/package\.json: unreadable JSON/);
  const old = await npmAnalyzer.analyze(
    file('node_modules/a/package.json', { name: 'a', version: '1.0.0', licenses: [{ type: 'MIT' }, { type: 'Apache-2.0' }] }, 3),
  );
  assert.deepEqual(old.packages, [
    {
      ecosystem: 'npm',
      name: 'a',
      version: '1.0.0',
      purl: 'pkg:npm/a@1.0.0',
      license: '(MIT OR Apache-2.0)',
      path: 'node_modules/a/package.json',
      layer: 3,
    },
  ]);
});

test("lockfile v3: this repository's package-lock.json gives the same non-dev packages as npm's own reading of it", async () => {
  const result = analyzeLockfile({ path: 'package-lock.json', layer: 0, bytes: readFileSync(`${repo}/package-lock.json`) });
  const nodes: Array<{ location: string; name: string; version: string; package?: { name?: string } }> = JSON.parse(
    (await runTool('npm', ['query', '.prod', '--package-lock-only'], { cwd: repo })).stdout,
  );
  const lock = JSON.parse(readFileSync(`${repo}/package-lock.json`, 'utf8'));
  const expected = new Set(nodes.filter((n) => n.location !== '').map((n) => `${lock.packages[n.location].name ?? n.name}@${n.version}`));
  const actual = new Set(result.packages!.map(nameAtVersion));
  assert.ok(expected.size > 100);
  assert.deepEqual([...actual].filter((x) => !expected.has(x)).sort(), []);
  assert.deepEqual([...expected].filter((x) => !actual.has(x)).sort(), []);
  assert.equal(result.packages!.length, actual.size, 'one package per name@version');
  assert.ok(result.packages!.every((p) => p.path === 'package-lock.json' && p.ecosystem === 'npm'));
  assert.ok(!actual.has(`typescript@${lock.packages['node_modules/typescript'].version}`), 'dev dependencies are left out');
});

test('lockfile v1: nested dependencies, aliases, dev and non-registry entries', () => {
  const v1 = {
    name: 'app',
    lockfileVersion: 1,
    dependencies: {
      express: { version: '4.17.1', dependencies: { debug: { version: '2.6.9' } } },
      debug: { version: '4.3.4' },
      mocha: { version: '10.0.0', dev: true, dependencies: { ms: { version: '2.1.3', dev: true } } },
      'my-lodash': { version: 'npm:lodash@4.17.21' },
      local: { version: 'file:../local' },
      gitdep: { version: 'git+https://example.com/x.git#abc' },
    },
  };
  const packages = analyzeLockfile(file('srv/package-lock.json', v1)).packages!;
  assert.deepEqual(packages.map(nameAtVersion).sort(), ['debug@2.6.9', 'debug@4.3.4', 'express@4.17.1', 'lodash@4.17.21']);
  assert.equal(packages.find((p) => p.name === 'lodash')!.purl, 'pkg:npm/lodash@4.17.21');
});

test('lockfile v2: links and the root are skipped, names come from the key or the aliased name', () => {
  const v2 = {
    lockfileVersion: 2,
    packages: {
      '': { name: 'app', version: '1.0.0' },
      'node_modules/a': { version: '1.0.0' },
      'node_modules/a/node_modules/@s/b': { version: '2.0.0' },
      'node_modules/alias': { name: 'real', version: '3.0.0' },
      'node_modules/linked': { resolved: 'packages/linked', link: true },
      'packages/linked': { name: 'linked', version: '0.0.1' },
      'node_modules/d': { version: '1.0.0', dev: true },
    },
    dependencies: { ignored: { version: '9.9.9' } },
  };
  assert.deepEqual(analyzeLockfile(file('package-lock.json', v2)).packages!.map(nameAtVersion), ['a@1.0.0', '@s/b@2.0.0', 'real@3.0.0']);
  assert.match(analyzeLockfile({ path: 'package-lock.json', layer: 0, bytes: Buffer.from('[1]') }).notes![0], /not a JSON object/);
});

test('after the walk: a lockfile is dropped where its folder has installed packages, kept where it has none', () => {
  const pkg = (path: string, name: string) => ({ ecosystem: 'npm', name, version: '1.0.0', purl: `pkg:npm/${name}@1.0.0`, path, layer: 0 });
  const all = [
    pkg('app/package-lock.json', 'a'),
    pkg('app/package-lock.json', 'dev-only-pruned'),
    pkg('app/node_modules/a/package.json', 'a'),
    pkg('app/node_modules/a/node_modules/b/package.json', 'b'),
    pkg('other/package-lock.json', 'c'),
    pkg('package-lock.json', 'd'),
    { ...pkg('app/node_modules/x/package.json', 'x'), ecosystem: 'PyPI' },
  ];
  assert.deepEqual(
    finishLanguagePackages(all).map((p) => `${p.path} ${p.name}`),
    [
      'app/node_modules/a/package.json a',
      'app/node_modules/a/node_modules/b/package.json b',
      'other/package-lock.json c',
      'package-lock.json d',
      'app/node_modules/x/package.json x',
    ],
  );
  const top = [pkg('package-lock.json', 'd'), pkg('node_modules/d/package.json', 'd')];
  assert.deepEqual(
    finishLanguagePackages(top).map((p) => p.path),
    ['node_modules/d/package.json'],
  );
});
