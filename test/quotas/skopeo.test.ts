import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildImage, imageBlobs, writeOciLayout, type BuiltImage } from '../helpers/layout.js';
import { adminPassword, startServer, type TestServer } from '../helpers/server.js';
import { requireTools, runTool } from '../helpers/tools.js';
import { count, createProject, independentRecount, usedOf } from './fixtures.js';

const skip = requireTools('skopeo', 'tar');

/** A real client pushing past a project's limit sees Harbor's words, and nothing is stored. */
describe('skopeo pushing past the quota', { skip }, () => {
  let server: TestServer;
  let work: string;
  let host: string;
  let small: BuiltImage;
  let large: BuiltImage;
  let authFile: string;
  const skopeo = (...args: string[]) =>
    runTool('skopeo', ['--insecure-policy', ...args], { env: { ...process.env, REGISTRY_AUTH_FILE: authFile }, timeoutMs: 180_000 });

  before(async () => {
    server = await startServer();
    host = new URL(server.url).host;
    work = await mkdtemp(path.join(tmpdir(), 'berth-quota-skopeo-'));
    authFile = path.join(work, 'auth.json');
    await skopeo('login', '--tls-verify=false', '--username', 'admin', '--password', adminPassword, host);
    small = await buildImage({ architecture: 'amd64', os: 'linux' }, [{ 'etc/motd': 'small\n' }]);
    // Random bytes do not compress: the layer stays about 3 MiB.
    large = await buildImage({ architecture: 'amd64', os: 'linux' }, [{ 'srv/data.bin': randomBytes(3 * 1024 * 1024) }]);
    await writeOciLayout(path.join(work, 'layout'), { small: small.manifest, large: large.manifest }, [
      ...imageBlobs(small),
      ...imageBlobs(large),
    ]);
  });
  after(async () => {
    await server?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('a push that fits is stored; one that does not fails with "will exceed the configured upper limit" and stores nothing', async () => {
    const projectId = await createProject(server, 'capped', 2 * 1024 * 1024);
    const layout = path.join(work, 'layout');
    await skopeo('copy', '--dest-tls-verify=false', `oci:${layout}:small`, `docker://${host}/capped/app:small`);
    const used = await usedOf(server, projectId);
    assert.ok(used > 0);
    const blobs = await count(server, 'blobs');

    const refused = await skopeo(
      'copy',
      '--retry-times',
      '0',
      '--dest-tls-verify=false',
      `oci:${layout}:large`,
      `docker://${host}/capped/app:large`,
    ).then(
      () => assert.fail('the push past the limit succeeded'),
      (err: Error & { stderr: string }) => err,
    );
    assert.match(
      refused.stderr,
      /denied: adding 3\.0 MiB of storage resource, which when updated to current usage of \d+(\.\d)? (B|KiB) will exceed the configured upper limit of 2\.0 MiB\./,
    );
    assert.equal(await usedOf(server, projectId), used);
    assert.equal(await independentRecount(server, projectId), used);
    // containers/image sends the layers before the config, and stops at the refusal.
    assert.equal(await count(server, 'blobs'), blobs, 'no blob of the refused push is recorded');
    const layer = await fetch(`${server.url}/v2/capped/app/blobs/${large.layers[0].digest}`, { method: 'HEAD', headers: server.admin });
    assert.equal(layer.status, 404);
    console.log(`# skopeo said: ${refused.stderr.trim().split('\n').at(-1)}`);
    const head = await fetch(`${server.url}/v2/capped/app/manifests/large`, { method: 'HEAD', headers: server.admin });
    assert.equal(head.status, 404);
  });
});
