import assert from 'node:assert/strict';
import { createReadStream, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { deflateSync } from 'node:zlib';
import { BinaryScan, binaryAnalyzer } from '../../../src/scanning/inventory/languages/binary.js';
import {
  analyzeCargoLock,
  auditablePackages,
  cargoLockAnalyzer,
  elfKeepRanges,
  findElfSection,
} from '../../../src/scanning/inventory/languages/rust.js';
import { requireTools, runTool } from '../../helpers/tools.js';
import { nameAtVersion } from './helpers.js';

const work = mkdtempSync(path.join(tmpdir(), 'berth-rust-'));
after(() => rmSync(work, { recursive: true, force: true }));
const lockFile = (text: string) => ({ path: 'src/app/Cargo.lock', layer: 2, bytes: Buffer.from(text) });

describe('Cargo.lock', { skip: requireTools('cargo') }, () => {
  test('a lockfile cargo writes for a workspace with only path crates: read, and none of them is a crates.io crate', async () => {
    const project = path.join(work, 'ws');
    mkdirSync(path.join(project, 'app/src'), { recursive: true });
    mkdirSync(path.join(project, 'util/src'), { recursive: true });
    writeFileSync(path.join(project, 'Cargo.toml'), '[workspace]\nmembers = ["app", "util"]\nresolver = "2"\n');
    writeFileSync(
      path.join(project, 'app/Cargo.toml'),
      '[package]\nname = "app"\nversion = "0.1.0"\nedition = "2021"\n[dependencies]\nutil = { path = "../util" }\n',
    );
    writeFileSync(path.join(project, 'util/Cargo.toml'), '[package]\nname = "util"\nversion = "0.2.0"\nedition = "2021"\n');
    writeFileSync(path.join(project, 'app/src/main.rs'), 'fn main() {}\n');
    writeFileSync(path.join(project, 'util/src/lib.rs'), '\n');
    await runTool('cargo', ['generate-lockfile', '--offline'], { cwd: project });
    const text = readFileSync(path.join(project, 'Cargo.lock'), 'utf8');
    assert.match(text, /name = "util"/);
    assert.deepEqual(analyzeCargoLock(lockFile(text)), { packages: [] });
    // The same lockfile with crates.io entries as cargo writes them (registry source and checksum).
    const withRegistry =
      text +
      [
        '',
        '[[package]]',
        'name = "serde"',
        'version = "1.0.210"',
        'source = "registry+https://github.com/rust-lang/crates.io-index"',
        'checksum = "c8e3592472072e6e22e0a54d5904d9febf8508f65fb8552499a1abc7d1078c3a"',
        '',
        '[[package]]',
        'name = "smallvec"',
        'version = "1.13.2"',
        'source = "sparse+https://index.crates.io/"',
        '',
        '[[package]]',
        'name = "forked"',
        'version = "0.3.0"',
        'source = "git+https://example.com/forked.git#0123456789abcdef"',
        '',
        '[[package]]',
        'name = "private"',
        'version = "1.0.0"',
        'source = "registry+https://registry.example.com/index"',
        '',
      ].join('\n');
    assert.deepEqual(analyzeCargoLock(lockFile(withRegistry)).packages, [
      { ecosystem: 'crates.io', name: 'serde', version: '1.0.210', purl: 'pkg:cargo/serde@1.0.210', path: 'src/app/Cargo.lock', layer: 2 },
      {
        ecosystem: 'crates.io',
        name: 'smallvec',
        version: '1.13.2',
        purl: 'pkg:cargo/smallvec@1.13.2',
        path: 'src/app/Cargo.lock',
        layer: 2,
      },
    ]);
  });
});

test('Cargo.lock: wants by name only; broken TOML gives a note', () => {
  const stat = { size: 10, mode: 0o644 };
  assert.equal(cargoLockAnalyzer.wants('Cargo.lock', stat), true);
  assert.equal(cargoLockAnalyzer.wants('usr/src/app/Cargo.lock', stat), true);
  assert.equal(cargoLockAnalyzer.wants('usr/src/app/Cargo.toml', stat), false);
  assert.equal(cargoLockAnalyzer.wants('x/NotCargo.lock', stat), false);
  assert.match(analyzeCargoLock(lockFile('[[package]\nname=')).notes![0], /^src\/app\/Cargo\.lock: unreadable Cargo\.lock/);
});

const auditable = {
  packages: [
    { name: 'tool', version: '0.3.1', source: 'local', kind: 'runtime', dependencies: [1, 2, 3], root: true },
    { name: 'serde', version: '1.0.210', source: 'crates.io', kind: 'runtime' },
    { name: 'cc', version: '1.1.0', source: 'crates.io', kind: 'build' },
    { name: 'libc', version: '0.2.158', source: 'crates.io' },
    { name: 'gitdep', version: '0.1.0', source: 'git' },
  ],
};

describe('cargo-auditable data in a real ELF executable', { skip: requireTools('rustc') }, () => {
  // cargo-auditable is not installed here: rustc links an executable with a `.dep-v0` section holding
  // zlib-compressed JSON in the format cargo-auditable writes, the way its linker step places it.
  test('runtime crates.io crates come from the section, found through the section table at the end of the stream', async () => {
    writeFileSync(path.join(work, 'dep.z'), deflateSync(JSON.stringify(auditable)));
    const size = statSync(path.join(work, 'dep.z')).size;
    writeFileSync(
      path.join(work, 'aud.rs'),
      `#[used] #[link_section = ".dep-v0"] static DEPS: [u8; ${size}] = *include_bytes!("dep.z");\nfn main() { println!("{}", DEPS.len()); }\n`,
    );
    const exe = path.join(work, 'audited');
    await runTool('rustc', ['-C', 'opt-level=0', '-C', 'strip=debuginfo', '-o', exe, path.join(work, 'aud.rs')]);
    const bytes = readFileSync(exe);
    const section = findElfSection((o, l) => (o + l <= bytes.length ? bytes.subarray(o, o + l) : undefined), '.dep-v0');
    assert.ok(section && section.size === size, 'the linked file has the section');
    for (const chunk of [64 * 1024, 777]) {
      const stream = createReadStream(exe, { highWaterMark: chunk });
      const result = await binaryAnalyzer.analyzeStream!({ path: 'usr/local/bin/audited', layer: 1, size: bytes.length, stream });
      assert.deepEqual(result.packages!.map(nameAtVersion), ['serde@1.0.210', 'libc@0.2.158']);
      assert.equal(result.packages![0].purl, 'pkg:cargo/serde@1.0.210');
      assert.equal(result.packages![0].ecosystem, 'crates.io');
    }
    // Only the read-only segments and the end are kept: half the file's size is room enough.
    const half = new BinaryScan({ path: 'x', layer: 0, size: bytes.length }, bytes.length / 2);
    // Tiny first chunks: the file's format is known only after the third.
    for (const [from, to] of [
      [0, 1],
      [1, 3],
      [3, 6],
    ])
      half.push(bytes.subarray(from, to));
    for (let i = 6; i < bytes.length; i += 4096) half.push(bytes.subarray(i, i + 4096));
    assert.deepEqual(half.finish().packages!.map(nameAtVersion), ['serde@1.0.210', 'libc@0.2.158']);
    const ranges = elfKeepRanges(bytes, bytes.length);
    assert.ok(Array.isArray(ranges) && ranges.every(([a, b], i) => a < b && (i === 0 || ranges[i - 1][1] < a)), 'sorted, apart');
    assert.deepEqual(elfKeepRanges(bytes.subarray(0, 10), bytes.length), { need: 64 });
    assert.equal(elfKeepRanges(Buffer.alloc(128), 128), undefined);
    // Past the bytes it may keep, only Go build info is looked for.
    const small = new BinaryScan({ path: 'x', layer: 0, size: bytes.length }, 1024);
    small.push(bytes);
    assert.deepEqual(small.finish(), {});
    // An executable without the section, and one that is not ELF.
    assert.equal(
      findElfSection((o, l) => bytes.subarray(o, o + l), '.dep-v1'),
      undefined,
    );
    assert.equal(
      findElfSection(() => Buffer.alloc(64), '.dep-v0'),
      undefined,
    );
  });
});

test('cargo-auditable: corrupt data gives a note', () => {
  assert.match(
    auditablePackages(Buffer.from('not zlib'), { path: 'bin/x', layer: 0 }).notes![0],
    /^bin\/x: unreadable cargo-auditable data/,
  );
  assert.deepEqual(auditablePackages(deflateSync('{}'), { path: 'bin/x', layer: 0 }), { packages: [] });
});
