/**
 * Alpine (and Wolfi, Chainguard) packages from apk's database, lib/apk/db/installed: records
 * of `X:value` lines separated by a blank line.
 */
import type { Package } from '../types.js';
import type { Analyzer } from './analyzer.js';

const installedPaths = new Set(['lib/apk/db/installed', 'usr/lib/apk/db/installed']);

export function apkPackages(text: string, path: string, layer: number): Package[] {
  const packages: Package[] = [];
  let name = '';
  let version = '';
  let origin = '';
  let arch = '';
  let license = '';
  const flush = () => {
    if (name && version) {
      packages.push({
        // The OS found after the walk turns this into Alpine:v3.19 (inventory/index.ts).
        ecosystem: 'Alpine',
        name,
        version,
        // OSV's Alpine records name the origin (source) package.
        sourceName: origin || name,
        sourceVersion: version,
        purl: '',
        ...(license && { license }),
        ...(arch && { arch }),
        path,
        layer,
      });
    }
    name = version = origin = arch = license = '';
  };
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const line = text.slice(start, end).replace(/\r$/, '');
    start = end + 1;
    if (line === '') {
      flush();
      continue;
    }
    if (line.length < 2 || line[1] !== ':') continue;
    const value = line.slice(2);
    switch (line[0]) {
      case 'P':
        name = value;
        break;
      case 'V':
        version = value;
        break;
      case 'o':
        origin = value;
        break;
      case 'A':
        arch = value;
        break;
      case 'L':
        license = value;
        break;
    }
  }
  flush();
  return packages;
}

export const apkAnalyzer: Analyzer = {
  name: 'apk',
  version: 1,
  maxBytes: 64 * 1024 * 1024,
  wants: (path) => installedPaths.has(path),
  analyze({ path, layer, bytes }) {
    return { packages: apkPackages(bytes.toString('utf8'), path, layer) };
  },
};
