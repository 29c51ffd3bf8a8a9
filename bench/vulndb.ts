// The vulnerability database phase: import time and matching throughput of the built-in
// scanner's OSV database, with at least 100,000 generated records (laid out as the OSV export:
// one all.zip per ecosystem folder), imported into the Berth's own database (its SQLite file,
// or its PostgreSQL database) the way `berth vulndb import DIR` does it, then an inventory of a
// few hundred packages matched against it again and again.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { zipSync } from 'fflate';
import { migrate, openPostgres, openSqlite, type DatabaseHandle } from '../src/db/index.js';
import type { Inventory, Package } from '../src/scanning/types.js';
import { VulnDbImporter } from '../src/scanning/vulndb/import.js';
import { VulnMatcher } from '../src/scanning/vulndb/matcher.js';
import { VulnDbStore } from '../src/scanning/vulndb/store.js';

export interface VulnDbSettings {
  records: number;
  /** Packages in the inventory matched. */
  packages: number;
  /** Matches timed (after one warm-up). */
  matches: number;
}

export type VulnDbBackend = { kind: 'embedded'; dataDir: string } | { kind: 'pg-s3'; env: Record<string, string> };

export interface VulnDbResult {
  records: number;
  zipBytes: number;
  importSeconds: number;
  reimportSeconds: number;
  /** CPU seconds of the importing process (reading, parsing, the SQLite engine; PostgreSQL's own work is in its process). */
  importCpuSeconds: number;
  reimportCpuSeconds: number;
  affectedRows: number;
  firstMatchMs: number;
  matchMs: number[];
  matchCpuMs: number[];
  packages: number;
  findings: number;
}

/** A small deterministic generator (mulberry32), so every run imports the same records. */
function random(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const share = { Debian: 0.4, Alpine: 0.1, npm: 0.2, PyPI: 0.12, Go: 0.06, Maven: 0.08, 'crates.io': 0.04 } as const;
type Eco = keyof typeof share;
const poolSize: Record<Eco, number> = { Debian: 4000, Alpine: 1500, npm: 6000, PyPI: 3000, Go: 1500, Maven: 2000, 'crates.io': 1000 };
const vectors = [
  'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H',
  'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H',
  'CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:L/A:N',
  'CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N',
];

function nameOf(eco: Eco, i: number): string {
  if (eco === 'Maven') return `org.example.g${i % 97}:artifact-${i}`;
  if (eco === 'Go') return `github.com/example/mod${i}`;
  return `${eco === 'PyPI' ? 'py' : eco === 'crates.io' ? 'rs' : eco === 'npm' ? 'js' : 'pkg'}-${i}`;
}

/** Package index skewed towards the first ones (as `linux` or `openssl` have far more records than most). */
const pick = (r: () => number, n: number) => Math.floor(n * r() * r());

function version(r: () => number, eco: Eco): string {
  const [a, b, c] = [1 + Math.floor(r() * 5), Math.floor(r() * 20), Math.floor(r() * 30)];
  if (eco === 'Debian') return `${a}.${b}.${c}-${1 + Math.floor(r() * 5)}`;
  if (eco === 'Alpine') return `${a}.${b}.${c}-r${Math.floor(r() * 10)}`;
  return `${a}.${b}.${c}`;
}

function record(r: () => number, eco: Eco, n: number): Record<string, unknown> {
  const cve = `CVE-${2015 + (n % 10)}-${10000 + n}`;
  const name = nameOf(eco, pick(r, poolSize[eco]));
  const fixed = version(r, eco);
  const events = r() < 0.1 ? [{ introduced: '0' }] : [{ introduced: '0' }, { fixed: eco === 'Debian' ? `${fixed}+deb12u1` : fixed }];
  const details = `Generated advisory ${n} for ${name}: a flaw in input handling allows a remote attacker to cause a denial of service or worse.`;
  const modified = `2024-0${1 + (n % 9)}-1${n % 10}T00:00:00Z`;
  switch (eco) {
    case 'Debian':
      return {
        id: `DEBIAN-${cve}`,
        modified,
        upstream: [cve],
        details,
        affected: ['Debian:11', 'Debian:12', 'Debian:13'].map((e) => ({
          package: { ecosystem: e, name },
          ranges: [{ type: 'ECOSYSTEM', events }],
        })),
      };
    case 'Alpine':
      return {
        id: `ALPINE-${cve}`,
        modified,
        upstream: [cve],
        affected: ['Alpine:v3.18', 'Alpine:v3.19', 'Alpine:v3.20'].map((e) => ({
          package: { ecosystem: e, name },
          ranges: [{ type: 'ECOSYSTEM', events }],
        })),
      };
    case 'PyPI':
      return {
        id: `PYSEC-2024-${n}`,
        modified,
        aliases: [cve],
        details,
        affected: [
          {
            package: { ecosystem: 'PyPI', name },
            ranges: [{ type: 'ECOSYSTEM', events }],
            versions: Array.from({ length: 5 + Math.floor(r() * 20) }, (_, i) => `1.${i}.0`),
          },
        ],
      };
    default:
      return {
        id: `GHSA-${eco.replace('.', '')}-${n}`,
        modified,
        aliases: [cve],
        summary: `Generated advisory ${n}`,
        details,
        severity: [{ type: 'CVSS_V3', score: vectors[n % vectors.length] }],
        affected: [{ package: { ecosystem: eco, name }, ranges: [{ type: eco === 'Maven' ? 'ECOSYSTEM' : 'SEMVER', events }] }],
        references: [{ type: 'ADVISORY', url: `https://nvd.nist.gov/vuln/detail/${cve}` }],
        database_specific: { severity: 'HIGH', cwe_ids: ['CWE-400'] },
      };
  }
}

/** Writes `<dir>/<Ecosystem>/all.zip` for each ecosystem; returns the bytes written. */
export async function writeExportForBench(dir: string, records: number): Promise<number> {
  let bytes = 0;
  let n = 0;
  for (const [eco, part] of Object.entries(share) as Array<[Eco, number]>) {
    const r = random(n + 17);
    const count = Math.ceil(records * part);
    const file = path.join(dir, eco, 'all.zip');
    await mkdir(path.dirname(file), { recursive: true });
    // fflate's zipSync, one archive at a time: yazl starts a deflate per entry at once, and
    // 40,000 of them in flight take gigabytes.
    const entries: Record<string, Uint8Array> = {};
    for (let i = 0; i < count; i++, n++) {
      const rec = record(r, eco, n);
      entries[`${String(rec.id)}.json`] = Buffer.from(JSON.stringify(rec));
    }
    const zipped = zipSync(entries, { level: 6 });
    await writeFile(file, zipped);
    bytes += zipped.length;
  }
  return bytes;
}

export function inventoryForBench(size: number): Inventory {
  const r = random(4242);
  const mix: Array<[Eco | 'Debian:12', number]> = [
    ['Debian:12', 0.6],
    ['npm', 0.24],
    ['PyPI', 0.08],
    ['Go', 0.04],
    ['Maven', 0.03],
    ['crates.io', 0.01],
  ];
  const packages: Package[] = [];
  for (const [ecosystem, part] of mix) {
    const eco = (ecosystem === 'Debian:12' ? 'Debian' : ecosystem) as Eco;
    for (let i = 0; i < Math.round(size * part); i++) {
      const name = nameOf(eco, pick(r, poolSize[eco]));
      const v = version(r, eco);
      packages.push({
        ecosystem,
        name: eco === 'Debian' ? `lib${name}` : name,
        version: v,
        ...(eco === 'Debian' && { sourceName: name }),
        purl: `pkg:generic/${name}@${v}`,
        path: 'bench',
        layer: 0,
      });
    }
  }
  return { os: { family: 'debian', version: '12', name: null }, packages, notes: [], layers: [] };
}

function open(backend: VulnDbBackend): DatabaseHandle {
  return backend.kind === 'embedded'
    ? openSqlite(path.join(backend.dataDir, 'berth.db'))
    : openPostgres(backend.env.BERTH_DATABASE_URL, { maxConnections: 4 });
}

export async function measureVulnDb(settings: VulnDbSettings, backend: VulnDbBackend, log: (line: string) => void): Promise<VulnDbResult> {
  const dir = await mkdtemp(path.join(tmpdir(), 'berth-bench-osv-'));
  const handle = open(backend);
  try {
    await migrate(handle);
    const zipBytes = await writeExportForBench(dir, settings.records);
    log(`wrote ${settings.records} records as ${Object.keys(share).length} all.zip archives (${(zipBytes / 1048576).toFixed(1)} MiB)`);
    const store = new VulnDbStore(handle.db);
    const importer = new VulnDbImporter(store);
    const cpu = (since: NodeJS.CpuUsage) => {
      const used = process.cpuUsage(since);
      return (used.user + used.system) / 1e6;
    };
    let c0 = process.cpuUsage();
    let t0 = performance.now();
    const first = await importer.importDirectory(dir);
    const importSeconds = (performance.now() - t0) / 1000;
    const importCpuSeconds = cpu(c0);
    const imported = first.results.reduce((n, x) => n + x.imported + x.unchanged, 0);
    const failed = first.results.filter((x) => x.error);
    if (failed.length > 0) throw new Error(`the import failed: ${failed.map((x) => x.error).join('; ')}`);
    log(
      `imported ${imported} records in ${importSeconds.toFixed(1)} s (${Math.round(imported / importSeconds)} records/s; ${importCpuSeconds.toFixed(1)} CPU s)`,
    );
    c0 = process.cpuUsage();
    t0 = performance.now();
    await importer.importDirectory(dir);
    const reimportSeconds = (performance.now() - t0) / 1000;
    const reimportCpuSeconds = cpu(c0);
    log(`imported again (all unchanged) in ${reimportSeconds.toFixed(1)} s`);
    const affectedRows = Number(
      (
        await handle.db
          .selectFrom('vuln_affected')
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
    const matcher = new VulnMatcher(handle.db);
    const inv = inventoryForBench(settings.packages);
    t0 = performance.now();
    const findings = await matcher.match(inv);
    const firstMatchMs = performance.now() - t0;
    const matchMs: number[] = [];
    const matchCpuMs: number[] = [];
    for (let i = 0; i < settings.matches; i++) {
      c0 = process.cpuUsage();
      t0 = performance.now();
      await matcher.match(inv);
      matchMs.push(performance.now() - t0);
      matchCpuMs.push(cpu(c0) * 1000);
    }
    log(
      `matched ${inv.packages.length} packages: ${findings.length} findings; first ${firstMatchMs.toFixed(0)} ms, then ${matchMs.map((m) => m.toFixed(0)).join(', ')} ms`,
    );
    return {
      records: imported,
      zipBytes,
      importSeconds,
      reimportSeconds,
      importCpuSeconds,
      reimportCpuSeconds,
      affectedRows,
      firstMatchMs,
      matchMs,
      matchCpuMs,
      packages: inv.packages.length,
      findings: findings.length,
    };
  } finally {
    await handle.close();
    await rm(dir, { recursive: true, force: true });
  }
}
