import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startChildBerth, type ChildBerth } from '../helpers/child-berth.js';
import { testPostgresServer } from '../helpers/database.js';
import { requirePrivatePostgres, startPrivatePostgres, type PrivatePostgres } from '../helpers/private-postgres.js';
import { assertReadable, assertRetryable, makeImage, runGc, tryPush, type PushedImage, type Refusal } from './common.js';

// PostgreSQL restarted under a running Berth (its own cluster: the machine's shared server
// is never restarted). Runs in the PostgreSQL pass of the suite (BERTH_TEST_DATABASE_URL set).
const skip = testPostgresServer() === undefined ? 'runs in the PostgreSQL pass (BERTH_TEST_DATABASE_URL)' : requirePrivatePostgres();

let cluster: PrivatePostgres;
let dataDir: string;
let berth: ChildBerth;

describe('PostgreSQL restarted under a running Berth', { skip, timeout: 240_000 }, () => {
  before(async () => {
    cluster = await startPrivatePostgres();
    dataDir = await mkdtemp(path.join(tmpdir(), 'berth-faults-pg-'));
    berth = await startChildBerth(dataDir, {
      database: { url: cluster.url, max_connections: 5 },
      jobs: { concurrency: 2, poll_interval_ms: 100, lease_seconds: 4 },
    });
  });

  after(async () => {
    await berth?.stop();
    await cluster?.destroy();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  test('pushes during two restarts: refusals are 503 UNAVAILABLE with Retry-After, every 201 stays readable, retries complete, the same process serves on', async () => {
    const pushed: PushedImage[] = [];
    const refusals: Refusal[] = [];
    let stop = false;
    const pusher = (async () => {
      for (let i = 0; !stop && i < 400; i++) {
        const image = makeImage(`library/restart${i % 3}`, `v${i}`);
        // The same push is retried until it completes, as a client does with a retryable answer.
        for (let attempt = 0; ; attempt++) {
          const refused = await tryPush(berth.url, image, berth.admin);
          if (!refused) {
            pushed.push(image);
            break;
          }
          refusals.push(refused);
          assert.equal(berth.process.exitCode, null, `Berth died:\n${berth.output.join('').slice(-4000)}`);
          assert.ok(attempt < 200, `push ${i} never completed; last: ${JSON.stringify(refused)}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    })();
    const pushedBy = async (n: number) => {
      const deadline = Date.now() + 60_000;
      while (pushed.length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    };
    await pushedBy(5);
    await cluster.restart('fast');
    await pushedBy(pushed.length + 5);
    // A crash of the database server: no checkpoint, sessions cut mid-transaction.
    await cluster.stop('immediate');
    await new Promise((r) => setTimeout(r, 1500));
    await cluster.start();
    await pushedBy(pushed.length + 5);
    stop = true;
    await pusher;

    assert.equal(berth.process.exitCode, null, `Berth kept running:\n${berth.output.join('')}`);
    assert.ok(refusals.length > 0, 'the restarts were seen by the client');
    for (const refusal of refusals) assertRetryable(refusal);
    for (const image of pushed) await assertReadable(berth.url, image, berth.admin);
  });

  test('after the restarts, jobs run again on the same process (GC to success)', async () => {
    const run = await runGc(berth.url, berth.admin.authorization);
    assert.equal(run.status, 'Success');
  });
});
