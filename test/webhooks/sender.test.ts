import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { closeDeliveryConnections, sendDelivery } from '../../src/webhooks/sender.js';
import { requireTools } from '../helpers/tools.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';
import { selfSignedCertificateDir } from '../helpers/self-signed.js';

const body = JSON.stringify({ type: 'PUSH_ARTIFACT', note: 'ünïcode "quoted"' });
const headers = { 'Content-Type': 'application/json', 'X-Berth-Delivery-Id': 'delivery-1' };

describe('sendDelivery to a real receiver', () => {
  let receiver: WebhookReceiver;
  before(async () => {
    receiver = await startWebhookReceiver();
  });
  after(async () => {
    await receiver.close();
  });

  test('a 2xx answer is a success; the body, headers and auth header arrive exactly', async () => {
    receiver.status = 202;
    receiver.answer = 'accepted';
    const outcome = await sendDelivery({
      address: `${receiver.url}/hook?x=1`,
      body,
      headers,
      authHeader: 'Bearer s3cret',
      skipCertVerify: false,
      timeoutMs: 5000,
    });
    assert.equal(outcome.ok, true);
    assert.equal(outcome.statusCode, 202);
    assert.equal(outcome.response, 'accepted');
    assert.ok(outcome.durationMs >= 0);
    const [got] = receiver.received.splice(0);
    assert.equal(got.method, 'POST');
    assert.equal(got.path, '/hook?x=1');
    assert.equal(got.body, body);
    assert.equal(got.headers['content-type'], 'application/json');
    assert.equal(got.headers['x-berth-delivery-id'], 'delivery-1');
    assert.equal(got.headers.authorization, 'Bearer s3cret');
    assert.equal(got.headers['content-length'], String(Buffer.byteLength(body)));
  });

  test('without an auth header no Authorization is sent', async () => {
    receiver.status = 200;
    await sendDelivery({ address: receiver.url, body, headers, skipCertVerify: false, timeoutMs: 5000 });
    assert.equal(receiver.received.splice(0)[0].headers.authorization, undefined);
  });

  test('a non-2xx answer fails with its status and the first KiB of its body', async () => {
    receiver.status = 500;
    receiver.answer = 'x'.repeat(5000);
    const outcome = await sendDelivery({ address: receiver.url, body, headers, skipCertVerify: false, timeoutMs: 5000 });
    assert.deepEqual(
      { ok: outcome.ok, statusCode: outcome.statusCode, response: outcome.response },
      { ok: false, statusCode: 500, response: 'x'.repeat(1024) },
    );
    receiver.received.splice(0);
  });

  test('a large answer is cut off and the next delivery still goes through', async () => {
    receiver.status = 200;
    receiver.answer = 'y'.repeat(300 * 1024);
    const big = await sendDelivery({ address: receiver.url, body, headers, skipCertVerify: false, timeoutMs: 5000 });
    assert.equal(big.ok, true);
    assert.equal(big.response.length, 1024);
    receiver.answer = 'ok';
    const next = await sendDelivery({ address: receiver.url, body, headers, skipCertVerify: false, timeoutMs: 5000 });
    assert.deepEqual([next.ok, next.response], [true, 'ok']);
    receiver.received.splice(0);
  });

  test('a redirect is not followed: the receiver did not take the event', async () => {
    receiver.status = 302;
    receiver.answer = '';
    const outcome = await sendDelivery({ address: receiver.url, body, headers, skipCertVerify: false, timeoutMs: 5000 });
    assert.deepEqual([outcome.ok, outcome.statusCode], [false, 302]);
    assert.equal(receiver.received.splice(0).length, 1);
    receiver.status = 200;
  });

  test('a receiver that does not answer in time: status 0 and the timeout in words', async () => {
    receiver.hold = true;
    const outcome = await sendDelivery({ address: receiver.url, body, headers, skipCertVerify: false, timeoutMs: 300 });
    assert.deepEqual(outcome, { ok: false, statusCode: 0, durationMs: outcome.durationMs, response: 'no answer within 300 ms' });
    receiver.hold = false;
    receiver.release();
    receiver.received.splice(0);
  });

  test('many deliveries at once all arrive', async () => {
    receiver.status = 200;
    const outcomes = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        sendDelivery({ address: receiver.url, body: `{"n":${i}}`, headers, skipCertVerify: false, timeoutMs: 5000 }),
      ),
    );
    assert.ok(outcomes.every((o) => o.ok));
    assert.deepEqual(
      receiver.received
        .splice(0)
        .map((r) => JSON.parse(r.body).n)
        .sort((a, b) => a - b),
      Array.from({ length: 40 }, (_, i) => i),
    );
  });
});

describe('sendDelivery over a kept-alive connection the receiver dropped', () => {
  test('the request is sent again once on a new connection', async () => {
    // A raw receiver: its first connection answers one request and is then dropped when the
    // next request arrives on it (a keep-alive connection the receiver had given up on).
    let connections = 0;
    let dropped = false;
    const bodies: string[] = [];
    const server = net.createServer((socket) => {
      const index = ++connections;
      let answered = 0;
      let buffered = '';
      socket.on('data', (chunk) => {
        buffered += chunk.toString();
        const end = buffered.indexOf('\r\n\r\n');
        if (end < 0) return;
        const length = Number(/content-length: (\d+)/i.exec(buffered.slice(0, end))?.[1] ?? 0);
        if (buffered.length < end + 4 + length) return;
        const requestBody = buffered.slice(end + 4, end + 4 + length);
        buffered = buffered.slice(end + 4 + length);
        if (index === 1 && answered === 1) {
          dropped = true;
          socket.destroy();
          return;
        }
        answered++;
        bodies.push(requestBody);
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    try {
      const first = await sendDelivery({ address, body: '{"n":1}', headers, skipCertVerify: false, timeoutMs: 5000 });
      assert.equal(first.ok, true);
      const second = await sendDelivery({ address, body: '{"n":2}', headers, skipCertVerify: false, timeoutMs: 5000 });
      assert.deepEqual([second.ok, second.statusCode, second.response], [true, 200, 'ok']);
      assert.equal(dropped, true, 'the second request went out on the kept-alive connection first');
      assert.equal(connections, 2, 'and again on a new connection');
      assert.deepEqual(bodies, ['{"n":1}', '{"n":2}']);
    } finally {
      closeDeliveryConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('sendDelivery when nothing answers', () => {
  test('a closed port: status 0, connection refused, no exception', async () => {
    const gone = await startWebhookReceiver();
    await gone.close();
    const outcome = await sendDelivery({ address: gone.url, body, headers, skipCertVerify: false, timeoutMs: 5000 });
    assert.deepEqual([outcome.ok, outcome.statusCode, outcome.response], [false, 0, `connection refused by 127.0.0.1:${gone.port}`]);
  });

  test('an address that is not a URL, or not http(s): status 0 and why', async () => {
    const bad = await sendDelivery({ address: 'not a url', body, headers, skipCertVerify: false, timeoutMs: 5000 });
    assert.deepEqual([bad.ok, bad.statusCode, bad.response], [false, 0, 'invalid address "not a url"']);
    const ftp = await sendDelivery({ address: 'ftp://127.0.0.1/x', body, headers, skipCertVerify: false, timeoutMs: 5000 });
    assert.deepEqual([ftp.ok, ftp.statusCode, ftp.response], [false, 0, 'unsupported address scheme "ftp:" (http or https)']);
  });

  test('a host that does not resolve: status 0', async () => {
    const outcome = await sendDelivery({
      address: 'http://no-such-host.invalid/hook',
      body,
      headers,
      skipCertVerify: false,
      timeoutMs: 5000,
    });
    assert.deepEqual([outcome.ok, outcome.statusCode], [false, 0]);
    assert.match(outcome.response, /no-such-host\.invalid/);
  });
});

describe('sendDelivery over TLS with a self-signed certificate', { skip: requireTools('openssl') }, () => {
  let receiver: WebhookReceiver;
  let dir: string;
  before(async () => {
    dir = await selfSignedCertificateDir('berth-webhook-tls-');
    receiver = await startWebhookReceiver({
      tls: { key: await readFile(path.join(dir, 'key.pem')), cert: await readFile(path.join(dir, 'cert.pem')) },
    });
  });
  after(async () => {
    await receiver?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('the certificate is verified unless skip_cert_verify says not to', async () => {
    const strict = await sendDelivery({ address: receiver.url, body, headers, skipCertVerify: false, timeoutMs: 5000 });
    assert.deepEqual([strict.ok, strict.statusCode], [false, 0]);
    assert.match(strict.response, /self[- ]signed certificate/);
    assert.equal(receiver.received.length, 0);
    const lenient = await sendDelivery({ address: receiver.url, body, headers, skipCertVerify: true, timeoutMs: 5000 });
    assert.deepEqual([lenient.ok, lenient.statusCode], [true, 200]);
    assert.equal(receiver.received[0].body, body);
  });
});
