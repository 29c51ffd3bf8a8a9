import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createAdapter } from '../../../src/replication/adapters/index.js';
import { Copier } from '../../../src/replication/engine/copier.js';
import { LocalRegistryAdapter } from '../../../src/replication/engine/local.js';
import type { RegistryAdapter } from '../../../src/replication/types.js';
import { startCountingProxy } from '../../helpers/counting-proxy.js';
import { startDockerRegistry, type DockerRegistry } from '../../helpers/docker-registry.js';
import { pushImage } from '../../helpers/oci.js';
import { startServer, type TestServer } from '../../helpers/server.js';
import { requireTools } from '../../helpers/tools.js';

// The copier from Berth (in process) to a real docker-registry through the docker-registry
// adapter: copy by chunk, mounts between repositories, and the way back.

const skip = requireTools('docker-registry');

describe('copier: Berth and a real docker-registry', { skip }, () => {
  let berth: TestServer;
  let registry: DockerRegistry;
  let local: LocalRegistryAdapter;
  let remote: RegistryAdapter;

  before(async () => {
    [berth, registry] = await Promise.all([startServer(), startDockerRegistry()]);
    local = new LocalRegistryAdapter({
      registry: berth.berth.registry,
      uploads: berth.berth.uploads,
      artifacts: berth.berth.artifacts,
      projects: berth.berth.projects,
    });
    remote = createAdapter({
      id: 1,
      name: 'dist',
      type: 'docker-registry',
      url: registry.url,
      insecure: true,
      caCertificate: null,
      credential: null,
    });
  });
  after(async () => {
    await berth?.stop();
    await registry?.close();
  });

  test('copy by chunk: a layer sent in several PATCH chunks arrives whole', async () => {
    const layer = randomBytes(200 * 1024).toString('base64');
    const image = await pushImage(berth.url, 'library/chunky', 'v1', { headers: berth.admin, layer });
    const result = await new Copier(local, remote, { override: false, chunkSize: 48 * 1024, destinationKey: 'dist' }).copy({
      srcRepository: 'library/chunky',
      digest: image.digest,
      tags: ['v1'],
      dstRepository: 'chunky/one',
    });
    assert.equal(result.blobsCopied, 2);
    const blob = await fetch(`${registry.url}/v2/chunky/one/blobs/${image.layer.digest}`);
    assert.deepEqual(Buffer.from(await blob.arrayBuffer()), image.layer.data);
    assert.equal((await remote.headManifest('chunky/one', 'v1'))?.digest, image.digest);

    // The same image into another repository of the same registry: mounted, not sent again.
    const again = await new Copier(local, remote, { override: false, destinationKey: 'dist' }).copy({
      srcRepository: 'library/chunky',
      digest: image.digest,
      tags: ['v1'],
      dstRepository: 'chunky/two',
    });
    assert.equal(again.blobsMounted, 2);
    assert.equal(again.blobsCopied, 0);
    assert.equal((await remote.headManifest('chunky/two', 'v1'))?.digest, image.digest);
  });

  test('a 500 to a blob HEAD (docker-registry during another upload of the blob) is asked again within the copy, not left to the queue', async () => {
    const image = await pushImage(berth.url, 'library/busy-head', 'v1', { headers: berth.admin });
    const proxy = await startCountingProxy(registry.url);
    try {
      const viaProxy = createAdapter({
        id: 2,
        name: 'dist-via-proxy',
        type: 'docker-registry',
        url: proxy.url,
        insecure: true,
        caCertificate: null,
        credential: null,
      });
      const layerHead = new RegExp(`/v2/busy/head/blobs/${image.layer.digest}$`);
      proxy.once.push({ method: 'HEAD', path: layerHead, status: 500 });
      const logs: string[] = [];
      const result = await new Copier(local, viaProxy, { override: false, log: (m) => void logs.push(m) }).copy({
        srcRepository: 'library/busy-head',
        digest: image.digest,
        tags: ['v1'],
        dstRepository: 'busy/head',
      });
      assert.equal(result.outcome, 'copied');
      assert.equal(result.blobsCopied, 2);
      assert.equal(proxy.once.length, 0, 'the 500 was answered');
      assert.deepEqual(
        proxy.requests.filter((r) => r.method === 'HEAD' && layerHead.test(r.url)).map((r) => r.status),
        [500, 404],
      );
      assert.ok(
        logs.some((m) => m.includes(image.layer.digest) && /: 500.*trying again in 1 s/.test(m)),
        logs.join('\n'),
      );
      assert.equal((await remote.headManifest('busy/head', 'v1'))?.digest, image.digest);
      const blob = await fetch(`${registry.url}/v2/busy/head/blobs/${image.layer.digest}`);
      assert.deepEqual(Buffer.from(await blob.arrayBuffer()), image.layer.data);
    } finally {
      await proxy.close();
    }
  });

  test('and back: from the docker-registry into a new Berth project', async () => {
    const result = await new Copier(remote, local, { override: false }).copy({
      srcRepository: 'chunky/one',
      digest: (await remote.headManifest('chunky/one', 'v1'))!.digest,
      tags: ['v1', 'copy'],
      dstRepository: 'back/chunky',
    });
    assert.equal(result.outcome, 'copied');
    assert.deepEqual(result.tagsPushed, ['v1', 'copy']);
    const res = await fetch(`${berth.url}/v2/back/chunky/manifests/copy`, {
      headers: { ...berth.admin, accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    assert.equal(res.status, 200);
  });
});
