import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
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

/**
 * The one contract every BlobStore driver passes. A driver's test file calls this with a
 * factory that gives a fresh, empty store.
 */
export function blobStoreSuite(name: string, makeStore: () => Promise<BlobStore>): void {
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
