import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import {
  S3BlobStore,
  chainOf,
  cutChain,
  partLength,
  planParts,
  segmentLength,
  type ChunkRef,
  type PartLimits,
  type Segment,
} from '../../src/storage/s3.js';
import { motoAvailable, startS3, type S3Kind, type TestS3 } from '../helpers/s3.js';
import { blobStoreSuite } from './blobstore.suite.js';

async function keys(s3: TestS3, bucket: string, prefix = ''): Promise<string[]> {
  const out = await s3.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (out.Contents ?? []).map((o) => o.Key!);
}

function digest(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

async function collect(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

/** The contract suite and the S3 driver's own tests, against one kind of S3 server. */
function s3Tests(kind: S3Kind): void {
  const skip = kind === 'moto' && !motoAvailable() ? 'moto is not installed (pip install "moto[server]")' : false;
  describe(`S3 driver on ${kind}`, { skip }, () => {
    let s3: TestS3;
    before(async () => {
      s3 = await startS3(kind);
    });
    after(async () => {
      await s3?.stop();
    });

    let made = 0;
    // Each store gets a bucket of its own; every other one also a key prefix.
    blobStoreSuite(
      kind,
      async () => {
        const bucket = await s3.createBucket();
        return new S3BlobStore(s3.storeOptions(bucket, { prefix: made++ % 2 === 0 ? '' : 'berth/registry' }));
      },
      async (store) => {
        const s = store as S3BlobStore;
        return new S3BlobStore(s3.storeOptions(s.bucket, { prefix: s.prefix }));
      },
    );

    test('blobs and upload chunks sit at the documented keys, under the prefix', async () => {
      const bucket = await s3.createBucket();
      const store = new S3BlobStore(s3.storeOptions(bucket, { prefix: 'reg' }));
      assert.equal(store.prefix, 'reg/');
      await store.createUpload('u-1');
      await store.appendUpload('u-1', 0, Readable.from([Buffer.from('hello ')]));
      await store.appendUpload('u-1', 6, Readable.from([Buffer.from('world')]));
      assert.deepEqual(await keys(s3, bucket), [
        'reg/uploads/u-1/0000000000000000',
        'reg/uploads/u-1/0000000000000006',
        'reg/uploads/u-1/started',
      ]);
      const d = digest(Buffer.from('hello world'));
      await store.publishUpload('u-1', d, 11);
      const hex = d.slice('sha256:'.length);
      assert.deepEqual(await keys(s3, bucket), [`reg/blobs/sha256/${hex.slice(0, 2)}/${hex}`]);
      const listed = [];
      for await (const blob of store.list()) listed.push([blob.digest, blob.size]);
      assert.deepEqual(listed, [[d, 11]]);
    });

    test('a failed append leaves no object behind, whether it was one PUT or a multipart upload', async () => {
      const bucket = await s3.createBucket();
      const store = new S3BlobStore(s3.storeOptions(bucket));
      await store.createUpload('u-2');
      for (const size of [1000, 12 * 1024 * 1024]) {
        async function* failing(): AsyncIterable<Uint8Array> {
          for (let sent = 0; sent < size; sent += 1000) yield Buffer.alloc(1000, 7);
          throw new Error('client went away');
        }
        await assert.rejects(store.appendUpload('u-2', 0, failing()), /client went away/);
        assert.deepEqual(await keys(s3, bucket), ['uploads/u-2/started'], `after failing at ${size} bytes`);
      }
    });

    const partCopy = kind !== 's3rver';
    test(
      partCopy
        ? 'a chunk of 5 MiB or more becomes an UploadPartCopy'
        : 's3rver lacks UploadPartCopy: the store says so once and streams those parts instead',
      async () => {
        const bucket = await s3.createBucket();
        const warnings: string[] = [];
        const store = new S3BlobStore(s3.storeOptions(bucket, { warn: (m) => warnings.push(m) }));
        for (const id of ['u-3', 'u-4']) {
          // The 6 MiB chunk is a part of its own (a copy, where the server can); the small one follows.
          const chunks = [Buffer.alloc(6 * 1024 * 1024, id), Buffer.from(id)];
          const data = Buffer.concat(chunks);
          await store.createUpload(id);
          let offset = 0;
          for (const chunk of chunks) offset += await store.appendUpload(id, offset, Readable.from([chunk]));
          await store.publishUpload(id, digest(data), data.length);
          assert.equal(digest(await collect(await store.read(digest(data)))), digest(data));
        }
        if (partCopy) {
          assert.deepEqual(warnings, []);
        } else {
          assert.equal(warnings.length, 1);
          assert.match(warnings[0], /UploadPartCopy/);
        }
      },
    );

    test('a missing blob reads as ENOENT, which the registry turns into BLOB_UNKNOWN', async () => {
      const store = new S3BlobStore(s3.storeOptions(await s3.createBucket()));
      const d = digest(Buffer.from('nothing'));
      assert.equal(await store.stat(d), null);
      await assert.rejects(store.read(d), (err: NodeJS.ErrnoException) => err.code === 'ENOENT');
    });

    test('check fails for a bucket that does not exist; capacity is unknown', async () => {
      const store = new S3BlobStore(s3.storeOptions('no-such-bucket-here'));
      await assert.rejects(store.check());
      assert.equal(await store.capacity(), null);
    });

    test('redirect URLs are presigned GETs of the blob, only when enabled', async () => {
      const bucket = await s3.createBucket();
      assert.equal(new S3BlobStore(s3.storeOptions(bucket)).redirectUrl, undefined);
      const store = new S3BlobStore(s3.storeOptions(bucket, { redirectExpirySeconds: 300 }));
      const data = Buffer.from('served by the bucket');
      await store.createUpload('u-5');
      await store.appendUpload('u-5', 0, Readable.from([data]));
      await store.publishUpload('u-5', digest(data), data.length);
      const url = new URL((await store.redirectUrl!(digest(data)))!);
      assert.equal(url.searchParams.get('X-Amz-Expires'), '300');
      assert.equal(url.searchParams.get('X-Amz-Algorithm'), 'AWS4-HMAC-SHA256');
      const res = await fetch(url);
      assert.equal(res.status, 200);
      assert.deepEqual(Buffer.from(await res.arrayBuffer()), data);
      const ranged = await fetch(url, { headers: { range: 'bytes=7-8' } });
      assert.equal(ranged.status, 206);
      assert.equal(await ranged.text(), 'by');
      if (kind === 'moto') {
        // moto refuses anonymous reads (s3rver allows them): the signed query is what grants this one.
        assert.equal((await fetch(`${url.origin}${url.pathname}`)).status, 403);
      }
    });
  });
}

s3Tests('s3rver');
s3Tests('moto');

/** A small deterministic PRNG, so that a failing layout can be reproduced. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

describe('planning the parts that join chunks into a blob', () => {
  const limits: PartLimits = { minPart: 100, maxPart: 1000, maxParts: 40 };

  function check(chunks: ChunkRef[], total: number, plan = planParts(cutChain(chunks, total), limits)): void {
    // The parts, in order, cover exactly bytes 0..total-1 of the chunks.
    const covered: Segment[] = plan.flatMap((p) => (p.kind === 'copy' ? [p.segment] : p.segments));
    let at = 0;
    for (const segment of covered) {
      const chunk = chunks.find((c) => c.key === segment.key)!;
      assert.equal(chunk.offset + segment.start, at, 'segments are contiguous');
      assert.ok(segment.end < chunk.size && segment.start <= segment.end);
      at += segmentLength(segment);
    }
    assert.equal(at, total);
    assert.ok(plan.length <= limits.maxParts, `${plan.length} parts`);
    plan.forEach((part, i) => {
      const length = partLength(part);
      assert.ok(length <= limits.maxPart, `part ${i} holds ${length} bytes`);
      if (i < plan.length - 1) assert.ok(length >= limits.minPart, `part ${i} of ${plan.length} holds only ${length} bytes`);
    });
  }

  function chunksOf(sizes: number[]): ChunkRef[] {
    let offset = 0;
    return sizes.map((size, i) => {
      const chunk = { key: `c${i}`, offset, size };
      offset += size;
      return chunk;
    });
  }

  test('a large chunk is copied; small chunks around it are streamed together, topped up from it', () => {
    const chunks = chunksOf([30, 500, 20, 20, 300]);
    const plan = planParts(cutChain(chunks, 870), limits);
    check(chunks, 870, plan);
    assert.deepEqual(
      plan.map((p) => p.kind),
      ['stream', 'copy', 'stream', 'copy'],
    );
    assert.deepEqual(plan[0], {
      kind: 'stream',
      segments: [
        { key: 'c0', start: 0, end: 29 },
        { key: 'c1', start: 0, end: 69 },
      ],
    });
  });

  test('a chunk larger than a part is copied in pieces', () => {
    const chunks = chunksOf([2500]);
    const plan = planParts(cutChain(chunks, 2500), limits);
    check(chunks, 2500, plan);
    assert.deepEqual(
      plan.map((p) => partLength(p)),
      [833, 833, 834],
    );
  });

  test('random layouts keep every limit', () => {
    const random = prng(42);
    for (let round = 0; round < 2000; round++) {
      const sizes = Array.from({ length: 1 + Math.floor(random() * 30) }, () =>
        random() < 0.3 ? 1 + Math.floor(random() * 1500) : 1 + Math.floor(random() * 120),
      );
      const chunks = chunksOf(sizes);
      const size = sizes.reduce((a, b) => a + b, 0);
      const total = random() < 0.2 ? Math.max(1, Math.floor(size * random())) : size;
      if (total > limits.maxPart * limits.maxParts * 0.2) continue;
      check(chunks, total);
    }
  });

  test('chains skip what a dead request left', () => {
    const { chain, size } = chainOf([
      { key: 'b', offset: 3, size: 2 },
      { key: 'a', offset: 0, size: 3 },
      { key: 'x', offset: 9, size: 4 },
    ]);
    assert.deepEqual(
      chain.map((c) => c.key),
      ['a', 'b'],
    );
    assert.equal(size, 5);
  });
});
