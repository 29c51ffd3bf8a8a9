/**
 * Maven packages in Java archives (`.jar`, `.war`, `.ear`, `.par`): every
 * `META-INF/maven/<group>/<artifact>/pom.properties` (a shaded jar holds several), archives nested
 * inside (`WEB-INF/lib/*.jar`, Spring Boot's `BOOT-INF/lib/`), bounded in depth and bytes. An archive
 * without pom.properties falls back to its MANIFEST.MF and file name (a heuristic: the names it
 * gives may not be the Maven coordinates, and a bare artifact without group matches no advisory and
 * gets a `pkg:generic` purl, since a Maven purl needs the group).
 * Trivy's SHA-1 lookup in its Java database is not possible offline.
 */
import { unzipSync } from 'fflate';
import type { Package } from '../../types.js';
import type { AnalyzedFile, Analyzer, AnalyzerResult } from '../analyzer.js';
import { baseName, purlOf, uniqueByNameVersion } from './common.js';

const archiveSuffixes = ['.jar', '.war', '.ear', '.par'];
export const maxArchiveBytes = 64 * 1024 * 1024;
const maxNestingDepth = 4;
/** Decompressed bytes of nested archives one outer archive may expand to. */
const maxNestedBytes = 256 * 1024 * 1024;

export function isJavaArchive(path: string): boolean {
  // Called for every file of every layer: look at the fourth-last character before slicing anything.
  const dot = path.length - 4;
  return dot > 0 && path.charCodeAt(dot) === 46 && archiveSuffixes.includes(path.slice(dot).toLowerCase());
}

/** Java .properties `key=value` / `key: value` lines (enough for pom.properties). */
export function parseProperties(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line[0] === '#' || line[0] === '!') continue;
    const at = line.search(/[=:]/);
    if (at > 0) values.set(line.slice(0, at).trim(), line.slice(at + 1).trim());
  }
  return values;
}

/** The main section of a MANIFEST.MF; continuation lines (wrapped at 72 bytes) start with one space. */
export function parseManifest(text: string): Map<string, string> {
  const values = new Map<string, string>();
  let lastKey: string | undefined;
  for (const line of text.split(/\r?\n/)) {
    if (line === '') break;
    if (line[0] === ' ' && lastKey) {
      values.set(lastKey, values.get(lastKey) + line.slice(1));
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    lastKey = line.slice(0, colon).trim();
    values.set(lastKey, line.slice(colon + 1).trim());
  }
  return values;
}

/** `commons-io-2.11.0.jar` → ['commons-io', '2.11.0']. */
export function nameAndVersionFromFileName(fileName: string): [string, string] | undefined {
  const match = /^(.+?)-(\d[\w.+-]*)\.[a-zA-Z]{3}$/.exec(fileName);
  return match ? [match[1], match[2]] : undefined;
}

function mavenPackage(group: string | undefined, artifact: string, version: string, file: AnalyzedFile): Package {
  return {
    ecosystem: 'Maven',
    name: group ? `${group}:${artifact}` : artifact,
    version,
    // A Maven purl needs the group; without one the package is only known by name (a generic purl).
    purl: group ? purlOf('maven', group, artifact, version) : purlOf('generic', undefined, artifact, version),
    path: file.path,
    layer: file.layer,
  };
}

function fromManifest(manifest: Map<string, string>, fileName: string, file: AnalyzedFile): Package | undefined {
  const fromName = nameAndVersionFromFileName(fileName);
  const symbolic = manifest.get('Bundle-SymbolicName')?.split(';')[0].trim();
  const title = manifest.get('Implementation-Title');
  const artifact = fromName?.[0] ?? (title && !/\s/.test(title) ? title : symbolic?.slice(symbolic.lastIndexOf('.') + 1));
  const version =
    manifest.get('Implementation-Version') ?? manifest.get('Bundle-Version') ?? fromName?.[1] ?? manifest.get('Specification-Version');
  if (!artifact || !version) return undefined;
  let group = manifest.get('Implementation-Vendor-Id');
  if (!group && symbolic?.endsWith('.' + artifact)) group = symbolic.slice(0, -artifact.length - 1);
  return mavenPackage(group, artifact, version, file);
}

interface Budget {
  nestedBytes: number;
}

function readArchive(
  bytes: Uint8Array,
  fileName: string,
  depth: number,
  budget: Budget,
  file: AnalyzedFile,
  out: Package[],
  notes: string[],
): void {
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(bytes, {
      filter: (entry) => {
        if (entry.name === 'META-INF/MANIFEST.MF') return true;
        if (entry.name.startsWith('META-INF/maven/') && entry.name.endsWith('/pom.properties')) return true;
        if (depth >= maxNestingDepth || !isJavaArchive(entry.name) || entry.originalSize > budget.nestedBytes) return false;
        budget.nestedBytes -= entry.originalSize;
        return true;
      },
    });
  } catch (error) {
    notes.push(`${file.path}${depth > 0 ? `!${fileName}` : ''}: unreadable archive (${(error as Error).message})`);
    return;
  }
  const found: Package[] = [];
  for (const [name, data] of Object.entries(entries)) {
    if (!name.endsWith('/pom.properties')) continue;
    const pom = parseProperties(Buffer.from(data).toString('utf8'));
    const [group, artifact, version] = [pom.get('groupId'), pom.get('artifactId'), pom.get('version')];
    if (group && artifact && version) found.push(mavenPackage(group, artifact, version, file));
  }
  if (found.length === 0) {
    const manifest = entries['META-INF/MANIFEST.MF'];
    const fallback = manifest ? fromManifest(parseManifest(Buffer.from(manifest).toString('utf8')), fileName, file) : undefined;
    const fromName = nameAndVersionFromFileName(fileName);
    if (fallback) found.push(fallback);
    else if (fromName) found.push(mavenPackage(undefined, fromName[0], fromName[1], file));
  }
  out.push(...found);
  for (const [name, data] of Object.entries(entries)) {
    if (isJavaArchive(name)) readArchive(data, baseName(name), depth + 1, budget, file, out, notes);
  }
}

export function analyzeJavaArchive(file: AnalyzedFile): AnalyzerResult {
  const packages: Package[] = [];
  const notes: string[] = [];
  readArchive(file.bytes, baseName(file.path), 0, { nestedBytes: maxNestedBytes }, file, packages, notes);
  return { packages: uniqueByNameVersion(packages), ...(notes.length > 0 ? { notes } : {}) };
}

export const javaAnalyzer: Analyzer = {
  name: 'java',
  version: 1,
  maxBytes: maxArchiveBytes,
  wants: isJavaArchive,
  analyze: analyzeJavaArchive,
};
