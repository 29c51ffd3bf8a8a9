import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { inventoryOf } from '../../../src/scanning/inventory/index.js';
import { LocalImageSource } from '../../../src/scanning/inventory/local-source.js';
import { attachSbom, sbomArtifactType } from '../../../src/scanning/sbom/accessory.js';
import { cyclonedxDocument } from '../../../src/scanning/sbom/cyclonedx.js';
import { spdxDocument, type SpdxDocument } from '../../../src/scanning/sbom/spdx.js';
import { sbomMediaTypes, type Inventory } from '../../../src/scanning/types.js';
import { api } from '../../helpers/api.js';
import { buildImage, imageBlobs } from '../../helpers/layout.js';
import { pushBlob, pushManifest, types } from '../../helpers/oci.js';
import { startServer, type TestServer } from '../../helpers/server.js';
import { requireTools } from '../../helpers/tools.js';
import { dpkgQueryInstalled, dpkgStatusText, tool } from './fixtures.js';
import { assertValidCyclonedx, assertValidSpdx } from './validate.js';

/** Real npm packages of this repository, copied into the image's node_modules. */
const npmPackages = ['semver', 'yaml', '@cyclonedx/cyclonedx-library', 'spdx-expression-parse'];
const repo = 'library/debian-app';
const skip = requireTools('dpkg-query');

/**
 * From a pushed image to its SBOMs with nothing stubbed: an image built from this machine's
 * dpkg database and real package.json files, inventoried by Berth's own image walk from its
 * blob store, written as SPDX and CycloneDX, attached, and read back over /v2.
 */
describe('SBOMs of an image pushed to Berth, through the real inventory', { skip }, () => {
  let server: TestServer;
  let digest: string;
  let inventory: Inventory;

  before(async () => {
    server = await startServer();
    const files: Record<string, string> = {};
    for (const name of npmPackages) {
      files[`app/node_modules/${name}/package.json`] = await readFile(path.resolve('node_modules', name, 'package.json'), 'utf8');
    }
    const image = await buildImage({ architecture: 'amd64', os: 'linux' }, [
      {
        'etc/os-release': await readFile('/etc/os-release', 'utf8'),
        'var/lib/dpkg/status': dpkgStatusText,
      },
      files,
    ]);
    for (const blob of imageBlobs(image)) {
      if (blob !== image.manifest) await pushBlob(server.url, repo, blob.data, server.admin);
    }
    digest = (await pushManifest(server.url, repo, 'v1', JSON.parse(image.manifest.data.toString()), types.manifest, server.admin)).digest;
    inventory = await inventoryOf(new LocalImageSource(server.berth.registry, repo), digest, { cache: null });
  });
  after(async () => {
    await server?.stop();
  });

  test('the SPDX document validates, and lists every package dpkg-query lists and the npm packages', async () => {
    const host = new URL(server.url).host;
    const doc = spdxDocument(inventory, { repository: repo, digest, tags: ['v1'], registry: host }, tool);
    assertValidSpdx(doc);
    const expected = await dpkgQueryInstalled(dpkgStatusText);
    const listed = (purlType: string) =>
      doc.packages
        .filter((p) => p.externalRefs?.[0].referenceLocator.startsWith(`pkg:${purlType}/`))
        .map((p) => `${p.name} ${p.versionInfo}`);
    assert.deepEqual(listed('deb').sort(), expected);
    const npm = await Promise.all(
      npmPackages.map(async (name) => {
        const manifest = JSON.parse(await readFile(path.resolve('node_modules', name, 'package.json'), 'utf8')) as { version: string };
        return `${name} ${manifest.version}`;
      }),
    );
    assert.deepEqual(listed('npm').sort(), npm.sort());
    const os = doc.packages.find((p) => p.primaryPackagePurpose === 'OPERATING_SYSTEM')!;
    assert.equal(os.name, inventory.os!.family);
    const image = doc.packages.find((p) => p.primaryPackagePurpose === 'CONTAINER')!;
    assert.match(
      image.externalRefs![0].referenceLocator,
      new RegExp(`^pkg:oci/debian-app@sha256(:|%3A)${digest.slice(7)}\\?repository_url=${encodeURIComponent(`${host}/${repo}`)}&tag=v1$`),
    );
  });

  test('both documents attached: listed by the referrers API and the artifact API, the SPDX one read back over /v2 still valid', async () => {
    const deps = { registry: server.berth.registry, uploads: server.berth.uploads, artifacts: server.berth.artifacts };
    const subject = { repository: repo, digest, tags: ['v1'] };
    const spdx = await attachSbom(deps, {
      repository: repo,
      subjectDigest: digest,
      mediaType: sbomMediaTypes.spdx,
      document: { ...spdxDocument(inventory, subject, tool) },
    });
    const cyclonedx = cyclonedxDocument(inventory, subject, tool);
    await assertValidCyclonedx(cyclonedx);
    const cdx = await attachSbom(deps, {
      repository: repo,
      subjectDigest: digest,
      mediaType: sbomMediaTypes.cyclonedx,
      document: cyclonedx,
    });

    const referrers = await (await fetch(`${server.url}/v2/${repo}/referrers/${digest}`, { headers: server.admin })).json();
    assert.deepEqual(
      referrers.manifests.map((m: { digest: string; artifactType: string }) => [m.digest, m.artifactType]).sort(),
      [
        [spdx.digest, sbomArtifactType],
        [cdx.digest, sbomArtifactType],
      ].sort(),
    );
    const accessories = await api(server, 'GET', `/projects/library/repositories/debian-app/artifacts/v1/accessories`, {
      auth: server.admin.authorization,
    });
    assert.deepEqual(
      accessories.body.map((a: { type: string }) => a.type),
      ['sbom.harbor', 'sbom.harbor'],
    );

    const served = await fetch(`${server.url}/v2/${repo}/blobs/${spdx.documentDigest}`, { headers: server.admin });
    const doc = (await served.json()) as SpdxDocument;
    assertValidSpdx(doc);
    assert.equal(doc.packages.length, inventory.packages.length + 2);
  });
});
