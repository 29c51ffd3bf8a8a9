import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  attachSbom,
  removeSbom,
  sbomAccessories,
  sbomActor,
  sbomArtifactType,
  type SbomAccessoryDeps,
} from '../../../src/scanning/sbom/accessory.js';
import { sbomDocument } from '../../../src/scanning/sbom/index.js';
import { sbomMediaTypes } from '../../../src/scanning/types.js';
import { api } from '../../helpers/api.js';
import { pushContainerImage, pushMultiPlatform, pushSbomReferrer, type PushedArtifact } from '../../helpers/artifacts.js';
import { adminPassword, startServer, type TestServer } from '../../helpers/server.js';
import { requireTools, runTool } from '../../helpers/tools.js';
import { count, createProject, independentRecount, setLimit, usedOf } from '../../quotas/fixtures.js';
import { edgeInventory, tool } from './fixtures.js';

const platform = { architecture: 'amd64', os: 'linux' };
const sha256 = (data: Uint8Array) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

describe('attaching SBOMs as accessories', () => {
  let server: TestServer;
  let deps: SbomAccessoryDeps;
  let image: PushedArtifact;
  const repo = 'library/app';

  const v2 = (p: string, headers: Record<string, string> = {}) =>
    fetch(`${server.url}/v2/${p}`, { headers: { ...server.admin, ...headers } });
  const document = (digest: string, mediaType: (typeof sbomMediaTypes)[keyof typeof sbomMediaTypes] = sbomMediaTypes.spdx) =>
    sbomDocument(mediaType, edgeInventory(), { repository: repo, digest, tags: ['v1'] }, tool);

  before(async () => {
    server = await startServer();
    deps = { registry: server.berth.registry, uploads: server.berth.uploads, artifacts: server.berth.artifacts };
    image = await pushContainerImage(server, repo, 'v1', platform);
  });
  after(async () => {
    await server?.stop();
  });

  test('the accessory is an OCI 1.1 manifest: Harbor SBOM artifactType, empty config, one layer holding the document, subject = the image', async () => {
    const doc = document(image.digest);
    const attached = await attachSbom(deps, {
      repository: repo,
      subjectDigest: image.digest,
      mediaType: sbomMediaTypes.spdx,
      document: doc,
    });

    const res = await v2(`${repo}/manifests/${attached.digest}`, { accept: 'application/vnd.oci.image.manifest.v1+json' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/vnd.oci.image.manifest.v1+json');
    const bytes = Buffer.from(await res.arrayBuffer());
    assert.equal(sha256(bytes), attached.digest);
    assert.equal(bytes.byteLength, attached.size);
    const manifest = JSON.parse(bytes.toString('utf8'));
    assert.equal(manifest.schemaVersion, 2);
    assert.equal(manifest.mediaType, 'application/vnd.oci.image.manifest.v1+json');
    assert.equal(manifest.artifactType, sbomArtifactType);
    assert.deepEqual(manifest.config, {
      mediaType: 'application/vnd.oci.empty.v1+json',
      digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
      size: 2,
    });
    assert.deepEqual(manifest.subject, { mediaType: image.mediaType, digest: image.digest, size: image.manifestSize });
    assert.equal(manifest.layers.length, 1);
    assert.equal(manifest.layers[0].mediaType, 'application/spdx+json');
    assert.equal(manifest.layers[0].digest, attached.documentDigest);
    assert.equal(manifest.annotations['created-by'], 'Berth');
    assert.equal(manifest.annotations['org.opencontainers.artifact.description'], 'SPDX JSON SBOM');
    assert.match(manifest.annotations['org.opencontainers.artifact.created'], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(manifest.annotations.created, manifest.annotations['org.opencontainers.artifact.created']);

    const blob = await v2(`${repo}/blobs/${manifest.layers[0].digest}`);
    assert.equal(blob.status, 200);
    const stored = Buffer.from(await blob.arrayBuffer());
    assert.deepEqual(JSON.parse(stored.toString('utf8')), doc, 'the layer is the document');
    assert.equal(stored.byteLength, manifest.layers[0].size);
    const config = await v2(`${repo}/blobs/${manifest.config.digest}`);
    assert.equal(await config.text(), '{}');

    // The referrers API lists it, filtered by its artifactType too.
    const referrers = await (await v2(`${repo}/referrers/${image.digest}?artifactType=${encodeURIComponent(sbomArtifactType)}`)).json();
    assert.deepEqual(
      referrers.manifests.map((m: { digest: string; artifactType: string }) => [m.digest, m.artifactType]),
      [[attached.digest, sbomArtifactType]],
    );
    assert.equal(referrers.manifests[0].annotations['created-by'], 'Berth');

    // Harbor's artifact API: an accessory of type sbom.harbor of the image; the accessory itself an SBOM.
    const accessories = await api(server, 'GET', `/projects/library/repositories/app/artifacts/${image.digest}/accessories`, {
      auth: server.admin.authorization,
    });
    assert.equal(accessories.status, 200);
    assert.deepEqual(
      accessories.body.map((a: { digest: string; type: string; subject_artifact_digest: string }) => [
        a.digest,
        a.type,
        a.subject_artifact_digest,
      ]),
      [[attached.digest, 'sbom.harbor', image.digest]],
    );
    const withAccessory = await api(server, 'GET', `/projects/library/repositories/app/artifacts/v1?with_accessory=true`, {
      auth: server.admin.authorization,
    });
    assert.deepEqual(
      withAccessory.body.accessories.map((a: { type: string }) => a.type),
      ['sbom.harbor'],
    );
    const accessory = await api(server, 'GET', `/projects/library/repositories/app/artifacts/${attached.digest}`, {
      auth: server.admin.authorization,
    });
    assert.equal(accessory.status, 200);
    assert.equal(accessory.body.type, 'SBOM');

    // Harbor's `sbom` addition of the accessory: the document, as Harbor's portal reads it.
    assert.deepEqual(Object.keys(accessory.body.addition_links).sort(), ['parents', 'sbom']);
    const addition = await fetch(`${server.url}/api/v2.0${accessory.body.addition_links.sbom.href.replace(/^\/api\/v2\.0/, '')}`, {
      headers: server.admin,
    });
    assert.equal(addition.status, 200);
    assert.equal(addition.headers.get('content-type'), sbomArtifactType);
    assert.deepEqual(await addition.json(), doc);
  });

  test('an SPDX referrer pushed by a client offers the same addition, typed by its layer; other artifacts do not', async () => {
    const referrer = await pushSbomReferrer(server, repo, image.digest);
    const path = `/projects/library/repositories/app/artifacts/${referrer.digest}/additions/sbom`;
    const res = await fetch(`${server.url}/api/v2.0${path}`, { headers: server.admin });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type')!, /^application\/spdx\+json(;|$)/);
    assert.equal((await res.json()).spdxVersion, 'SPDX-2.3');
    const onImage = await api(server, 'GET', `/projects/library/repositories/app/artifacts/v1/additions/sbom`, {
      auth: server.admin.authorization,
    });
    assert.equal(onImage.status, 404);
    assert.equal(onImage.body.errors[0].code, 'NOT_FOUND');
  });

  test('an index and a Docker schema 2 image can be subjects too: the subject descriptor carries their own media type and size', async () => {
    const index = await pushMultiPlatform(server, 'library/multi', 'v1');
    const docker = await pushContainerImage(server, 'library/multi', 'docker', platform, { docker: true });
    for (const target of [index, docker]) {
      const attached = await attachSbom(deps, {
        repository: 'library/multi',
        subjectDigest: target.digest,
        mediaType: sbomMediaTypes.spdx,
        document: sbomDocument(sbomMediaTypes.spdx, edgeInventory(), { repository: 'library/multi', digest: target.digest }, tool),
      });
      const manifest = await (
        await v2(`library/multi/manifests/${attached.digest}`, { accept: 'application/vnd.oci.image.manifest.v1+json' })
      ).json();
      assert.deepEqual(manifest.subject, { mediaType: target.mediaType, digest: target.digest, size: target.manifestSize });
      const accessories = await api(server, 'GET', `/projects/library/repositories/multi/artifacts/${target.digest}/accessories`, {
        auth: server.admin.authorization,
      });
      assert.deepEqual(
        accessories.body.map((a: { digest: string; type: string }) => [a.digest, a.type]),
        [[attached.digest, 'sbom.harbor']],
      );
    }
    assert.equal(index.mediaType, 'application/vnd.oci.image.index.v1+json');
    assert.equal(docker.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
  });

  test('the push is audited as the scanner, not as a user; removeSbom deletes it the same way', async () => {
    const attached = await attachSbom(deps, {
      repository: repo,
      subjectDigest: image.digest,
      mediaType: sbomMediaTypes.cyclonedx,
      document: document(image.digest, sbomMediaTypes.cyclonedx),
    });
    const manifest = await (
      await v2(`${repo}/manifests/${attached.digest}`, { accept: 'application/vnd.oci.image.manifest.v1+json' })
    ).json();
    assert.equal(manifest.layers[0].mediaType, 'application/vnd.cyclonedx+json');
    assert.equal(manifest.annotations['org.opencontainers.artifact.description'], 'CycloneDX JSON SBOM');

    const logs = async () =>
      (await api(server, 'GET', '/audit-logs?page_size=100', { auth: server.admin.authorization })).body as Array<{
        username: string;
        operation: string;
        resource: string;
        resource_type: string;
      }>;
    const created = (await logs()).find((l) => l.resource === `${repo}@${attached.digest}` && l.operation === 'create');
    assert.ok(created, 'the push is in the audit log');
    assert.equal(created.username, sbomActor);
    assert.equal(created.resource_type, 'artifact');

    // The bound pair the scans feature holds does the same.
    assert.equal(await sbomAccessories(deps).remove(repo, attached.digest), 'removed');
    assert.equal((await v2(`${repo}/manifests/${attached.digest}`)).status, 404);
    const deleted = (await logs()).find((l) => l.resource === `${repo}@${attached.digest}` && l.operation === 'delete');
    assert.equal(deleted?.username, sbomActor);
    assert.equal(await removeSbom(deps, repo, attached.digest), 'gone', 'already removed: nothing to do');
    assert.equal(await removeSbom(deps, 'library/nowhere', attached.digest), 'gone');
  });

  test('removeSbom refuses anything that is not an SBOM accessory and leaves it alone', async () => {
    await assert.rejects(removeSbom(deps, repo, image.digest), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'BAD_REQUEST');
      assert.match(err.message, /is not an SBOM accessory \(not an accessory\); it was left alone/);
      return true;
    });
    assert.equal((await v2(`${repo}/manifests/v1`)).status, 200);
  });

  test('a subject that is not in the repository: refused, nothing stored', async () => {
    const blobs = await count(server, 'blobs');
    const artifacts = await count(server, 'artifacts');
    const missing = `sha256:${'0'.repeat(64)}`;
    await assert.rejects(
      attachSbom(deps, { repository: repo, subjectDigest: missing, mediaType: sbomMediaTypes.spdx, document: document(missing) }),
      (err: Error & { code?: string }) => err.code === 'MANIFEST_UNKNOWN',
    );
    await assert.rejects(
      attachSbom(deps, {
        repository: 'library/none',
        subjectDigest: image.digest,
        mediaType: sbomMediaTypes.spdx,
        document: document(image.digest),
      }),
      (err: Error & { code?: string }) => err.code === 'NAME_UNKNOWN',
    );
    await assert.rejects(
      attachSbom(deps, { repository: repo, subjectDigest: image.digest, mediaType: 'text/plain' as never, document: {} }),
      /text\/plain is not an SBOM media type/,
    );
    assert.equal(await count(server, 'blobs'), blobs);
    assert.equal(await count(server, 'artifacts'), artifacts);
  });

  test('the push counts toward the project quota: refused past the limit with nothing stored, counted when it fits, released on removal', async () => {
    const projectId = await createProject(server, 'capped', -1);
    const capped = await pushContainerImage(server, 'capped/app', 'v1', platform);
    const used = await usedOf(server, projectId);
    const doc = Buffer.from(
      JSON.stringify(sbomDocument(sbomMediaTypes.spdx, edgeInventory(), { repository: 'capped/app', digest: capped.digest }, tool)),
    );
    await setLimit(server, projectId, used + 100);
    const artifacts = await count(server, 'artifacts');
    await assert.rejects(
      attachSbom(deps, { repository: 'capped/app', subjectDigest: capped.digest, mediaType: sbomMediaTypes.spdx, document: doc }),
      (err: Error & { code?: string }) => {
        assert.match(err.message, /will exceed the configured upper limit/);
        return true;
      },
    );
    assert.equal(await usedOf(server, projectId), used);
    assert.equal(await count(server, 'artifacts'), artifacts);

    await setLimit(server, projectId, -1);
    const attached = await attachSbom(deps, {
      repository: 'capped/app',
      subjectDigest: capped.digest,
      mediaType: sbomMediaTypes.spdx,
      document: doc,
    });
    const blob = Buffer.from(await (await v2(`capped/app/blobs/${attached.documentDigest}`)).arrayBuffer());
    assert.deepEqual(blob, doc, 'bytes given are stored as they are');
    assert.equal(await usedOf(server, projectId), used + doc.byteLength + 2 + attached.size, 'document + empty config + manifest');
    assert.equal(await independentRecount(server, projectId), used + doc.byteLength + 2 + attached.size);

    assert.equal(await removeSbom(deps, 'capped/app', attached.digest), 'removed');
    assert.equal(await usedOf(server, projectId), used, 'the manifest and the blobs only it used are released');
    assert.equal(await independentRecount(server, projectId), used);
  });
});

const skip = requireTools('skopeo');

describe('an attached SBOM pulled with skopeo', { skip }, () => {
  let server: TestServer;
  let work: string;
  let host: string;

  before(async () => {
    server = await startServer();
    host = new URL(server.url).host;
    work = await mkdtemp(path.join(tmpdir(), 'berth-sbom-skopeo-'));
  });
  after(async () => {
    await server?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('skopeo inspect --raw gives the manifest with its subject; skopeo copy to a directory gives the document byte for byte', async () => {
    const image = await pushContainerImage(server, 'library/tools', 'v1', platform);
    const deps = { registry: server.berth.registry, uploads: server.berth.uploads, artifacts: server.berth.artifacts };
    const doc = Buffer.from(
      JSON.stringify(sbomDocument(sbomMediaTypes.spdx, edgeInventory(), { repository: 'library/tools', digest: image.digest }, tool)),
    );
    const attached = await attachSbom(deps, {
      repository: 'library/tools',
      subjectDigest: image.digest,
      mediaType: sbomMediaTypes.spdx,
      document: doc,
    });

    const ref = `docker://${host}/library/tools@${attached.digest}`;
    const creds = `admin:${adminPassword}`;
    const raw = await runTool('skopeo', ['inspect', '--raw', '--tls-verify=false', '--creds', creds, ref]);
    const manifest = JSON.parse(raw.stdout);
    assert.equal(sha256(Buffer.from(raw.stdout)), attached.digest, 'the exact bytes');
    assert.equal(manifest.artifactType, sbomArtifactType);
    assert.equal(manifest.subject.digest, image.digest);

    const dir = path.join(work, 'sbom');
    await runTool('skopeo', ['--insecure-policy', 'copy', '--src-tls-verify=false', '--src-creds', creds, ref, `dir:${dir}`]);
    const layer = await readFile(path.join(dir, attached.documentDigest.slice('sha256:'.length)));
    assert.deepEqual(layer, doc);
    assert.equal(sha256(await readFile(path.join(dir, 'manifest.json'))), attached.digest);
  });
});
