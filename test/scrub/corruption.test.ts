import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFile, rm, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { createDatabaseOn, probePostgres, type TestDatabase } from '../helpers/database.js';
import { pushBlob, pushImage, pushManifest, types } from '../helpers/oci.js';
import { startS3, type TestS3 } from '../helpers/s3.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { assertOciError, V2 } from '../helpers/v2.js';
import { postgresServer } from '../jobs/databases.js';
import { scrub } from './helpers.js';

/** How a backend's stored objects are damaged from outside Berth, as a failing disk or a bad copy would. */
interface Backend {
  server: TestServer;
  read(digest: string): Promise<Buffer>;
  write(digest: string, bytes: Buffer): Promise<void>;
  remove(digest: string): Promise<void>;
  stop(): Promise<void>;
}

function hexPath(digest: string): string {
  const hex = digest.slice('sha256:'.length);
  return `blobs/sha256/${hex.slice(0, 2)}/${hex}`;
}

async function filesystemBackend(): Promise<Backend> {
  const server = await startServer({ yaml: { 'jobs.poll_interval_ms': 20 } });
  const file = (digest: string) => path.join(server.berth.paths.storageRoot, hexPath(digest));
  return {
    server,
    read: (digest) => readFile(file(digest)),
    write: (digest, bytes) => writeFile(file(digest), bytes),
    remove: (digest) => rm(file(digest)),
    stop: () => server.stop(),
  };
}

const postgresProblem = (await probePostgres(postgresServer)) ?? undefined;

async function bucketBackend(): Promise<Backend> {
  if (postgresProblem) throw new Error(`${postgresProblem}, and CI=true requires it`);
  const s3: TestS3 = await startS3();
  const bucket = await s3.createBucket();
  const database: TestDatabase = await createDatabaseOn(postgresServer);
  const server = await startServer({
    yaml: { 'database.url': database.url, 'jobs.poll_interval_ms': 20, ...s3.berthStorage(bucket, { 'storage.s3.prefix': 'scrubbed/' }) },
  });
  const key = (digest: string) => `scrubbed/${hexPath(digest)}`;
  return {
    server,
    async read(digest) {
      const out = await s3.client.send(new GetObjectCommand({ Bucket: bucket, Key: key(digest) }));
      return Buffer.from(await out.Body!.transformToByteArray());
    },
    async write(digest, bytes) {
      await s3.client.send(new PutObjectCommand({ Bucket: bucket, Key: key(digest), Body: bytes }));
    },
    async remove(digest) {
      await s3.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key(digest) }));
    },
    async stop() {
      await server.stop();
      await database.drop();
      await s3.stop();
    },
  };
}

const backends: Array<[string, () => Promise<Backend>, string | false]> = [
  ['SQLite (or the run’s database) + filesystem', filesystemBackend, false],
  [
    'PostgreSQL + S3 (s3rver)',
    bucketBackend,
    postgresProblem !== undefined && process.env.CI !== 'true' ? `${postgresProblem}: skipped outside CI` : false,
  ],
];

for (const [title, open, skip] of backends) {
  describe(`integrity scrub on ${title}`, { skip }, () => {
    let backend: Backend;
    let server: TestServer;
    let v2: V2;
    // Three images: one will have a flipped byte in its layer, one will lose its config's
    // object, one will have its layer cut short. A fourth stays healthy.
    const layers = [randomBytes(150 * 1024), randomBytes(100 * 1024), randomBytes(50 * 1024)].map((b) => b.toString('hex'));
    let images: Array<Awaited<ReturnType<typeof pushImage>>>;
    let healthy: Awaited<ReturnType<typeof pushImage>>;

    before(async () => {
      backend = await open();
      server = backend.server;
      v2 = new V2(server);
      images = [];
      for (const [i, layer] of layers.entries()) {
        images.push(
          await pushImage(server.url, `library/scrub-${i}`, 'v1', {
            layer,
            headers: server.admin,
            platform: { architecture: `arch${i}`, os: 'linux' },
          }),
        );
      }
      healthy = await pushImage(server.url, 'library/scrub-healthy', 'v1', { headers: server.admin });
    });
    after(async () => {
      await backend?.stop();
    });

    test('a healthy store: every blob and manifest checked, nothing found', async () => {
      const { run, findings } = await scrub(server);
      assert.equal(run.job_name, 'SCRUB');
      assert.equal(run.job_kind, 'MANUAL');
      assert.equal(run.results.blobs_total, 8);
      assert.equal(run.results.blobs_checked, 8);
      assert.equal(run.results.manifests_checked, 4);
      const stored = [...images, healthy].reduce((n, image) => n + image.config.size + image.layer.size, 0);
      assert.equal(run.results.bytes_checked, stored, 'every byte hashed once');
      assert.equal(run.results.problems, 0);
      assert.equal(run.results.quarantined, 0);
      assert.equal(run.results.message, 'no problems found');
      assert.deepEqual(findings, []);
    });

    test('planted damage is found, reported and quarantined; GET answers 404 BLOB_UNKNOWN instead of wrong bytes', async () => {
      const [flipped, lost, cut] = images;
      const original = await backend.read(flipped.layer.digest);
      const damaged = Buffer.from(original);
      damaged[1000] ^= 0x01;
      await backend.write(flipped.layer.digest, damaged);
      await backend.remove(lost.config.digest);
      await backend.write(cut.layer.digest, (await backend.read(cut.layer.digest)).subarray(0, 50_000));

      // A report-only run finds it all and changes nothing: the wrong bytes are still served.
      const report = await scrub(server, { quarantine: false, workers: 2 });
      assert.equal(report.run.results.problems, 3);
      assert.equal(report.run.results.quarantined, 0);
      assert.ok(report.findings.every((f) => !f.quarantined));
      assert.equal((await v2.call('GET', `/v2/library/scrub-0/blobs/${flipped.layer.digest}`)).status, 200);

      const { run, findings } = await scrub(server);
      assert.equal(run.results.digest_mismatches, 1);
      assert.equal(run.results.size_mismatches, 1);
      assert.equal(run.results.missing_objects, 1);
      assert.equal(run.results.quarantined, 3);
      assert.equal(run.results.affected_artifacts, 3);
      assert.equal(run.results.problems, 3);
      assert.match(run.results.message ?? '', /3 problem\(s\) found; 3 blob\(s\) quarantined/);

      const byKind = (kind: string) => findings.filter((f) => f.kind === kind);
      assert.equal(byKind('digest_mismatch').length, 1);
      assert.equal(byKind('digest_mismatch')[0].digest, flipped.layer.digest);
      assert.equal(byKind('digest_mismatch')[0].actual_digest, `sha256:${createHash('sha256').update(damaged).digest('hex')}`);
      assert.equal(byKind('digest_mismatch')[0].quarantined, true);
      assert.deepEqual(
        byKind('size_mismatch').map((f) => [f.digest, f.expected_size, f.actual_size]),
        [[cut.layer.digest, cut.layer.size, 50_000]],
      );
      assert.deepEqual(
        byKind('missing_object').map((f) => f.digest),
        [lost.config.digest],
      );
      assert.deepEqual(
        byKind('affected_artifact')
          .map((f) => f.repository)
          .sort(),
        ['library/scrub-0', 'library/scrub-1', 'library/scrub-2'],
      );

      for (const [repo, digest] of [
        ['library/scrub-0', flipped.layer.digest],
        ['library/scrub-1', lost.config.digest],
        ['library/scrub-2', cut.layer.digest],
      ]) {
        const get = await v2.call('GET', `/v2/${repo}/blobs/${digest}`);
        assertOciError(get, 404, 'BLOB_UNKNOWN', /quarantined/);
        assert.ok(!get.bytes.includes(damaged.subarray(0, 64)), 'no stored byte is sent');
        const head = await v2.call('HEAD', `/v2/${repo}/blobs/${digest}`);
        assert.equal(head.status, 404, 'HEAD says the blob is absent, so a pushing client sends it again');
      }
      // Manifests and the blobs that are fine are served as before.
      const manifest = await v2.call('GET', `/v2/library/scrub-0/manifests/v1`, { headers: { accept: types.manifest } });
      assert.equal(manifest.status, 200);
      assert.equal(manifest.text, flipped.bytes.toString());
      const config = await v2.call('GET', `/v2/library/scrub-0/blobs/${flipped.config.digest}`);
      assert.equal(config.status, 200);
      assert.deepEqual(config.bytes, flipped.config.data);
      const other = await v2.call('GET', `/v2/library/scrub-healthy/blobs/${healthy.layer.digest}`);
      assert.deepEqual(other.bytes, healthy.layer.data);

      // Nor is a quarantined blob a mount source, nor may a new manifest name it.
      const mount = await v2.call('POST', `/v2/library/scrub-other/blobs/uploads/?mount=${flipped.layer.digest}&from=library/scrub-0`);
      assert.equal(mount.status, 202, 'not mounted: the client is given an upload instead');
      const refused = await v2.putManifest(
        'library/scrub-0',
        'v2',
        JSON.stringify({ ...flipped.manifest, annotations: { again: 'yes' } }),
        types.manifest,
      );
      assertOciError(refused, 404, 'MANIFEST_BLOB_UNKNOWN');
    });

    test('a push of the right bytes heals a quarantined blob; the next scrub finds nothing', async () => {
      const [flipped, lost, cut] = images;
      // As a client does after HEAD said 404: upload the blob again (here into another repository of the project).
      await pushBlob(server.url, 'library/scrub-0', flipped.layer.data, server.admin);
      await pushBlob(server.url, 'library/scrub-elsewhere', lost.config.data, server.admin);
      const session = await v2.startUpload('library/scrub-2');
      const chunked = await v2.call('PUT', `${session}${session.includes('?') ? '&' : '?'}digest=${cut.layer.digest}`, {
        headers: { 'content-type': 'application/octet-stream' },
        body: cut.layer.data,
      });
      assert.equal(chunked.status, 201, chunked.text);

      for (const [repo, blob] of [
        ['library/scrub-0', flipped.layer],
        ['library/scrub-1', lost.config],
        ['library/scrub-2', cut.layer],
      ] as const) {
        const get = await v2.call('GET', `/v2/${repo}/blobs/${blob.digest}`);
        assert.equal(get.status, 200, get.text);
        assert.deepEqual(get.bytes, blob.data, `${repo} serves the right bytes again`);
      }
      const { run, findings } = await scrub(server);
      assert.equal(run.results.problems, 0);
      assert.equal(run.results.quarantined, 0);
      assert.deepEqual(findings, []);
      // And the manifest that was refused before is accepted now.
      const again = await pushManifest(
        server.url,
        'library/scrub-0',
        'v2',
        { ...flipped.manifest, annotations: { again: 'yes' } },
        types.manifest,
        server.admin,
      );
      assert.equal(again.response.status, 201);
    });

    test('a quarantined blob whose object was restored by hand is released by the next scrub', async () => {
      const image = images[0];
      const good = await backend.read(image.config.digest);
      await backend.write(image.config.digest, Buffer.concat([good, Buffer.from('junk')]));
      const found = await scrub(server);
      assert.equal(found.run.results.size_mismatches, 1);
      assertOciError(await v2.call('GET', `/v2/library/scrub-0/blobs/${image.config.digest}`), 404, 'BLOB_UNKNOWN', /quarantined/);
      await backend.write(image.config.digest, good);
      const restored = await scrub(server);
      assert.equal(restored.run.results.problems, 0);
      assert.equal(restored.run.results.released, 1);
      const get = await v2.call('GET', `/v2/library/scrub-0/blobs/${image.config.digest}`);
      assert.deepEqual(get.bytes, image.config.data);
    });
  });
}
