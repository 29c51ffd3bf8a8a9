import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { api } from '../helpers/api.js';
import { startDockerHubStandIn, type DockerHubStandIn } from '../helpers/docker-hub-standin.js';
import { types } from '../helpers/oci.js';
import { adminPassword, startServer, type TestServer } from '../helpers/server.js';
import { requireTools, runTool } from '../helpers/tools.js';
import { digestOf, V2 } from '../helpers/v2.js';
import { createProxyProject, pushUpstream } from './fixtures.js';

const skip = requireTools('docker-registry', 'skopeo');

/**
 * A proxy cache of Docker Hub. Docker Hub is out of reach here: the endpoint is the loopback
 * stand-in (test/helpers/docker-hub-standin.ts: its token service and a Bearer-guarded /v2 over
 * a real docker-registry). Official images are asked for without `library/`, as Harbor allows:
 * Berth redirects them to `library/…` (301), as Harbor does, so each is cached once.
 */
describe('proxy cache of Docker Hub (loopback stand-in)', { skip }, () => {
  let hub: DockerHubStandIn;
  let server: TestServer;
  let v2: V2;
  let work: string;

  before(async () => {
    hub = await startDockerHubStandIn();
    server = await startServer();
    v2 = new V2(server);
    work = await mkdtemp(path.join(tmpdir(), 'berth-proxy-hub-'));
    const res = await api(server, 'POST', '/registries', {
      auth: server.admin.authorization,
      body: { name: 'hub', type: 'docker-hub', url: hub.url, insecure: true },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    await createProxyProject(server, 'dockerhub', Number(res.headers.get('location')!.split('/').pop()));
  });
  after(async () => {
    await server?.stop();
    await hub?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('an official image by its short name: 301 to library/, then pulled through the token-guarded upstream', async () => {
    const busybox = await pushUpstream(hub.registry.url, 'library/busybox', '1.36', [20_000]);
    const manifest = await v2.call('GET', '/v2/dockerhub/busybox/manifests/1.36', { headers: { accept: types.manifest } });
    assert.equal(manifest.status, 301);
    assert.equal(manifest.headers.get('location'), '/v2/dockerhub/library/busybox/manifests/1.36');
    const blob = await v2.call('GET', `/v2/dockerhub/busybox/blobs/${busybox.blobs[1].digest}`);
    assert.equal(blob.status, 301);
    assert.equal(blob.headers.get('location'), `/v2/dockerhub/library/busybox/blobs/${busybox.blobs[1].digest}`);
    const tags = await v2.call('GET', '/v2/dockerhub/busybox/tags/list');
    assert.equal(tags.status, 301);

    // A real client follows the redirect.
    const out = path.join(work, 'busybox');
    await runTool('skopeo', [
      '--insecure-policy',
      'copy',
      '--src-tls-verify=false',
      '--src-creds',
      `admin:${adminPassword}`,
      `docker://${new URL(server.url).host}/dockerhub/busybox:1.36`,
      `dir:${out}`,
    ]);
    assert.ok((await readFile(path.join(out, 'manifest.json'))).equals(busybox.manifest));
    const layer = await readFile(path.join(out, busybox.blobs[1].digest.slice('sha256:'.length)));
    assert.equal(digestOf(layer), busybox.blobs[1].digest);

    const listed = await v2.tags('dockerhub/library/busybox');
    assert.deepEqual(listed.json<any>().tags, ['1.36']);
    // Cached once, under library/.
    const repos = await api<any[]>(server, 'GET', '/projects/dockerhub/repositories', { auth: server.admin.authorization });
    assert.deepEqual(
      repos.body.map((r) => r.name),
      ['dockerhub/library/busybox'],
    );
  });
});
