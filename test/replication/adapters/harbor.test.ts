/**
 * The harbor adapter against a real Berth on 127.0.0.1 (how one Berth replicates with
 * another): the Bearer challenge and token flow of /v2 with tokens cached per scope,
 * project creation before a push, listing through Harbor's API with tags and labels,
 * mounts and deletes, and the credential refusals. A gate in front of the Berth counts
 * the requests (the Host is passed unchanged, so Berth's realm names the gate).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createAdapter, RemoteConnections } from '../../../src/replication/adapters/index.js';
import { blobOf } from '../../../src/replication/adapters/v2-client.js';
import { RemoteRegistryError, type RegistryAdapter } from '../../../src/replication/types.js';
import { api, createUser } from '../../helpers/api.js';
import { cosignTag, pushCosignSignature, pushMultiPlatform, pushNotationSignature, pushSbomReferrer } from '../../helpers/artifacts.js';
import { testDialect } from '../../helpers/database.js';
import { startDockerRegistry, type DockerRegistry } from '../../helpers/docker-registry.js';
import { startRegistryGate, type RegistryGate } from '../../helpers/registry-gate.js';
import { adminPassword, startServer, type TestServer } from '../../helpers/server.js';
import { requireTools } from '../../helpers/tools.js';
import { endpoint, makeImage, pushThrough, readAll } from './content.js';

async function failureOf(promise: Promise<unknown>): Promise<RemoteRegistryError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof RemoteRegistryError, `expected a RemoteRegistryError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a failure');
}

describe(`harbor adapter against a real Berth (${testDialect()})`, () => {
  let server: TestServer;
  let gate: RegistryGate;
  let connections: RemoteConnections;
  let adapter: RegistryAdapter;
  const admin = { username: 'admin', password: adminPassword };

  before(async () => {
    server = await startServer();
    gate = await startRegistryGate(server.url);
    connections = new RemoteConnections();
    adapter = createAdapter(endpoint(gate.url, 'harbor', admin), { connections });
  });

  after(async () => {
    connections?.close();
    await gate?.close();
    await server?.stop();
  });

  test('ping: the admin credential passes the token flow; a wrong one is unauthorized; anonymous pings', async () => {
    await adapter.ping();
    const wrong = createAdapter(endpoint(gate.url, 'harbor', { username: 'admin', password: 'not-it' }), { connections });
    const err = await failureOf(wrong.ping());
    assert.equal(err.failure, 'unauthorized');
    assert.match(err.message, /refused the credential of "admin"/);
    await createAdapter(endpoint(gate.url, 'harbor'), { connections }).ping();
    const info = adapter.info();
    assert.equal(info.type, 'harbor');
    assert.deepEqual(
      info.supportedResourceFilters.map((f) => f.type),
      ['name', 'tag', 'label', 'resource'],
    );
    assert.deepEqual(info.supportedResourceFilters.find((f) => f.type === 'resource')?.values, ['image', 'artifact']);
    assert.equal(info.supportedCopyByChunk, true);
  });

  test('a push creates the missing project (once), then goes through /v2 with tokens cached per scope', async () => {
    assert.equal((await api(server, 'GET', '/projects/replicated', { auth: server.admin.authorization })).status, 404);
    gate.reset();
    const image = makeImage([100_000, 2_000]);
    await adapter.prepareRepository!('replicated/team/app');
    await adapter.prepareRepository!('replicated/other');
    assert.equal(gate.count('POST', '/api/v2.0/projects'), 1);
    const project = await api(server, 'GET', '/projects/replicated', { auth: server.admin.authorization });
    assert.equal(project.status, 200);
    assert.equal(project.body.metadata.public, 'false');

    gate.reset();
    assert.equal(await pushThrough(adapter, 'replicated/team/app', 'v1', image), image.digest);
    await pushThrough(adapter, 'replicated/team/app', 'v2', makeImage([3_000]));
    // One token per scope (pull for the HEADs and pull,push for the writes), however many requests.
    const tokens = gate.requests.filter((r) => r.url.startsWith('/service/token'));
    assert.ok(tokens.length >= 1 && tokens.length <= 2, `${tokens.length} token requests`);
    assert.ok(gate.requests.length > 8);
    assert.ok(
      gate.requests.filter((r) => r.url.startsWith('/v2/') && r.status !== 401).every((r) => r.authorization?.startsWith('Bearer ')),
      'content requests carry the token',
    );

    const manifest = await adapter.getManifest('replicated/team/app', 'v1');
    assert.ok(manifest?.bytes.equals(image.manifest));
    const layer = await readAll((await adapter.getBlob('replicated/team/app', image.blobs[1].digest)).stream);
    assert.ok(layer.equals(image.blobs[1].data));
  });

  test('listing goes through the API: projects, repositories, artifacts with tags and labels', async () => {
    const image = makeImage();
    await pushThrough(adapter, 'listed/web', 'v1', image);
    await adapter.putManifest('listed/web', 'latest', 'application/vnd.oci.image.manifest.v1+json', image.manifest);
    await pushThrough(adapter, 'listed/deep/api', '1.0', makeImage());

    const label = await api(server, 'POST', '/labels', {
      auth: server.admin.authorization,
      body: { name: 'prod', scope: 'g', color: '#00ff00' },
    });
    assert.equal(label.status, 201);
    const labelId = Number(label.headers.get('location')!.split('/').pop());
    const attached = await api(server, 'POST', `/projects/listed/repositories/web/artifacts/${image.digest}/labels`, {
      auth: server.admin.authorization,
      body: { id: labelId },
    });
    assert.equal(attached.status, 200);

    assert.deepEqual((await adapter.listRepositories({ repositoryPattern: 'listed/**' })).sort(), ['listed/deep/api', 'listed/web']);
    assert.deepEqual(await adapter.listRepositories({ repositoryPattern: 'listed/*' }), ['listed/web']);
    const everywhere = await adapter.listRepositories();
    assert.ok(['listed/web', 'listed/deep/api', 'replicated/team/app'].every((r) => everywhere.includes(r)));
    assert.deepEqual(await adapter.listRepositories({ repositoryPattern: 'nosuchproject/**' }), []);

    const artifacts = await adapter.listArtifacts({ repositoryPattern: 'listed/**' });
    const web = artifacts.find((a) => a.repository === 'listed/web');
    assert.ok(web);
    assert.equal(web.digest, image.digest);
    assert.deepEqual(web.tags.sort(), ['latest', 'v1']);
    assert.deepEqual(web.labels, ['prod']);
    assert.equal(web.resourceType, 'image');
    assert.equal(web.mediaType, 'application/vnd.oci.image.manifest.v1+json');
    const deep = artifacts.find((a) => a.repository === 'listed/deep/api');
    assert.deepEqual(deep?.tags, ['1.0']);
    assert.deepEqual(deep?.labels, []);

    const described = await (
      adapter as RegistryAdapter & { describe(): Promise<{ supportedResourceFilters: Array<{ type: string; values?: string[] }> }> }
    ).describe();
    assert.deepEqual(described.supportedResourceFilters.find((f) => f.type === 'label')?.values, ['prod']);
  });

  test("accessories are listed beside their subject, with the subject's tags and labels, as Harbor lists them", async () => {
    const image = makeImage();
    await pushThrough(adapter, 'acc/app', 'v1', image);
    const signature = await pushCosignSignature(server, 'acc/app', image.digest);
    const sbom = await pushSbomReferrer(server, 'acc/app', image.digest);
    const multi = await pushMultiPlatform(server, 'acc/multi', 'm1');
    const childSignature = await pushNotationSignature(server, 'acc/multi', multi.images[0].digest);

    const listed = await adapter.listArtifacts({ repositoryPattern: 'acc/**' });
    const find = (digest: string) => listed.find((a) => a.digest === digest);
    assert.deepEqual(find(image.digest)?.tags, ['v1']);
    assert.equal(find(image.digest)?.accessoryOf, undefined);
    const sig = find(signature.digest);
    assert.ok(sig, 'the cosign signature is listed');
    assert.equal(sig.accessoryOf, image.digest);
    assert.deepEqual(sig.parentTags, ['v1']);
    assert.deepEqual(sig.tags, [cosignTag(image.digest)]);
    assert.equal(find(sbom.digest)?.accessoryOf, image.digest);
    assert.deepEqual(find(sbom.digest)?.tags, []);
    // The index is listed with its tag; its child's signature beside it, under the index's tags.
    assert.deepEqual(find(multi.digest)?.tags, ['m1']);
    const childSig = find(childSignature.digest);
    assert.equal(childSig?.accessoryOf, multi.images[0].digest);
    assert.deepEqual(childSig?.parentTags, ['m1']);
    assert.equal(listed.filter((a) => a.repository === 'acc/app').length, 3);
  });

  test('anonymous listing sees only public projects', async () => {
    const anonymous = createAdapter(endpoint(gate.url, 'harbor'), { connections });
    const names = await anonymous.listRepositories();
    assert.ok(!names.some((n) => n.startsWith('listed/') || n.startsWith('replicated/')), names.join(','));
  });

  test('mount across repositories follows the two-scope challenge; delete by tag and digest', async () => {
    const image = makeImage([20_000]);
    await pushThrough(adapter, 'listed/web', 'mountsrc', image);
    const layer = image.blobs[1].digest;
    assert.equal(await adapter.blobExists('listed/copy', layer), false);
    assert.equal(await adapter.mountBlob('listed/copy', layer, 'listed/web'), true);
    assert.equal(await adapter.blobExists('listed/copy', layer), true);

    await adapter.deleteManifest('listed/web', 'mountsrc');
    assert.equal(await adapter.headManifest('listed/web', image.digest), null);
    await adapter.deleteManifest('listed/web', 'mountsrc');
  });

  test('a user without rights: pushes into, and pulls from, a private project are unauthorized', async () => {
    await createUser(server, 'outsider', 'Passw0rd1');
    const outsider = createAdapter(endpoint(gate.url, 'harbor', { username: 'outsider', password: 'Passw0rd1' }), { connections });
    await outsider.ping();
    const image = makeImage();
    const err = await failureOf(outsider.putBlob('listed/web', image.blobs[0].digest, blobOf(image.blobs[0].data)));
    assert.equal(err.failure, 'unauthorized');
    assert.equal(await outsider.headManifest('listed/web', 'v1').catch((e: RemoteRegistryError) => e.failure), 'unauthorized');
  });

  test('Berth can also be reached as a plain docker-registry (its catalog, for a system administrator)', async () => {
    const plain = createAdapter(endpoint(gate.url, 'docker-registry', admin), { connections });
    const names = await plain.listRepositories({ repositoryPattern: 'listed/**' });
    assert.ok(names.includes('listed/web') && names.includes('listed/deep/api'));
    const artifacts = await plain.listArtifacts({ repositoryPattern: 'listed/web' });
    assert.deepEqual(artifacts[0].tags.sort(), ['latest', 'v1']);
  });
});

describe(
  `harbor adapter and a proxy-cache project at the destination (${testDialect()})`,
  { skip: requireTools('docker-registry') },
  () => {
    let server: TestServer;
    let upstream: DockerRegistry;
    let connections: RemoteConnections;

    before(async () => {
      upstream = await startDockerRegistry();
      server = await startServer();
      connections = new RemoteConnections();
    });

    after(async () => {
      connections?.close();
      await server?.stop();
      await upstream?.close();
    });

    test('a push into a proxy-cache project is refused before any content is sent', async () => {
      const registry = await api(server, 'POST', '/registries', {
        auth: server.admin.authorization,
        body: { name: 'upstream', type: 'docker-registry', url: upstream.url },
      });
      assert.equal(registry.status, 201);
      const registryId = Number(registry.headers.get('location')!.split('/').pop());
      const project = await api(server, 'POST', '/projects', {
        auth: server.admin.authorization,
        body: { project_name: 'mirror', registry_id: registryId, metadata: { public: 'true' } },
      });
      assert.equal(project.status, 201);

      const adapter = createAdapter(endpoint(server.url, 'harbor', { username: 'admin', password: adminPassword }), { connections });
      const err = await failureOf(adapter.prepareRepository!('mirror/library/nginx'));
      assert.equal(err.failure, 'denied');
      assert.match(err.message, /project "mirror" at .* is a proxy cache project; it cannot be pushed to/);
      // An ordinary project next to it is prepared as usual.
      await adapter.prepareRepository!('ordinary/app');
      assert.equal((await api(server, 'GET', '/projects/ordinary', { auth: server.admin.authorization })).status, 200);
    });
  },
);
