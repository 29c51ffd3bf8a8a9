import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, test } from 'node:test';
import { normalizePyPIName, pythonAnalyzer } from '../../../src/scanning/inventory/languages/python.js';
import { requireTools, runTool } from '../../helpers/tools.js';
import { analyzeTree } from './helpers.js';

const skip = requireTools('python3');
const key = (name: string, version: string) => `${normalizePyPIName(name)}@${version}`;

async function pipList(dir: string): Promise<Set<string>> {
  const listed: Array<{ name: string; version: string }> = JSON.parse(
    (await runTool('python3', ['-m', 'pip', 'list', '--format=json', '--disable-pip-version-check', '--path', dir])).stdout,
  );
  return new Set(listed.map((p) => key(p.name, p.version)));
}

describe('Python installed metadata', { skip }, () => {
  test("this machine's site-packages: the same projects and versions as `pip list --path` on the same folder", async () => {
    const dirs: string[] = JSON.parse(
      (await runTool('python3', ['-c', 'import site, json; print(json.dumps(site.getsitepackages()))'])).stdout,
    );
    // Debian's own Python packages (egg-info folders and files next to dist-info) when the distribution has them.
    if (existsSync('/usr/lib/python3/dist-packages')) dirs.push('/usr/lib/python3/dist-packages');
    let compared = 0;
    for (const dir of dirs.filter((d) => existsSync(d))) {
      const found = await analyzeTree(pythonAnalyzer, dir);
      const expected = await pipList(dir);
      const actual = new Set(found.packages.map((p) => key(p.name, p.version)));
      assert.deepEqual([...actual].filter((x) => !expected.has(x)).sort(), [], `${dir}: found but not listed by pip`);
      assert.deepEqual([...expected].filter((x) => !actual.has(x)).sort(), [], `${dir}: listed by pip but not found`);
      assert.deepEqual(found.notes, []);
      for (const p of found.packages) {
        assert.equal(p.ecosystem, 'PyPI');
        assert.equal(p.purl, `pkg:pypi/${normalizePyPIName(p.name)}@${p.version}`);
        assert.ok(!p.path.startsWith('/'));
      }
      compared += expected.size;
    }
    assert.ok(compared >= 5, `compared ${compared} packages`);
    const pip = (await analyzeTree(pythonAnalyzer, dirs[0])).packages.find((p) => p.name === 'pip');
    assert.ok(pip, 'pip itself is installed in the first site-packages');
    assert.match(pip.path, /^pip-[^/]+\.dist-info\/METADATA$/);
    assert.equal(pip.license, 'MIT');
  });
});

test('which files are Python metadata', () => {
  const stat = { size: 100, mode: 0o644 };
  for (const path of [
    'usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/METADATA',
    'usr/lib/python3/dist-packages/Pygments-2.14.0.egg-info/PKG-INFO',
    'usr/lib/python3.11/site-packages/foo-1.0-py3.11.egg/EGG-INFO/PKG-INFO',
    'usr/lib/python2.7/dist-packages/argparse-1.2.1.egg-info',
  ])
    assert.equal(pythonAnalyzer.wants(path, stat), true, path);
  for (const path of ['x.dist-info/RECORD', 'x.dist-info/METADATA.bak', 'x.egg-info/SOURCES.txt', 'METADATA', 'app/PKG-INFO'])
    assert.equal(pythonAnalyzer.wants(path, stat), false, path);
});

test('headers: the written name is kept, the purl is normalised, licence from License-Expression, a short License, or classifiers', async () => {
  const meta = (text: string) => pythonAnalyzer.analyze({ path: 'x.dist-info/METADATA', layer: 1, bytes: Buffer.from(text) });
  const one = await meta(
    'Metadata-Version: 2.4\nName: Typing_Extensions\nVersion: 4.12.2\nLicense-Expression: PSF-2.0\n\nName: not-this\n',
  );
  assert.deepEqual(one.packages, [
    {
      ecosystem: 'PyPI',
      name: 'Typing_Extensions',
      version: '4.12.2',
      purl: 'pkg:pypi/typing-extensions@4.12.2',
      license: 'PSF-2.0',
      path: 'x.dist-info/METADATA',
      layer: 1,
    },
  ]);
  const long = await meta(
    'Name: zope.interface\r\nVersion: 6.0\r\nLicense: Copyright (c) Zope\r\n        All rights reserved.\r\nClassifier: License :: OSI Approved :: Zope Public License\r\n\r\n',
  );
  assert.equal(long.packages![0].license, 'Zope Public License');
  assert.equal(long.packages![0].purl, 'pkg:pypi/zope-interface@6.0');
  assert.equal((await meta('Name: a\nVersion: 1\nLicense: UNKNOWN\n')).packages![0].license, undefined);
  assert.match((await meta('Name: a\n')).notes![0], /without Name and Version/);
  assert.equal(normalizePyPIName('Foo.Bar__baz--Qux'), 'foo-bar-baz-qux');
});
