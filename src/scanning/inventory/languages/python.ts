/**
 * Python packages from installed metadata: `*.dist-info/METADATA` (wheels), `*.egg-info/PKG-INFO`,
 * a `*.egg-info` file (distutils), and `EGG-INFO/PKG-INFO` inside an `.egg`. The headers are RFC 822
 * (core metadata); the body after the first blank line is the description and is not read.
 */
import type { Package } from '../../types.js';
import type { AnalyzedFile, Analyzer, AnalyzerResult } from '../analyzer.js';
import { purlOf } from './common.js';

/** PEP 503 normalised name: what PyPI and OSV compare on (the written name stays for display). */
export function normalizePyPIName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

export function isPythonMetadata(path: string): boolean {
  return (
    path.endsWith('.dist-info/METADATA') ||
    path.endsWith('.egg-info/PKG-INFO') ||
    path.endsWith('EGG-INFO/PKG-INFO') ||
    path.endsWith('.egg-info')
  );
}

/** The header block as name (lower case) → values in order; folded lines are joined with '\n'. */
export function parseCoreMetadataHeaders(text: string): Map<string, string[]> {
  const headers = new Map<string, string[]>();
  let last: string[] | undefined;
  for (const line of text.split(/\r?\n/)) {
    if (line === '') break;
    if (line[0] === ' ' || line[0] === '\t') {
      if (last && last.length > 0) last[last.length - 1] += '\n' + line.trim();
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const key = line.slice(0, colon).trim().toLowerCase();
    const values = headers.get(key) ?? [];
    values.push(line.slice(colon + 1).trim());
    headers.set(key, values);
    last = values;
  }
  return headers;
}

function licenseOf(headers: Map<string, string[]>): string | undefined {
  const expression = headers.get('license-expression')?.[0];
  if (expression) return expression;
  const written = headers.get('license')?.[0];
  // Many packages paste their whole licence text into License; a short single line is a name.
  if (written && written !== 'UNKNOWN' && !written.includes('\n') && written.length <= 100) return written;
  const fromClassifiers = (headers.get('classifier') ?? [])
    .filter((c) => c.startsWith('License ::'))
    .map((c) => c.slice(c.lastIndexOf('::') + 2).trim())
    .filter((c) => c !== '' && c !== 'OSI Approved');
  if (fromClassifiers.length > 0) return fromClassifiers.join(', ');
  return written && written !== 'UNKNOWN' ? written.split('\n')[0] : undefined;
}

export function analyzePythonMetadata(file: AnalyzedFile): AnalyzerResult {
  // Only the header block is read: the description after it can be long.
  const end = file.bytes.indexOf('\n\n');
  const headers = parseCoreMetadataHeaders((end < 0 ? file.bytes : file.bytes.subarray(0, end + 1)).toString('utf8'));
  const name = headers.get('name')?.[0];
  const version = headers.get('version')?.[0];
  if (!name || !version) return { notes: [`${file.path}: Python metadata without Name and Version`] };
  const license = licenseOf(headers);
  const pkg: Package = {
    ecosystem: 'PyPI',
    name,
    version,
    purl: purlOf('pypi', undefined, normalizePyPIName(name), version),
    path: file.path,
    layer: file.layer,
    ...(license ? { license } : {}),
  };
  return { packages: [pkg] };
}

export const pythonAnalyzer: Analyzer = {
  name: 'python',
  version: 1,
  maxBytes: 4 * 1024 * 1024,
  wants: isPythonMetadata,
  analyze: analyzePythonMetadata,
};
