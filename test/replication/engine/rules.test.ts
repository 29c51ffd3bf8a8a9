import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  applyFilters,
  artifactFilter,
  filterProblem,
  repositoryMatches,
  repositoryPattern,
} from '../../../src/replication/engine/filters.js';
import { DestinationError, destinationRepository, pathComponentsOf } from '../../../src/replication/engine/destination.js';
import type { SourceArtifact } from '../../../src/replication/types.js';

const art = (repository: string, tags: string[], extra: Partial<SourceArtifact> = {}): SourceArtifact => ({
  repository,
  digest: `sha256:${'a'.repeat(64)}`,
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  tags,
  labels: [],
  resourceType: 'image',
  ...extra,
});

test("destination naming follows Harbor's flattening table (stage.go replaceNamespace)", () => {
  const src = 'a/b/c/image';
  assert.equal(destinationRepository(src, 'n', -1), 'n/image');
  assert.equal(destinationRepository(src, 'n', 0), 'n/a/b/c/image');
  assert.equal(destinationRepository(src, 'n', 1), 'n/b/c/image');
  assert.equal(destinationRepository(src, 'n', 2), 'n/c/image');
  assert.equal(destinationRepository(src, 'n', 3), 'n/image');
  assert.throws(
    () => destinationRepository(src, 'n', 4),
    (err: unknown) => {
      assert.ok(err instanceof DestinationError);
      assert.match(err.message, /contains only 3 path components .* flattening level is 4/);
      return true;
    },
  );
  // No namespace: the name is kept, whatever the level.
  assert.equal(destinationRepository(src, '', -1), src);
  assert.equal(destinationRepository('library/nginx', '', 3), 'library/nginx');
  // Namespaces with a path.
  assert.equal(destinationRepository('library/nginx', 'mirror/hub', 0), 'mirror/hub/library/nginx');
  assert.equal(destinationRepository('library/nginx', 'mirror', 1), 'mirror/nginx');
  // Path rules of the destination type.
  assert.equal(pathComponentsOf(null), 'at-least-two');
  assert.equal(pathComponentsOf('harbor'), 'at-least-two');
  assert.equal(pathComponentsOf('docker-hub'), 'only-two');
  assert.equal(pathComponentsOf('docker-registry'), 'any');
  assert.throws(() => destinationRepository('nginx', '', 0, 'at-least-two'), /requires at least 2/);
  assert.throws(() => destinationRepository('a/b/nginx', '', 0, 'only-two'), /only supports 2/);
  assert.equal(destinationRepository('a/b/nginx', 'x', -1, 'only-two'), 'x/nginx');
  assert.equal(destinationRepository('nginx', '', 0, 'any'), 'nginx');
});

test('name filter: doublestar over the whole repository name', () => {
  const f = [{ type: 'name' as const, value: 'library/**' }];
  assert.equal(repositoryMatches(f, 'library/nginx'), true);
  assert.equal(repositoryMatches(f, 'library/a/b'), true);
  assert.equal(repositoryMatches(f, 'other/nginx'), false);
  assert.equal(repositoryMatches([{ type: 'name', value: 'library/*' }], 'library/a/b'), false);
  assert.equal(repositoryMatches([{ type: 'name', value: 'library/{nginx,redis}' }], 'library/redis'), true);
  assert.equal(repositoryMatches([{ type: 'name', value: '' }], 'anything/x'), true);
  assert.equal(repositoryPattern(f), 'library/**');
  assert.equal(repositoryPattern([]), undefined);
});

test('tag filter keeps only the matched tags; excludes keeps the others; untagged match ""', () => {
  const keep = artifactFilter([{ type: 'tag', value: 'v1.*' }]);
  assert.deepEqual(keep(art('p/r', ['v1.0', 'v1.1', 'latest']))?.tags, ['v1.0', 'v1.1']);
  assert.equal(keep(art('p/r', ['latest'])), null);
  assert.equal(keep(art('p/r', [])), null);
  const drop = artifactFilter([{ type: 'tag', value: 'v1.*', decoration: 'excludes' }]);
  assert.deepEqual(drop(art('p/r', ['v1.0', 'latest']))?.tags, ['latest']);
  assert.equal(drop(art('p/r', ['v1.0'])), null);
  assert.ok(drop(art('p/r', [])), 'an untagged artifact does not match v1.* so excludes keeps it');
  assert.ok(artifactFilter([{ type: 'tag', value: '**' }])(art('p/r', [])), '** matches the empty tag');
  // An accessory is matched by its subject's tags and keeps its own.
  const acc = art('p/r', ['sha256-abc.sig'], { accessoryOf: `sha256:${'b'.repeat(64)}`, parentTags: ['v1.0'] });
  assert.deepEqual(keep(acc)?.tags, ['sha256-abc.sig']);
  assert.equal(keep({ ...acc, parentTags: ['latest'] }), null);
});

test('label filter needs every label; excludes keeps the rest; resource filter', () => {
  const labelled = art('p/r', ['1'], { labels: ['prod', 'eu'] });
  assert.ok(artifactFilter([{ type: 'label', value: ['prod'] }])(labelled));
  assert.ok(artifactFilter([{ type: 'label', value: ['prod', 'eu'] }])(labelled));
  assert.equal(artifactFilter([{ type: 'label', value: ['prod', 'us'] }])(labelled), null);
  assert.equal(artifactFilter([{ type: 'label', value: ['prod'], decoration: 'excludes' }])(labelled), null);
  assert.ok(artifactFilter([{ type: 'label', value: ['us'], decoration: 'excludes' }])(labelled));
  const chart = art('p/c', ['1'], { resourceType: 'artifact' });
  assert.equal(artifactFilter([{ type: 'resource', value: 'image' }])(chart), null);
  assert.ok(artifactFilter([{ type: 'resource', value: 'image' }])(labelled));
  assert.ok(artifactFilter([{ type: 'resource', value: 'artifact' }])(chart));
});

test('filters combine: name, tag, label over a listing', () => {
  const listing = [
    art('library/nginx', ['1.27', 'latest'], { labels: ['prod'] }),
    art('library/redis', ['7'], { labels: [] }),
    art('team/app', ['1.27'], { labels: ['prod'] }),
  ];
  const out = applyFilters(
    [
      { type: 'name', value: 'library/**' },
      { type: 'tag', value: '1.*' },
      { type: 'label', value: ['prod'] },
    ],
    listing,
  );
  assert.deepEqual(
    out.map((a) => `${a.repository}:${a.tags.join(',')}`),
    ['library/nginx:1.27'],
  );
});

test('filterProblem says what is wrong with a filter', () => {
  assert.equal(filterProblem({ type: 'name', value: 'library/**' }), null);
  assert.equal(filterProblem({ type: 'tag', value: 'v*', decoration: 'excludes' }), null);
  assert.equal(filterProblem({ type: 'label', value: ['a', 'b'] }), null);
  assert.equal(filterProblem({ type: 'resource', value: 'image' }), null);
  assert.match(filterProblem({ type: 'colour', value: 'x' })!, /not one of name, tag, label, resource/);
  assert.match(filterProblem({ type: 'tag', value: 'v[1' })!, /not a valid doublestar pattern/);
  assert.match(filterProblem({ type: 'tag', value: 'v*', decoration: 'maybe' })!, /matches" or "excludes/);
  assert.match(filterProblem({ type: 'resource', value: 'chart' })!, /"image" or "artifact"/);
  assert.match(filterProblem({ type: 'name', value: 5 })!, /takes a string/);
  assert.match(filterProblem('name')!, /must be an object/);
});
