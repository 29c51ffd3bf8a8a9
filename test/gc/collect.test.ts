import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { api } from '../helpers/api.js';
import { types } from '../helpers/oci.js';
import { V2, digestOf } from '../helpers/v2.js';
import { assertPullable, assertQuotaExact, blobRows, eachBackend, linkCount, pushImage, runGc, type PushedImage } from './helpers.js';

// GC frees exactly what deleted artifacts held, on both backends, with the time window at
// 0 so that everything unreferenced is collectable at once.
eachBackend(
  'garbage collection frees what deleted artifacts held',
  { 'gc.time_window_hours': 0, 'jobs.poll_interval_ms': 20 },
  (backend) => {
    const layer = (name: string) => Buffer.concat([Buffer.from(`${name} `), randomBytes(2000 + Math.floor(Math.random() * 1000))]);
    const shared = layer('shared');
    let a: PushedImage;
    let b: PushedImage;
    let c: PushedImage;
    let orphan: { digest: string; data: Buffer };
    const sizeOf = (...blobs: Array<{ data: Buffer }>) => blobs.reduce((n, x) => n + x.data.length, 0);

    test('a dry run reports the blobs and bytes a deleted artifact and an unused upload leave, and changes nothing', async () => {
      const { server, objects } = backend();
      a = await pushImage(server, 'library/gc-one', 'a', [layer('a only'), shared]);
      b = await pushImage(server, 'library/gc-one', 'b', [layer('b only'), shared]);
      c = await pushImage(server, 'library/gc-two', 'c', [shared, layer('c only')]);
      const data = layer('uploaded, never used');
      orphan = { digest: await new V2(server).pushBlob('library/gc-one', data), data };
      const del = await new V2(server).call('DELETE', `/v2/library/gc-one/manifests/${a.digest}`);
      assert.equal(del.status, 202, del.text);

      const rowsBefore = await blobRows(server);
      const linksBefore = await linkCount(server);
      const run = await runGc(server, { dry_run: true });
      const garbage = [a.blobs[0], a.blobs[1], orphan];
      assert.equal(run.parameters.dry_run, true);
      assert.equal(run.parameters.purged_blobs, 3, JSON.stringify(run.parameters));
      assert.equal(run.parameters.freed_space, sizeOf(...garbage));
      assert.deepEqual(await blobRows(server), rowsBefore, 'no blob row changed');
      assert.equal(await linkCount(server), linksBefore, 'no link changed');
      for (const g of garbage) assert.ok(await objects.exists(g.digest), `${g.digest} is still stored`);
      const log = await api(server, 'GET', `/system/gc/${run.id}/log`, { auth: server.admin.authorization });
      assert.match(String(log.body), /dry run: would free \d+ bytes/);
    });

    test('a run then frees exactly those: rows and objects gone, the shared layer and every other image kept', async () => {
      const { server, objects } = backend();
      const run = await runGc(server, {});
      const garbage = [a.blobs[0], a.blobs[1], orphan];
      assert.equal(run.status, 'Success');
      assert.equal(run.parameters.purged_blobs, 3, JSON.stringify(run.parameters));
      assert.equal(run.parameters.freed_space, sizeOf(...garbage));
      // The unused upload's link, and the links the deleted image's blobs kept (if its deletion kept them), went first.
      assert.ok(run.parameters.purged_links >= 1, JSON.stringify(run.parameters));
      const rows = await blobRows(server);
      for (const g of garbage) {
        assert.equal(rows.has(g.digest), false, `${g.digest} has no row`);
        assert.equal(await objects.exists(g.digest), false, `${g.digest} is no longer stored`);
      }
      for (const keep of [...b.blobs, ...c.blobs]) assert.ok(await objects.exists(keep.digest), `${keep.digest} is still stored`);
      await assertPullable(server, b);
      await assertPullable(server, c);
      await assertQuotaExact(server);
      // A second run finds nothing.
      const again = await runGc(server, {});
      assert.equal(again.parameters.purged_blobs, 0);
      assert.equal(again.parameters.freed_space, 0);
    });

    test('deleting a repository frees its unshared blobs at the next run', async () => {
      const { server, objects } = backend();
      const res = await api(server, 'DELETE', '/projects/library/repositories/gc-two', { auth: server.admin.authorization });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const run = await runGc(server, {});
      const unshared = [c.blobs[0], c.blobs[2]];
      assert.equal(run.parameters.purged_blobs, 2, JSON.stringify(run.parameters));
      assert.equal(run.parameters.freed_space, sizeOf(...unshared));
      for (const g of unshared) assert.equal(await objects.exists(g.digest), false);
      assert.ok(await objects.exists(digestOf(shared)), 'the layer gc-one still uses stays');
      await assertPullable(server, b);
      await assertQuotaExact(server);
    });

    test('delete_untagged removes untagged artifacts, but not accessories nor an index’s children, and frees their blobs', async () => {
      const { server, objects } = backend();
      const v2 = new V2(server);
      const repo = 'library/gc-three';
      const untagged = await pushImage(server, repo, null, [layer('untagged only')]);
      const tagged = await pushImage(server, repo, 'v1', [layer('tagged')]);
      // A signature-like accessory of the tagged image: untagged itself, but it goes with its subject only.
      const sigConfig = Buffer.from('{}');
      await v2.pushBlob(repo, sigConfig);
      const sigLayer = layer('signature');
      await v2.pushBlob(repo, sigLayer);
      const accessory = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: types.manifest,
          artifactType: 'application/vnd.example.signature',
          config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: digestOf(sigConfig), size: sigConfig.length },
          layers: [{ mediaType: 'application/octet-stream', digest: digestOf(sigLayer), size: sigLayer.length }],
          subject: { mediaType: types.manifest, digest: tagged.digest, size: tagged.manifest.length },
        }),
      );
      const put = await v2.putManifest(repo, digestOf(accessory), accessory, types.manifest);
      assert.equal(put.status, 201, put.text);
      // An index (tagged) and its child (pushed by digest, untagged).
      const child = await pushImage(server, repo, null, [layer('child')]);
      const index = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: types.index,
          manifests: [
            {
              mediaType: types.manifest,
              digest: child.digest,
              size: child.manifest.length,
              platform: { architecture: 'arm64', os: 'linux' },
            },
          ],
        }),
      );
      assert.equal((await v2.putManifest(repo, 'multi', index, types.index)).status, 201);

      const run = await runGc(server, { delete_untagged: true });
      assert.equal(run.parameters.purged_manifests, 1, JSON.stringify(run.parameters));
      assert.equal(run.parameters.purged_blobs, 2, 'the untagged image’s config and layer');
      assert.equal(run.parameters.freed_space, sizeOf(...untagged.blobs));
      for (const g of untagged.blobs) assert.equal(await objects.exists(g.digest), false);
      const gone = await v2.call('GET', `/v2/${repo}/manifests/${untagged.digest}`, { headers: { accept: types.manifest } });
      assert.equal(gone.status, 404);
      await assertPullable(server, tagged);
      await assertPullable(server, child);
      const sig = await v2.call('GET', `/v2/${repo}/manifests/${digestOf(accessory)}`, { headers: { accept: types.manifest } });
      assert.equal(sig.status, 200, 'the accessory stays with its tagged subject');
      await assertQuotaExact(server);
      assert.ok(await objects.exists(digestOf(sigLayer)));
      const audit = await api(server, 'GET', `/audit-logs?q=${encodeURIComponent(`resource=${repo}@${untagged.digest}`)}`, {
        auth: server.admin.authorization,
      });
      assert.equal(audit.status, 200);
      assert.ok(
        (audit.body as Array<{ operation: string }>).some((e) => e.operation === 'delete'),
        `the deletion is audited: ${JSON.stringify(audit.body)}`,
      );
    });

    test('an object stored without a row (a publish whose transaction failed) is found by listing the store and deleted', async () => {
      const { server, objects } = backend();
      const data = randomBytes(1234);
      const orphan = await objects.put(data);
      // Earlier runs listed the store already today: a run lists it again only when asked.
      const unasked = await runGc(server, {});
      assert.equal(unasked.parameters.store_listed, false);
      assert.equal(unasked.parameters.purged_orphans, 0);
      const dry = await runGc(server, { dry_run: true, scan_orphans: true });
      assert.equal(dry.parameters.purged_orphans, 1, JSON.stringify(dry.parameters));
      assert.equal(dry.parameters.freed_space, data.length);
      assert.ok(await objects.exists(orphan), 'a dry run deletes nothing');
      const run = await runGc(server, { scan_orphans: true });
      assert.equal(run.parameters.store_listed, true);
      assert.equal(run.parameters.purged_orphans, 1, JSON.stringify(run.parameters));
      assert.equal(run.parameters.freed_space, data.length);
      assert.equal(await objects.exists(orphan), false);
      for (const keep of b.blobs) assert.ok(await objects.exists(keep.digest), 'objects with rows stay');
    });

    test('remove_empty_repositories removes a repository left with no artifact, and only such', async () => {
      const { server } = backend();
      const v2 = new V2(server);
      const emptied = await pushImage(server, 'library/gc-emptied', 'x', [layer('emptied')]);
      assert.equal((await v2.call('DELETE', `/v2/library/gc-emptied/manifests/${emptied.digest}`)).status, 202);
      const listed = await api(server, 'GET', '/projects/library/repositories/gc-emptied', { auth: server.admin.authorization });
      assert.equal(listed.status, 200, 'an emptied repository stays until GC removes it');

      const dry = await runGc(server, { remove_empty_repositories: true, dry_run: true });
      assert.equal(dry.parameters.removed_repositories, 1, JSON.stringify(dry.parameters));
      assert.equal(
        (await api(server, 'GET', '/projects/library/repositories/gc-emptied', { auth: server.admin.authorization })).status,
        200,
      );

      const run = await runGc(server, { remove_empty_repositories: true });
      assert.equal(run.parameters.removed_repositories, 1, JSON.stringify(run.parameters));
      const after = await api(server, 'GET', '/projects/library/repositories/gc-emptied', { auth: server.admin.authorization });
      assert.equal(after.status, 404);
      await assertPullable(server, b);
      const kept = await api(server, 'GET', '/projects/library/repositories/gc-one', { auth: server.admin.authorization });
      assert.equal(kept.status, 200, 'a repository with artifacts stays');
    });
  },
);
