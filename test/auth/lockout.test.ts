import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { createUser } from '../helpers/api.js';
import { basicAuth, startServer, type TestServer } from '../helpers/server.js';

/**
 * Lock-out as a hostile client sees it: bursts of guesses pipelined on ONE keep-alive
 * connection (every request written before the first answer is read), with the right
 * password behind the wrong ones, on each login path: /v2 Basic, /service/token, /c/login.
 */
let server: TestServer;
before(async () => {
  server = await startServer();
  for (const name of ['vera', 'tom', 'lena', 'carl']) await createUser(server, name, 'Right12345');
});
after(async () => {
  await server.stop();
});

interface RawResponse {
  status: number;
  body: string;
}

/** Writes every request at once on one socket and reads the answers in order. */
async function pipelined(requests: string[]): Promise<RawResponse[]> {
  const { port } = new URL(server.url);
  const socket = net.connect(Number(port), '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.write(requests.join(''));
  let buffer = Buffer.alloc(0);
  const responses: RawResponse[] = [];
  return new Promise((resolve, reject) => {
    const parse = () => {
      for (;;) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buffer.subarray(0, end).toString('latin1');
        const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]);
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (/\r\ntransfer-encoding: *chunked/i.test(head)) return reject(new Error('chunked answers are not expected here'));
        if (buffer.length < end + 4 + length) return;
        responses.push({ status, body: buffer.subarray(end + 4, end + 4 + length).toString('utf8') });
        buffer = buffer.subarray(end + 4 + length);
        if (responses.length === requests.length) {
          socket.destroy();
          return resolve(responses);
        }
      }
    };
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      parse();
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`the connection closed after ${responses.length} of ${requests.length} answers`)));
  });
}

function get(path: string, authorization: string): string {
  return `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${authorization}\r\n\r\n`;
}

function formLogin(principal: string, password: string): string {
  const body = new URLSearchParams({ principal, password }).toString();
  return `POST /c/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

const wrongs = Array.from({ length: 12 }, (_, i) => `Wrong${i}pass`);

function assertAllRefused(responses: RawResponse[], where: string): void {
  assert.deepEqual(
    responses.map((r) => r.status),
    responses.map(() => 401),
    `${where}: every answer of the burst is 401: ${responses.map((r) => `${r.status} ${r.body}`).join('\n')}`,
  );
  assert.match(responses.at(-1)!.body, /too many failed logins/, `${where}: the right password behind the burst is refused as locked`);
}

test('/v2 Basic: wrong passwords then the right one, pipelined on one connection, are all refused, and so is the right one after', async () => {
  const burst = [...wrongs, 'Right12345'].map((p) => get('/v2/', basicAuth('vera', p)));
  assertAllRefused(await pipelined(burst), '/v2');
  const after = await fetch(`${server.url}/v2/`, { headers: { authorization: basicAuth('vera', 'Right12345') } });
  assert.equal(after.status, 401);
  assert.match(JSON.stringify(await after.json()), /too many failed logins/);
});

test('/service/token: the same through the token service', async () => {
  const burst = [...wrongs, 'Right12345'].map((p) => get('/service/token?service=harbor-registry&scope=repository:library/x:pull', basicAuth('tom', p)));
  assertAllRefused(await pipelined(burst), '/service/token');
  const after = await fetch(`${server.url}/service/token?service=harbor-registry`, { headers: { authorization: basicAuth('tom', 'Right12345') } });
  assert.equal(after.status, 401);
});

test('/c/login: the same through the portal login', async () => {
  const burst = [...wrongs, 'Right12345'].map((p) => formLogin('lena', p));
  const responses = await pipelined(burst);
  assertAllRefused(responses, '/c/login');
  const after = await pipelined([formLogin('lena', 'Right12345')]);
  assert.equal(after[0].status, 401);
  assert.match(after[0].body, /too many failed logins/);
});

test('credentials verified just before the burst stay refused while the name is locked', async () => {
  const me = await fetch(`${server.url}/api/v2.0/users/current`, { headers: { authorization: basicAuth('carl', 'Right12345') } });
  assert.equal(me.status, 200, 'the right password works (and is now remembered for 10 s)');
  const burst = [...wrongs, 'Right12345'].map((p) => get('/api/v2.0/users/current', basicAuth('carl', p)));
  assertAllRefused(await pipelined(burst), 'remembered credentials');
  const again = await fetch(`${server.url}/api/v2.0/users/current`, { headers: { authorization: basicAuth('carl', 'Right12345') } });
  assert.equal(again.status, 401);
  // Other names are not affected.
  const other = await fetch(`${server.url}/api/v2.0/users/current`, { headers: server.admin });
  assert.equal(other.status, 200);
});
