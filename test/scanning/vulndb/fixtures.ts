import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import yazl from 'yazl';
import type { Inventory, Package } from '../../../src/scanning/types.js';

/** Hand-written OSV records, per ecosystem folder, shaped as the public export's. */
export type Records = Record<string, Array<Record<string, unknown>>>;

const t = '2024-05-01T00:00:00Z';

export function fixtureRecords(): Records {
  return {
    Debian: [
      {
        id: 'DEBIAN-CVE-2023-5678',
        modified: t,
        upstream: ['CVE-2023-5678'],
        summary: 'openssl: excessive time spent in DH checks',
        details: 'Generating excessively long X9.42 DH keys or checking them may be very slow.',
        affected: [
          {
            package: { ecosystem: 'Debian:12', name: 'openssl' },
            ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '3.0.13-1~deb12u1' }] }],
            ecosystem_specific: { urgency: 'low' },
          },
          {
            package: { ecosystem: 'Debian:11', name: 'openssl' },
            ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '1.1.1w-0+deb11u2' }] }],
          },
        ],
        references: [{ type: 'ADVISORY', url: 'https://security-tracker.debian.org/tracker/CVE-2023-5678' }],
      },
      {
        id: 'DSA-5555-1',
        modified: t,
        upstream: ['CVE-2023-4807'],
        summary: 'openssl security update',
        affected: [
          {
            package: { ecosystem: 'Debian:12', name: 'openssl' },
            ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '3.0.11-1~deb12u2' }] }],
          },
        ],
      },
      {
        // Only Debian 11: a Debian 12 package must not match it.
        id: 'DEBIAN-CVE-2022-0001',
        modified: t,
        upstream: ['CVE-2022-0001'],
        affected: [
          { package: { ecosystem: 'Debian:11', name: 'openssl' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }] }] },
        ],
      },
      {
        // No fix yet; affects every release.
        id: 'DEBIAN-CVE-2023-45853',
        modified: t,
        upstream: ['CVE-2023-45853'],
        details: 'MiniZip in zlib has an integer overflow.',
        affected: [{ package: { ecosystem: 'Debian:12', name: 'zlib' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }] }] }],
      },
    ],
    Alpine: [
      {
        id: 'ALPINE-CVE-2023-42363',
        modified: t,
        upstream: ['CVE-2023-42363'],
        affected: [
          {
            package: { ecosystem: 'Alpine:v3.19', name: 'busybox' },
            ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '1.36.1-r16' }] }],
          },
        ],
        severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:N/I:N/A:H' }],
      },
      {
        id: 'ALPINE-CVE-2023-0002',
        modified: t,
        upstream: ['CVE-2023-0002'],
        affected: [
          {
            package: { ecosystem: 'Alpine:v3.19', name: 'busybox' },
            ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { last_affected: '1.36.1-r2' }] }],
          },
        ],
      },
    ],
    Ubuntu: [
      {
        id: 'UBUNTU-CVE-2024-0727',
        modified: t,
        upstream: ['CVE-2024-0727'],
        severity: [{ type: 'Ubuntu', score: 'low' }],
        affected: [
          {
            package: { ecosystem: 'Ubuntu:22.04:LTS', name: 'openssl' },
            ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '3.0.2-0ubuntu1.14' }] }],
          },
        ],
      },
    ],
    npm: [
      {
        id: 'GHSA-35jh-r3h4-6jhm',
        modified: t,
        aliases: ['CVE-2021-23337'],
        summary: 'Command Injection in lodash',
        details: '`lodash` versions prior to 4.17.21 are vulnerable to Command Injection via the template function.',
        severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H' }],
        affected: [
          {
            package: { ecosystem: 'npm', name: 'lodash' },
            ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '4.17.21' }] }],
          },
        ],
        references: [
          { type: 'ADVISORY', url: 'https://nvd.nist.gov/vuln/detail/CVE-2021-23337' },
          { type: 'PACKAGE', url: 'https://github.com/lodash/lodash' },
        ],
        database_specific: { severity: 'HIGH', cwe_ids: ['CWE-77', 'CWE-94'] },
      },
      {
        // Another database's record of the same CVE: one finding, not two.
        id: 'OSV-2021-lodash',
        modified: t,
        aliases: ['CVE-2021-23337', 'GHSA-35jh-r3h4-6jhm'],
        affected: [
          {
            package: { ecosystem: 'npm', name: 'lodash' },
            ranges: [{ type: 'SEMVER', events: [{ introduced: '4.0.0' }, { fixed: '4.17.21' }] }],
          },
        ],
        references: [{ type: 'WEB', url: 'https://example.org/lodash' }],
      },
      {
        id: 'GHSA-withdrawn-1',
        modified: t,
        withdrawn: '2024-04-01T00:00:00Z',
        affected: [{ package: { ecosystem: 'npm', name: 'lodash' }, ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }] }] }],
      },
      {
        // A limit: only versions below 2.0.0 are in range.
        id: 'GHSA-limit-0001',
        modified: t,
        database_specific: { severity: 'LOW' },
        affected: [
          {
            package: { ecosystem: 'npm', name: 'minimist' },
            ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { limit: '1.0.0' }] }],
          },
        ],
      },
      {
        // Names a package of an ecosystem Berth does not match: not stored.
        id: 'PACKAGIST-1',
        modified: t,
        affected: [{ package: { ecosystem: 'Packagist', name: 'foo/bar' }, versions: ['1.0.0'] }],
      },
    ],
    PyPI: [
      {
        id: 'PYSEC-2023-74',
        modified: t,
        aliases: ['CVE-2023-32681', 'GHSA-j8r2-6x86-q33q'],
        details: 'Requests leaks Proxy-Authorization headers.',
        affected: [
          {
            package: { ecosystem: 'PyPI', name: 'Requests' },
            ranges: [
              {
                type: 'GIT',
                repo: 'https://github.com/psf/requests',
                events: [{ introduced: '0' }, { fixed: '74ea7cf7a6a27a4eeb2ae24e162bcc942a6706d5' }],
              },
            ],
            versions: ['2.29.0', '2.30.0'],
          },
        ],
      },
      {
        id: 'GHSA-9wx4-h78v-vm56',
        modified: t,
        aliases: ['CVE-2024-35195'],
        summary: 'Requests `Session` object does not verify requests after making first request with verify=False',
        database_specific: { severity: 'MODERATE', cwe_ids: ['CWE-670'] },
        affected: [
          {
            package: { ecosystem: 'PyPI', name: 'requests' },
            ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '2.32.0' }] }],
          },
        ],
      },
    ],
    Go: [
      {
        id: 'GO-2023-2102',
        modified: t,
        aliases: ['CVE-2023-39325', 'GHSA-4374-p667-p6c8'],
        summary: 'HTTP/2 rapid reset can cause excessive work in net/http',
        affected: [
          {
            package: { ecosystem: 'Go', name: 'golang.org/x/net' },
            ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '0.17.0' }] }],
          },
          {
            package: { ecosystem: 'Go', name: 'stdlib' },
            ranges: [
              { type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '1.20.10' }, { introduced: '1.21.0-0' }, { fixed: '1.21.3' }] },
            ],
          },
        ],
      },
    ],
    Maven: [
      {
        id: 'GHSA-5r5r-6hpj-8gg9',
        modified: t,
        aliases: ['CVE-2020-36518'],
        severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H' }],
        affected: [
          {
            package: { ecosystem: 'Maven', name: 'com.fasterxml.jackson.core:jackson-databind' },
            ranges: [
              { type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '2.12.6.1' }] },
              { type: 'ECOSYSTEM', events: [{ introduced: '2.13.0' }, { fixed: '2.13.2.1' }] },
            ],
          },
        ],
      },
    ],
    'crates.io': [
      {
        id: 'RUSTSEC-2021-0003',
        modified: t,
        aliases: ['CVE-2021-25900', 'GHSA-43w2-9j62-hq99'],
        severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' }],
        affected: [
          {
            package: { ecosystem: 'crates.io', name: 'smallvec' },
            ranges: [
              { type: 'SEMVER', events: [{ introduced: '0.6.3' }, { fixed: '0.6.14' }, { introduced: '1.0.0' }, { fixed: '1.6.1' }] },
            ],
          },
        ],
      },
    ],
  };
}

function pkg(ecosystem: string, name: string, version: string, extra: Partial<Package> = {}): Package {
  return { ecosystem, name, version, purl: `pkg:generic/${name}@${version}`, path: 'x', layer: 0, ...extra };
}

/** An image's packages that the fixtures affect (and a few they do not). */
export function fixtureInventory(): Inventory {
  return {
    os: { family: 'debian', version: '12', name: 'Debian GNU/Linux 12 (bookworm)' },
    notes: [],
    layers: [],
    packages: [
      pkg('Debian:12', 'libssl3', '3.0.11-1~deb12u1', { sourceName: 'openssl', sourceVersion: '3.0.11-1~deb12u1' }),
      pkg('Debian:12', 'openssl', '3.0.13-1~deb12u1'),
      pkg('Debian:12', 'zlib1g', '1:1.2.13.dfsg-1', { sourceName: 'zlib' }),
      pkg('Alpine:v3.19', 'ssl_client', '1.36.1-r5', { sourceName: 'busybox' }),
      pkg('Ubuntu:22.04:LTS', 'libssl3', '3.0.2-0ubuntu1.10', { sourceName: 'openssl' }),
      pkg('npm', 'lodash', '4.17.20'),
      pkg('npm', 'minimist', '1.2.8'),
      pkg('npm', 'left-pad', '1.3.0'),
      pkg('PyPI', 'requests', '2.30.0'),
      pkg('Go', 'golang.org/x/net', 'v0.15.0'),
      pkg('Go', 'stdlib', '1.21.1'),
      pkg('Maven', 'com.fasterxml.jackson.core:jackson-databind', '2.13.1'),
      pkg('crates.io', 'smallvec', '1.6.0'),
    ],
  };
}

/** Writes the records as `<dir>/<Ecosystem>/<id>.json`. */
export async function writeRecordDirectory(records: Records, dir?: string): Promise<string> {
  const root = dir ?? (await mkdtemp(path.join(tmpdir(), 'berth-osv-')));
  for (const [ecosystem, list] of Object.entries(records)) {
    await mkdir(path.join(root, ecosystem), { recursive: true });
    for (const r of list) await writeFile(path.join(root, ecosystem, `${String(r.id)}.json`), JSON.stringify(r, null, 2));
  }
  return root;
}

/**
 * Writes a zip of `<id>.json` entries (extra raw entries as given), as an ecosystem's all.zip
 * is. `how`: deflated with sizes in the local headers (the default), streamed (sizes in data
 * descriptors after each entry, as Go's archive/zip writes them), or stored uncompressed.
 */
export async function writeZip(
  file: string,
  records: Array<Record<string, unknown>>,
  raw: Record<string, string> = {},
  how: 'deflated' | 'streamed' | 'stored' = 'deflated',
): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const zip = new yazl.ZipFile();
  const add = (data: Buffer, name: string) => {
    if (how === 'streamed') zip.addReadStream(Readable.from([data]), name);
    else zip.addBuffer(data, name, { compress: how === 'deflated' });
  };
  for (const r of records) add(Buffer.from(JSON.stringify(r)), `${String(r.id)}.json`);
  for (const [name, text] of Object.entries(raw)) add(Buffer.from(text), name);
  zip.end();
  await new Promise<void>((resolve, reject) => {
    const out = createWriteStream(file);
    zip.outputStream.pipe(out).on('close', resolve).on('error', reject);
  });
}

/** Writes the records as `<dir>/<Ecosystem>/all.zip`. */
export async function writeZipDirectory(records: Records, dir?: string): Promise<string> {
  const root = dir ?? (await mkdtemp(path.join(tmpdir(), 'berth-osv-zip-')));
  for (const [ecosystem, list] of Object.entries(records)) await writeZip(path.join(root, ecosystem, 'all.zip'), list);
  return root;
}
