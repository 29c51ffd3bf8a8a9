import assert from 'node:assert/strict';
import { createReadStream, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, test } from 'node:test';
import { binaryAnalyzer } from '../../../src/scanning/inventory/languages/binary.js';
import { goBuildInfoMagic, parseBuildInfoHeader, parseModInfo, stdlibVersion } from '../../../src/scanning/inventory/languages/golang.js';
import { requireTools, runTool } from '../../helpers/tools.js';

const work = mkdtempSync(path.join(tmpdir(), 'berth-go-'));
after(() => rmSync(work, { recursive: true, force: true }));

async function streamScan(file: string, chunkBytes: number) {
  const stream = createReadStream(file, { highWaterMark: chunkBytes });
  const result = await binaryAnalyzer.analyzeStream!({ path: file.slice(1), layer: 4, size: statSync(file).size, stream });
  assert.equal(stream.readableEnded, true, 'the stream is read to its end');
  return result;
}

function uvarint(n: number): Buffer {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}

/** Go 1.18+ build info bytes as the linker writes them: header, then the version and module info strings. */
function buildInfo(goVersion: string, modLines: string[], flags = 2): Buffer {
  const header = Buffer.alloc(32);
  goBuildInfoMagic.copy(header);
  header[14] = 8;
  header[15] = flags;
  const mod = Buffer.concat([Buffer.alloc(16, 0x30), Buffer.from(modLines.join('\n') + '\n'), Buffer.alloc(16, 0x31)]);
  return Buffer.concat([header, uvarint(goVersion.length), Buffer.from(goVersion), uvarint(mod.length), mod]);
}

const modLines = [
  'path\texample.com/tool/cmd/tool',
  'mod\texample.com/tool\tv1.4.0\th1:abc=',
  'dep\tgithub.com/pkg/errors\tv0.9.1\th1:def=',
  'dep\tgolang.org/x/net\tv0.17.0\th1:ghi=',
  '=>\tgithub.com/fork/net\tv0.17.1-0.20231010120000-abcdefabcdef\th1:jkl=',
  'dep\texample.com/local\tv0.0.0',
  '=>\t../local\t(devel)\t',
  'build\t-compiler=gc',
  'build\tGOOS=linux',
];

describe('Go build info in a real executable', { skip: requireTools('skopeo', 'dpkg') }, () => {
  test("skopeo (Debian's build): stdlib at the Go version Debian built it with, read from the stream in any chunk size", async () => {
    const binary = '/usr/bin/skopeo';
    // Debian records the Go toolchain in Built-Using: `golang-1.19 (= 1.19.8-2)`.
    const status = (await runTool('dpkg', ['-s', 'skopeo'])).stdout;
    const builtWith = /golang-1\.\d+ \(= ([\d.]+)-[^)]+\)/.exec(status)?.[1];
    assert.ok(builtWith, 'dpkg -s skopeo names the Go toolchain in Built-Using');
    for (const chunk of [64 * 1024, 4093]) {
      const result = await streamScan(binary, chunk);
      assert.equal(result.notes, undefined);
      const std = result.packages!.find((p) => p.name === 'stdlib')!;
      assert.deepEqual(std, {
        ecosystem: 'Go',
        name: 'stdlib',
        version: builtWith,
        purl: `pkg:golang/stdlib@v${builtWith}`,
        path: 'usr/bin/skopeo',
        layer: 4,
      });
      // Debian builds in GOPATH mode: no `mod` or `dep` lines, so stdlib is all there is.
      assert.deepEqual(
        result.packages!.map((p) => p.name),
        ['stdlib'],
      );
    }
    // The module info itself names skopeo's main package.
    const bytes = readFileSync(binary);
    let at = bytes.indexOf(goBuildInfoMagic);
    while (at >= 0 && at % 16 !== 0) at = bytes.indexOf(goBuildInfoMagic, at + 1);
    const header = parseBuildInfoHeader(bytes.subarray(at));
    assert.equal(header.kind, 'complete');
    if (header.kind !== 'complete') return;
    assert.equal(header.goVersion, `go${builtWith}`);
    assert.equal(parseModInfo(header.goVersion, header.modInfo).path, 'github.com/containers/skopeo/cmd/skopeo');
  });
});

describe('Go modules in a linked ELF carrying module-mode build info', { skip: requireTools('rustc') }, () => {
  // rustc links a real ELF executable whose 16-byte-aligned `.go.buildinfo` section holds the bytes a Go 1.18+
  // linker writes (no Go toolchain on this machine); a decoy magic at an unaligned offset must be passed over.
  const info = buildInfo('go1.22.5 X:boringcrypto', modLines);
  const decoy = Buffer.concat([Buffer.alloc(3), goBuildInfoMagic, Buffer.alloc(64)]);

  test('main module, dependencies with replacements (local ones skipped), stdlib; versions without the v', async () => {
    writeFileSync(path.join(work, 'info.bin'), info);
    writeFileSync(path.join(work, 'decoy.bin'), decoy);
    writeFileSync(
      path.join(work, 'main.rs'),
      [
        '#[repr(C, align(16))] struct Aligned<T: ?Sized>(T);',
        '#[used] #[link_section = ".rodata.decoy"] static DECOY: [u8; ' + decoy.length + '] = *include_bytes!("decoy.bin");',
        '#[used] #[link_section = ".go.buildinfo"] static INFO: Aligned<[u8; ' + info.length + ']> = Aligned(*include_bytes!("info.bin"));',
        'fn main() { println!("{}", INFO.0.len() + DECOY.len()); }',
      ].join('\n'),
    );
    const exe = path.join(work, 'gofake');
    await runTool('rustc', ['-C', 'opt-level=0', '-C', 'strip=debuginfo', '-o', exe, path.join(work, 'main.rs')]);
    assert.ok(readFileSync(exe).indexOf(goBuildInfoMagic) % 16 !== 0, 'the first magic in the file is the unaligned decoy');
    for (const chunk of [64 * 1024, 1000, 13]) {
      const result = await streamScan(exe, chunk);
      assert.deepEqual(
        result.packages!.map((p) => [p.name, p.version, p.purl]),
        [
          ['example.com/tool', '1.4.0', 'pkg:golang/example.com/tool@v1.4.0'],
          ['github.com/pkg/errors', '0.9.1', 'pkg:golang/github.com/pkg/errors@v0.9.1'],
          [
            'github.com/fork/net',
            '0.17.1-0.20231010120000-abcdefabcdef',
            'pkg:golang/github.com/fork/net@v0.17.1-0.20231010120000-abcdefabcdef',
          ],
          ['stdlib', '1.22.5', 'pkg:golang/stdlib@v1.22.5'],
        ],
        `chunks of ${chunk} bytes`,
      );
    }
  });
});

describe('binaries without usable build info', () => {
  const elf = (body: Buffer) => Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46]), Buffer.alloc(60), body]);
  const scan = (bytes: Buffer, chunk = 1024) => {
    const chunks: Buffer[] = [];
    for (let i = 0; i < bytes.length; i += chunk) chunks.push(bytes.subarray(i, i + chunk));
    return binaryAnalyzer.analyzeStream!({ path: 'bin/x', layer: 0, size: bytes.length, stream: Readable.from(chunks) });
  };

  test('Go before 1.18 (pointer format) gives a note, not packages and not an exception', async () => {
    const old = buildInfo('go1.16', modLines, 0);
    assert.deepEqual(await scan(elf(old)), {
      notes: ['bin/x: Go executable built before Go 1.18 (build info in the older pointer format is not read)'],
    });
  });

  test('an aligned magic that is only data (a program reading build info holds the string) is passed over', async () => {
    const asData = (flags: number, pointerSize: number, rest: Buffer) => {
      const bytes = Buffer.concat([goBuildInfoMagic, Buffer.from([pointerSize, flags]), Buffer.alloc(16), rest]);
      return Buffer.concat([bytes, Buffer.alloc((16 - (bytes.length % 16)) % 16)]);
    };
    const junkStrings = asData(2, 8, Buffer.concat([uvarint(3), Buffer.from('abc'), uvarint(2), Buffer.from('xy')]));
    const junkPointers = asData(0, 0x41, Buffer.alloc(16, 0x41));
    const real = buildInfo('go1.21.4', ['mod\texample.com/app\tv2.0.0\t']);
    for (const chunk of [1024, 5]) {
      const result = await scan(elf(Buffer.concat([junkStrings, junkPointers, real])), chunk);
      assert.deepEqual(
        result.packages!.map((p) => `${p.name}@${p.version}`),
        ['example.com/app@2.0.0', 'stdlib@1.21.4'],
      );
    }
  });

  test('a build info cut off by the end of the file, and a (devel) main module', async () => {
    const whole = buildInfo('go1.21.0', ['mod\texample.com/dev\t(devel)\t']);
    assert.deepEqual(await scan(elf(whole.subarray(0, whole.length - 20))), {
      notes: ['bin/x: Go build info cut short by the end of the file'],
    });
    const result = await scan(elf(whole));
    assert.deepEqual(
      result.packages!.map((p) => `${p.name}@${p.version}`),
      ['stdlib@1.21.0'],
    );
  });

  test('scripts and other files are drained without reading; wants() picks executables of some size', async () => {
    const script = Buffer.concat([Buffer.from('#!/bin/sh\n'), Buffer.alloc(200 * 1024, 0x20), goBuildInfoMagic]);
    const stream = Readable.from([script.subarray(0, 100), script.subarray(100)]);
    assert.deepEqual(await binaryAnalyzer.analyzeStream!({ path: 'bin/s', layer: 0, size: script.length, stream }), {});
    assert.equal(stream.readableEnded, true);
    assert.equal(binaryAnalyzer.wants('usr/bin/tool', { size: 2 << 20, mode: 0o100755 }), true);
    assert.equal(binaryAnalyzer.wants('usr/bin/tool', { size: 2 << 20, mode: 0o100644 }), false);
    assert.equal(binaryAnalyzer.wants('usr/bin/tiny', { size: 1000, mode: 0o100755 }), false);
    assert.equal(stdlibVersion('devel go1.23-abc'), undefined);
  });
});

// An extra fixture where this machine has it (Google Cloud SDK's Go tools are built in module mode, unlike Debian's):
// not a tool the tests need, so its absence is a plain skip.
const anthos = '/usr/lib/google-cloud-sdk/bin/anthoscli';
test(
  'a module-mode Go binary from elsewhere: every dep line (replacements applied) is a package',
  { skip: !existsSync(anthos) && `${anthos} is not on this machine` },
  async () => {
    const bytes = readFileSync(anthos);
    let at = bytes.indexOf(goBuildInfoMagic);
    while (at >= 0 && at % 16 !== 0) at = bytes.indexOf(goBuildInfoMagic, at + 1);
    const header = parseBuildInfoHeader(bytes.subarray(at));
    assert.equal(header.kind, 'complete');
    if (header.kind !== 'complete') return;
    // Read the dep lines straight from the text: each dep, or the `=>` line right after it.
    const lines = header.modInfo.split('\n');
    const expected: string[] = [];
    lines.forEach((line, i) => {
      if (!line.startsWith('dep\t')) return;
      const used = lines[i + 1]?.startsWith('=>\t') ? lines[i + 1] : line;
      const [, modulePath, version] = used.split('\t');
      if (version && version !== '(devel)') expected.push(`${modulePath}@${version.replace(/^v/, '')}`);
    });
    const result = await streamScan(anthos, 256 * 1024);
    const names = result.packages!.map((p) => `${p.name}@${p.version}`);
    assert.ok(expected.length > 50);
    assert.deepEqual(
      names.filter((n) => !n.startsWith('stdlib@') && !n.startsWith(lines.find((l) => l.startsWith('mod\t'))?.split('\t')[1] + '@')),
      expected,
    );
    assert.equal(names.at(-1), `stdlib@${stdlibVersion(header.goVersion)}`);
  },
);
