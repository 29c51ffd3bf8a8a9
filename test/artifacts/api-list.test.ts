import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { api } from '../helpers/api.js';
import { artifactTypes } from '../helpers/artifacts.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { artifactKeys, artifactsPath, assertHarborError, qs, seedApp, tagKeys, type Seeded } from './api-fixtures.js';

let server: TestServer;
let admin: string;
let s: Seeded;
const path = artifactsPath('library/app');

/** GET the artifact list of library/app with these query parameters. */
async function list(params: Record<string, string | number | boolean> = {}) {
  return api<any[]>(server, 'GET', `${path}${qs(params)}`, { auth: admin });
}

/** The digests a listing answers, asserting 200 and that X-Total-Count matches when the page holds everything. */
async function digests(params: Record<string, string | number | boolean> = {}): Promise<string[]> {
  const res = await list(params);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(Number(res.headers.get('x-total-count')), res.body.length);
  return res.body.map((a) => a.digest);
}

before(async () => {
  server = await startServer();
  admin = server.admin.authorization;
  s = await seedApp(server);
});
after(async () => {
  await server.stop();
});

describe('list artifacts', () => {
  test('top-level artifacts, newest push first, with X-Total-Count and without Link when one page holds them', async () => {
    const res = await list();
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type')!, /^application\/json/);
    assert.equal(res.headers.get('x-total-count'), '5');
    assert.equal(res.headers.get('link'), null);
    // Index children and accessories (signatures, SBOM) are not listed at the top level.
    assert.deepEqual(
      res.body.map((a) => a.digest),
      [s.untagged.digest, s.wasm.digest, s.chart.digest, s.image.digest, s.index.digest],
    );
    for (const a of res.body) {
      assert.deepEqual(Object.keys(a).sort(), artifactKeys);
      assert.equal(a.repository_name, 'library/app');
      for (const t of a.tags) assert.deepEqual(Object.keys(t).sort(), tagKeys);
    }
    const times = res.body.map((a) => Date.parse(a.push_time));
    assert.deepEqual(
      times,
      [...times].sort((x, y) => y - x),
    );
    assert.deepEqual(
      res.body.map((a) => a.tags.map((t: { name: string }) => t.name)),
      [[], ['wasm-1'], ['1.2.3'], ['v2'], ['v1']],
    );
    assert.deepEqual(
      res.body.map((a) => a.type),
      ['IMAGE', 'WASM', 'CHART', 'IMAGE', 'IMAGE'],
    );
  });

  test('q=base=* lists everything: index children and accessories too', async () => {
    const all = await digests({ q: 'base=*', page_size: 100 });
    assert.deepEqual(
      [...all].sort(),
      [
        s.index.digest,
        ...s.index.images.map((i) => i.digest),
        s.cosign.digest,
        s.sbom.digest,
        s.notation.digest,
        s.image.digest,
        s.chart.digest,
        s.wasm.digest,
        s.untagged.digest,
      ].sort(),
    );
    // Still newest first: the last push leads, the first child pushed closes the list.
    assert.equal(all[0], s.untagged.digest);
    assert.equal(all.at(-1), s.index.images[0].digest);
  });

  test('paging: page_size and page with X-Total-Count and Link prev/next', async () => {
    const first = await list({ page_size: 2 });
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('x-total-count'), '5');
    assert.deepEqual(
      first.body.map((a) => a.digest),
      [s.untagged.digest, s.wasm.digest],
    );
    assert.equal(first.headers.get('link'), `</api/v2.0${path}?page=2&page_size=2>; rel="next"`);

    const middle = await list({ page: 2, page_size: 2 });
    assert.deepEqual(
      middle.body.map((a) => a.digest),
      [s.chart.digest, s.image.digest],
    );
    const link = middle.headers.get('link')!;
    assert.match(link, /<[^>]*\?page=1&page_size=2>; rel="prev"/);
    assert.match(link, /<[^>]*\?page=3&page_size=2>; rel="next"/);

    const last = await list({ page: 3, page_size: 2 });
    assert.deepEqual(
      last.body.map((a) => a.digest),
      [s.index.digest],
    );
    assert.equal(last.headers.get('link'), `</api/v2.0${path}?page=2&page_size=2>; rel="prev"`);

    const beyond = await list({ page: 4, page_size: 2 });
    assert.equal(beyond.status, 200);
    assert.deepEqual(beyond.body, []);
    assert.equal(beyond.headers.get('x-total-count'), '5');

    // The Link keeps the other parameters of the request.
    const filtered = await list({ q: 'type=IMAGE', page_size: 1 });
    assert.equal(filtered.headers.get('x-total-count'), '3');
    assert.equal(filtered.headers.get('link'), `</api/v2.0${path}?q=${encodeURIComponent('type=IMAGE')}&page=2&page_size=1>; rel="next"`);
  });

  test('page_size above 100, or paging that is not a positive integer, is 400', async () => {
    assertHarborError(await list({ page_size: 101 }), 400, 'BAD_REQUEST', /page_size/);
    assertHarborError(await list({ page_size: 0 }), 400, 'BAD_REQUEST', /page_size/);
    assertHarborError(await list({ page: 'x' }), 400, 'BAD_REQUEST', /page/);
    const hundred = await list({ page_size: 100 });
    assert.equal(hundred.status, 200);
  });
});

describe('list artifacts: with_* flags', () => {
  test('with_tag=false leaves tags out; with_tag defaults to true', async () => {
    const without = await list({ with_tag: false });
    assert.equal(without.status, 200);
    for (const a of without.body) assert.ok(!('tags' in a), JSON.stringify(a));
    const withTags = await list({ with_tag: true });
    for (const a of withTags.body) assert.ok(Array.isArray(a.tags));
  });

  test('with_label=true adds labels (empty here); off by default', async () => {
    const res = await list({ with_label: true });
    for (const a of res.body) assert.deepEqual(a.labels, []);
    for (const a of (await list()).body) assert.ok(!('labels' in a));
  });

  test('with_accessory=true adds each artifact its accessories; off by default', async () => {
    const res = await list({ with_accessory: true });
    assert.equal(res.status, 200);
    const byDigest = new Map(res.body.map((a) => [a.digest, a]));
    const index = byDigest.get(s.index.digest);
    assert.deepEqual(
      index.accessories.map((x: { digest: string; type: string }) => [x.digest, x.type]),
      [
        [s.notation.digest, 'signature.notation'],
        [s.sbom.digest, 'sbom'],
        [s.cosign.digest, 'signature.cosign'],
      ],
    );
    for (const x of index.accessories) {
      assert.equal(x.subject_artifact_digest, s.index.digest);
      assert.equal(x.subject_artifact_repo, 'library/app');
      assert.equal(x.subject_artifact_id, index.id);
    }
    for (const digest of [s.image.digest, s.chart.digest, s.wasm.digest, s.untagged.digest])
      assert.deepEqual(byDigest.get(digest).accessories, []);
    for (const a of (await list()).body) assert.ok(!('accessories' in a));
  });

  test('with_scan_overview=true adds scan_overview; off by default', async () => {
    for (const a of (await list({ with_scan_overview: true })).body) assert.ok('scan_overview' in a);
    for (const a of (await list()).body) assert.ok(!('scan_overview' in a));
  });

  test("with_signature adds Berth's signatures field and nothing else (Harbor's Tag has no signed field); immutable is always there", async () => {
    const plain = await list();
    const signed = await list({ with_signature: true });
    assert.equal(signed.status, 200);
    assert.deepEqual(
      signed.body.map(({ signatures, ...rest }: { signatures: Array<{ status: string }> }) => {
        assert.ok(signatures.every((v) => v.status === 'signed'));
        return rest;
      }),
      plain.body,
    );
    const immutable = await list({ with_immutable_status: true });
    const tags = immutable.body.flatMap((a) => a.tags);
    assert.ok(tags.length > 0);
    for (const t of tags) {
      assert.deepEqual(Object.keys(t).sort(), tagKeys);
      assert.equal(t.immutable, false);
    }
  });

  test('a flag that is not a boolean is 400 naming it', async () => {
    assertHarborError(await list({ with_tag: 'maybe' }), 400, 'BAD_REQUEST', /with_tag/);
    assertHarborError(await list({ with_accessory: 'yes please' }), 400, 'BAD_REQUEST', /with_accessory/);
  });
});

describe('list artifacts: q and sort', () => {
  test('type=CHART and media_type select by kind', async () => {
    assert.deepEqual(await digests({ q: 'type=CHART' }), [s.chart.digest]);
    assert.deepEqual(await digests({ q: 'type=WASM' }), [s.wasm.digest]);
    assert.deepEqual(await digests({ q: 'type=IMAGE' }), [s.untagged.digest, s.image.digest, s.index.digest]);
    assert.deepEqual(await digests({ q: `media_type=${artifactTypes.helmConfig}` }), [s.chart.digest]);
    assert.deepEqual(await digests({ q: 'type=CNAB' }), []);
  });

  test('tags=* (tagged), tags=nil (untagged), tags=~fragment, tags=name, tags={a b}', async () => {
    assert.deepEqual(await digests({ q: 'tags=*' }), [s.wasm.digest, s.chart.digest, s.image.digest, s.index.digest]);
    assert.deepEqual(await digests({ q: 'tags=nil' }), [s.untagged.digest]);
    assert.deepEqual(await digests({ q: 'tags=~asm' }), [s.wasm.digest]);
    assert.deepEqual(await digests({ q: 'tags=~v' }), [s.image.digest, s.index.digest]);
    assert.deepEqual(await digests({ q: 'tags=v1' }), [s.index.digest]);
    assert.deepEqual(await digests({ q: 'tags=v' }), []);
    assert.deepEqual(await digests({ q: 'tags={v2 1.2.3}' }), [s.chart.digest, s.image.digest]);
  });

  test('digest=… selects one artifact', async () => {
    assert.deepEqual(await digests({ q: `digest=${s.image.digest}` }), [s.image.digest]);
    // An accessory is found by digest only with base=*.
    assert.deepEqual(await digests({ q: `digest=${s.cosign.digest}` }), []);
    assert.deepEqual(await digests({ q: `base=*,digest=${s.cosign.digest}` }), [s.cosign.digest]);
  });

  test('push_time=[a~b] selects a push-time range; either end may be open', async () => {
    const byDigest = new Map((await list()).body.map((a) => [a.digest, a.push_time as string]));
    const chartTime = byDigest.get(s.chart.digest)!;
    const imageTime = byDigest.get(s.image.digest)!;
    assert.deepEqual(await digests({ q: `push_time=[${chartTime}~${chartTime}]` }), [s.chart.digest]);
    assert.deepEqual(await digests({ q: `push_time=[${imageTime}~${chartTime}]` }), [s.chart.digest, s.image.digest]);
    assert.deepEqual(await digests({ q: `push_time=[${chartTime}~]` }), [s.untagged.digest, s.wasm.digest, s.chart.digest]);
    assert.deepEqual(await digests({ q: `push_time=[~${imageTime}]` }), [s.image.digest, s.index.digest]);
    assert.deepEqual(await digests({ q: 'push_time=[2000-01-01T00:00:00Z~2000-12-31T00:00:00Z]' }), []);
  });

  test('terms combine: type=IMAGE,tags=*', async () => {
    assert.deepEqual(await digests({ q: 'type=IMAGE,tags=*' }), [s.image.digest, s.index.digest]);
  });

  test('sort=push_time is oldest first; sort=-size is largest first', async () => {
    assert.deepEqual(await digests({ sort: 'push_time' }), [
      s.index.digest,
      s.image.digest,
      s.chart.digest,
      s.wasm.digest,
      s.untagged.digest,
    ]);
    const bySize = await list({ sort: '-size' });
    const sizes = bySize.body.map((a) => a.size as number);
    assert.deepEqual(
      sizes,
      [...sizes].sort((x, y) => y - x),
    );
    const expected = [s.index, s.image, s.chart, s.wasm, s.untagged].sort((x, y) => y.totalSize - x.totalSize).map((a) => a.digest);
    assert.deepEqual(
      bySize.body.map((a) => a.digest),
      expected,
    );
    assert.equal(bySize.body[0].digest, s.index.digest);
    assert.equal(bySize.body[0].size, s.index.totalSize);
  });

  test('a bad q is 400 with Harbor error body saying what is wrong', async () => {
    assertHarborError(await list({ q: 'colour=red' }), 400, 'BAD_REQUEST', /unknown key "colour"/);
    assertHarborError(await list({ q: 'tags=(v1' }), 400, 'BAD_REQUEST', /bracket|"\)"|unbalanced|unclosed/i);
    assertHarborError(await list({ q: 'tags=v1)' }), 400, 'BAD_REQUEST', /unbalanced|bracket/i);
    assertHarborError(await list({ q: 'push_time=[yesterday~today]' }), 400, 'BAD_REQUEST', /push_time/);
    assertHarborError(await list({ q: 'size=big' }), 400, 'BAD_REQUEST', /size/);
    assertHarborError(await list({ q: 'justaword' }), 400, 'BAD_REQUEST', /justaword/);
    assertHarborError(await list({ q: 'labels=red' }), 400, 'BAD_REQUEST', /labels/);
    assertHarborError(await list({ sort: 'colour' }), 400, 'BAD_REQUEST', /colour/);
  });
});
