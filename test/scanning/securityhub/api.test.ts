import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { api, createUser } from '../../helpers/api.js';
import { pushImage } from '../../helpers/oci.js';
import { basicAuth, startServer, type TestServer } from '../../helpers/server.js';
import { assertError, createProject } from '../../projects/fixtures.js';
import { defaultScanner, finding, seedReport } from '../policy/helpers.js';

let server: TestServer;
let admin: string;
let p2: number;
const digests: Record<string, string> = {};

before(async () => {
  server = await startServer();
  admin = server.admin.authorization;
  await createProject(server, { project_name: 'p1' });
  p2 = await createProject(server, { project_name: 'p2' });
  const headers = { authorization: admin };
  // The same image in two projects (one digest, two artifacts), another image, and one never scanned.
  digests.shared = (await pushImage(server.url, 'p1/a', 'v1', { headers, layer: 'shared' })).digest;
  await fetch(`${server.url}/api/v2.0/projects/p1/repositories/a/artifacts/v1/tags`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'v2' }),
  });
  assert.equal((await pushImage(server.url, 'p2/c', 'v1', { headers, layer: 'shared' })).digest, digests.shared);
  digests.other = (await pushImage(server.url, 'p1/b', 'v1', { headers, layer: 'other' })).digest;
  digests.unscanned = (await pushImage(server.url, 'p1/b', 'new', { headers, layer: 'new' })).digest;
  const scanner = await defaultScanner(server);
  await seedReport(server, {
    repository: 'p1/a',
    digest: digests.shared,
    scanner,
    findings: [
      finding('CVE-2024-0001', 'Critical', { fix_version: '3.0.2-1', preferred_cvss: { score_v3: 9.8 } }),
      finding('CVE-2024-0002', 'High', { preferred_cvss: { score_v3: 7.5 } }),
      finding('CVE-2024-0003', 'Low', { package: 'zlib', preferred_cvss: { score_v3: 3.1 } }),
    ],
  });
  await seedReport(server, {
    repository: 'p1/b',
    digest: digests.other,
    scanner,
    findings: [
      finding('CVE-2024-0002', 'High', { preferred_cvss: { score_v3: 7.5 } }),
      finding('CVE-2024-0004', 'Medium', { package: 'curl', fix_version: '8.0', preferred_cvss: { score_v3: 5 } }),
      finding('GHSA-xxxx-yyyy-zzzz', 'Unknown', { package: 'left-pad' }),
      finding('CVE-2024-0005', 'Negligible', { package: 'tar' }),
    ],
  });
});
after(async () => server.stop());

async function vul(query: string) {
  return api<any[]>(server, 'GET', `/security/vul${query}`, { auth: admin });
}

describe('security hub', () => {
  test('summary: counts per severity over every artifact, scanned and total artifacts', async () => {
    const res = await api(server, 'GET', '/security/summary', { auth: admin });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body, {
      critical_cnt: 2,
      high_cnt: 3,
      medium_cnt: 1,
      low_cnt: 2,
      none_cnt: 1,
      unknown_cnt: 1,
      fixable_cnt: 3,
      total_vuls: 10,
      total_artifact: 4,
      scanned_cnt: 3,
    });
  });

  test('summary with the five most dangerous CVEs and artifacts', async () => {
    const res = await api(server, 'GET', '/security/summary?with_dangerous_cve=true&with_dangerous_artifact=true', { auth: admin });
    assert.equal(res.status, 200);
    assert.deepEqual(
      res.body.dangerous_cves.map((c: any) => [c.cve_id, c.severity, c.cvss_score_v3, c.package, c.version]),
      [
        ['CVE-2024-0001', 'Critical', 9.8, 'openssl', '3.0.1-1'],
        ['CVE-2024-0002', 'High', 7.5, 'openssl', '3.0.1-1'],
        ['CVE-2024-0004', 'Medium', 5, 'curl', '3.0.1-1'],
        ['CVE-2024-0003', 'Low', 3.1, 'zlib', '3.0.1-1'],
      ],
    );
    assert.equal(res.body.dangerous_cves[0].desc, 'CVE-2024-0001 in openssl');
    assert.deepEqual(
      res.body.dangerous_artifacts.map((a: any) => [a.repository_name, a.digest, a.critical_cnt, a.high_cnt, a.medium_cnt]),
      [
        ['p1/a', digests.shared, 1, 1, 0],
        ['p2/c', digests.shared, 1, 1, 0],
        ['p1/b', digests.other, 0, 1, 1],
      ],
    );
    assert.equal(res.body.dangerous_artifacts[1].project_id, p2);
  });

  test('the vulnerability list: highest score first, unscored last, paged with Harbor headers', async () => {
    const all = await vul('?page_size=100');
    assert.equal(all.status, 200);
    assert.equal(all.headers.get('x-total-count'), '10');
    const scores = all.body.map((v) => v.cvss_v3_score);
    assert.deepEqual(scores, [9.8, 9.8, 7.5, 7.5, 7.5, 5, 3.1, 3.1, 0, 0]);
    const item = all.body.find((v) => v.cve_id === 'CVE-2024-0004');
    assert.deepEqual(item, {
      project_id: item.project_id,
      repository_name: 'p1/b',
      digest: digests.other,
      cve_id: 'CVE-2024-0004',
      severity: 'Medium',
      status: '',
      cvss_v3_score: 5,
      package: 'curl',
      version: '3.0.1-1',
      fixed_version: '8.0',
      desc: 'CVE-2024-0004 in openssl',
      links: ['https://avd.example/CVE-2024-0004'],
    });
    const first = await vul('?page=1&page_size=4');
    assert.equal(first.body.length, 4);
    assert.match(first.headers.get('link') ?? '', /page=2&page_size=4>; rel="next"/);
    const third = await vul('?page=3&page_size=4');
    assert.equal(third.body.length, 2);
    assert.equal((await vul('?tune_count=true')).headers.get('x-total-count'), '10');
  });

  test('q filters: cve_id, severity, cvss_score_v3 range, project_id, repository_name, package, tag, digest', async () => {
    const count = async (q: string) => {
      const res = await vul(`?page_size=100&q=${encodeURIComponent(q)}`);
      assert.equal(res.status, 200, `${q}: ${JSON.stringify(res.body)}`);
      assert.equal(res.headers.get('x-total-count'), String(res.body.length));
      return res.body.length;
    };
    assert.equal(await count('cve_id=CVE-2024-0002'), 3);
    assert.equal(await count('severity=Critical'), 2);
    assert.equal(await count('cvss_score_v3=[7~10]'), 5);
    assert.equal(await count('cvss_score_v3=[~5]'), 3);
    assert.equal(await count(`project_id=${p2}`), 3);
    assert.equal(await count('repository_name=p1/a'), 3);
    assert.equal(await count('package=zlib'), 2);
    assert.equal(await count('tag=v2'), 3);
    assert.equal(await count(`digest=${digests.other}`), 4);
    assert.equal(await count('severity=High,repository_name=p1/b'), 1);
    assert.equal(await count('status=fixed'), 0);
    const tagged = await vul(`?with_tag=true&page_size=100&q=${encodeURIComponent('repository_name=p1/a')}`);
    assert.deepEqual(tagged.body[0].tags, ['v1', 'v2']);
  });

  test('bad q terms and parameters are 400', async () => {
    for (const q of ['nope=1', 'cvss_score_v3=7', 'cve_id=~CVE', 'project_id=abc', 'cvss_score_v3=[a~b]', 'severity={High Low}']) {
      assertError(await vul(`?q=${encodeURIComponent(q)}`), 400, 'BAD_REQUEST', q);
    }
    assertError(await vul('?tune_count=maybe'), 400, 'BAD_REQUEST');
    assertError(await api(server, 'GET', '/security/summary?with_dangerous_cve=yes', { auth: admin }), 400, 'BAD_REQUEST');
  });

  test('the five most dangerous CVEs are exact when hundreds of findings share the top score', async () => {
    const { digest } = await pushImage(server.url, 'p1/many', 'v1', { headers: { authorization: admin }, layer: 'many' });
    const findings = Array.from({ length: 600 }, (_, i) =>
      finding(`CVE-2030-${String(1000 + i)}`, i % 2 ? 'Critical' : 'High', { preferred_cvss: { score_v3: 10 } }),
    );
    await seedReport(server, { repository: 'p1/many', digest, scanner: await defaultScanner(server), findings });
    const res = await api(server, 'GET', '/security/summary?with_dangerous_cve=true', { auth: admin });
    // Score 10 for all: Critical before High, then by CVE id.
    assert.deepEqual(
      res.body.dangerous_cves.map((c: any) => c.cve_id),
      ['CVE-2030-1001', 'CVE-2030-1003', 'CVE-2030-1005', 'CVE-2030-1007', 'CVE-2030-1009'],
    );
  });

  test('system administrators only (as Harbor): anonymous 401, a user 403', async () => {
    await createUser(server, 'dave');
    const dave = basicAuth('dave', 'Passw0rd1');
    assertError(await api(server, 'GET', '/security/summary'), 401, 'UNAUTHORIZED');
    assertError(await api(server, 'GET', '/security/summary', { auth: dave }), 403, 'FORBIDDEN');
    assertError(await api(server, 'GET', '/security/vul', { auth: dave }), 403, 'FORBIDDEN');
  });
});
