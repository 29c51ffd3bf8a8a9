// The content discovery checks of the OCI distribution-spec conformance suite (tag lists
// with n, last and Link; referrers with and without artifactType filters; empty cases),
// plus catalog paging.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { dataSets, mt, pushDataSet, TestData, type Descriptor } from '../helpers/conformance.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { assertOciError, digestOf, V2 } from '../helpers/v2.js';

let server: TestServer;
let v2: V2;
before(async () => {
  server = await startServer();
  v2 = new V2(server);
});
after(async () => {
  await server.stop();
});

interface Index {
  schemaVersion: number;
  mediaType: string;
  manifests: Descriptor[];
}

async function referrers(repo: string, subject: string, artifactType?: string) {
  const query = artifactType === undefined ? '' : `?artifactType=${encodeURIComponent(artifactType)}`;
  const res = await v2.call('GET', `/v2/${repo}/referrers/${subject}${query}`);
  assert.equal(res.status, 200, res.text);
  assert.equal(res.headers.get('content-type'), mt.index);
  const index = res.json<Index>();
  assert.equal(index.schemaVersion, 2);
  assert.equal(index.mediaType, mt.index);
  assert.ok(Array.isArray(index.manifests));
  return { index, filters: res.headers.get('oci-filters-applied') };
}

/** Follows Link rel="next" from `path` and returns every page's items. */
async function pages(path: string, key: 'tags' | 'repositories'): Promise<string[][]> {
  const out: string[][] = [];
  let next: string | null = path;
  while (next) {
    const res = await v2.call('GET', next);
    assert.equal(res.status, 200, res.text);
    out.push(res.json()[key]);
    const link = res.headers.get('link');
    if (!link) break;
    const m = /^<([^>]+)>;\s*rel="next"$/.exec(link);
    assert.ok(m, `Link is RFC 5988 with rel="next": ${link}`);
    next = m[1];
    assert.ok(out.length < 50, 'paging ends');
  }
  return out;
}

describe('empty cases', () => {
  test('the tag list of a repository never pushed is 404 NAME_UNKNOWN', async () => {
    assertOciError(await v2.tags('library/discovery-nothing'), 404, 'NAME_UNKNOWN');
  });

  test('referrers in a repository never pushed are 200 with an empty index (the API never answers 404)', async () => {
    const { index } = await referrers('library/discovery-nothing', digestOf(randomBytes(16)));
    assert.deepEqual(index.manifests, []);
  });

  test('a repository whose manifests have no tags lists an empty tag list', async () => {
    const repo = 'library/discovery-untagged';
    const td = new TestData('untagged');
    td.image();
    await pushDataSet(v2, repo, td);
    const res = await v2.tags(repo);
    assert.equal(res.status, 200);
    assert.deepEqual(res.json(), { name: repo, tags: [] });
  });

  test('referrers of a subject with none are an empty index', async () => {
    const repo = 'library/discovery-untagged';
    const { index, filters } = await referrers(repo, digestOf(randomBytes(16)));
    assert.deepEqual(index.manifests, []);
    assert.equal(filters, null);
  });
});

describe('tag lists of the conformance data sets', () => {
  for (const td of dataSets()) {
    if (td.tags.size === 0) continue;
    test(td.name, async () => {
      const repo = `library/discovery-${td.name}`;
      await pushDataSet(v2, repo, td);
      const res = await v2.tags(repo);
      assert.equal(res.status, 200);
      const list = res.json<{ name: string; tags: string[] }>();
      assert.equal(list.name, repo);
      for (const tag of td.tags.keys()) assert.ok(list.tags.includes(tag), `${tag} is listed`);
      assert.deepEqual(list.tags, [...list.tags].sort(), 'tags in lexical order');
      if (list.tags.length >= 2) {
        const half = list.tags.length >> 1;
        const last = list.tags[half - 1];
        const rest = await v2.call('GET', `/v2/${repo}/tags/list?last=${encodeURIComponent(last)}`);
        assert.deepEqual(rest.json().tags, list.tags.slice(half), `tags after ${last}`);
      }
    });
  }
});

describe('tag list paging', () => {
  const repo = 'library/discovery-paging';
  // Upper case, digits, '_' , '.' and '-': ASCIIbetical order is Go's sort.Strings order.
  const tags = ['b', 'a', 'Z', '1.0', '1.10', '1.9', '_x', 'a-b', 'a.b', 'latest', 'A'];
  const sorted = [...tags].sort();
  before(async () => {
    const td = new TestData('paging');
    const d = td.image();
    for (const tag of tags) td.tags.set(tag, d.digest);
    await pushDataSet(v2, repo, td);
  });

  test('the whole list is in ASCIIbetical order', async () => {
    assert.deepEqual((await v2.tags(repo)).json(), { name: repo, tags: sorted });
  });

  test('n=3 answers three tags and a Link to the rest; following Link gives every tag once', async () => {
    const res = await v2.call('GET', `/v2/${repo}/tags/list?n=3`);
    assert.deepEqual(res.json().tags, sorted.slice(0, 3));
    assert.equal(res.headers.get('link'), `</v2/${repo}/tags/list?n=3&last=${encodeURIComponent(sorted[2])}>; rel="next"`);
    const all = await pages(`/v2/${repo}/tags/list?n=3`, 'tags');
    assert.ok(
      all.slice(0, -1).every((p) => p.length === 3),
      'every page but the last is full',
    );
    assert.deepEqual(all.flat(), sorted);
  });

  test('n with last starts after last; last is not included', async () => {
    const res = await v2.call('GET', `/v2/${repo}/tags/list?n=2&last=${encodeURIComponent(sorted[4])}`);
    assert.deepEqual(res.json().tags, sorted.slice(5, 7));
    assert.ok(res.headers.get('link'));
  });

  test('last alone returns everything after it, without a Link', async () => {
    const res = await v2.call('GET', `/v2/${repo}/tags/list?last=a`);
    assert.deepEqual(
      res.json().tags,
      sorted.filter((t) => t > 'a'),
    );
    assert.equal(res.headers.get('link'), null);
  });

  test('n=0 is an empty list and no Link', async () => {
    const res = await v2.call('GET', `/v2/${repo}/tags/list?n=0`);
    assert.equal(res.status, 200);
    assert.deepEqual(res.json().tags, []);
    assert.equal(res.headers.get('link'), null);
  });

  test('n at or above the count returns every tag and no Link', async () => {
    for (const n of [sorted.length, sorted.length + 5]) {
      const res = await v2.call('GET', `/v2/${repo}/tags/list?n=${n}`);
      assert.deepEqual(res.json().tags, sorted);
      assert.equal(res.headers.get('link'), null);
    }
  });

  test('last past the end is an empty list', async () => {
    const res = await v2.call('GET', `/v2/${repo}/tags/list?n=5&last=zzz`);
    assert.deepEqual(res.json().tags, []);
    assert.equal(res.headers.get('link'), null);
  });
});

describe('referrers of the conformance data sets', () => {
  const sets = dataSets().filter((td) => td.referrers.size > 0);
  for (const td of sets) {
    test(td.name, async () => {
      const repo = `library/referrers-${td.name}`;
      await pushDataSet(v2, repo, td);
      for (const [subject, goals] of td.referrers) {
        const { index, filters } = await referrers(repo, subject);
        assert.equal(filters, null, 'no filter, no OCI-Filters-Applied');
        assert.equal(index.manifests.length, goals.length, 'each referrer once, nothing else');
        for (const goal of goals) {
          const found = index.manifests.find((m) => m.digest === goal.digest);
          assert.ok(found, `referrer ${goal.digest} is listed`);
          assert.equal(found.mediaType, goal.mediaType);
          assert.equal(found.size, goal.size);
          assert.equal(found.artifactType, goal.artifactType);
          assert.deepEqual(found.annotations, goal.annotations);
        }
        for (const artifactType of new Set(goals.map((g) => g.artifactType))) {
          if (artifactType === undefined) continue;
          const filtered = await referrers(repo, subject, artifactType);
          assert.equal(filtered.filters, 'artifactType');
          assert.deepEqual(
            filtered.index.manifests.map((m) => m.digest).sort(),
            goals
              .filter((g) => g.artifactType === artifactType)
              .map((g) => g.digest)
              .sort(),
          );
        }
        const none = await referrers(repo, subject, 'application/vnd.example.none');
        assert.equal(none.filters, 'artifactType');
        assert.deepEqual(none.index.manifests, []);
      }
    });
  }

  test('an image referrer without artifactType is listed with its config media type; annotations are copied', async () => {
    const td = sets.find((s) => s.name === 'artifacts-with-subject')!;
    const goals = [...td.referrers.values()][0];
    assert.ok(
      goals.some((g) => g.artifactType === mt.config),
      'the data set has such a referrer',
    );
    const { index } = await referrers('library/referrers-artifacts-with-subject', [...td.referrers.keys()][0], mt.config);
    assert.equal(index.manifests.length, 1);
    assert.equal(index.manifests[0].artifactType, mt.config);
    const annotated = goals.find((g) => g.annotations)!;
    const { index: all } = await referrers('library/referrers-artifacts-with-subject', [...td.referrers.keys()][0]);
    assert.equal(
      all.manifests.find((m) => m.digest === annotated.digest)!.annotations!['org.opencontainers.conformance'],
      'hello conformance test',
    );
  });

  test('an index referrer without artifactType is listed without one', async () => {
    const repo = 'library/discovery-index-referrer';
    const td = new TestData('index-referrer');
    const subject = td.image({ tag: 'subject' });
    const child = td.image();
    td.index([{ descriptor: child }], { subject });
    await pushDataSet(v2, repo, td);
    const { index } = await referrers(repo, subject.digest);
    assert.equal(index.manifests.length, 1);
    assert.equal(index.manifests[0].mediaType, mt.index);
    assert.equal('artifactType' in index.manifests[0], false);
  });

  test('referrers are per repository', async () => {
    const td = sets.find((s) => s.name === 'artifacts-with-subject')!;
    const subject = [...td.referrers.keys()][0];
    const { index } = await referrers('library/discovery-untagged', subject);
    assert.deepEqual(index.manifests, []);
  });
});

describe('catalog', () => {
  const names = ['library/catalog-b', 'library/catalog-a', 'library/catalog-c', 'library/catalog-a/nested'];
  before(async () => {
    for (const name of names) {
      const td = new TestData(name);
      td.image({ tag: 'v1' });
      await pushDataSet(v2, name, td);
    }
  });

  test('lists repositories in lexical order, paged by n with a Link to the next page', async () => {
    const all = (await v2.call('GET', '/v2/_catalog')).json<{ repositories: string[] }>().repositories;
    assert.deepEqual(all, [...all].sort());
    for (const name of names) assert.ok(all.includes(name));
    const paged = await pages('/v2/_catalog?n=2', 'repositories');
    assert.deepEqual(paged.flat(), all);
    assert.ok(paged.slice(0, -1).every((p) => p.length === 2));
  });

  test('last starts after the named repository', async () => {
    const res = await v2.call('GET', '/v2/_catalog?n=2&last=library/catalog-a');
    assert.deepEqual(res.json().repositories, ['library/catalog-a/nested', 'library/catalog-b']);
    assert.ok(res.headers.get('link')?.includes('rel="next"'));
  });

  test('n=0 is an empty list without Link', async () => {
    const res = await v2.call('GET', '/v2/_catalog?n=0');
    assert.deepEqual(res.json(), { repositories: [] });
    assert.equal(res.headers.get('link'), null);
  });

  test('the catalog asks an anonymous client to authenticate', async () => {
    assertOciError(await v2.call('GET', '/v2/_catalog', { anonymous: true }), 401, 'UNAUTHORIZED');
  });
});
