import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startServer, type TestServer } from '../helpers/server.js';
import { pushImage, types } from '../helpers/oci.js';

let server: TestServer;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server.stop();
});

test('GET /v2/ answers with the API version header', async () => {
  const res = await fetch(`${server.url}/v2/`, { headers: server.admin });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('docker-distribution-api-version'), 'registry/2.0');
});

test('an image pushed by tag can be pulled by tag and by digest', async () => {
  const image = await pushImage(server.url, 'library/smoke', 'v1', { headers: server.admin });
  assert.equal(image.response.headers.get('docker-content-digest'), image.digest);
  for (const ref of ['v1', image.digest]) {
    const res = await fetch(`${server.url}/v2/library/smoke/manifests/${ref}`, { headers: { accept: types.manifest } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), types.manifest);
    assert.equal(res.headers.get('docker-content-digest'), image.digest);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), image.bytes);
  }
});
