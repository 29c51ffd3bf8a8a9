// Slow clients cannot hold a connection forever, and steady ones are never cut off. The
// server runs with short limits (2 s idle, 2 s for headers); a server that never closes the
// connection fails by the test connection's own timeout (10 s of silence), not by a measurement.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { RawConnection } from '../helpers/connection.js';
import { FaultyBlobStore } from '../helpers/faulty-blobstore.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { V2 } from '../helpers/v2.js';

let server: TestServer;
let v2: V2;
let blobs: FaultyBlobStore;
const repo = 'library/timeouts';
before(async () => {
  server = await startServer({
    yaml: { 'server.idle_timeout_seconds': 2, 'server.headers_timeout_seconds': 2 },
    seams: { wrapBlobStore: (store) => (blobs = new FaultyBlobStore(store)) },
  });
  v2 = new V2(server);
});
after(async () => {
  await server.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const sha256 = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

describe('slow clients are cut off', () => {
  test('a client that stops sending part-way through a body: the connection is closed and the session is as it was', async () => {
    const location = await v2.startUpload(repo);
    const conn = await RawConnection.open(server);
    try {
      conn.head('PATCH', location, {
        Authorization: server.admin.authorization,
        'Content-Type': 'application/octet-stream',
        'Content-Length': String(1024 * 1024),
      });
      conn.write(randomBytes(100 * 1024));
      await conn.ended();
    } finally {
      conn.destroy();
    }
    assert.equal(await v2.uploadOffset(location), 0, 'the interrupted chunk left nothing in the session');
  });

  test('a client that trickles its headers and never ends them: the connection is closed', async () => {
    const conn = await RawConnection.open(server);
    try {
      conn.write('GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1\r\n');
      let n = 0;
      const trickle = setInterval(() => conn.write(`X-Trickle-${n++}: a\r\n`), 200);
      try {
        const res = await conn.answer();
        if (res) {
          assert.equal(res.status, 408);
          assert.match(res.json().errors[0].message, /did not arrive in time/);
        }
        await conn.ended();
      } finally {
        clearInterval(trickle);
      }
    } finally {
      conn.destroy();
    }
  });

  test('a connection that sends nothing at all is closed', async () => {
    const conn = await RawConnection.open(server);
    try {
      await conn.ended();
    } finally {
      conn.destroy();
    }
  });
});

describe('steady clients and slow work are not', () => {
  test('an upload whose body takes longer than the idle timeout, sent steadily, completes', async () => {
    const location = await v2.startUpload(repo);
    const piece = randomBytes(32 * 1024);
    const pieces = 40;
    const conn = await RawConnection.open(server);
    try {
      conn.head('PATCH', location, {
        Authorization: server.admin.authorization,
        'Content-Type': 'application/octet-stream',
        'Content-Length': String(piece.length * pieces),
      });
      // 40 pieces 100 ms apart: about twice the idle timeout in all, never silent for long.
      for (let i = 0; i < pieces; i++) {
        conn.write(piece);
        await sleep(100);
      }
      const res = await conn.answer();
      assert.equal(res?.status, 202);
      assert.equal(res?.headers.range, `0-${piece.length * pieces - 1}`);
    } finally {
      conn.destroy();
    }
    const digest = sha256(Buffer.concat(Array(pieces).fill(piece)));
    const done = await v2.call('PUT', `${location}?digest=${digest}`, { headers: { 'content-length': '0' } });
    assert.equal(done.status, 201, done.text);
  });

  test('work that sends nothing for longer than the idle timeout (a slow publish) is not cut off', async () => {
    const data = randomBytes(64 * 1024);
    blobs.publishDelayMs = 4000;
    try {
      const res = await v2.call('POST', `/v2/${repo}/blobs/uploads/?digest=${sha256(data)}`, {
        headers: { 'content-type': 'application/octet-stream' },
        body: data,
      });
      assert.equal(res.status, 201, res.text);
    } finally {
      blobs.publishDelayMs = 0;
    }
    const pulled = await v2.call('GET', `/v2/${repo}/blobs/${sha256(data)}`);
    assert.ok(pulled.bytes.equals(data));
  });

  test('a large blob at full speed uploads and pulls back whole', async () => {
    const data = randomBytes(64 * 1024 * 1024);
    const digest = sha256(data);
    const res = await v2.call('POST', `/v2/${repo}/blobs/uploads/?digest=${digest}`, {
      headers: { 'content-type': 'application/octet-stream' },
      body: data,
    });
    assert.equal(res.status, 201, res.text);
    const pulled = await v2.call('GET', `/v2/${repo}/blobs/${digest}`);
    assert.equal(pulled.status, 200);
    assert.equal(sha256(pulled.bytes), digest);
  });
});
