import { ScanStore } from '../../../src/scanning/scans/store.js';
import { reportMimeTypes, type Finding, type Severity } from '../../../src/scanning/types.js';
import type { TestServer } from '../../helpers/server.js';

/** The default scanner registration's uuid (the built-in one on a fresh server). */
export async function defaultScanner(server: TestServer): Promise<string> {
  const row = await server.berth.database.db
    .selectFrom('scanner_registrations')
    .select('uuid')
    .where('is_default', '=', 1)
    .executeTakeFirstOrThrow();
  return row.uuid;
}

export function finding(id: string, severity: Severity, extra: Partial<Finding> = {}): Finding {
  return {
    id,
    package: 'openssl',
    version: '3.0.1-1',
    fix_version: '',
    severity,
    description: `${id} in openssl`,
    links: [`https://avd.example/${id}`],
    ...extra,
  };
}

/**
 * A vulnerability report of the scanner for a digest, written through the scans' own store
 * (what a finished scan writes): Success with these findings, or Error.
 */
export async function seedReport(
  server: TestServer,
  input: { repository: string; digest: string; scanner: string; findings?: Finding[]; status?: 'Success' | 'Error' },
): Promise<void> {
  const store = new ScanStore(server.berth.database.db);
  await server.berth.database.db.transaction().execute(async (tx) => {
    const created = await store.replace(tx, {
      digest: input.digest,
      registrationUuid: input.scanner,
      mimeTypes: [reportMimeTypes.vulnerability],
      repository: input.repository,
    });
    if ('conflict' in created) throw new Error(`a scan of ${input.digest} is ${created.conflict}`);
    const [report] = created.reports;
    if (input.status === 'Error') {
      await store.end(tx, [report.id], 'Error', 'the scanner failed');
      return;
    }
    const findings = input.findings ?? [];
    const order: Severity[] = ['Unknown', 'Negligible', 'Low', 'Medium', 'High', 'Critical'];
    const severity = findings.reduce<Severity>((top, f) => (order.indexOf(f.severity) > order.indexOf(top) ? f.severity : top), 'Unknown');
    const body = {
      generated_at: new Date().toISOString(),
      artifact: { repository: input.repository, digest: input.digest, mime_type: 'application/vnd.oci.image.manifest.v1+json' },
      scanner: { name: 'Berth built-in', vendor: 'Berth', version: 'test' },
      severity,
      vulnerabilities: findings,
    };
    if (!(await store.finishVulnerability(tx, report, body, body.scanner))) throw new Error('the report was not stored');
  });
}
