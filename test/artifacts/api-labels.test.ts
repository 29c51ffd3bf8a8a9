import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { api, createUser } from '../helpers/api.js';
import { basicAuth, startServer, type TestServer } from '../helpers/server.js';
import { addMember, artifactsPath, assertHarborError, createProject, dbState, qs, seedApp, type Seeded } from './api-fixtures.js';

let server: TestServer;
let admin: string;
let s: Seeded;
let libraryId: number;
let teamId: number;
let stable: number;
let libraryOnly: number;
let teamOnly: number;
const app = artifactsPath('library/app');
const developer = basicAuth('dev', 'Passw0rd1');
const guest = basicAuth('gina', 'Passw0rd1');

function call(method: string, path: string, options: { body?: unknown; auth?: string } = {}) {
  return api<any>(server, method, path, { auth: admin, ...options });
}

async function createLabel(body: Record<string, unknown>): Promise<number> {
  const res = await call('POST', '/labels', { body });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return Number(res.headers.get('location')!.split('/').pop());
}

const labelIds = (artifact: { labels: Array<{ id: number }> }) => artifact.labels.map((l) => l.id);

before(async () => {
  server = await startServer();
  admin = server.admin.authorization;
  s = await seedApp(server);
  libraryId = Number((await server.berth.projects.findByName('library'))!.id);
  teamId = await createProject(server, 'team');
  await createUser(server, 'dev');
  await createUser(server, 'gina');
  await addMember(server, 'library', 'dev', 2);
  await addMember(server, 'library', 'gina', 3);
  stable = await createLabel({ name: 'stable', description: 'ready for production', color: '#00FF00', scope: 'g' });
  libraryOnly = await createLabel({ name: 'reviewed', scope: 'p', project_id: libraryId });
  teamOnly = await createLabel({ name: 'team-only', scope: 'p', project_id: teamId });
});
after(async () => {
  await server.stop();
});

describe('artifact labels', () => {
  test('attach a global label and a label of the project: 200 each; with_label shows them', async () => {
    assert.equal((await call('POST', `${app}/v2/labels`, { body: { id: stable } })).status, 200);
    assert.equal((await call('POST', `${app}/v2/labels`, { body: { id: libraryOnly } })).status, 200);
    const res = await call('GET', `${app}/v2?with_label=true`);
    assert.equal(res.status, 200);
    assert.deepEqual(labelIds(res.body), [stable, libraryOnly]);
    const [global, project] = res.body.labels;
    assert.deepEqual(
      { name: global.name, description: global.description, color: global.color, scope: global.scope },
      { name: 'stable', description: 'ready for production', color: '#00FF00', scope: 'g' },
    );
    assert.deepEqual(
      { name: project.name, scope: project.scope, project_id: project.project_id },
      { name: 'reviewed', scope: 'p', project_id: libraryId },
    );
    assert.ok(!('labels' in (await call('GET', `${app}/v2`)).body));
  });

  test('attaching a label twice is 409; an unknown label 404; a label of another project 400; nothing changes', async () => {
    const before = await dbState(server);
    assertHarborError(await call('POST', `${app}/v2/labels`, { body: { id: stable } }), 409, 'CONFLICT');
    assertHarborError(await call('POST', `${app}/v2/labels`, { body: { id: 999_999 } }), 404, 'NOT_FOUND', /999999/);
    assertHarborError(await call('POST', `${app}/v2/labels`, { body: { id: teamOnly } }), 400, 'BAD_REQUEST', /another project/);
    assertHarborError(await call('POST', `${app}/v2/labels`, { body: {} }), 400, 'BAD_REQUEST');
    assertHarborError(await call('POST', `${app}/v2/labels`, { body: { id: 'stable' } }), 400, 'BAD_REQUEST');
    assertHarborError(await call('POST', `${app}/nope/labels`, { body: { id: stable } }), 404, 'NOT_FOUND');
    assert.deepEqual(await dbState(server), before);
  });

  test('with_label=true in a listing shows each artifact its labels', async () => {
    assert.equal((await call('POST', `${app}/1.2.3/labels`, { body: { id: stable } })).status, 200);
    const res = await call('GET', `${app}?with_label=true`);
    const byDigest = new Map(res.body.map((a: { digest: string }) => [a.digest, a]));
    assert.deepEqual(labelIds(byDigest.get(s.image.digest) as never), [stable, libraryOnly]);
    assert.deepEqual(labelIds(byDigest.get(s.chart.digest) as never), [stable]);
    for (const digest of [s.index.digest, s.wasm.digest, s.untagged.digest]) assert.deepEqual(labelIds(byDigest.get(digest) as never), []);
  });

  test('q=labels=(id) keeps the artifacts with every label given; labels={a b} with any of them', async () => {
    const digests = async (q: string) => (await call('GET', `${app}${qs({ q })}`)).body.map((a: { digest: string }) => a.digest);
    assert.deepEqual(await digests(`labels=(${stable})`), [s.chart.digest, s.image.digest]);
    assert.deepEqual(await digests(`labels=(${stable} ${libraryOnly})`), [s.image.digest]);
    assert.deepEqual(await digests(`labels=(${libraryOnly})`), [s.image.digest]);
    assert.deepEqual(await digests(`labels={${libraryOnly} ${stable}}`), [s.chart.digest, s.image.digest]);
    assert.deepEqual(await digests(`labels=(${teamOnly})`), []);
    assert.deepEqual(await digests(`type=CHART,labels=(${stable})`), [s.chart.digest]);
    assertHarborError(await call('GET', `${app}${qs({ q: 'labels=(stable)' })}`), 400, 'BAD_REQUEST', /labels/);
  });

  test('a developer may attach and detach labels; a guest may not (403)', async () => {
    assert.equal((await call('POST', `${app}/wasm-1/labels`, { body: { id: stable }, auth: developer })).status, 200);
    assertHarborError(await call('POST', `${app}/wasm-1/labels`, { body: { id: libraryOnly }, auth: guest }), 403, 'FORBIDDEN');
    assertHarborError(await call('DELETE', `${app}/wasm-1/labels/${stable}`, { auth: guest }), 403, 'FORBIDDEN');
    assertHarborError(await call('POST', `${app}/wasm-1/labels`, { body: { id: libraryOnly }, auth: undefined }), 401, 'UNAUTHORIZED');
    assert.equal((await call('DELETE', `${app}/wasm-1/labels/${stable}`, { auth: developer })).status, 200);
  });

  test('detach: 200, and the label is gone; again, or a label never attached, is 404', async () => {
    assert.equal((await call('DELETE', `${app}/v2/labels/${libraryOnly}`)).status, 200);
    assert.deepEqual(labelIds((await call('GET', `${app}/v2?with_label=true`)).body), [stable]);
    assertHarborError(await call('DELETE', `${app}/v2/labels/${libraryOnly}`), 404, 'NOT_FOUND');
    assertHarborError(await call('DELETE', `${app}/v2/labels/${teamOnly}`), 404, 'NOT_FOUND');
    assertHarborError(await call('DELETE', `${app}/v2/labels/not-an-id`), 400, 'BAD_REQUEST', /label_id/);
    assert.deepEqual((await call('GET', `${app}${qs({ q: `labels=(${libraryOnly})` })}`)).body, []);
  });

  test('the audit log names the label attached or detached, not its id', async () => {
    const digest = (await call('GET', `${app}/v2`)).body.digest as string;
    const logs = await call('GET', `/auditlog-exts${qs({ q: 'resource_type=artifact-label', sort: 'op_time', page_size: '100' })}`);
    assert.equal(logs.status, 200);
    const records = (logs.body as any[]).filter((r) => r.resource.startsWith(`library/app@${digest}:`));
    assert.deepEqual(
      records.map((r) => [r.operation, r.resource, r.operation_description]),
      [
        ['create', `library/app@${digest}:stable`, `add label stable to library/app@${digest}`],
        ['create', `library/app@${digest}:reviewed`, `add label reviewed to library/app@${digest}`],
        ['delete', `library/app@${digest}:reviewed`, `remove label reviewed from library/app@${digest}`],
      ],
    );
  });
});
