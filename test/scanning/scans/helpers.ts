import { mkdtemp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { api } from '../../helpers/api.js';
import { buildImage, buildIndex, imageBlobs, type BuiltImage } from '../../helpers/layout.js';
import { pushBlob, pushManifest, types } from '../../helpers/oci.js';
import type { TestServer } from '../../helpers/server.js';
import { runTool } from '../../helpers/tools.js';

export const vulnerabilityMime = 'application/vnd.security.vulnerability.report; version=1.1';
export const sbomMime = 'application/vnd.security.sbom.report+json; version=1.0';

export async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}; last seen: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** An image of this machine's own os-release and dpkg database (the Debian 12 the tests run on). */
export async function debianImage(extra: Record<string, unknown> = {}): Promise<BuiltImage> {
  return buildImage({ architecture: 'amd64', os: 'linux' }, [
    {
      'etc/os-release': await readFile('/etc/os-release', 'utf8'),
      'var/lib/dpkg/status': await readFile('/var/lib/dpkg/status', 'utf8'),
    },
    { 'app/hello.txt': `hello ${JSON.stringify(extra)}` },
  ]);
}

export async function pushBuilt(server: TestServer, repo: string, tag: string | null, image: BuiltImage): Promise<string> {
  for (const blob of imageBlobs(image)) {
    if (blob !== image.manifest) await pushBlob(server.url, repo, blob.data, server.admin);
  }
  return (await pushManifest(server.url, repo, tag, JSON.parse(image.manifest.data.toString()), types.manifest, server.admin)).digest;
}

export async function pushIndexOf(server: TestServer, repo: string, tag: string, images: BuiltImage[]): Promise<string> {
  for (const image of images) await pushBuilt(server, repo, null, image);
  const index = buildIndex(images);
  return (await pushManifest(server.url, repo, tag, JSON.parse(index.data.toString()), types.index, server.admin)).digest;
}

/** Installed binary packages of this machine per source package, from dpkg-query (independent of Berth). */
export async function installedBySource(): Promise<Map<string, { version: string; binaries: string[] }>> {
  const { stdout } = await runTool('dpkg-query', [
    '--admindir=/var/lib/dpkg',
    '-W',
    '-f',
    '${db:Status-Status}\t${Package}\t${source:Package}\t${source:Version}\n',
  ]);
  const out = new Map<string, { version: string; binaries: string[] }>();
  for (const line of stdout.split('\n')) {
    const [status, pkg, source, version] = line.split('\t');
    if (status !== 'installed') continue;
    const entry = out.get(source) ?? { version, binaries: [] };
    entry.binaries.push(pkg);
    out.set(source, entry);
  }
  return out;
}

export interface Fixture {
  dir: string;
  /** Expected findings by severity, total and fixable, as dpkg-query says the image's packages are. */
  expected: { total: number; fixable: number; summary: Record<string, number> };
  ids: string[];
}

/**
 * Small OSV records about two source packages installed on this machine: one fixed above the
 * installed version with a critical CVSS vector, one with no fix and no severity, and one fixed
 * below the installed version (not a finding).
 */
export async function writeFixtures(): Promise<Fixture> {
  const installed = await installedBySource();
  const pick = (names: string[]) => names.find((n) => installed.has(n));
  const first = pick(['zlib', 'bash', 'coreutils'])!;
  const second = pick(['tar', 'gzip', 'sed', 'grep'].filter((n) => n !== first))!;
  if (!first || !second) throw new Error('this machine lacks the Debian packages the scan fixtures are about');
  const a = installed.get(first)!;
  const b = installed.get(second)!;
  const t = '2026-01-01T00:00:00Z';
  const records = [
    {
      id: 'DEBIAN-CVE-2099-1001',
      modified: t,
      upstream: ['CVE-2099-1001'],
      summary: `test advisory about ${first}`,
      severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' }],
      affected: [
        {
          package: { ecosystem: 'Debian:12', name: first },
          ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: `${a.version}+berth1` }] }],
        },
      ],
      references: [{ type: 'ADVISORY', url: 'https://example.com/CVE-2099-1001' }],
    },
    {
      id: 'DEBIAN-CVE-2099-1002',
      modified: t,
      upstream: ['CVE-2099-1002'],
      details: `test advisory about ${second}, no fix yet`,
      affected: [{ package: { ecosystem: 'Debian:12', name: second }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }] }] }],
    },
    {
      id: 'DEBIAN-CVE-2099-1003',
      modified: t,
      upstream: ['CVE-2099-1003'],
      details: 'fixed long before the installed version',
      affected: [
        {
          package: { ecosystem: 'Debian:12', name: first },
          ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '0.0.1-1' }] }],
        },
      ],
    },
  ];
  const dir = await mkdtemp(path.join(tmpdir(), 'berth-osv-'));
  await mkdir(path.join(dir, 'Debian'));
  for (const r of records) await writeFile(path.join(dir, 'Debian', `${r.id}.json`), JSON.stringify(r));
  return {
    dir,
    expected: {
      total: a.binaries.length + b.binaries.length,
      fixable: a.binaries.length,
      summary: { Critical: a.binaries.length, Unknown: b.binaries.length },
    },
    ids: ['CVE-2099-1001', 'CVE-2099-1002'],
  };
}

export async function overviewOf(server: TestServer, repo: string, reference: string) {
  const [project, ...rest] = repo.split('/');
  const res = await api(
    server,
    'GET',
    `/projects/${project}/repositories/${encodeURIComponent(encodeURIComponent(rest.join('/')))}/artifacts/${reference}?with_scan_overview=true&with_sbom_overview=true`,
    { auth: server.admin.authorization },
  );
  if (res.status !== 200) throw new Error(`GET artifact: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as {
    digest: string;
    addition_links: Record<string, { href: string }>;
    scan_overview?: Record<
      string,
      {
        scan_status: string;
        report_id: string;
        severity?: string;
        summary?: { total: number; fixable: number; summary: Record<string, number> };
      }
    >;
    sbom_overview?: { scan_status: string; sbom_digest?: string; report_id: string };
  };
}

export function artifactPath(repo: string, reference: string): string {
  const [project, ...rest] = repo.split('/');
  return `/projects/${project}/repositories/${encodeURIComponent(encodeURIComponent(rest.join('/')))}/artifacts/${reference}`;
}
