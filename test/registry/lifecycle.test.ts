import assert from 'node:assert/strict';
import { request } from 'node:http';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { body, sha256 } from '../helpers/oci.js';
import { adminPassword, basicAuth, startServer } from '../helpers/server.js';

const admin = { authorization: basicAuth('admin', adminPassword) };

async function openSession(base: string, repo: string): Promise<string> {
  const res = await fetch(`${base}/v2/${repo}/blobs/uploads/`, { method: 'POST', headers: admin });
  assert.equal(res.status, 202);
  return new URL(res.headers.get('location')!, base).pathname;
}

async function patch(base: string, location: string, chunk: Buffer, start: number) {
  return fetch(`${base}${location}`, {
    method: 'PATCH',
    headers: { ...admin, 'content-type': 'application/octet-stream', 'content-range': `${start}-${start + chunk.length - 1}` },
    body: body(chunk),
  });
}

test('an upload session survives a restart of the process and completes with the right digest', async () => {
  const first = await startServer();
  const data = Buffer.alloc(300_000, 7);
  data.write('a restart happens in the middle of this blob');
  const location = await openSession(first.url, 'library/restart');
  assert.equal((await patch(first.url, location, data.subarray(0, 100_000), 0)).status, 202);
  await first.stop({ keepData: true });

  const second = await startServer({ dataDir: first.dataDir });
  try {
    const status = await fetch(`${second.url}${location}`, { headers: admin });
    assert.equal(status.status, 204);
    assert.equal(status.headers.get('range'), '0-99999');
    assert.equal((await patch(second.url, location, data.subarray(100_000), 100_000)).status, 202);
    const done = await fetch(`${second.url}${location}?digest=${sha256(data)}`, { method: 'PUT', headers: admin });
    assert.equal(done.status, 201, await done.text());
    const blob = await fetch(`${second.url}/v2/library/restart/blobs/${sha256(data)}`, { headers: admin });
    assert.deepEqual(Buffer.from(await blob.arrayBuffer()), data);
  } finally {
    await second.stop();
  }
});

test('shutdown lets an upload in flight finish before the process closes', async () => {
  const server = await startServer();
  const location = await openSession(server.url, 'library/graceful');
  const { port } = new URL(server.url);
  const chunks = [Buffer.alloc(64 * 1024, 1), Buffer.alloc(64 * 1024, 2), Buffer.alloc(64 * 1024, 3)];
  const total = chunks.reduce((n, c) => n + c.length, 0);

  const response = new Promise<{ status: number; range: string | undefined }>((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method: 'PATCH', path: location, headers: { ...admin, 'content-length': total, 'content-type': 'application/octet-stream' } },
      (res) => {
        res.resume();
        resolve({ status: res.statusCode!, range: res.headers.range as string | undefined });
      },
    );
    req.on('error', reject);
    (async () => {
      for (const chunk of chunks) {
        req.write(chunk);
        await sleep(150);
      }
      req.end();
    })().catch(reject);
  });

  await sleep(100); // the first chunk is in; the request is in flight
  const closing = server.berth.close();
  const result = await response;
  await closing;
  assert.equal(result.status, 202);
  assert.equal(result.range, `0-${total - 1}`);

  // The session is still resumable after the restart.
  const again = await startServer({ dataDir: server.dataDir });
  try {
    const status = await fetch(`${again.url}${location}`, { headers: admin });
    assert.equal(status.status, 204);
    assert.equal(status.headers.get('range'), `0-${total - 1}`);
  } finally {
    await again.stop();
  }
});
