/**
 * Rust crates: `Cargo.lock` files, and the dependency list cargo-auditable embeds in executables
 * (an ELF section `.dep-v0` holding zlib-compressed JSON; the binary scan in binary.ts finds it).
 * Only crates from crates.io are reported (ecosystem `crates.io`): path, git and other-registry
 * crates have no crates.io advisories to match; cargo-auditable's build-time dependencies are not
 * in the executable and are left out too.
 */
import { inflateSync } from 'node:zlib';
import { parse as parseToml } from 'smol-toml';
import type { Package } from '../../types.js';
import type { AnalyzedFile, Analyzer, AnalyzerResult } from '../analyzer.js';
import { purlOf, uniqueByNameVersion } from './common.js';

const cratesIoSources = new Set(['registry+https://github.com/rust-lang/crates.io-index', 'sparse+https://index.crates.io/']);

function crate(name: string, version: string, file: { path: string; layer: number }): Package {
  return { ecosystem: 'crates.io', name, version, purl: purlOf('cargo', undefined, name, version), path: file.path, layer: file.layer };
}

export function analyzeCargoLock(file: AnalyzedFile): AnalyzerResult {
  let lock: Record<string, unknown>;
  try {
    lock = parseToml(file.bytes.toString('utf8'));
  } catch (error) {
    return { notes: [`${file.path}: unreadable Cargo.lock (${(error as Error).message.split('\n')[0]})`] };
  }
  const entries = Array.isArray(lock.package) ? (lock.package as Array<Record<string, unknown>>) : [];
  const packages = entries
    .filter(
      (p) => typeof p.name === 'string' && typeof p.version === 'string' && typeof p.source === 'string' && cratesIoSources.has(p.source),
    )
    .map((p) => crate(p.name as string, p.version as string, file));
  return { packages: uniqueByNameVersion(packages) };
}

export const cargoLockAnalyzer: Analyzer = {
  name: 'cargo-lock',
  version: 1,
  maxBytes: 16 * 1024 * 1024,
  wants: (path) => path === 'Cargo.lock' || path.endsWith('/Cargo.lock'),
  analyze: analyzeCargoLock,
};

/** Random access to a file's bytes: undefined when the range is not available. */
export type ReadAt = (offset: number, length: number) => Buffer | undefined;

/** The file range of a named ELF section, or undefined (not ELF, no such section, truncated). */
export function findElfSection(read: ReadAt, wanted: string): { offset: number; size: number } | undefined {
  const header = read(0, 64);
  if (!header || header.readUInt32BE(0) !== 0x7f454c46) return undefined;
  const is64 = header[4] === 2;
  const le = header[5] === 1;
  const u16 = (b: Buffer, at: number) => (le ? b.readUInt16LE(at) : b.readUInt16BE(at));
  const u32 = (b: Buffer, at: number) => (le ? b.readUInt32LE(at) : b.readUInt32BE(at));
  const word = (b: Buffer, at: number) => (is64 ? Number(le ? b.readBigUInt64LE(at) : b.readBigUInt64BE(at)) : u32(b, at));
  const shoff = word(header, is64 ? 0x28 : 0x20);
  const shentsize = u16(header, is64 ? 0x3a : 0x2e);
  const shnum = u16(header, is64 ? 0x3c : 0x30);
  const shstrndx = u16(header, is64 ? 0x3e : 0x32);
  if (shoff === 0 || shnum === 0 || shstrndx >= shnum || shentsize < (is64 ? 64 : 40)) return undefined;
  const table = read(shoff, shnum * shentsize);
  if (!table) return undefined;
  const section = (i: number) => {
    const at = i * shentsize;
    return {
      name: u32(table, at),
      type: u32(table, at + 4),
      offset: word(table, at + (is64 ? 24 : 16)),
      size: word(table, at + (is64 ? 32 : 20)),
    };
  };
  const names = section(shstrndx);
  const strtab = read(names.offset, names.size);
  if (!strtab) return undefined;
  for (let i = 0; i < shnum; i++) {
    const s = section(i);
    if (s.type === 8 /* SHT_NOBITS */ || s.name >= strtab.length) continue;
    const end = strtab.indexOf(0, s.name);
    if (strtab.toString('latin1', s.name, end < 0 ? strtab.length : end) === wanted) return { offset: s.offset, size: s.size };
  }
  return undefined;
}

/** How many bytes of the file's end are kept for the section table and its names (they sit at the end). */
export const elfTailBytes = 4 * 1024 * 1024;

/**
 * The file ranges that can hold `.dep-v0` and what is needed to find it: the read-only, non-executable
 * loadable segments (cargo-auditable's section is read-only data) and the end of the file (the
 * section table and its string table). `need` when `head` is too short to read the program headers;
 * undefined when the file is not an ELF file this can read.
 */
export function elfKeepRanges(head: Buffer, fileSize: number): Array<[number, number]> | { need: number } | undefined {
  if (head.length < 64) return { need: 64 };
  if (head.readUInt32BE(0) !== 0x7f454c46) return undefined;
  const is64 = head[4] === 2;
  const le = head[5] === 1;
  const u16 = (at: number) => (le ? head.readUInt16LE(at) : head.readUInt16BE(at));
  const u32 = (at: number) => (le ? head.readUInt32LE(at) : head.readUInt32BE(at));
  const word = (at: number) => (is64 ? Number(le ? head.readBigUInt64LE(at) : head.readBigUInt64BE(at)) : u32(at));
  const phoff = word(is64 ? 0x20 : 0x1c);
  const phentsize = u16(is64 ? 0x36 : 0x2a);
  const phnum = u16(is64 ? 0x38 : 0x2c);
  const end = phoff + phnum * phentsize;
  if (phnum === 0 || phentsize < (is64 ? 56 : 32) || end > 1024 * 1024) return undefined;
  if (head.length < end) return { need: end };
  const ranges: Array<[number, number]> = [];
  let loadedEnd = 0;
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    if (u32(at) !== 1 /* PT_LOAD */) continue;
    const flags = u32(at + (is64 ? 4 : 24));
    const offset = word(at + (is64 ? 8 : 4));
    const size = word(at + (is64 ? 32 : 16));
    loadedEnd = Math.max(loadedEnd, offset + size);
    if ((flags & 3) === 0) ranges.push([offset, offset + size]); // neither PF_X nor PF_W
  }
  ranges.push([Math.max(loadedEnd, fileSize - elfTailBytes), Number.MAX_SAFE_INTEGER]);
  // In file order without overlaps, so that kept pieces come out in order.
  ranges.sort((a, b) => a[0] - b[0]);
  const merged: Array<[number, number]> = [];
  for (const r of ranges) {
    const last = merged[merged.length - 1];
    if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
    else merged.push([r[0], r[1]]);
  }
  return merged;
}

export const auditableSection = '.dep-v0';

/** Packages from a `.dep-v0` section's bytes (zlib-compressed JSON `{"packages":[{name,version,source,kind}]}`). */
export function auditablePackages(compressed: Buffer, file: { path: string; layer: number }): AnalyzerResult {
  let data: { packages?: Array<Record<string, unknown>> };
  try {
    data = JSON.parse(inflateSync(compressed, { maxOutputLength: 16 * 1024 * 1024 }).toString('utf8'));
  } catch (error) {
    return { notes: [`${file.path}: unreadable cargo-auditable data (${(error as Error).message})`] };
  }
  const packages = (Array.isArray(data?.packages) ? data.packages : [])
    .filter((p) => typeof p.name === 'string' && typeof p.version === 'string' && p.source === 'crates.io' && p.kind !== 'build')
    .map((p) => crate(p.name as string, p.version as string, file));
  return { packages: uniqueByNameVersion(packages) };
}
