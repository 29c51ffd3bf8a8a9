import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startCountingProxy, type CountingProxy } from '../helpers/counting-proxy.js';
import { startDockerRegistry, type DockerRegistry } from '../helpers/docker-registry.js';
import { imageBlobs } from '../helpers/layout.js';
import { pushManifest, types } from '../helpers/oci.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { requireTools } from '../helpers/tools.js';
import { debianImage, overviewOf, vulnerabilityMime, waitFor, writeFixtures, type Fixture } from '../scanning/scans/helpers.js';
import { createEndpoint, createProxyProject, pushBlob } from './fixtures.js';

const skip = requireTools('docker-registry', 'dpkg-query', 'tar');

/**
 * A cached artifact is scanned like a pushed one: scan on push fires when the proxy stores the
 * manifest, and the scanner reads the layers no client asked for yet through the proxy cache.
 */
describe('proxy cache: scan on push of a cached image', { skip }, () => {
  let upstream: DockerRegistry;
  let counter: CountingProxy;
  let server: TestServer;
  let fixture: Fixture;

  before(async () => {
    upstream = await startDockerRegistry();
    counter = await startCountingProxy(upstream.url);
    server = await startServer({ yaml: { 'jobs.poll_interval_ms': 50 } });
    fixture = await writeFixtures();
    await server.berth.scanning.vulndb.service.importDirectory(fixture.dir);
  });
  after(async () => {
    await server?.stop();
    await counter?.close();
    await upstream?.close();
  });

  test('pulling only the manifest of a project with auto_scan scans the image, its layers fetched from the upstream once', async () => {
    const image = await debianImage({ proxied: true });
    for (const blob of imageBlobs(image)) if (blob !== image.manifest) await pushBlob(upstream.url, 'debian/app', blob.data);
    await pushManifest(upstream.url, 'debian/app', 'v1', JSON.parse(image.manifest.data.toString()), types.manifest);
    await createProxyProject(server, 'scanned', await createEndpoint(server, 'upstream', counter.url), { metadata: { auto_scan: 'true' } });

    const m = await fetch(`${server.url}/v2/scanned/debian/app/manifests/v1`, { headers: { ...server.admin, accept: types.manifest } });
    assert.equal(m.status, 200);
    const scanned = await waitFor(
      () => overviewOf(server, 'scanned/debian/app', 'v1'),
      (o) => ['Success', 'Error'].includes(o.scan_overview?.[vulnerabilityMime]?.scan_status ?? ''),
      'the cached image to be scanned',
    );
    assert.equal(scanned.scan_overview![vulnerabilityMime].scan_status, 'Success');
    assert.deepEqual(scanned.scan_overview![vulnerabilityMime].summary, fixture.expected);
    for (const layer of image.layers)
      assert.equal(counter.count('GET', `/v2/debian/app/blobs/${layer.digest}`), 1, `layer ${layer.digest} fetched once`);
    // The layers are cached now: a client's pull reads nothing more from the upstream.
    counter.reset();
    const layer = await fetch(`${server.url}/v2/scanned/debian/app/blobs/${image.layers[0].digest}`, { headers: server.admin });
    assert.equal(layer.status, 200);
    await layer.arrayBuffer();
    assert.equal(counter.count('GET', '/v2/debian/app/blobs/'), 0);
  });
});
