import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { AccessGuard } from '../../../src/auth/guard.js';
import { JobAbortError, type JobContext } from '../../../src/jobs/runner.js';
import { csvColumns } from '../../../src/scanning/export/csv.js';
import { CveExportService } from '../../../src/scanning/export/service.js';
import { ExportStore } from '../../../src/scanning/export/store.js';
import { api, createUser } from '../../helpers/api.js';
import { pushImage } from '../../helpers/oci.js';
import { basicAuth, startServer, type TestServer } from '../../helpers/server.js';
import { assertError, createProject } from '../../projects/fixtures.js';
import { defaultScanner, finding, seedReport } from '../policy/helpers.js';

const scanDataType = 'application/vnd.security.vulnerability.report; version=1.1';
let server: TestServer;
let admin: string;
let erin: string;
let projectId: number;
let labelId: number;
let scannerName: string;
const digests: Record<string, string> = {};

/** Parses RFC 4180 CSV (quoted fields, doubled quotes, CRLF). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') ((field += '"'), (i += 1));
      else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') (row.push(field), (field = ''));
    else if (ch === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      ((row = []), (field = ''), (i += 1));
    } else field += ch;
  }
  return rows;
}

async function startExport(body: Record<string, unknown>, auth = erin) {
  return api<{ id: number }>(server, 'POST', '/export/cve', { auth, body, headers: { 'X-Scan-Data-Type': scanDataType } });
}

/** Waits for the CVE_EXPORT job to end (the runner polls; no timing is asserted). */
async function finished(id: number, auth = erin) {
  for (let i = 0; i < 600; i += 1) {
    const res = await api(server, 'GET', `/export/cve/execution/${id}`, { auth });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    if (!['Pending', 'Running'].includes(res.body.status)) return res.body;
    await sleep(50);
  }
  throw new Error(`export ${id} did not end`);
}

async function exportRows(body: Record<string, unknown>) {
  const started = await startExport({ projects: [projectId], ...body });
  assert.equal(started.status, 200, JSON.stringify(started.body));
  const execution = await finished(started.body.id);
  assert.equal(execution.status, 'Success', JSON.stringify(execution));
  if (!execution.file_present) return { id: started.body.id, execution, rows: [] as string[][] };
  const res = await fetch(`${server.url}/api/v2.0/export/cve/download/${started.body.id}`, { headers: { authorization: erin } });
  assert.equal(res.status, 200);
  const rows = parseCsv(await res.text());
  assert.deepEqual(rows[0], [...csvColumns]);
  return { id: started.body.id, execution, rows: rows.slice(1), res };
}

async function executionCount() {
  const row = await server.berth.database.db
    .selectFrom('cve_export_executions')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

before(async () => {
  server = await startServer();
  admin = server.admin.authorization;
  projectId = await createProject(server, { project_name: 'exp' });
  for (const [name, role] of [
    ['erin', 2],
    ['gina', 3],
  ] as const) {
    await createUser(server, name);
    assert.equal(
      (await api(server, 'POST', '/projects/exp/members', { auth: admin, body: { role_id: role, member_user: { username: name } } }))
        .status,
      201,
    );
  }
  await createUser(server, 'fred');
  erin = basicAuth('erin', 'Passw0rd1');
  const headers = { authorization: admin };
  digests.web = (await pushImage(server.url, 'exp/web', 'v1', { headers, layer: 'web' })).digest;
  digests.cli = (await pushImage(server.url, 'exp/tools/cli', 'v2', { headers, layer: 'cli' })).digest;
  const label = await api(server, 'POST', '/labels', { auth: admin, body: { name: 'prod', scope: 'p', project_id: projectId } });
  labelId = Number(label.headers.get('location')!.split('/').pop());
  assert.equal(
    (await api(server, 'POST', '/projects/exp/repositories/web/artifacts/v1/labels', { auth: admin, body: { id: labelId } })).status,
    200,
  );
  const scanner = await defaultScanner(server);
  scannerName = (
    await server.berth.database.db.selectFrom('scanner_registrations').select('name').where('uuid', '=', scanner).executeTakeFirstOrThrow()
  ).name;
  await seedReport(server, {
    repository: 'exp/web',
    digest: digests.web,
    scanner,
    findings: [
      finding('CVE-2024-0001', 'Critical', {
        fix_version: '3.0.2-1',
        cwe_ids: ['CWE-79', 'CWE-89'],
        preferred_cvss: { score_v3: 9.8, vector_v3: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' },
      }),
      finding('CVE-2024-0002', 'Low', { package: '=cmd|calc', version: '1,2' }),
    ],
  });
  await seedReport(server, {
    repository: 'exp/tools/cli',
    digest: digests.cli,
    scanner,
    findings: [finding('CVE-2024-0009', 'High', { package: 'curl' })],
  });
});
after(async () => server.stop());

describe('CVE export', () => {
  test("a developer exports the project's findings as Harbor's CSV and downloads it", async () => {
    const { id, execution, rows, res } = await exportRows({ job_name: 'weekly' });
    assert.deepEqual(
      { ...execution, start_time: undefined, end_time: undefined },
      {
        id,
        user_id: execution.user_id,
        status: 'Success',
        trigger: 'MANUAL',
        status_text: '',
        user_name: 'erin',
        file_present: true,
        start_time: undefined,
        end_time: undefined,
      },
    );
    assert.ok(Date.parse(execution.end_time) >= Date.parse(execution.start_time));
    assert.equal(res!.headers.get('content-type'), 'text/csv; charset=utf-8');
    assert.equal(res!.headers.get('content-disposition'), `attachment; filename="scandata_export_${id}.csv"`);
    assert.deepEqual(rows, [
      ['exp/tools/cli', digests.cli, 'CVE-2024-0009', 'curl', '3.0.1-1', '', 'High', '', '', scannerName],
      [
        'exp/web',
        digests.web,
        'CVE-2024-0001',
        'openssl',
        '3.0.1-1',
        '3.0.2-1',
        'Critical',
        'CWE-79,CWE-89',
        JSON.stringify({ CVSS: { V3Score: 9.8, V3Vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' } }),
        scannerName,
      ],
      // A cell a spreadsheet would run as a formula is defused; a comma is quoted.
      ['exp/web', digests.web, 'CVE-2024-0002', "'=cmd|calc", '1,2', '', 'Low', '', '', scannerName],
    ]);
    // It may be downloaded again until it is purged.
    assert.equal((await fetch(`${server.url}/api/v2.0/export/cve/download/${id}`, { headers: { authorization: erin } })).status, 200);
  });

  test('repository, tag, label and CVE id patterns narrow it; nothing matched leaves no file', async () => {
    const cves = async (body: Record<string, unknown>) => (await exportRows(body)).rows.map((r) => r[2]);
    assert.deepEqual(await cves({ repositories: 'web' }), ['CVE-2024-0001', 'CVE-2024-0002']);
    assert.deepEqual(await cves({ repositories: '{tools/**}' }), ['CVE-2024-0009']);
    assert.deepEqual(await cves({ tags: 'v2' }), ['CVE-2024-0009']);
    assert.deepEqual(await cves({ labels: [labelId] }), ['CVE-2024-0001', 'CVE-2024-0002']);
    assert.deepEqual(await cves({ cveIds: '{CVE-2024-0001,CVE-2024-0009}' }), ['CVE-2024-0009', 'CVE-2024-0001']);
    assert.deepEqual(await cves({ cveIds: '{CVE-2024-0002}' }), ['CVE-2024-0002']);
    const none = await exportRows({ cveIds: 'CVE-1999-*' });
    assert.equal(none.execution.file_present, false);
    assert.equal(none.execution.status_text, 'No vulnerabilities found or matched');
    assertError(await api(server, 'GET', `/export/cve/download/${none.id}`, { auth: erin }), 404, 'NOT_FOUND');
  });

  test('bad requests are refused and create nothing', async () => {
    const before = await executionCount();
    const body = { projects: [projectId] };
    assertError(await api(server, 'POST', '/export/cve', { auth: erin, body }), 400, 'BAD_REQUEST');
    assertError(
      await api(server, 'POST', '/export/cve', { auth: erin, body, headers: { 'X-Scan-Data-Type': 'text/plain' } }),
      400,
      'BAD_REQUEST',
    );
    for (const bad of [
      {},
      { projects: [] },
      { projects: [projectId, projectId + 1] },
      { projects: ['exp'] },
      { ...body, tags: 'v1, v2' },
      { ...body, repositories: '{web' },
      { ...body, labels: 'prod' },
      { ...body, cveIds: 5 },
    ]) {
      assertError(await startExport(bad), 400, 'BAD_REQUEST', JSON.stringify(bad));
    }
    assertError(await startExport({ projects: [999999] }), 404, 'NOT_FOUND');
    assertError(await startExport(body, basicAuth('gina', 'Passw0rd1')), 403, 'FORBIDDEN', 'a guest may not export');
    assertError(await startExport(body, basicAuth('fred', 'Passw0rd1')), 403, 'FORBIDDEN', 'not a member');
    assertError(await api(server, 'POST', '/export/cve', { body, headers: { 'X-Scan-Data-Type': scanDataType } }), 401, 'UNAUTHORIZED');
    assert.equal(await executionCount(), before);
  });

  test('executions belong to the user who asked: listed, read and downloaded by them only', async () => {
    const { id } = await exportRows({});
    const mine = await api(server, 'GET', '/export/cve/executions', { auth: erin });
    assert.equal(mine.status, 200);
    assert.ok(mine.body.items.length >= 1 && mine.body.items.every((e: any) => e.user_name === 'erin'));
    assert.equal(mine.body.items[0].id, Math.max(...mine.body.items.map((e: any) => e.id)), 'newest first');
    assert.deepEqual((await api(server, 'GET', '/export/cve/executions', { auth: admin })).body, { items: [] });
    assertError(await api(server, 'GET', `/export/cve/execution/${id}`, { auth: admin }), 403, 'FORBIDDEN');
    assertError(await api(server, 'GET', `/export/cve/download/${id}`, { auth: basicAuth('fred', 'Passw0rd1') }), 403, 'FORBIDDEN');
    assertError(await api(server, 'GET', '/export/cve/execution/987654', { auth: erin }), 404, 'NOT_FOUND');
    assertError(await api(server, 'GET', '/export/cve/execution/abc', { auth: erin }), 400, 'BAD_REQUEST');
    assertError(await api(server, 'GET', '/export/cve/executions'), 401, 'UNAUTHORIZED');
  });

  test('the purge job drops files a day after their export ended', async () => {
    const { id } = await exportRows({});
    const db = server.berth.database.db;
    await db
      .updateTable('cve_export_executions')
      .set({ end_time: new Date(Date.now() - 25 * 3600_000).toISOString() })
      .where('id', '=', id)
      .execute();
    const queue = server.berth.jobs.queue;
    const jobId = await queue.enqueue('CVE_EXPORT_PURGE', null);
    for (let i = 0; i < 600 && (await queue.get(jobId))?.status !== 'success'; i += 1) await sleep(50);
    assert.equal((await queue.get(jobId))?.status, 'success');
    const execution = await api(server, 'GET', `/export/cve/execution/${id}`, { auth: erin });
    assert.equal(execution.body.file_present, false);
    assertError(await api(server, 'GET', `/export/cve/download/${id}`, { auth: erin }), 404, 'NOT_FOUND');
    const chunks = await db.selectFrom('cve_export_chunks').select('seq').where('execution_id', '=', id).execute();
    assert.equal(chunks.length, 0);
  });

  test('a large CSV is written and read back in pieces; its digest is recorded; a stopped job says so', async () => {
    const db = server.berth.database.db;
    const store = new ExportStore(db);
    const guard = new AccessGuard({ roleOf: async () => 2 });
    const erinIdentity = { kind: 'user' as const, userId: 99, username: 'erin', sysadmin: false, via: 'basic' as const };
    const service = new CveExportService(
      store,
      server.berth.jobs.queue,
      { guard, projectById: async (id) => ({ id, name: 'exp', public: false }) },
      { chunkBytes: 64 },
    );
    const id = await db
      .transaction()
      .execute((tx) =>
        store.create(tx, {
          userId: 99,
          userName: 'erin',
          jobName: '',
          projectIds: [projectId],
          criteria: { labels: [], repositories: '', tags: '', cveIds: '' },
          now: new Date().toISOString(),
        }),
      );
    const ctx = (signal: AbortSignal): JobContext<{ executionId: number }> => ({
      id: 0,
      type: 'CVE_EXPORT',
      payload: { executionId: id },
      attempt: 1,
      maxAttempts: 3,
      signal,
      log: async () => {},
    });
    await service.handle(ctx(new AbortController().signal));
    const chunks = await db.selectFrom('cve_export_chunks').select('seq').where('execution_id', '=', id).orderBy('seq').execute();
    assert.ok(chunks.length > 3, `${chunks.length} pieces`);
    const file = await service.download(erinIdentity, id);
    const parts: Buffer[] = [];
    for await (const part of file.body) parts.push(part);
    const bytes = Buffer.concat(parts);
    assert.equal(bytes.byteLength, file.size);
    assert.equal(parseCsv(bytes.toString('utf8')).length, 4);
    const row = await store.get(id);
    assert.equal(row!.fileDigest, `sha256:${createHash('sha256').update(bytes).digest('hex')}`);

    const stopped = await db
      .transaction()
      .execute((tx) =>
        store.create(tx, {
          userId: 99,
          userName: 'erin',
          jobName: '',
          projectIds: [projectId],
          criteria: { labels: [], repositories: '', tags: '', cveIds: '' },
          now: new Date().toISOString(),
        }),
      );
    const controller = new AbortController();
    controller.abort(new JobAbortError('stopped', 'the job was stopped'));
    await assert.rejects(service.handle({ ...ctx(controller.signal), payload: { executionId: stopped } }));
    const view = await service.execution(erinIdentity, stopped);
    assert.equal(view.status, 'Stopped');
    assert.equal(view.file_present, false);
  });
});
