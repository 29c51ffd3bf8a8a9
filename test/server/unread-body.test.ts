// A request answered before its body was read to the end (refused part-way through it, or
// before it) must not leave its keep-alive connection stuck: the next request on the same
// socket is answered, or the server says Connection: close and ends the connection. A
// server that does neither fails these tests by the connection's timeout.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { drainLimit } from '../../src/server/unread-body.js';
import { RawConnection } from '../helpers/connection.js';
import { startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server.stop();
});

const manifestType = 'application/vnd.oci.image.manifest.v1+json';
const limit = 4 * 1024 * 1024;

/** Writes `total` bytes of chunked body in 64 KiB chunks, then the last chunk. */
function chunkedBody(conn: RawConnection, total: number): void {
  const piece = Buffer.alloc(64 * 1024, 'a');
  for (let sent = 0; sent < total; sent += piece.length) conn.chunk(piece.subarray(0, Math.min(piece.length, total - sent)));
  conn.chunk(Buffer.alloc(0));
}

/** The next request on the same connection is answered: GET /v2/ as the administrator, 200. */
async function nextRequestAnswered(conn: RawConnection): Promise<void> {
  conn.head('GET', '/v2/', { Authorization: server.admin.authorization });
  const res = await conn.answer();
  assert.ok(res, 'the connection still serves requests');
  assert.equal(res.status, 200);
  assert.equal(res.body.toString(), '{}');
}

describe('a body refused part-way through', () => {
  test('a chunked manifest PUT past the 4 MiB limit: 413, then the next request on the socket is answered', async () => {
    const conn = await RawConnection.open(server);
    try {
      conn.head('PUT', '/v2/library/unread/manifests/v1', {
        Authorization: server.admin.authorization,
        'Content-Type': manifestType,
        'Transfer-Encoding': 'chunked',
      });
      chunkedBody(conn, limit + 1024 * 1024);
      const res = await conn.answer();
      assert.ok(res);
      assert.equal(res.status, 413);
      assert.equal(res.json().errors[0].code, 'SIZE_INVALID');
      assert.notEqual(res.headers.connection, 'close');
      await nextRequestAnswered(conn);
    } finally {
      conn.destroy();
    }
  });

  test('a blob PATCH refused by its Content-Range after the body was sent: the next request is answered', async () => {
    const start = await fetch(`${server.url}/v2/library/unread/blobs/uploads/`, { method: 'POST', headers: server.admin });
    assert.equal(start.status, 202);
    const location = start.headers.get('location')!;
    const conn = await RawConnection.open(server);
    try {
      const body = Buffer.alloc(256 * 1024, 'b');
      conn.head('PATCH', location, {
        Authorization: server.admin.authorization,
        'Content-Type': 'application/octet-stream',
        'Content-Range': `10-${10 + body.length - 1}`,
        'Content-Length': String(body.length),
      });
      conn.write(body);
      const res = await conn.answer();
      assert.equal(res?.status, 416);
      await nextRequestAnswered(conn);
    } finally {
      conn.destroy();
    }
  });

  test('a blob PATCH whose body overruns its Content-Range: 400, then the next request is answered', async () => {
    const start = await fetch(`${server.url}/v2/library/unread/blobs/uploads/`, { method: 'POST', headers: server.admin });
    const location = start.headers.get('location')!;
    const conn = await RawConnection.open(server);
    try {
      conn.head('PATCH', location, {
        Authorization: server.admin.authorization,
        'Content-Type': 'application/octet-stream',
        'Content-Range': '0-99',
        'Transfer-Encoding': 'chunked',
      });
      chunkedBody(conn, 300 * 1024);
      const res = await conn.answer();
      assert.equal(res?.status, 400);
      assert.equal(res?.json().errors[0].code, 'SIZE_INVALID');
      await nextRequestAnswered(conn);
    } finally {
      conn.destroy();
    }
    // The session is as it was before the chunk.
    const status = await fetch(`${server.url}${location}`, { headers: server.admin });
    assert.equal(status.headers.get('range'), '0-0');
  });

  test('an API body past its limit (chunked JSON): 413, then the next request is answered', async () => {
    const conn = await RawConnection.open(server);
    try {
      conn.head('POST', '/api/v2.0/projects', {
        Authorization: server.admin.authorization,
        'Content-Type': 'application/json',
        'Transfer-Encoding': 'chunked',
      });
      conn.chunk(Buffer.from('{"project_name":"'));
      chunkedBody(conn, 2 * 1024 * 1024);
      const res = await conn.answer();
      assert.equal(res?.status, 413);
      // Fastify's body parser answers its own refusals with Connection: close; that is the other way out.
      if (res?.headers.connection === 'close') await conn.ended();
      else await nextRequestAnswered(conn);
    } finally {
      conn.destroy();
    }
  });
});

describe('a body refused before it is read', () => {
  test('an anonymous blob PATCH with a body: 401, then the next request is answered', async () => {
    const conn = await RawConnection.open(server);
    try {
      const body = Buffer.alloc(512 * 1024, 'c');
      conn.head('PATCH', '/v2/library/unread/blobs/uploads/00000000-0000-0000-0000-000000000000', {
        'Content-Type': 'application/octet-stream',
        'Content-Length': String(body.length),
      });
      conn.write(body);
      const res = await conn.answer();
      assert.equal(res?.status, 401);
      assert.match(res?.headers['www-authenticate'] ?? '', /^Bearer /);
      await nextRequestAnswered(conn);
    } finally {
      conn.destroy();
    }
  });

  test('a manifest PUT whose Content-Length is over the limit: 413 at once, then the next request is answered', async () => {
    const conn = await RawConnection.open(server);
    try {
      const body = Buffer.alloc(limit + 1, 'd');
      conn.head('PUT', '/v2/library/unread/manifests/v2', {
        Authorization: server.admin.authorization,
        'Content-Type': manifestType,
        'Content-Length': String(body.length),
      });
      conn.write(body);
      const res = await conn.answer();
      assert.equal(res?.status, 413);
      await nextRequestAnswered(conn);
    } finally {
      conn.destroy();
    }
  });
});

describe('a body longer than is worth reading', () => {
  test(`declared longer than ${drainLimit / 1024 / 1024} MiB: the answer says Connection: close and the connection ends`, async () => {
    const conn = await RawConnection.open(server);
    try {
      conn.head('PUT', '/v2/library/unread/manifests/v3', {
        Authorization: server.admin.authorization,
        'Content-Type': manifestType,
        'Content-Length': String(drainLimit * 4),
      });
      conn.write(Buffer.alloc(1024 * 1024, 'e'));
      const res = await conn.answer();
      assert.equal(res?.status, 413);
      assert.equal(res?.headers.connection, 'close');
      await conn.ended();
    } finally {
      conn.destroy();
    }
  });

  test('a chunked body that runs past the limit after the answer: the connection ends instead of hanging', async () => {
    const conn = await RawConnection.open(server);
    try {
      conn.head('PUT', '/v2/library/unread/manifests/v4', {
        Authorization: server.admin.authorization,
        'Content-Type': manifestType,
        'Transfer-Encoding': 'chunked',
      });
      chunkedBody(conn, limit + drainLimit + 2 * 1024 * 1024);
      const res = await conn.answer();
      assert.equal(res?.status, 413);
      await conn.ended();
    } finally {
      conn.destroy();
    }
  });
});
