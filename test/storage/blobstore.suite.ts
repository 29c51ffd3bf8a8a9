import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import type { BlobStore } from '../../src/storage/blobstore.js';

async function collect(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

function digest(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

async function* failingAfter(data: Buffer): AsyncIterable<Uint8Array> {
  yield data;
  throw new Error('client went away');
}

/** A request body as a client sends it: in pieces of at most 64 KiB. */
function pieces(data: Buffer, size = 64 * 1024): Readable {
  const out: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) out.push(data.subarray(i, i + size));
  return Readable.from(out);
}

/** Appends `chunks` one after the other, as consecutive PATCH requests do. */
async function appendAll(store: BlobStore, id: string, chunks: Buffer[], from = 0): Promise<number> {
  let offset = from;
  for (const chunk of chunks) {
    assert.equal(await store.appendUpload(id, offset, pieces(chunk)), chunk.length);
    offset += chunk.length;
  }
  return offset;
}

const MiB = 1024 * 1024;

/**
 * The one contract every BlobStore driver passes. A driver's test file calls this with a
 * factory that gives a fresh, empty store, and one that opens another instance over the
 * same storage (as another Berth process would).
 */
export function blobStoreSuite(name: string, makeStore: () => Promise<BlobStore>, reopen: (store: BlobStore) => Promise<BlobStore>): void {
  describe(`BlobStore contract: ${name}`, () => {
    test('an upload appended in chunks publishes under its digest and reads back whole and by range', async () => {
      const store = await makeStore();
      const data = Buffer.from('0123456789abcdefghij');
      await store.createUpload('u-1');
      assert.equal(await store.uploadSize('u-1'), 0);
      assert.equal(await store.appendUpload('u-1', 0, Readable.from([data.subarray(0, 7)])), 7);
      assert.equal(await store.appendUpload('u-1', 7, Readable.from([data.subarray(7)])), 13);
      assert.equal(await store.uploadSize('u-1'), 20);
      assert.deepEqual(await collect(await store.readUpload('u-1', 20)), data);

      const d = digest(data);
      assert.equal(await store.stat(d), null);
      await store.publishUpload('u-1', d);
      assert.equal(await store.uploadSize('u-1'), null, 'the upload is gone once published');
      assert.equal((await store.stat(d))?.size, 20);
      assert.deepEqual(await collect(await store.read(d)), data);
      assert.deepEqual(await collect(await store.read(d, { start: 5, end: 9 })), Buffer.from('56789'));
    });

    test('a failed append leaves the upload exactly as it was', async () => {
      const store = await makeStore();
      await store.createUpload('u-2');
      await store.appendUpload('u-2', 0, Readable.from([Buffer.from('abc')]));
      await assert.rejects(store.appendUpload('u-2', 3, failingAfter(Buffer.from('defgh'))), /client went away/);
      assert.equal(await store.uploadSize('u-2'), 3);
      assert.deepEqual(await collect(await store.readUpload('u-2', 3)), Buffer.from('abc'));
    });

    test('publishing a digest that already exists keeps one copy and ends the upload', async () => {
      const store = await makeStore();
      const data = Buffer.from('same bytes');
      const d = digest(data);
      for (const id of ['u-3', 'u-4']) {
        await store.createUpload(id);
        await store.appendUpload(id, 0, Readable.from([data]));
        await store.publishUpload(id, d);
        assert.equal(await store.uploadSize(id), null);
      }
      const listed = [];
      for await (const blob of store.list()) listed.push(blob.digest);
      assert.deepEqual(listed, [d]);
    });

    test('delete removes a blob; reading a missing blob fails', async () => {
      const store = await makeStore();
      const data = Buffer.from('to be deleted');
      const d = digest(data);
      await store.createUpload('u-5');
      await store.appendUpload('u-5', 0, Readable.from([data]));
      await store.publishUpload('u-5', d);
      await store.delete(d);
      assert.equal(await store.stat(d), null);
      await assert.rejects(store.read(d));
      await store.delete(d); // deleting twice is not an error
    });

    test('deleteMany removes the blobs named and no other; missing ones are not an error', async () => {
      const store = await makeStore();
      const blobs = Array.from({ length: 5 }, (_, i) => Buffer.from(`blob ${i} to sweep`));
      for (const [i, data] of blobs.entries()) {
        await store.createUpload(`u-dm-${i}`);
        await store.appendUpload(`u-dm-${i}`, 0, Readable.from([data]));
        await store.publishUpload(`u-dm-${i}`, digest(data));
      }
      const gone = blobs.slice(0, 3).map((b) => digest(b));
      assert.ok(store.deleteMany, 'the driver deletes in batches');
      await store.deleteMany([...gone, digest(Buffer.from('never stored'))]);
      for (const d of gone) assert.equal(await store.stat(d), null, `${d} is deleted`);
      for (const data of blobs.slice(3)) assert.deepEqual(await collect(await store.read(digest(data))), data, 'the others stay');
      await store.deleteMany([]);
      await store.deleteMany(gone);
    });

    test('chunks appended through two instances over the same storage publish as one blob', async () => {
      const a = await makeStore();
      const b = await reopen(a);
      const parts = [Buffer.from('first chunk, '), Buffer.from('second chunk from another instance, '), Buffer.from('third')];
      const data = Buffer.concat(parts);
      await a.createUpload('u-7');
      assert.equal(await b.uploadSize('u-7'), 0);
      await a.appendUpload('u-7', 0, Readable.from([parts[0]]));
      assert.equal(await b.uploadSize('u-7'), parts[0].length);
      await b.appendUpload('u-7', parts[0].length, Readable.from([parts[1]]));
      await a.appendUpload('u-7', parts[0].length + parts[1].length, Readable.from([parts[2]]));
      assert.equal(await b.uploadSize('u-7'), data.length);
      assert.deepEqual(await collect(await b.readUpload('u-7', data.length)), data);
      assert.deepEqual(await collect(await a.readUpload('u-7', parts[0].length + 3)), data.subarray(0, parts[0].length + 3));
      const d = digest(data);
      await a.publishUpload('u-7', d, data.length);
      assert.equal(await b.uploadSize('u-7'), null);
      assert.equal((await b.stat(d))?.size, data.length);
      assert.deepEqual(await collect(await b.read(d)), data);
    });

    test('a blob built from chunks over 5 MiB and small ones reads back whole and by any range', async () => {
      const store = await makeStore();
      const chunks = [
        randomBytes(300 * 1024),
        randomBytes(6 * MiB),
        randomBytes(MiB),
        Buffer.from('17 bytes of text!'),
        randomBytes(5 * MiB + 3),
      ];
      const data = Buffer.concat(chunks);
      await store.createUpload('u-8');
      assert.equal(await appendAll(store, 'u-8', chunks), data.length);
      assert.equal(await store.uploadSize('u-8'), data.length);
      const d = digest(data);
      await store.publishUpload('u-8', d, data.length);
      assert.equal((await store.stat(d))?.size, data.length);
      assert.equal(digest(await collect(await store.read(d))), d);
      const boundary = chunks[0].length + chunks[1].length;
      for (const [start, end] of [
        [0, 0],
        [0, 99],
        [boundary - 10, boundary + 10],
        [chunks[0].length - 1, chunks[0].length],
        [data.length - 1, data.length - 1],
        [1, data.length - 2],
      ]) {
        assert.deepEqual(await collect(await store.read(d, { start, end })), data.subarray(start, end + 1), `bytes ${start}-${end}`);
      }
    });

    test('a single chunk over 5 MiB publishes as it is', async () => {
      const store = await makeStore();
      const data = randomBytes(5 * MiB + 1);
      await store.createUpload('u-9');
      await appendAll(store, 'u-9', [data]);
      const d = digest(data);
      await store.publishUpload('u-9', d);
      assert.equal(digest(await collect(await store.read(d))), d);
    });

    test('a failed append of a large chunk leaves the upload as it was, and it still completes', async () => {
      const store = await makeStore();
      const head = Buffer.from('kept bytes');
      await store.createUpload('u-10');
      await appendAll(store, 'u-10', [head]);
      async function* big(): AsyncIterable<Uint8Array> {
        for (let i = 0; i < 12; i++) yield randomBytes(MiB);
        throw new Error('client went away');
      }
      await assert.rejects(store.appendUpload('u-10', head.length, big()), /client went away/);
      assert.equal(await store.uploadSize('u-10'), head.length);
      assert.deepEqual(await collect(await store.readUpload('u-10', head.length)), head);
      const tail = Buffer.from(' and the rest');
      await appendAll(store, 'u-10', [tail], head.length);
      const data = Buffer.concat([head, tail]);
      await store.publishUpload('u-10', digest(data), data.length);
      assert.deepEqual(await collect(await store.read(digest(data))), data);
    });

    test('bytes a dead request left beyond the recorded size are replaced by the next append and never published', async () => {
      const store = await makeStore();
      await store.createUpload('u-11');
      await appendAll(store, 'u-11', [Buffer.from('abc')]);
      // Stored, but the session never recorded it (its process died): the session still says 3.
      await store.appendUpload('u-11', 3, Readable.from([Buffer.from('lost bytes')]));
      await store.appendUpload('u-11', 3, Readable.from([Buffer.from('de')]));
      assert.equal(await store.uploadSize('u-11'), 5);
      assert.deepEqual(await collect(await store.readUpload('u-11', 5)), Buffer.from('abcde'));
      // And once more, then publish only what the session recorded.
      await store.appendUpload('u-11', 5, Readable.from([Buffer.from('unrecorded')]));
      await store.publishUpload('u-11', digest(Buffer.from('abcde')), 5);
      assert.deepEqual(await collect(await store.read(digest(Buffer.from('abcde')))), Buffer.from('abcde'));
    });

    test('a publish leaves a blob already stored under the digest, unless told to replace it (a heal)', async () => {
      const store = await makeStore();
      const good = Buffer.from('the bytes the digest names');
      const d = digest(good);
      // Wrong bytes under the digest, as a flipped bit on disk would leave them.
      await store.createUpload('u-12');
      await appendAll(store, 'u-12', [Buffer.from('the bytes the digest nameZ')]);
      await store.publishUpload('u-12', d);
      await store.createUpload('u-13');
      await appendAll(store, 'u-13', [good]);
      await store.publishUpload('u-13', d);
      assert.deepEqual(await collect(await store.read(d)), Buffer.from('the bytes the digest nameZ'), 'the stored copy stands');
      assert.equal(await store.uploadSize('u-13'), null, 'the upload is gone all the same');
      await store.createUpload('u-14');
      await appendAll(store, 'u-14', [good]);
      await store.publishUpload('u-14', d, good.length, { replace: true });
      assert.deepEqual(await collect(await store.read(d)), good);
      assert.equal((await store.stat(d))?.size, good.length);
      assert.equal(await store.uploadSize('u-14'), null);
    });

    test('an empty upload publishes an empty blob; an empty append changes nothing', async () => {
      const store = await makeStore();
      const empty = Buffer.alloc(0);
      await store.createUpload('u-12');
      assert.equal(await store.appendUpload('u-12', 0, Readable.from([])), 0);
      assert.equal(await store.uploadSize('u-12'), 0);
      await store.publishUpload('u-12', digest(empty), 0);
      assert.equal((await store.stat(digest(empty)))?.size, 0);
      assert.deepEqual(await collect(await store.read(digest(empty))), empty);
    });

    test('uploads are listed with their size', async () => {
      const store = await makeStore();
      await store.createUpload('u-13');
      await store.createUpload('u-14');
      await appendAll(store, 'u-14', [Buffer.from('12345'), Buffer.from('678')]);
      const listed: Array<[string, number]> = [];
      for await (const upload of store.listUploads()) {
        assert.ok(upload.modified instanceof Date);
        listed.push([upload.id, upload.size]);
      }
      assert.deepEqual(listed.sort(), [
        ['u-13', 0],
        ['u-14', 8],
      ]);
    });

    test('the store checks itself and says whether it has a volume to measure', async () => {
      const store = await makeStore();
      await store.check();
      const capacity = await store.capacity();
      if (capacity !== null) {
        assert.ok(capacity.total > 0 && capacity.free >= 0 && capacity.free <= capacity.total, JSON.stringify(capacity));
      }
    });

    test('uploads are listed and can be deleted', async () => {
      const store = await makeStore();
      await store.createUpload('u-6');
      const ids = [];
      for await (const upload of store.listUploads()) ids.push(upload.id);
      assert.deepEqual(ids, ['u-6']);
      await store.deleteUpload('u-6');
      assert.equal(await store.uploadSize('u-6'), null);
    });
  });
}
