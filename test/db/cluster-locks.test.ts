import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import { ClusterLockClient, ClusterLockServer } from '../../src/db/cluster-locks.js';

const d1 = `sha256:${'1'.repeat(64)}`;
const d2 = `sha256:${'2'.repeat(64)}`;
const tick = () => new Promise((resolve) => setTimeout(resolve, 20));

/**
 * A worker and the primary joined as the cluster joins them: what one side sends arrives
 * as a 'message' on the other, asynchronously, after a structured clone.
 */
function connectedWorker(server: ClusterLockServer) {
  const workerSide = new EventEmitter();
  const primarySide = new EventEmitter();
  let connected = true;
  const deliver = (to: EventEmitter, message: unknown) => setImmediate(() => to.emit('message', structuredClone(message)));
  const channel = Object.assign(workerSide, { send: (message: unknown) => (deliver(primarySide, message), true) });
  const worker = Object.assign(primarySide, {
    send: (message: unknown) => (deliver(workerSide, message), true),
    isConnected: () => connected,
  });
  server.serve(worker as never);
  return {
    client: new ClusterLockClient(channel),
    /** The worker's process ends (kill -9): the primary sees 'exit'. */
    die() {
      connected = false;
      primarySide.emit('exit', null, 'SIGKILL');
    },
  };
}

test('two workers: an exclusive lock keeps the other worker out of that digest only, until released', async () => {
  const server = new ClusterLockServer();
  const a = connectedWorker(server);
  const b = connectedWorker(server);
  const events: string[] = [];
  const releaseSweep = await a.client.acquire([d1, d2], 'exclusive');
  const pushing = b.client.acquire([d2], 'shared').then((release) => {
    events.push('push');
    return release;
  });
  const other = await b.client.acquire([`sha256:${'3'.repeat(64)}`], 'shared');
  events.push('other');
  await tick();
  assert.deepEqual(events, ['other'], 'the push waits for the sweep; another digest does not');
  releaseSweep();
  const releasePush = await pushing;
  assert.deepEqual(events, ['other', 'push']);
  releasePush();
  other();
  await tick();
  assert.equal(server.size, 0, 'nothing held or waited for');
});

test('shared locks are held by both workers at once; releasing twice gives back once', async () => {
  const server = new ClusterLockServer();
  const a = connectedWorker(server);
  const b = connectedWorker(server);
  const [ra, rb] = await Promise.all([a.client.acquire([d1], 'shared'), b.client.acquire([d1], 'shared')]);
  const sweep = a.client.acquire([d1], 'exclusive');
  let swept = false;
  void sweep.then(() => (swept = true));
  ra();
  ra();
  await tick();
  assert.equal(swept, false, "a second release of a's lock did not give back b's");
  rb();
  (await sweep)();
  await tick();
  assert.equal(server.size, 0);
});

test('a worker that dies holding locks, or waiting for one, leaves nothing locked', async () => {
  const server = new ClusterLockServer();
  const dying = connectedWorker(server);
  const living = connectedWorker(server);
  await dying.client.acquire([d1], 'exclusive');
  const blocker = await living.client.acquire([d2], 'exclusive');
  // Waits behind the living worker's lock; granted only after the dying worker is gone.
  void dying.client.acquire([d2], 'shared');
  await tick();
  dying.die();
  const after = await living.client.acquire([d1], 'exclusive');
  blocker();
  await tick();
  after();
  await tick();
  assert.equal(server.size, 0, 'the dead worker holds nothing, not even what was granted after it died');
});

test('outside a cluster worker there is no channel: acquiring fails in words', async () => {
  const client = new ClusterLockClient(new EventEmitter());
  await assert.rejects(client.acquire([d1], 'shared'), /not a cluster worker/);
});
