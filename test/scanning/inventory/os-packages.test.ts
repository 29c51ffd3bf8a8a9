import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { apkPackages } from '../../../src/scanning/inventory/apk.js';
import { inventoryOf } from '../../../src/scanning/inventory/index.js';
import { osvEcosystem, parseOsRelease } from '../../../src/scanning/inventory/os-release.js';
import { parseSourceRpm, readHeader, rpmTags } from '../../../src/scanning/inventory/rpm.js';
import { requireTools, runTool } from '../../helpers/tools.js';
import { MemoryImage, layerOf } from './helpers.js';

// A realistic apk database (as apk-tools writes it: checksums, deps, provides, file lists).
const apkInstalled = `C:Q1mXy5bKD6jWlHqc4n6vTz3aCOqUo=
P:musl
V:1.2.4_git20230717-r4
A:x86_64
S:407278
I:663552
T:the musl c library (libc) implementation
U:https://musl.libc.org/
L:MIT
o:musl
m:Timo Teräs <timo.teras@iki.fi>
t:1705508093
c:3e2a94f2d2a0d3e7e3f2b1d44c8a3b1b0a9f9d11
p:so:libc.musl-x86_64.so.1=1
F:lib
R:ld-musl-x86_64.so.1
a:0:0:755
Z:Q1f4a3Q6uD+NTJ2Vz7EYFxJ0uK8ao=
R:libc.musl-x86_64.so.1

C:Q1Dd5nJ7R9Zf0+8Ml1z1v2ZzJmQqE=
P:libcrypto3
V:3.1.4-r5
A:x86_64
S:1767839
I:4591616
T:Crypto library from openssl
U:https://www.openssl.org/
L:Apache-2.0
o:openssl
m:Ariadne Conill <ariadne@dereferenced.org>
t:1706810013
c:c5d3d4e97b9e0b61e98bce5e3ff6b9d8a7f5c2e1
D:so:libc.musl-x86_64.so.1
p:so:libcrypto.so.3=3
F:usr
F:usr/lib
R:libcrypto.so.3

C:Q1zq8vLrJ3u1ZJY0fC2lVgU6oUZ1k=
P:libssl3
V:3.1.4-r5
A:x86_64
L:Apache-2.0
o:openssl
D:so:libc.musl-x86_64.so.1 so:libcrypto.so.3
p:so:libssl.so.3=3

C:Q1AbCdEfGhIjKlMnOpQrStUvWxYz0=
P:ca-certificates-bundle
V:20230506-r0
A:x86_64
L:MPL-2.0 AND MIT
o:ca-certificates
`;

test('apk: every record of the installed database, with the origin as the source OSV matches on', () => {
  const packages = apkPackages(apkInstalled, 'lib/apk/db/installed', 0);
  assert.deepEqual(
    packages.map((p) => [p.name, p.version, p.sourceName, p.arch, p.license]),
    [
      ['musl', '1.2.4_git20230717-r4', 'musl', 'x86_64', 'MIT'],
      ['libcrypto3', '3.1.4-r5', 'openssl', 'x86_64', 'Apache-2.0'],
      ['libssl3', '3.1.4-r5', 'openssl', 'x86_64', 'Apache-2.0'],
      ['ca-certificates-bundle', '20230506-r0', 'ca-certificates', 'x86_64', 'MPL-2.0 AND MIT'],
    ],
  );
  // CRLF line ends and a record without V: (broken) are tolerated; the latter is dropped.
  assert.deepEqual(
    apkPackages('P:a\r\nV:1-r0\r\n\r\nP:b\r\n\r\n', 'x', 0).map((p) => p.name),
    ['a'],
  );
});

test('apk in an Alpine image: ecosystem Alpine:v3.19 from os-release, purls with arch and distro', async () => {
  const image = new MemoryImage();
  const digest = image.addImage([
    await layerOf([
      { path: 'etc/os-release', content: 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME="Alpine Linux v3.19"\n' },
      { path: 'etc/alpine-release', content: '3.19.1\n' },
      { path: 'lib/apk/db/installed', content: apkInstalled },
    ]),
  ]);
  const inventory = await inventoryOf(image, digest, { cache: null });
  assert.deepEqual(inventory.os, { family: 'alpine', version: '3.19.1', name: 'Alpine Linux v3.19' });
  assert.equal(inventory.packages.length, 4);
  const ssl = inventory.packages.find((p) => p.name === 'libssl3')!;
  assert.equal(ssl.ecosystem, 'Alpine:v3.19');
  assert.equal(ssl.purl, 'pkg:apk/alpine/libssl3@3.1.4-r5?arch=x86_64&distro=alpine-3.19.1');
});

test('OSV ecosystems per OS (osv-schema ecosystems.json): release suffixes, Ubuntu LTS only for even-year April releases', () => {
  const eco = (family: string, version: string, name: string | null = null) => osvEcosystem({ family, version, name });
  assert.equal(eco('debian', '12'), 'Debian:12');
  assert.equal(eco('debian', '11.9'), 'Debian:11');
  assert.equal(eco('debian', 'trixie/sid'), 'Debian');
  assert.equal(eco('ubuntu', '22.04'), 'Ubuntu:22.04:LTS');
  assert.equal(eco('ubuntu', '24.04'), 'Ubuntu:24.04:LTS');
  assert.equal(eco('ubuntu', '23.04'), 'Ubuntu:23.04');
  assert.equal(eco('ubuntu', '22.10'), 'Ubuntu:22.10');
  assert.equal(eco('alpine', '3.19.1'), 'Alpine:v3.19');
  assert.equal(eco('alpine', '3.20.0_alpha20240329'), 'Alpine:v3.20');
  assert.equal(eco('rocky', '9.3'), 'Rocky Linux:9');
  assert.equal(eco('almalinux', '8.9'), 'AlmaLinux:8');
  assert.equal(eco('rhel', '9.4'), 'Red Hat:enterprise_linux:9');
  assert.equal(eco('opensuse-leap', '15.5', 'openSUSE Leap 15.5'), 'openSUSE:Leap 15.5');
  assert.equal(eco('sles', '15.5', 'SUSE Linux Enterprise Server 15 SP5'), 'SUSE:Linux Enterprise Server 15 SP5');
  assert.equal(eco('photon', '5.0'), 'Photon OS:5.0');
  assert.equal(eco('wolfi', '20230201'), 'Wolfi');
  // No OSV data: a name of their own, so that Red Hat's records never match them.
  assert.equal(eco('fedora', '39'), 'Fedora:39');
  assert.equal(eco('centos', '7'), 'CentOS:7');
  assert.equal(eco('amzn', '2023'), 'Amazon Linux:2023');
  assert.equal(eco('arch', ''), null);
});

test('os-release parsing: quotes, escapes, comments; an Ubuntu image gets Ubuntu ecosystems and deb purls under ubuntu', async () => {
  const fields = parseOsRelease(
    '# comment\nNAME="Ubuntu"\nVERSION_ID="22.04"\nID=ubuntu\nPRETTY_NAME="Ubuntu \\"Jammy\\" 22.04.4 LTS"\nX=\'single\'\n',
  );
  assert.equal(fields.get('PRETTY_NAME'), 'Ubuntu "Jammy" 22.04.4 LTS');
  assert.equal(fields.get('X'), 'single');
  const image = new MemoryImage();
  const digest = image.addImage([
    await layerOf([
      { path: 'etc/os-release', content: 'NAME="Ubuntu"\nVERSION_ID="22.04"\nID=ubuntu\nID_LIKE=debian\n' },
      { path: 'etc/debian_version', content: 'bookworm/sid\n' },
      {
        path: 'var/lib/dpkg/status',
        content: 'Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nSource: glibc\nVersion: 2.35-0ubuntu3.6\n',
      },
    ]),
  ]);
  const inventory = await inventoryOf(image, digest, { cache: null });
  const libc = inventory.packages[0];
  assert.deepEqual([libc.ecosystem, libc.sourceName, libc.sourceVersion], ['Ubuntu:22.04:LTS', 'glibc', '2.35-0ubuntu3.6']);
  assert.equal(libc.purl, 'pkg:deb/ubuntu/libc6@2.35-0ubuntu3.6?arch=amd64&distro=ubuntu-22.04');

  // Debian testing: os-release has no VERSION_ID; debian_version says the codename, so no release suffix.
  const testing = image.addImage([
    await layerOf([
      { path: 'etc/os-release', content: 'PRETTY_NAME="Debian GNU/Linux trixie/sid"\nID=debian\n' },
      { path: 'etc/debian_version', content: 'trixie/sid\n' },
      { path: 'var/lib/dpkg/status', content: 'Package: bash\nStatus: install ok installed\nVersion: 5.2.21-2\n' },
    ]),
  ]);
  const inv = await inventoryOf(image, testing, { cache: null });
  assert.equal(inv.os?.version, 'trixie/sid');
  assert.equal(inv.packages[0].ecosystem, 'Debian');
  // No OS files at all: the dpkg packages keep the family name.
  const bare = image.addImage([await layerOf([{ path: 'var/lib/dpkg/status', content: 'Package: bash\nVersion: 5.2.21-2\n' }])]);
  const none = await inventoryOf(image, bare, { cache: null });
  assert.equal(none.os, null);
  assert.deepEqual([none.packages[0].ecosystem, none.packages[0].purl], ['Debian', 'pkg:deb/debian/bash@5.2.21-2']);
});

test('rpm header parsing: a header built from the format (index entries, data store), string arrays, bounds', () => {
  const entries: [number, number, Buffer, number][] = [];
  const data: Buffer[] = [];
  let offset = 0;
  const add = (tag: number, type: number, value: Buffer, count = 1) => {
    entries.push([tag, type, value, offset]);
    data.push(value);
    offset += value.length;
    void count;
  };
  const str = (s: string) => Buffer.from(`${s}\0`);
  const int32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeInt32BE(n);
    return b;
  };
  add(rpmTags.name, 6, str('openssl-libs'));
  add(rpmTags.epoch, 4, int32(1));
  add(rpmTags.version, 6, str('3.0.7'));
  add(rpmTags.license, 9, Buffer.concat([str('ASL 2.0'), str('ignored translation')]));
  const store = Buffer.concat(data);
  const head = Buffer.alloc(8 + entries.length * 16);
  head.writeUInt32BE(entries.length, 0);
  head.writeUInt32BE(store.length, 4);
  entries.forEach(([tag, type, , at], i) => {
    head.writeInt32BE(tag, 8 + i * 16);
    head.writeUInt32BE(type, 12 + i * 16);
    head.writeInt32BE(at, 16 + i * 16);
    head.writeUInt32BE(1, 20 + i * 16);
  });
  const blob = Buffer.concat([head, store]);
  const values = readHeader(blob, new Set([rpmTags.name, rpmTags.epoch, rpmTags.version, rpmTags.license, rpmTags.arch]));
  assert.deepEqual(Object.fromEntries(values), { 1000: 'openssl-libs', 1003: 1, 1001: '3.0.7', 1014: 'ASL 2.0' });
  assert.throws(() => readHeader(blob.subarray(0, blob.length - 1), new Set([1000])), /claims 4 entries/);
  assert.throws(() => readHeader(Buffer.alloc(3), new Set([1000])), /too short/);
  assert.deepEqual(parseSourceRpm('openssl-3.0.7-27.el9.src.rpm'), { name: 'openssl', version: '3.0.7-27.el9' });
  assert.deepEqual(parseSourceRpm('python3-pip-21.3.1-1.fc38.nosrc.rpm'), { name: 'python3-pip', version: '21.3.1-1.fc38' });
  assert.equal(parseSourceRpm('garbage'), null);
});

const rpmSkip = requireTools('rpm', 'rpmbuild');

describe('rpm: an rpmdb.sqlite written by the rpm tool itself', { skip: rpmSkip }, () => {
  let dir: string;
  let expected: string[];
  let dbBytes: Buffer;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'berth-rpm-'));
    const spec = (name: string, version: string, release: string, extra: string) =>
      `Name: ${name}\nVersion: ${version}\nRelease: ${release}\nSummary: test\nLicense: MIT AND Apache-2.0\n${extra}\n%description\ntest\n%files\n`;
    const specs: Record<string, string> = {
      'hello.spec': `${spec('berth-hello', '1.2.3', '4.el9', 'Epoch: 2\nBuildArch: noarch')}\n%package devel\nSummary: dev\n%description devel\ndev\n%files devel\n`,
      'plain.spec': spec('berth-plain', '0.9', '1.el9', 'BuildArch: noarch'),
    };
    for (const [file, text] of Object.entries(specs)) {
      await writeFile(path.join(dir, file), text);
      await runTool('rpmbuild', ['--define', `_topdir ${dir}/top`, '--quiet', '-bb', path.join(dir, file)]);
    }
    const db = path.join(dir, 'db');
    await runTool('rpm', ['--initdb', '--dbpath', db]);
    const rpms = ['berth-hello-1.2.3-4.el9.noarch.rpm', 'berth-hello-devel-1.2.3-4.el9.noarch.rpm', 'berth-plain-0.9-1.el9.noarch.rpm'];
    await runTool('rpm', ['-i', '--nodeps', '--justdb', '--dbpath', db, ...rpms.map((r) => path.join(dir, 'top/RPMS/noarch', r))]);
    // The independent answer: rpm's own query of the same database.
    const { stdout } = await runTool('rpm', [
      '-qa',
      '--dbpath',
      db,
      '--qf',
      '%{NAME}|%{EPOCHNUM}|%{VERSION}-%{RELEASE}|%{ARCH}|%{SOURCERPM}|%{LICENSE}\n',
    ]);
    expected = stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [name, epoch, vr, arch, srpm, license] = line.split('|');
        const e = epoch === '0' ? '' : `${epoch}:`;
        return [name, `${e}${vr}`, arch, srpm.replace(/-[^-]+-[^-]+\.src\.rpm$/, ''), license].join(' ');
      })
      .sort();
    dbBytes = await readFile(path.join(db, 'rpmdb.sqlite'));
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('the packages in a Rocky Linux image match rpm -qa on the same database, with Rocky Linux:9 ecosystems and rpm purls', async () => {
    assert.equal(expected.length, 3);
    const image = new MemoryImage();
    const digest = image.addImage([
      await layerOf([
        {
          path: 'etc/os-release',
          content: 'NAME="Rocky Linux"\nVERSION_ID="9.3"\nID="rocky"\nPRETTY_NAME="Rocky Linux 9.3 (Blue Onyx)"\n',
        },
        { path: 'var/lib/rpm/rpmdb.sqlite', content: dbBytes },
      ]),
    ]);
    const inventory = await inventoryOf(image, digest, { cache: null });
    assert.deepEqual(inventory.notes, []);
    assert.deepEqual(inventory.packages.map((p) => [p.name, p.version, p.arch, p.sourceName, p.license].join(' ')).sort(), expected);
    const devel = inventory.packages.find((p) => p.name === 'berth-hello-devel')!;
    assert.equal(devel.ecosystem, 'Rocky Linux:9');
    assert.equal(devel.sourceVersion, '2:1.2.3-4.el9');
    assert.equal(devel.purl, 'pkg:rpm/rocky/berth-hello-devel@1.2.3-4.el9?arch=noarch&distro=rocky-9.3&epoch=2');
  });

  test('a Fedora image: its packages listed under an ecosystem of their own, with a note that OSV has no advisories for it', async () => {
    const image = new MemoryImage();
    const digest = image.addImage([
      await layerOf([
        { path: 'etc/os-release', content: 'NAME="Fedora Linux"\nVERSION_ID=39\nID=fedora\n' },
        { path: 'usr/lib/sysimage/rpm/rpmdb.sqlite', content: dbBytes },
      ]),
    ]);
    const inventory = await inventoryOf(image, digest, { cache: null });
    assert.equal(inventory.packages.length, 3);
    assert.ok(inventory.packages.every((p) => p.ecosystem === 'Fedora:39' && p.purl.startsWith('pkg:rpm/fedora/')));
    assert.deepEqual(inventory.notes, ["OSV publishes no advisories for Fedora: the image's OS packages are listed but not matched"]);
  });

  test('a Berkeley DB rpmdb is reported in a note, not read; a damaged rpmdb.sqlite is a note too', async () => {
    const image = new MemoryImage();
    const bdb = Buffer.alloc(8192);
    bdb.writeUInt32LE(0x00061561, 12);
    const digest = image.addImage([
      await layerOf([
        { path: 'etc/os-release', content: 'ID="centos"\nVERSION_ID="7"\n' },
        { path: 'var/lib/rpm/Packages', content: bdb },
        { path: 'usr/lib/sysimage/rpm/rpmdb.sqlite', content: Buffer.concat([dbBytes.subarray(0, 100), Buffer.alloc(100)]) },
      ]),
    ]);
    const inventory = await inventoryOf(image, digest, { cache: null });
    assert.deepEqual(inventory.packages, []);
    assert.equal(inventory.notes.length, 2);
    assert.match(inventory.notes[1], /var\/lib\/rpm\/Packages \(layer 0\) is an older Berkeley DB rpmdb .* Berth cannot read/);
    assert.match(inventory.notes[0], /usr\/lib\/sysimage\/rpm\/rpmdb\.sqlite \(layer 0\) could not be read as an rpmdb/);
  });
});
