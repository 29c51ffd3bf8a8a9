/**
 * The docker-hub adapter. This machine has no network, so Docker Hub itself is never
 * reached: these tests run against a loopback stand-in (test/helpers/docker-hub-standin.ts)
 * written from Docker's documentation — its token service, a /v2 that wants Bearer tokens
 * with the right scopes (content in a real docker-registry behind it), and the Hub API for
 * namespaces, repositories and tag deletion. What they show: `library/` for official
 * images, the anonymous and signed-in token flows with tokens cached per scope, listing
 * through the Hub API, deletion through it, and the refusals.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createAdapter, DockerHubAdapter, dockerHubName, RemoteConnections } from '../../../src/replication/adapters/index.js';
import { blobOf } from '../../../src/replication/adapters/v2-client.js';
import { RemoteRegistryError, type RegistryAdapter } from '../../../src/replication/types.js';
import { startDockerHubStandIn, type DockerHubStandIn } from '../../helpers/docker-hub-standin.js';
import { requireTools } from '../../helpers/tools.js';
import { endpoint, makeImage, ociManifest, pushThrough, readAll } from './content.js';

const skip = requireTools('docker-registry');

async function failureOf(promise: Promise<unknown>): Promise<RemoteRegistryError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof RemoteRegistryError, `expected a RemoteRegistryError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a failure');
}

test('docker-hub names: official images live under library/', () => {
  assert.equal(dockerHubName('nginx'), 'library/nginx');
  assert.equal(dockerHubName('library/nginx'), 'library/nginx');
  assert.equal(dockerHubName('bitnami/redis'), 'bitnami/redis');
});

test("docker-hub at Harbor's endpoint URL reads content from registry-1.docker.io", () => {
  const adapter = createAdapter(endpoint('https://hub.docker.com', 'docker-hub')) as DockerHubAdapter;
  assert.equal(adapter.client.base.href, 'https://registry-1.docker.io/');
  assert.equal(adapter.info().type, 'docker-hub');
  assert.equal(adapter.info().supportedCopyByChunk, false);
});

describe('docker-hub adapter against a loopback stand-in for Docker Hub', { skip }, () => {
  let hub: DockerHubStandIn;
  let connections: RemoteConnections;
  let anonymous: RegistryAdapter;
  let alice: RegistryAdapter;
  const nginx = makeImage([50_000]);

  before(async () => {
    hub = await startDockerHubStandIn({ users: { alice: 'alice-pw' }, orgs: { alice: ['team'] } });
    connections = new RemoteConnections();
    // Official images are seeded straight into the registry behind the stand-in.
    await pushThrough(createAdapter(endpoint(hub.registry.url), { connections }), 'library/nginx', '1.27', nginx);
    anonymous = createAdapter(endpoint(hub.url, 'docker-hub'), { connections });
    alice = createAdapter(endpoint(hub.url, 'docker-hub', { username: 'alice', password: 'alice-pw' }), { connections });
  });

  after(async () => {
    connections?.close();
    await hub?.close();
  });

  test('anonymous pulls of an official image by its short name, with one token per scope', async () => {
    await anonymous.ping();
    hub.reset();
    const head = await anonymous.headManifest('nginx', '1.27');
    assert.deepEqual(head, { digest: nginx.digest, mediaType: ociManifest, size: nginx.manifest.length });
    const manifest = await anonymous.getManifest('nginx', '1.27');
    assert.ok(manifest?.bytes.equals(nginx.manifest));
    const layer = await readAll((await anonymous.getBlob('nginx', nginx.blobs[1].digest)).stream);
    assert.ok(layer.equals(nginx.blobs[1].data));
    assert.equal(await anonymous.blobExists('library/nginx', nginx.blobs[0].digest), true);
    assert.deepEqual(await anonymous.listTags('nginx'), ['1.27']);

    const tokenRequests = hub.requests.filter((r) => r.url.startsWith('/token'));
    assert.equal(tokenRequests.length, 1, 'every pull of library/nginx used the one cached token');
    const asked = new URL(tokenRequests[0].url, hub.url);
    assert.equal(asked.searchParams.get('service'), 'registry.docker.io');
    assert.deepEqual(asked.searchParams.getAll('scope'), ['repository:library/nginx:pull']);
    assert.ok(
      hub.requests.every((r) => !r.url.startsWith('/v2/nginx/')),
      'never the short name on the wire',
    );
  });

  test('a cached token the registry no longer accepts is dropped, fetched again, and the request made again', async () => {
    assert.ok(await anonymous.headManifest('nginx', '1.27'));
    hub.revokeTokens();
    hub.reset();
    assert.equal((await anonymous.headManifest('nginx', '1.27'))?.digest, nginx.digest);
    assert.deepEqual(
      hub.requests.map((r) => `${r.method} ${r.url.split('?')[0]} ${r.status}`),
      ['HEAD /v2/library/nginx/manifests/1.27 401', 'GET /token 200', 'HEAD /v2/library/nginx/manifests/1.27 200'],
    );
    // The new token is the cached one now.
    hub.reset();
    await anonymous.getManifest('nginx', '1.27');
    assert.equal(hub.count('GET', '/token'), 0);
  });

  test('twenty concurrent pulls on fresh connections share one token request', async () => {
    const fresh = new RemoteConnections();
    try {
      const adapter = createAdapter(endpoint(hub.url, 'docker-hub'), { connections: fresh });
      await adapter.ping();
      hub.reset();
      const heads = await Promise.all(Array.from({ length: 20 }, () => adapter.headManifest('nginx', '1.27')));
      assert.ok(heads.every((h) => h?.digest === nginx.digest));
      assert.equal(hub.count('GET', '/token'), 1);
    } finally {
      fresh.close();
    }
  });

  test('anonymous listing needs a namespace in the pattern; pushes are unauthorized', async () => {
    assert.deepEqual(await anonymous.listRepositories({ repositoryPattern: 'nginx' }), ['library/nginx']);
    assert.deepEqual(await anonymous.listRepositories({ repositoryPattern: 'library/*' }), ['library/nginx']);
    hub.reset();
    const artifacts = await anonymous.listArtifacts({ repositoryPattern: 'library/**' });
    assert.equal(hub.count('HEAD', '/v2/'), 0, "the Hub API's tag list gives digests: no HEAD per tag");
    assert.deepEqual(
      artifacts.map((a) => [a.repository, a.digest, a.tags]),
      [['library/nginx', nginx.digest, ['1.27']]],
    );
    const err = await failureOf(anonymous.listRepositories());
    assert.match(err.message, /signed-in account/);
    const push = await failureOf(anonymous.putBlob('library/nginx', nginx.blobs[0].digest, blobOf(nginx.blobs[0].data)));
    assert.equal(push.failure, 'unauthorized');
  });

  test('a signed-in account: ping, pushes into its namespaces only, listing through the Hub API', async () => {
    await alice.ping();
    const wrong = createAdapter(endpoint(hub.url, 'docker-hub', { username: 'alice', password: 'nope' }), { connections });
    assert.equal((await failureOf(wrong.ping())).failure, 'unauthorized');

    const app = makeImage([10_000]);
    await pushThrough(alice, 'alice/app', 'v1', app);
    await alice.putManifest('alice/app', 'v1-again', ociManifest, app.manifest);
    await pushThrough(alice, 'team/tool', '2.0', makeImage());
    const refused = await failureOf(pushThrough(alice, 'library/alpine', 'latest', makeImage()));
    assert.equal(refused.failure, 'unauthorized');

    assert.deepEqual((await alice.listRepositories()).sort(), ['alice/app', 'team/tool']);
    assert.ok(hub.count('GET', '/v2/repositories/namespaces') >= 1);
    assert.deepEqual(await alice.listRepositories({ repositoryPattern: 'team/**' }), ['team/tool']);
    const artifacts = await alice.listArtifacts({ repositoryPattern: 'alice/*' });
    assert.equal(artifacts.length, 1);
    assert.deepEqual(artifacts[0].tags.sort(), ['v1', 'v1-again']);
    assert.equal(artifacts[0].digest, app.digest);
  });

  test('deleting goes through the Hub API: a tag, or every tag of a digest', async () => {
    const one = makeImage();
    await pushThrough(alice, 'alice/gone', 'a', one);
    await alice.putManifest('alice/gone', 'b', ociManifest, one.manifest);
    const other = makeImage();
    await pushThrough(alice, 'alice/gone', 'keep', other);

    await alice.deleteManifest('alice/gone', 'a');
    assert.deepEqual((await alice.listTags('alice/gone')).sort(), ['b', 'keep']);
    hub.reset();
    await alice.deleteManifest('alice/gone', one.digest);
    assert.equal(hub.count('DELETE', '/v2/repositories/alice/gone/tags/'), 1, 'the one remaining tag of that digest');
    assert.equal(hub.count('DELETE', '/v2/alice/gone/manifests/'), 0, 'never DELETE on /v2, which Docker Hub refuses');
    const left = await alice.listTags('alice/gone');
    assert.ok(!left.includes('a') && !left.includes('b') && left.includes('keep'));
    await alice.deleteManifest('alice/gone', 'not-there');

    const denied = await failureOf(alice.deleteManifest('library/nginx', '1.27'));
    assert.equal(denied.failure, 'denied');
  });
});
