import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compareApk } from '../../../src/scanning/vulndb/versions/apk.js';
import { compareDpkg } from '../../../src/scanning/vulndb/versions/dpkg.js';
import { versionOrder } from '../../../src/scanning/vulndb/versions/index.js';
import { compareMaven } from '../../../src/scanning/vulndb/versions/maven.js';
import { compareRpm } from '../../../src/scanning/vulndb/versions/rpm.js';

type Compare = (a: string, b: string) => number | null;

/** Each list is in increasing order; every pair is checked both ways. */
function ascending(compare: Compare, versions: string[]) {
  for (let i = 0; i < versions.length; i++) {
    for (let j = i + 1; j < versions.length; j++) {
      assert.equal(compare(versions[i], versions[j]), -1, `${versions[i]} < ${versions[j]}`);
      assert.equal(compare(versions[j], versions[i]), 1, `${versions[j]} > ${versions[i]}`);
    }
  }
}

function equal(compare: Compare, pairs: Array<[string, string]>) {
  for (const [a, b] of pairs) {
    assert.equal(compare(a, b), 0, `${a} = ${b}`);
    assert.equal(compare(b, a), 0, `${b} = ${a}`);
  }
}

describe('dpkg order (deb-version(7))', () => {
  test('the man page example: ~~, ~~a, ~, the empty part, a', () => {
    ascending(compareDpkg, ['1.0~~', '1.0~~a', '1.0~', '1.0', '1.0a']);
  });
  test('epoch first, then upstream numerically, then the revision', () => {
    ascending(compareDpkg, [
      '0.9',
      '1.0~rc1',
      '1.0',
      '1.0-1',
      '1.0-2',
      '1.0-10',
      '1.0+dfsg-1',
      '1.0.1',
      '1.2',
      '1.10',
      '2.0',
      '1:0.1',
      '2:0.0.1',
    ]);
    ascending(compareDpkg, ['1.0-1', '1.0-1+deb12u1', '1.0-1.1', '1.0-2~bpo11+1', '1.0-2']);
  });
  test('letters sort before other characters, digits compare as numbers with leading zeros ignored', () => {
    ascending(compareDpkg, ['1.0a', '1.0+', '1.0.']);
    equal(compareDpkg, [
      ['1.01', '1.1'],
      ['0:1.0', '1.0'],
      ['1.0-0', '1.0'],
      ['2.36-9+deb12u4', '2.36-9+deb12u4'],
    ]);
  });
  test('real Debian versions', () => {
    ascending(compareDpkg, ['3.0.11-1~deb12u1', '3.0.11-1~deb12u2', '3.0.13-1~deb12u1', '3.0.15-1~deb12u1']);
    ascending(compareDpkg, ['7.88.1-10+deb12u5', '7.88.1-10+deb12u8', '8.5.0-2']);
  });
});

describe('apk order (apk-tools)', () => {
  test('numbers, letters, and -r revisions', () => {
    ascending(compareApk, ['1.0', '1.0-r1', '1.0-r2', '1.0-r10', '1.0a', '1.0b', '1.0.1', '1.1', '1.2', '1.10', '2']);
  });
  test('pre-release suffixes sort below the release, post-release ones above', () => {
    ascending(compareApk, [
      '1.0_alpha',
      '1.0_alpha2',
      '1.0_beta',
      '1.0_beta3',
      '1.0_pre1',
      '1.0_rc1',
      '1.0_rc2',
      '1.0',
      '1.0_cvs',
      '1.0_svn',
      '1.0_git',
      '1.0_hg',
      '1.0_p1',
      '1.0_p2',
    ]);
  });
  test('a component with a leading zero compares as a fraction', () => {
    ascending(compareApk, ['1.001', '1.01', '1.1']);
    ascending(compareApk, ['1.0.0', '1.0.01', '1.0.1']);
  });
  test('real Alpine versions', () => {
    ascending(compareApk, ['3.1.4-r0', '3.1.4-r5', '3.1.5-r0', '3.3.0-r0']);
    ascending(compareApk, ['1.36.1-r5', '1.36.1-r15', '1.36.1-r29']);
    equal(compareApk, [['1.2.3-r4', '1.2.3-r4']]);
  });
});

describe('rpm order (rpmvercmp)', () => {
  test('the rules of rpmvercmp', () => {
    ascending(compareRpm, ['1.0', '1.0a', '1.0.1', '2.0', '2.0.1', '2.0.1a', '10.1']);
    ascending(compareRpm, ['5.5p1', '5.5p2', '5.5p10']);
    ascending(compareRpm, ['xyz.4', '8']);
    ascending(compareRpm, ['1b.fc17', '1.fc17']);
    equal(compareRpm, [
      ['1.0', '1.0'],
      ['xyz.4', 'xyz.4'],
      ['1.0010', '1.10'],
      ['2_0', '2.0'],
      ['0:1.0-1', '1.0-1'],
    ]);
  });
  test('tilde sorts before everything, caret after the end but before any segment', () => {
    ascending(compareRpm, [
      '1.0~rc1~git123',
      '1.0~rc1',
      '1.0~rc1^git1',
      '1.0~rc2',
      '1.0',
      '1.0^',
      '1.0^git1~pre',
      '1.0^git1',
      '1.0^git2',
      '1.01',
    ]);
    ascending(compareRpm, ['1.0^20160101', '1.0.1']);
  });
  test('epoch, then version, then release', () => {
    ascending(compareRpm, ['1.2.3-1.el9', '1.2.3-2.el9', '1.2.3-10.el9', '1.2.4-1.el9', '1:1.0-1.el9']);
    assert.equal(compareRpm('1.2.3', '1.2.3-5.el9'), 0, 'no release on one side: versions only');
  });
});

describe('Maven order (ComparableVersion)', () => {
  test('qualifiers', () => {
    ascending(compareMaven, [
      '1-alpha2snapshot',
      '1-alpha2',
      '1-alpha-123',
      '1-beta-2',
      '1-beta123',
      '1-m2',
      '1-m11',
      '1-rc',
      '1-cr2',
      '1-rc123',
      '1-SNAPSHOT',
      '1',
      '1-sp',
      '1-sp2',
      '1-sp123',
      '1-abc',
      '1-def',
      '1-pom-1',
      '1-1-snapshot',
      '1-1',
      '1-2',
      '1-123',
    ]);
  });
  test('numbers', () => {
    ascending(compareMaven, [
      '2.0',
      '2-1',
      '2.0.a',
      '2.0.0.a',
      '2.0.2',
      '2.0.123',
      '2.1.0',
      '2.1-a',
      '2.1b',
      '2.1-c',
      '2.1-1',
      '2.1.0.1',
      '2.2',
      '2.123',
      '11.a2',
      '11.a11',
      '11.b2',
      '11.b11',
      '11.m2',
      '11.m11',
      '11',
      '11.a',
      '11b',
      '11c',
      '11m',
    ]);
  });
  test('equal spellings', () => {
    equal(compareMaven, [
      ['1', '1.0'],
      ['1', '1.0.0'],
      ['1.0', '1.0.0'],
      ['1', '1-0'],
      ['1a', '1-a'],
      ['1a', '1.0-a'],
      ['1a', '1.0.0-a'],
      ['1x', '1-x'],
      ['1ga', '1'],
      ['1release', '1'],
      ['1final', '1'],
      ['1cr', '1rc'],
      ['1a1', '1-alpha-1'],
      ['1b2', '1-beta-2'],
      ['1m3', '1-milestone-3'],
      ['1X', '1x'],
      ['1A', '1a'],
      ['1RC', '1rc'],
    ]);
  });
  test('real Maven versions', () => {
    // An unknown qualifier sorts after the release, in Maven as here: Jackson's 2.10.0.pr1 is "newer" than 2.10.0.
    ascending(compareMaven, ['2.9.10', '2.9.10.1', '2.9.10.8', '2.10.0', '2.10.0.pr1', '2.12.7.1', '2.13.0']);
    ascending(compareMaven, ['5.3.17', '5.3.18', '6.0.0-M1', '6.0.0-RC1', '6.0.0']);
  });
});

describe('SemVer and PEP 440 through the ecosystem orders', () => {
  const npm = versionOrder('npm', 'ECOSYSTEM')!;
  const go = versionOrder('Go', 'ECOSYSTEM')!;
  const pypi = versionOrder('PyPI', 'ECOSYSTEM')!;
  test('npm and crates.io: SemVer 2.0 with pre-releases below the release', () => {
    ascending(npm, ['1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-beta', '1.0.0-rc.1', '1.0.0', '1.0.1', '1.2.0', '1.10.0', '2.0.0']);
    ascending(versionOrder('crates.io', 'ECOSYSTEM')!, ['0.9.9', '0.10.0', '1.0.0']);
  });
  test('Go: a leading v is ignored, pseudo-versions are pre-releases', () => {
    ascending(go, ['v0.0.0-20210101000000-abcdef123456', '0.1.0', 'v0.2.0', '1.21.5', '1.22.0']);
    equal(go, [['v1.2.3', '1.2.3']]);
  });
  test('PyPI: dev < pre < final < post, epochs, normalised spellings', () => {
    ascending(pypi, ['1.0.dev1', '1.0a1', '1.0b2', '1.0rc1', '1.0', '1.0.post1', '1.0.1', '1.1', '1!0.1']);
    equal(pypi, [
      ['1.0', '1.0.0'],
      ['1.0alpha1', '1.0a1'],
      ['1.0-post1', '1.0.post1'],
    ]);
  });
  test('versions a scheme cannot read compare as unknown (null), never as equal', () => {
    assert.equal(pypi('not a version', '1.0'), null);
    assert.equal(versionOrder('Debian', 'ECOSYSTEM')!('', '1.0'), null);
    assert.equal(versionOrder('Debian', 'GIT'), null);
    assert.equal(versionOrder('Packagist', 'ECOSYSTEM'), null);
  });
});
