import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { types } from '../helpers/oci.js';
import type { TestServer } from '../helpers/server.js';
import { V2, digestOf } from '../helpers/v2.js';
import { assertPullable, assertQuotaExact, blobRows, eachBackend, startGc, waitForRun } from './helpers.js';

// GC in a loop with the time window at 0 (no safety from time at all) while several clients
// push images that share layers (skipping layers a HEAD says are there, mounting others from
// a base repository) and delete some of them. Afterwards every manifest acknowledged with 201
// and not deleted pulls whole, every blob verified by hashing, and the store holds nothing
// else. Bounded in count (clients × images) and in time (the suite's deadline).

const clients = 5;
const imagesPerClient = 24;
const deleteEvery = 3;
const attempts = 12;
const deadlineMs = 240_000;
/**
 * Between two GC runs. With the window at 0 a run removes the link of every blob no manifest
 * names yet, so a push whose blob uploads and manifest PUT straddle a run's link removal fails
 * (MANIFEST_BLOB_UNKNOWN, and is pushed again: no time protects it). Back-to-back runs would
 * fail nearly every push of new layers, so the runs leave gaps about as long as a push.
 */
const pauseMs = () => 300 + Math.floor(Math.random() * 900);

interface Image {
  repo: string;
  tag: string;
  digest: string;
  blobs: string[];
}

interface Stats {
  acknowledged: number;
  deleted: number;
  /** Pushes that failed part-way (GC removed something between a check and the manifest PUT) and were pushed again. */
  retried: number;
  gcRuns: number;
  sweptBlobs: number;
  removedLinks: number;
  keptBlobs: number;
  errors: string[];
}

/** One image push as docker does it: HEAD each blob, mount it from the base repository or upload it, then PUT the manifest. */
async function pushOnce(
  server: TestServer,
  repo: string,
  tag: string,
  blobs: Buffer[],
  base: string,
): Promise<{ status: number; text: string; digest: string }> {
  const v2 = new V2(server);
  for (const data of blobs) {
    const digest = digestOf(data);
    const head = await v2.call('HEAD', `/v2/${repo}/blobs/${digest}`);
    if (head.status === 200) continue;
    const mount = await v2.call('POST', `/v2/${repo}/blobs/uploads/?mount=${digest}&from=${base}`, { headers: { 'content-length': '0' } });
    if (mount.status === 201) continue;
    // Not mountable (the base does not hold it, or no more): upload it into the session the mount opened.
    assert.equal(mount.status, 202, mount.text);
    const location = mount.headers.get('location')!;
    const put = await v2.call('PUT', `${location}${location.includes('?') ? '&' : '?'}digest=${digest}`, {
      headers: { 'content-type': 'application/octet-stream' },
      body: data,
    });
    if (put.status !== 201) return { status: put.status, text: put.text, digest };
  }
  const [config, ...layers] = blobs;
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: types.manifest,
      config: { mediaType: types.config, digest: digestOf(config), size: config.length },
      layers: layers.map((l) => ({ mediaType: types.layer, digest: digestOf(l), size: l.length })),
    }),
  );
  const res = await v2.putManifest(repo, tag, manifest, types.manifest);
  return { status: res.status, text: res.text, digest: digestOf(manifest) };
}

eachBackend('GC under concurrent pushes and deletes', { 'gc.time_window_hours': 0, 'jobs.poll_interval_ms': 20 }, (backend) => {
  test(
    'every manifest acknowledged and not deleted is fully pullable, and the store holds exactly what they use',
    { timeout: deadlineMs + 60_000 },
    async (t) => {
      const { server, objects } = backend();
      const started = Date.now();
      const v2 = new V2(server);
      const base = 'library/stress-base';
      const shared = Array.from({ length: 6 }, (_, i) => Buffer.concat([Buffer.from(`shared layer ${i} `), randomBytes(1500 + i * 700)]));
      // The base image holds half of the shared layers, so the others' pushes mount them from it.
      const baseConfig = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', base: true }));
      const baseImage = await pushOnce(server, base, 'latest', [baseConfig, ...shared.slice(0, 3)], base);
      assert.equal(baseImage.status, 201, baseImage.text);

      const live = new Map<string, Image>();
      live.set(`${base}@${baseImage.digest}`, {
        repo: base,
        tag: 'latest',
        digest: baseImage.digest,
        blobs: [baseConfig, ...shared.slice(0, 3)].map((b) => digestOf(b)),
      });
      const stats: Stats = { acknowledged: 0, deleted: 0, retried: 0, gcRuns: 0, sweptBlobs: 0, removedLinks: 0, keptBlobs: 0, errors: [] };
      let pushing = true;

      const gcLoop = (async () => {
        let n = 0;
        while (pushing && Date.now() - started < deadlineMs) {
          // delete_untagged too: nothing these clients push is untagged, so it must delete nothing.
          const run = await waitForRun(server, await startGc(server, { delete_untagged: n % 2 === 0, workers: 1 + (n % 3) }), deadlineMs);
          n += 1;
          stats.gcRuns += 1;
          await new Promise((resolve) => setTimeout(resolve, pauseMs()));
          if (run.status !== 'Success') stats.errors.push(`GC ${run.id} ended ${run.status}`);
          stats.sweptBlobs += run.parameters.purged_blobs;
          stats.removedLinks += run.parameters.purged_links;
          stats.keptBlobs += run.parameters.kept_blobs;
          if (run.parameters.purged_manifests !== 0)
            stats.errors.push(`GC ${run.id} deleted ${run.parameters.purged_manifests} artifact(s), none was untagged`);
        }
      })();

      const client = async (c: number) => {
        const repo = `library/stress-${c % 2}`;
        const mine: Image[] = [];
        for (let i = 0; i < imagesPerClient && Date.now() - started < deadlineMs; i++) {
          const tag = `c${c}-${i}`;
          const picked = shared.filter((_, k) => (k + i + c) % 3 === 0);
          const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', client: c, image: i }));
          const blobs = [config, ...picked, Buffer.concat([Buffer.from(`unique ${c}/${i} `), randomBytes(800)])];
          let pushed: Awaited<ReturnType<typeof pushOnce>> | undefined;
          for (let attempt = 1; attempt <= attempts; attempt++) {
            pushed = await pushOnce(server, repo, tag, blobs, base);
            if (pushed.status === 201) break;
            // A race with GC is a failed push, never a lost one: the client pushes again.
            assert.ok([404, 400].includes(pushed.status), `unexpected answer ${pushed.status}: ${pushed.text}`);
            stats.retried += 1;
          }
          if (pushed?.status !== 201) {
            stats.errors.push(`${repo}:${tag} failed ${attempts} times: ${pushed?.status} ${pushed?.text}`);
            continue;
          }
          const image = { repo, tag, digest: pushed.digest, blobs: blobs.map((b) => digestOf(b)) };
          stats.acknowledged += 1;
          live.set(`${repo}@${image.digest}`, image);
          mine.push(image);
          if (i % deleteEvery === deleteEvery - 1) {
            const victim = mine.splice(Math.floor(Math.random() * mine.length), 1)[0];
            const del = await v2.call('DELETE', `/v2/${victim.repo}/manifests/${victim.digest}`);
            assert.equal(del.status, 202, del.text);
            live.delete(`${victim.repo}@${victim.digest}`);
            stats.deleted += 1;
          }
        }
      };
      try {
        await Promise.all(Array.from({ length: clients }, (_, c) => client(c)));
      } finally {
        pushing = false;
        await gcLoop;
      }
      // One last run with nothing going on: afterwards only what live images use is stored.
      const last = await waitForRun(server, await startGc(server, {}));
      assert.equal(last.status, 'Success');
      t.diagnostic(
        `${backend().name}: ${stats.acknowledged} pushes acknowledged, ${stats.deleted} deleted, ${stats.retried} pushed again after a race, ` +
          `${stats.gcRuns} GC runs swept ${stats.sweptBlobs} blobs and removed ${stats.removedLinks} links (${stats.keptBlobs} marked blobs found in use again), ` +
          `${Math.round((Date.now() - started) / 1000)} s`,
      );
      assert.deepEqual(stats.errors, []);
      assert.equal(stats.acknowledged, clients * imagesPerClient, 'every push got through (after retries), within the deadline');
      assert.ok(stats.gcRuns >= 2, 'GC ran while the clients pushed');
      assert.ok(stats.sweptBlobs > 0, 'GC swept blobs while the clients pushed');

      for (const image of live.values()) await assertPullable(server, image);
      const used = new Set([...live.values()].flatMap((i) => i.blobs));
      const stored = await blobRows(server);
      assert.deepEqual(
        [...stored].filter((d) => !used.has(d)),
        [],
        'no garbage left after the last run',
      );
      assert.deepEqual(
        [...used].filter((d) => !stored.has(d)),
        [],
        'every blob a live image uses has its row',
      );
      for (const d of used) assert.ok(await objects.exists(d), `${d} is stored`);
      await assertQuotaExact(server);
    },
  );
});
