import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { ChunkChannel } from '../../src/proxycache/channel.js';
import { BlobTee } from '../../src/proxycache/tee.js';
import { api } from '../helpers/api.js';
import { startServer, type TestServer } from '../helpers/server.js';

const sha256 = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

async function collect(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of source) parts.push(Buffer.from(chunk));
  return Buffer.concat(parts);
}

/** A source that hands out `total` random bytes in 64 KiB chunks, counting what was taken from it. */
function countingSource(total: number) {
  const bytes = randomBytes(total);
  const state = { taken: 0 };
  const stream = new Readable({
    highWaterMark: 64 * 1024,
    read() {
      if (state.taken >= total) {
        this.push(null);
        return;
      }
      const chunk = bytes.subarray(state.taken, Math.min(total, state.taken + 64 * 1024));
      state.taken += chunk.length;
      this.push(chunk);
    },
  });
  return { bytes, stream, state };
}

/**
 * The first-pull path hashes each byte once: the tee hashes, and the upload service publishes
 * the bytes it stored only on the tee's verdict (UploadService.storeVerified). Nothing is
 * published unless the digest matched.
 */
describe('proxy cache: one hash on the way, nothing published unless the digest matched', () => {
  let server: TestServer;
  const repository = 'verified/app';

  before(async () => {
    server = await startServer();
    const created = await api(server, 'POST', '/projects', {
      auth: server.admin.authorization,
      body: { project_name: 'verified', metadata: { public: 'false' } },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
  });
  after(async () => {
    await server?.stop();
  });

  const db = () => server.berth.database.db;
  const blobRows = (digest: string) => db().selectFrom('blobs').select('digest').where('digest', '=', digest).execute();
  const uploadRows = () => db().selectFrom('uploads').select('id').execute();
  const uploadFiles = () => readdir(path.join(server.berth.paths.storageRoot, 'uploads')).catch(() => [] as string[]);

  test('the verdict matches: stored, linked to the repository, the same bytes', async () => {
    const bytes = randomBytes(300_000);
    const digest = sha256(bytes);
    const stored = await server.berth.uploads.storeVerified(
      repository,
      digest,
      { stream: Readable.from([bytes.subarray(0, 100_000), bytes.subarray(100_000)]), length: bytes.length, range: null },
      Promise.resolve(digest),
    );
    assert.equal(stored, digest);
    assert.equal(await server.berth.registry.blobSize(repository, digest), bytes.length);
    const read = await server.berth.registry.openBlob(repository, digest);
    assert.ok((Buffer.isBuffer(read) ? read : await collect(read as Readable)).equals(bytes));
    assert.deepEqual(await uploadRows(), []);
    assert.deepEqual(await uploadFiles(), []);
  });

  test('another digest, a failed verdict, or fewer bytes than announced: refused, nothing published, nothing left', async () => {
    const bytes = randomBytes(50_000);
    const digest = sha256(bytes);
    const wrong = sha256(Buffer.concat([bytes, Buffer.from('x')]));
    const body = (b: Buffer, length = b.length) => ({ stream: Readable.from([b]), length, range: null });

    await assert.rejects(server.berth.uploads.storeVerified(repository, digest, body(bytes), Promise.resolve(wrong)), (err: any) => {
      assert.equal(err.code, 'DIGEST_INVALID');
      assert.match(err.message, /nothing was stored/);
      return true;
    });
    const failed = Promise.reject(new Error('the upstream sent other bytes'));
    failed.catch(() => undefined);
    await assert.rejects(server.berth.uploads.storeVerified(repository, digest, body(bytes), failed), /the upstream sent other bytes/);
    await assert.rejects(
      server.berth.uploads.storeVerified(repository, digest, body(bytes.subarray(0, 1000), bytes.length), Promise.resolve(digest)),
      (err: any) => err.code === 'DIGEST_INVALID',
    );
    await assert.rejects(
      server.berth.uploads.storeVerified(repository, 'sha256:nope', body(bytes), Promise.resolve(digest)),
      (err: any) => err.code === 'DIGEST_INVALID',
    );
    assert.deepEqual(await blobRows(digest), [], 'nothing published');
    assert.deepEqual(await uploadRows(), [], 'no session left');
    assert.deepEqual(await uploadFiles(), [], 'no temporary object left');
    await assert.rejects(server.berth.registry.blobSize(repository, digest), (err: any) => err.code === 'BLOB_UNKNOWN');
  });

  test('the tee: clients and storage get every byte once it is right; wrong bytes reach neither whole and the verdict fails', async () => {
    const { bytes, stream } = countingSource(3 * 1024 * 1024 + 123);
    const tee = new BlobTee(sha256(bytes), bytes.length, stream);
    const a = tee.attach()!;
    const b = tee.attach()!;
    const storage = new ChunkChannel(1 << 20);
    const stored = collect(storage);
    const [problem, got1, got2, kept, verdict] = await Promise.all([
      tee.run(storage, stored),
      collect(a),
      collect(b),
      stored,
      tee.verified,
    ]);
    assert.equal(problem, null);
    assert.ok(got1.equals(bytes) && got2.equals(bytes) && kept.equals(bytes));
    assert.equal(verdict, sha256(bytes));
    assert.equal(tee.attach(), null, 'no client attaches once bytes flowed');

    const other = countingSource(1024 * 1024);
    const bad = new BlobTee(sha256(randomBytes(16)), other.bytes.length, other.stream);
    const client = bad.attach()!;
    const badStorage = new ChunkChannel(1 << 20);
    const badStored = collect(badStorage);
    const received: Buffer[] = [];
    client.on('data', (c: Buffer) => received.push(c));
    const clientEnd = new Promise<string>((resolve) => {
      client.on('error', (err) => resolve(err.message));
      client.on('end', () => resolve('ended'));
    });
    const badProblem = await bad.run(badStorage, badStored);
    assert.match(badProblem ?? '', /have digest sha256:[0-9a-f]{64}, not /);
    assert.match(await clientEnd, /have digest/);
    assert.ok(Buffer.concat(received).length < other.bytes.length, 'the client never has the whole wrong blob');
    await assert.rejects(badStored, /have digest/);
    await assert.rejects(bad.verified, /have digest/);
  });

  test('backpressure: a client that stops reading stops the upstream too; the tee holds a bounded amount, never the blob', async () => {
    const total = 32 * 1024 * 1024;
    const { stream, state } = countingSource(total);
    const tee = new BlobTee(sha256(Buffer.alloc(0)), total, stream);
    const client = tee.attach()!;
    client.pause();
    const storage = new ChunkChannel(1 << 20);
    const stored = collect(storage);
    const running = tee.run(storage, stored);
    await new Promise((r) => setTimeout(r, 300));
    // The client's buffer (1 MiB), storage's queue (1 MiB), the source's own buffer and a chunk or two.
    assert.ok(state.taken < 4 * 1024 * 1024, `taken from the upstream while the client does not read: ${state.taken}`);
    client.destroy();
    stream.destroy(new Error('stopped'));
    assert.match((await running) ?? '', /upstream transfer|bytes/);
  });

  test('the storage channel: chunks handed on as written, the writer told when it is full and when there is room', async () => {
    const channel = new ChunkChannel(100);
    const first = Buffer.alloc(60, 1);
    const second = Buffer.alloc(60, 2);
    assert.equal(channel.write(first), true);
    assert.equal(channel.write(second), false, 'at its limit');
    let roomy = false;
    const room = channel.room().then(() => (roomy = true));
    const iterator = channel[Symbol.asyncIterator]();
    const one = await iterator.next();
    assert.equal(one.value, first, 'the same buffer, not a copy');
    await room;
    assert.equal(roomy, true, 'room once below the limit');
    channel.end();
    assert.equal((await iterator.next()).value, second);
    assert.equal((await iterator.next()).done, true);

    const failing = new ChunkChannel(10);
    failing.write(Buffer.alloc(20));
    const waiting = failing.room();
    failing.destroy(new Error('storage failed'));
    await waiting;
    await assert.rejects(collect(failing), /storage failed/);
  });
});
