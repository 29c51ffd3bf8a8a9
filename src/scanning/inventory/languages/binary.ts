/**
 * Executables, read as a stream in one pass (they are large and most hold nothing of interest):
 * Go build info (golang.ts) and cargo-auditable's `.dep-v0` ELF section (rust.ts).
 *
 * Cost per file: the first bytes decide (anything but ELF, PE or Mach-O is drained at once); then
 * one native `indexOf` per chunk for Go's magic. The section table of an ELF file sits at its end
 * and names where `.dep-v0` is, so the parts of an ELF file that can hold it (read-only segments,
 * the last few MiB) are kept by reference (no copy) until the end, unless it turns out to be a Go
 * binary; past `keepElfBytes` kept, the file is only searched for Go build info.
 */
import type { Package } from '../../types.js';
import type { Analyzer, AnalyzerResult } from '../analyzer.js';
import { goBuildInfoMagic, goPackages, parseBuildInfoHeader, parseModInfo } from './golang.js';
import { auditablePackages, auditableSection, elfKeepRanges, findElfSection, type ReadAt } from './rust.js';

/** The smallest file worth reading: Go and Rust executables are far larger. */
export const minExecutableBytes = 64 * 1024;
/** At most this many bytes of an ELF file are kept while streaming, to read `.dep-v0` at the end. */
export const keepElfBytes = 64 * 1024 * 1024;
const magicLength = goBuildInfoMagic.length;
const maxBuildInfoBytes = 2 * 1024 * 1024;

type Format = 'unknown' | 'elf' | 'executable' | 'other';

function formatOf(head: Buffer): Format {
  if (head.length < 4) return 'unknown';
  const word = head.readUInt32BE(0);
  if (word === 0x7f454c46) return 'elf';
  // PE ("MZ"), Mach-O 32/64 both byte orders, and universal binaries.
  if (head[0] === 0x4d && head[1] === 0x5a) return 'executable';
  if ([0xfeedface, 0xfeedfacf, 0xcefaedfe, 0xcffaedfe, 0xcafebabe].includes(word)) return 'executable';
  return 'other';
}

/** One file's scan: feed chunks in order with `push`, then `finish`. */
export class BinaryScan {
  private offset = 0;
  private format: Format = 'unknown';
  private head = Buffer.alloc(0);
  private carry = Buffer.alloc(0);
  private goChunks: Buffer[] | undefined;
  private goBytes = 0;
  private goNeed = 0;
  private goStart = 0;
  private goResult: Package[] | undefined;
  private notes: string[] = [];
  /** Pieces of an ELF file kept for the end (file offset, bytes), within `ranges` once those are known. */
  private kept: Array<{ offset: number; bytes: Buffer }> | undefined;
  private keptBytes = 0;
  private ranges: Array<[number, number]> | undefined;
  /** True once the rest of the file cannot change the answer (the caller may just drain). */
  done = false;

  constructor(
    private readonly file: { path: string; layer: number; size: number },
    private readonly keepLimit = keepElfBytes,
  ) {}

  push(chunk: Buffer): void {
    if (this.done) return;
    const at = this.offset;
    this.offset += chunk.length;
    if (this.format === 'unknown') {
      // `head` is the file's first bytes: chunks shorter than 4 bytes go in whole.
      this.head = Buffer.concat([this.head, chunk.subarray(0, 4)]);
      this.format = formatOf(this.head);
      if (this.format === 'other') {
        this.done = true;
        return;
      }
      if (this.format === 'elf') {
        this.kept = [];
        // The chunks before this one were all part of `head`.
        const before = this.head.length - Math.min(chunk.length, 4);
        this.keep(before > 0 ? Buffer.concat([this.head.subarray(0, before), chunk]) : chunk, at - before);
      }
    } else if (this.kept) this.keep(chunk, at);
    if (this.goChunks) this.collectGo(chunk);
    else this.searchGo(chunk, at);
  }

  private keep(chunk: Buffer, at: number): void {
    const kept = this.kept!;
    if (!this.ranges) {
      kept.push({ offset: at, bytes: chunk });
      this.keptBytes += chunk.length;
      const head = kept.length === 1 ? kept[0].bytes : Buffer.concat(kept.map((k) => k.bytes));
      const ranges = elfKeepRanges(head, this.file.size);
      if (ranges === undefined) this.kept = undefined;
      else if (Array.isArray(ranges)) {
        this.ranges = ranges;
        // Cut what was kept so far down to the ranges.
        this.kept = [];
        this.keptBytes = 0;
        this.keep(head, 0);
      } else if (ranges.need > 1024 * 1024) this.kept = undefined;
      return;
    }
    for (const [start, end] of this.ranges) {
      const from = Math.max(start, at);
      const to = Math.min(end, at + chunk.length);
      if (from >= to) continue;
      kept.push({ offset: from, bytes: chunk.subarray(from - at, to - at) });
      this.keptBytes += to - from;
    }
    if (this.keptBytes > this.keepLimit) this.kept = undefined;
  }

  /** Looks for an aligned magic in `chunk` (at file offset `at`) from index `from`. */
  private searchGo(chunk: Buffer, at: number, from = 0): void {
    if (this.carry.length > 0) {
      // A magic split across the previous chunk and this one.
      const joined = Buffer.concat([this.carry, chunk.subarray(0, magicLength - 1)]);
      const base = at - this.carry.length;
      for (let i = joined.indexOf(goBuildInfoMagic); i >= 0; i = joined.indexOf(goBuildInfoMagic, i + 1)) {
        if ((base + i) % 16 === 0) return this.startGo(Buffer.concat([this.carry.subarray(i), chunk]), base + i);
      }
    }
    for (let i = chunk.indexOf(goBuildInfoMagic, from); i >= 0; i = chunk.indexOf(goBuildInfoMagic, i + 1)) {
      if ((at + i) % 16 === 0) return this.startGo(chunk.subarray(i), at + i);
    }
    const tail = chunk.length >= magicLength - 1 ? chunk.subarray(chunk.length - (magicLength - 1)) : Buffer.concat([this.carry, chunk]);
    this.carry = Buffer.from(tail.subarray(Math.max(0, tail.length - (magicLength - 1))));
  }

  private startGo(from: Buffer, offset: number): void {
    this.goChunks = [];
    this.goBytes = 0;
    this.goStart = offset;
    this.goNeed = 52;
    this.collectGo(from);
  }

  private collectGo(chunk: Buffer): void {
    this.goChunks!.push(chunk);
    this.goBytes += chunk.length;
    if (this.goBytes < this.goNeed) return;
    const bytes = Buffer.concat(this.goChunks!);
    this.goChunks = [bytes];
    const header = parseBuildInfoHeader(bytes);
    if (header.kind === 'need' && header.bytes <= maxBuildInfoBytes) {
      this.goNeed = header.bytes;
      return;
    }
    const pointerSize = bytes[14];
    const real =
      (header.kind === 'complete' && /^(go\d|devel )/.test(header.goVersion)) ||
      (header.kind === 'pointer-format' && (pointerSize === 4 || pointerSize === 8));
    if (!real) {
      // The magic as data (a program that reads build info holds it as a string): search on after it.
      this.goChunks = undefined;
      this.carry = Buffer.alloc(0);
      this.searchGo(bytes, this.goStart, 1);
      return;
    }
    this.done = true;
    this.kept = undefined; // a Go binary: no cargo-auditable section to look for
    if (header.kind === 'complete') this.goResult = goPackages(parseModInfo(header.goVersion, header.modInfo), this.file);
    else this.notes.push(`${this.file.path}: Go executable built before Go 1.18 (build info in the older pointer format is not read)`);
  }

  finish(): AnalyzerResult {
    if (this.goResult) return { packages: this.goResult };
    if (this.goChunks && !this.done) return { notes: [`${this.file.path}: Go build info cut short by the end of the file`] };
    if (this.notes.length > 0) return { notes: this.notes };
    if (this.kept && this.format === 'elf') {
      const read = readerOver(this.kept);
      const section = findElfSection(read, auditableSection);
      const bytes = section && read(section.offset, section.size);
      if (bytes) return auditablePackages(bytes, this.file);
    }
    return {};
  }
}

/** Random access over kept pieces in file order; undefined for a range not wholly kept. */
function readerOver(pieces: Array<{ offset: number; bytes: Buffer }>): ReadAt {
  return (offset, length) => {
    if (offset < 0 || length < 0) return undefined;
    const out: Buffer[] = [];
    let next = offset;
    const end = offset + length;
    for (const piece of pieces) {
      const pieceEnd = piece.offset + piece.bytes.length;
      if (pieceEnd <= next || piece.offset > next) continue;
      const take = piece.bytes.subarray(next - piece.offset, Math.min(pieceEnd, end) - piece.offset);
      out.push(take);
      next += take.length;
      if (next >= end) break;
    }
    if (next < end) return undefined;
    return out.length === 1 ? out[0] : Buffer.concat(out);
  };
}

export const binaryAnalyzer: Analyzer = {
  name: 'binaries',
  version: 1,
  maxBytes: keepElfBytes,
  wants: (_path, entry) => (entry.mode & 0o111) !== 0 && entry.size >= minExecutableBytes,
  analyze(file) {
    const scan = new BinaryScan({ path: file.path, layer: file.layer, size: file.bytes.length });
    scan.push(file.bytes);
    return scan.finish();
  },
  async analyzeStream(file) {
    const scan = new BinaryScan(file);
    // Read to the end either way: the walk needs the entry consumed.
    for await (const chunk of file.stream) scan.push(chunk as Buffer);
    return scan.finish();
  },
};
