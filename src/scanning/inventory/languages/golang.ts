/**
 * Go modules from the build info Go 1.18+ embeds in every executable (what `go version -m` prints):
 * the main module (unless `(devel)`), each dependency (a `=>` replacement wins over the module it
 * replaces), and `stdlib` at the Go version. Versions drop Go's leading `v`, as OSV's Go ecosystem
 * writes them; purls keep the module version as Go writes it.
 *
 * Layout ([Go's debug/buildinfo]): a 32-byte header at a 16-byte-aligned file offset starting with
 * `\xff Go buildinf:`, byte 14 the pointer size, byte 15 flags; with flag 2 (Go 1.18+) two
 * uvarint-length-prefixed strings follow at offset 32, the Go version then the module info.
 * Older binaries hold pointers there instead, which would need the executable's address map.
 */
import type { Package } from '../../types.js';
import { purlOf } from './common.js';

export const goBuildInfoMagic = Buffer.from('\xff Go buildinf:', 'latin1');
const headerSize = 32;
const flagInline = 2;
/** Module info larger than this is not build info (real ones are a few KiB). */
const maxModInfo = 1024 * 1024;

export interface GoModule {
  path: string;
  version: string;
}

export interface GoBuildInfo {
  goVersion: string;
  /** The main package's import path (`path` line). */
  path?: string;
  main?: GoModule;
  deps: GoModule[];
}

function readUvarint(bytes: Buffer, at: number): [value: number, next: number] | undefined {
  let value = 0;
  let shift = 0;
  for (let i = at; i < bytes.length && shift < 35; i++) {
    const b = bytes[i];
    value += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) return [value, i + 1];
    shift += 7;
  }
  return undefined;
}

export type HeaderParse =
  | { kind: 'complete'; goVersion: string; modInfo: string }
  | { kind: 'need'; bytes: number }
  | { kind: 'pointer-format' }
  | { kind: 'invalid'; reason: string };

/** Reads the header and its two strings from bytes starting at the magic; says how many bytes it needs when short. */
export function parseBuildInfoHeader(bytes: Buffer): HeaderParse {
  if (bytes.length < headerSize) return { kind: 'need', bytes: headerSize + 20 };
  if ((bytes[15] & flagInline) === 0) return { kind: 'pointer-format' };
  const strings: string[] = [];
  let at = headerSize;
  for (let i = 0; i < 2; i++) {
    const length = readUvarint(bytes, at);
    if (!length) return bytes.length - at >= 5 ? { kind: 'invalid', reason: 'bad length' } : { kind: 'need', bytes: at + 10 };
    const [size, start] = length;
    if (size > maxModInfo) return { kind: 'invalid', reason: `string of ${size} bytes` };
    if (bytes.length < start + size) return { kind: 'need', bytes: start + size + (i === 0 ? 10 : 0) };
    strings.push(bytes.toString('utf8', start, start + size));
    at = start + size;
  }
  return { kind: 'complete', goVersion: strings[0], modInfo: strings[1] };
}

/** Parses the module info text (`go version -m`'s lines: path, mod, dep, =>, build). */
export function parseModInfo(goVersion: string, modInfo: string): GoBuildInfo {
  let text = modInfo;
  // The linker wraps the text in two 16-byte sentinels.
  if (text.length >= 33 && text[text.length - 17] === '\n') text = text.slice(16, -16);
  const info: GoBuildInfo = { goVersion, deps: [] };
  let last: GoModule | undefined;
  for (const line of text.split('\n')) {
    const [kind, path, version] = line.split('\t');
    if (kind === 'path') info.path = path;
    else if (kind === 'mod') info.main = last = { path, version: version ?? '' };
    else if (kind === 'dep') {
      last = { path, version: version ?? '' };
      info.deps.push(last);
    } else if (kind === '=>' && last) {
      // A replacement stands for the module above it: what was built is the replacement.
      last.path = path;
      last.version = version ?? '';
    }
  }
  return info;
}

const stripV = (version: string) => (version.startsWith('v') ? version.slice(1) : version);

function goPurl(path: string, version: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? purlOf('golang', undefined, path, version) : purlOf('golang', path.slice(0, slash), path.slice(slash + 1), version);
}

/** `go1.22.5`, `go1.22.5 X:boringcrypto` → `1.22.5`; undefined when it is not a Go release string. */
export function stdlibVersion(goVersion: string): string | undefined {
  const first = goVersion.split(/\s/)[0];
  return first.startsWith('go') && first.length > 2 ? first.slice(2) : undefined;
}

export function goPackages(info: GoBuildInfo, file: { path: string; layer: number }): Package[] {
  const packages: Package[] = [];
  const add = (name: string, version: string, purlVersion: string) =>
    packages.push({ ecosystem: 'Go', name, version, purl: goPurl(name, purlVersion), path: file.path, layer: file.layer });
  const usable = (m: GoModule | undefined): m is GoModule => !!m && m.path !== '' && m.version !== '' && m.version !== '(devel)';
  if (usable(info.main)) add(info.main.path, stripV(info.main.version), info.main.version);
  for (const dep of info.deps) if (usable(dep)) add(dep.path, stripV(dep.version), dep.version);
  const std = stdlibVersion(info.goVersion);
  if (std) add('stdlib', std, 'v' + std);
  return packages;
}
