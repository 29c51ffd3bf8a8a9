import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { api } from '../helpers/api.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { assertOciError } from '../helpers/v2.js';
import { bytes, createProject, digestOf, image, independentRecount, pushImage, types, usedOf, V2 } from './fixtures.js';

let server: TestServer;
let v2: V2;
const KiB = 1024;

before(async () => {
  server = await startServer();
  v2 = new V2(server);
});
after(async () => {
  await server?.stop();
});

const put = (body: unknown) => api<any>(server, 'PUT', '/configurations', { auth: server.admin.authorization, body });

async function assertUsageExact(projectId: number) {
  const used = await usedOf(server, projectId);
  assert.equal(used, await independentRecount(server, projectId), 'usage matches what the project holds');
  return used;
}

test('quota_per_project_enable: on, a push past the limit is refused; off, it is accepted and counted; on again, the limit holds against the true usage', async () => {
  assert.equal(
    ((await api<any>(server, 'GET', '/configurations', { auth: server.admin.authorization })).body as any).quota_per_project_enable.value,
    true,
  );
  const projectId = await createProject(server, 'capped', 10 * KiB);
  await pushImage(v2, 'capped/app', 'small', image([bytes(4 * KiB)]));
  const usedBefore = await assertUsageExact(projectId);

  // On (the default): a manifest whose layers take the project past its limit is refused, and so is a blob upload.
  const big = image([bytes(8 * KiB)]);
  await v2.pushBlob('capped/app', big.config);
  const refusedBlob = await v2.call('POST', `/v2/capped/app/blobs/uploads/?digest=${digestOf(big.layers[0])}`, {
    headers: { 'content-type': 'application/octet-stream' },
    body: big.layers[0],
  });
  assertOciError(refusedBlob, 403, 'DENIED');
  assert.equal(await assertUsageExact(projectId), usedBefore + big.config.length, 'only the config blob was linked');

  // Off: the same push goes through, and the usage counts it (past the limit).
  assert.equal((await put({ quota_per_project_enable: false })).status, 200);
  await pushImage(v2, 'capped/app', 'big', big);
  const usedOff = await assertUsageExact(projectId);
  assert.ok(usedOff > 10 * KiB, `usage ${usedOff} is past the limit`);
  const quota = await api<any>(server, 'GET', `/quotas/${projectId}`, { auth: server.admin.authorization });
  assert.deepEqual(quota.body.hard, { storage: 10 * KiB }, 'the limit is kept');
  assert.equal(quota.body.used.storage, usedOff);

  // On again: nothing more fits (usage is already past the limit); a manifest that adds no bytes still does.
  assert.equal((await put({ quota_per_project_enable: true })).status, 200);
  const more = image([bytes(KiB)]);
  const refused = await v2.call('POST', `/v2/capped/app/blobs/uploads/?digest=${digestOf(more.layers[0])}`, {
    headers: { 'content-type': 'application/octet-stream' },
    body: more.layers[0],
  });
  assertOciError(refused, 403, 'DENIED');
  const retag = await v2.putManifest('capped/app', 'big-again', big.manifest, types.manifest);
  assert.equal(retag.status, 201, retag.text);
  assert.equal(await assertUsageExact(projectId), usedOff);
});
