import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PackageURL } from 'packageurl-js';
import type { Inventory, OsInfo, Package } from '../../../src/scanning/types.js';
import { runTool } from '../../helpers/tools.js';

export const dpkgStatus = '/var/lib/dpkg/status';
/**
 * The status file as read once: the tests compare Berth against dpkg-query on this same text,
 * since another apt-get on the machine may change the live file (and its journal) meanwhile.
 */
export const dpkgStatusText = readFileSync(dpkgStatus, 'utf8');
const pythonDir = '/usr/lib/python3/dist-packages';
const nodeModules = path.resolve('node_modules');

export const tool = { name: 'Berth built-in', vendor: 'Berth', version: '0.1.0' };

/** The first line of each field of each stanza of an RFC 822 style file (dpkg status, METADATA). */
function stanzas(text: string): Map<string, string>[] {
  return text.split(/\n\s*\n/).map((block) => {
    const fields = new Map<string, string>();
    for (const line of block.split('\n')) {
      const m = /^([A-Za-z][A-Za-z0-9-]*):\s?(.*)$/.exec(line);
      if (m && !fields.has(m[1])) fields.set(m[1], m[2].trim());
    }
    return fields;
  });
}

function machineOs(): OsInfo | null {
  if (!existsSync('/etc/os-release')) return null;
  const fields = new Map<string, string>();
  for (const line of readFileSync('/etc/os-release', 'utf8').split('\n')) {
    const m = /^([A-Z_]+)=("?)(.*)\2$/.exec(line);
    if (m) fields.set(m[1], m[3]);
  }
  return { family: fields.get('ID') ?? 'linux', version: fields.get('VERSION_ID') ?? '', name: fields.get('PRETTY_NAME') ?? null };
}

/** This machine's installed Debian packages, read by the test itself (not by Berth's analyzer). */
function dpkgPackages(os: OsInfo | null): Package[] {
  const packages: Package[] = [];
  for (const s of stanzas(dpkgStatusText)) {
    const name = s.get('Package');
    const version = s.get('Version');
    const status = s.get('Status') ?? '';
    if (!name || !version || !/ installed$/.test(status)) continue;
    const source = /^(\S+)(?:\s+\((.+)\))?$/.exec(s.get('Source') ?? name)!;
    const arch = s.get('Architecture');
    const qualifiers: Record<string, string> = {};
    if (arch) qualifiers.arch = arch;
    if (os) qualifiers.distro = `${os.family}-${os.version}`;
    packages.push({
      ecosystem: os?.version ? `Debian:${os.version}` : 'Debian',
      name,
      version,
      sourceName: source[1],
      sourceVersion: source[2] ?? version,
      purl: new PackageURL('deb', os?.family ?? 'debian', name, version, qualifiers, null).toString(),
      ...(arch && { arch }),
      ...(s.get('Maintainer') && { supplier: s.get('Maintainer') }),
      path: dpkgStatus.slice(1),
      layer: 0,
    });
  }
  return packages;
}

/** This repository's installed npm packages (top level of node_modules), with their licence fields as written. */
function npmPackages(limit: number): Package[] {
  const packages: Package[] = [];
  const dirs = readdirSync(nodeModules)
    .filter((d) => !d.startsWith('.'))
    .flatMap((d) => (d.startsWith('@') ? readdirSync(path.join(nodeModules, d)).map((s) => `${d}/${s}`) : [d]))
    .sort();
  for (const dir of dirs) {
    if (packages.length >= limit) break;
    const file = path.join(nodeModules, dir, 'package.json');
    if (!existsSync(file)) continue;
    const manifest = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string; license?: unknown };
    if (!manifest.name || !manifest.version) continue;
    const scoped = manifest.name.startsWith('@') ? manifest.name.split('/') : [null, manifest.name];
    const license = typeof manifest.license === 'string' ? manifest.license : (manifest.license as { type?: string } | undefined)?.type;
    packages.push({
      ecosystem: 'npm',
      name: manifest.name,
      version: manifest.version,
      purl: new PackageURL('npm', scoped[0], scoped[1]!, manifest.version, null, null).toString(),
      ...(license && { license }),
      path: `app/node_modules/${dir}/package.json`,
      layer: 1,
    });
  }
  return packages;
}

/** The machine's Python distributions (dist-info and egg-info), with their free-text License fields. */
function pythonPackages(): Package[] {
  if (!existsSync(pythonDir)) return [];
  const packages: Package[] = [];
  for (const entry of readdirSync(pythonDir).sort()) {
    let file: string | null = null;
    if (entry.endsWith('.dist-info')) file = path.join(pythonDir, entry, 'METADATA');
    else if (entry.endsWith('.egg-info')) {
      const full = path.join(pythonDir, entry);
      file = statSync(full).isDirectory() ? path.join(full, 'PKG-INFO') : full;
    }
    if (!file || !existsSync(file)) continue;
    const fields = stanzas(readFileSync(file, 'utf8'))[0];
    const name = fields.get('Name');
    const version = fields.get('Version');
    if (!name || !version) continue;
    const license = fields.get('License');
    packages.push({
      ecosystem: 'PyPI',
      name,
      version,
      purl: new PackageURL('pypi', null, name.toLowerCase().replace(/[-_.]+/g, '-'), version, null, null).toString(),
      ...(license && license !== 'UNKNOWN' && { license }),
      path: path.relative('/', file),
      layer: 2,
    });
  }
  return packages;
}

/** An inventory of real packages from this machine: every installed dpkg package, npm and Python ones. */
export function machineInventory(): Inventory {
  const os = machineOs();
  return {
    os,
    packages: [...dpkgPackages(os), ...npmPackages(120), ...pythonPackages()],
    notes: [],
    layers: [],
  };
}

/** Packages written by hand for the edge cases: odd names, licences that are not expressions, duplicates. */
export function edgeInventory(): Inventory {
  const base = { path: 'usr/lib/app', layer: 0 };
  return {
    os: { family: 'alpine', version: '3.19.1', name: 'Alpine Linux v3.19' },
    packages: [
      {
        ...base,
        ecosystem: 'Alpine:v3.19',
        name: 'musl',
        version: '1.2.4-r2',
        sourceName: 'musl',
        purl: 'pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64',
        license: 'MIT',
        supplier: 'Timo Teräs <timo.teras@iki.fi>',
      },
      {
        ...base,
        ecosystem: 'Alpine:v3.19',
        name: 'busybox',
        version: '1.36.1-r15',
        purl: 'pkg:apk/alpine/busybox@1.36.1-r15',
        license: 'GPL-2.0-only',
        supplier: 'Cloud SDK Authors <https://example.com/sdk/>',
      },
      {
        ...base,
        ecosystem: 'Alpine:v3.19',
        name: 'libcrypto3',
        version: '3.1.4-r5',
        sourceName: 'openssl',
        purl: 'pkg:apk/alpine/libcrypto3@3.1.4-r5',
        license: 'Apache-2.0 WITH LLVM-exception or MIT and GPL-2.0+',
      },
      { ...base, ecosystem: 'npm', name: '@babel/core', version: '7.24.0', purl: 'pkg:npm/%40babel/core@7.24.0', license: 'MIT' },
      { ...base, ecosystem: 'PyPI', name: 'requests', version: '2.31.0', purl: 'pkg:pypi/requests@2.31.0', license: 'BSD' },
      { ...base, ecosystem: 'PyPI', name: 'odd', version: '1.0', purl: 'pkg:pypi/odd@1.0', license: 'LicenseRef-Proprietary' },
      {
        ...base,
        ecosystem: 'Maven',
        name: 'org.apache.logging.log4j:log4j-core',
        version: '2.14.1',
        purl: 'pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1',
        license: 'Apache License, Version 2.0',
      },
      // The same jar twice at different paths, and once more at the same path: ids must stay unique.
      {
        ...base,
        ecosystem: 'Maven',
        name: 'com.google.guava:guava',
        version: '32.0.0',
        purl: 'pkg:maven/com.google.guava/guava@32.0.0',
        path: 'app/a.jar',
      },
      {
        ...base,
        ecosystem: 'Maven',
        name: 'com.google.guava:guava',
        version: '32.0.0',
        purl: 'pkg:maven/com.google.guava/guava@32.0.0',
        path: 'app/b.jar',
      },
      {
        ...base,
        ecosystem: 'Maven',
        name: 'com.google.guava:guava',
        version: '32.0.0',
        purl: 'pkg:maven/com.google.guava/guava@32.0.0',
        path: 'app/b.jar',
      },
      { ...base, ecosystem: 'Go', name: 'stdlib', version: '1.22.1', purl: 'pkg:golang/stdlib@1.22.1', supplier: 'Red Hat, Inc.' },
      { ...base, ecosystem: 'crates.io', name: 'serde_json', version: '', purl: 'pkg:cargo/serde_json' },
    ],
    notes: [],
    layers: [],
  };
}

/** `name version` of every installed package dpkg-query lists for a status file's text, sorted. */
export async function dpkgQueryInstalled(statusText: string): Promise<string[]> {
  const dir = await mkdtemp(path.join(tmpdir(), 'berth-sbom-dpkg-'));
  try {
    await writeFile(path.join(dir, 'status'), statusText);
    const { stdout } = await runTool('dpkg-query', [`--admindir=${dir}`, '-W', '-f', '${db:Status-Status} ${Package} ${Version}\n']);
    return stdout
      .split('\n')
      .filter((l) => l.startsWith('installed '))
      .map((l) => l.slice('installed '.length))
      .sort();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
