import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { icons } from '../../src/artifacts/icons.js';
import {
  artifactTypes,
  cosignTag,
  pushChart,
  pushCnab,
  pushContainerImage,
  pushCosignSignature,
  pushGenericArtifact,
  pushMultiPlatform,
  pushNotationSignature,
  pushSbomReferrer,
  pushWasm,
} from '../helpers/artifacts.js';
import { types } from '../helpers/oci.js';
import { startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server.stop();
});

/** The artifact row for a digest in a repository, as the push stored it. */
async function row(repo: string, digest: string) {
  return server.berth.database.db
    .selectFrom('artifacts as a')
    .innerJoin('repositories as r', 'r.id', 'a.repository_id')
    .select([
      'a.digest',
      'a.type',
      'a.size',
      'a.media_type',
      'a.config_media_type',
      'a.extra_attrs',
      'a.icon',
      'a.accessory_of',
      'a.accessory_type',
    ])
    .where('r.name', '=', repo)
    .where('a.digest', '=', digest)
    .executeTakeFirst();
}

async function mustRow(repo: string, digest: string) {
  const found = await row(repo, digest);
  assert.ok(found, `no artifact ${digest} in ${repo}`);
  return found;
}

function attrs(r: { extra_attrs: string | null }): Record<string, unknown> {
  assert.ok(r.extra_attrs, 'extra_attrs is empty');
  return JSON.parse(r.extra_attrs) as Record<string, unknown>;
}

async function tagExists(repo: string, tag: string): Promise<boolean> {
  const t = await server.berth.database.db
    .selectFrom('tags as t')
    .innerJoin('repositories as r', 'r.id', 't.repository_id')
    .select('t.name')
    .where('r.name', '=', repo)
    .where('t.name', '=', tag)
    .executeTakeFirst();
  return t !== undefined;
}

describe('artifacts are described as they are pushed', () => {
  test('a multi-platform OCI index is IMAGE; each platform image carries its config as extra_attrs', async () => {
    const repo = 'library/multi';
    const pushed = await pushMultiPlatform(server, repo, 'v1');
    const index = await mustRow(repo, pushed.digest);
    assert.equal(index.type, 'IMAGE');
    assert.equal(index.media_type, types.index);
    assert.equal(index.config_media_type, null);
    assert.equal(index.extra_attrs, null);
    assert.equal(index.icon, icons.image);
    assert.equal(index.accessory_of, null);
    assert.equal(Number(index.size), pushed.totalSize);

    for (const image of pushed.images) {
      const r = await mustRow(repo, image.digest);
      assert.equal(r.type, 'IMAGE');
      assert.equal(r.config_media_type, types.config);
      assert.equal(r.icon, icons.image);
      assert.equal(Number(r.size), image.totalSize);
      const a = attrs(r);
      assert.equal(a.architecture, image.platform.architecture);
      assert.equal(a.os, 'linux');
      assert.equal(a.variant, image.platform.variant);
      assert.equal(a.author, image.configDoc.author);
      assert.equal(a.created, image.configDoc.created);
      assert.deepEqual(a.config, image.configDoc.config);
      // Only the summary fields; history and rootfs are not copied.
      assert.deepEqual(
        Object.keys(a).sort(),
        ['architecture', 'author', 'config', 'created', 'os', ...(image.platform.variant ? ['variant'] : [])].sort(),
      );
    }
  });

  test('a Docker schema 2 image is IMAGE with the Docker config media type', async () => {
    const repo = 'library/docker-image';
    const image = await pushContainerImage(server, repo, 'v1', { architecture: 'amd64', os: 'linux' }, { docker: true });
    const r = await mustRow(repo, image.digest);
    assert.equal(r.type, 'IMAGE');
    assert.equal(r.media_type, types.dockerManifest);
    assert.equal(r.config_media_type, types.dockerConfig);
    assert.equal(attrs(r).author, image.configDoc.author);
    assert.deepEqual(attrs(r).config, image.configDoc.config);
    assert.equal(r.icon, icons.image);
  });

  test('a Helm chart is CHART with Chart.yaml as extra_attrs', async () => {
    const repo = 'library/charts/web';
    const chart = await pushChart(server, repo, {
      name: 'web',
      version: '1.2.3',
      appVersion: '2.0.0',
      values: 'replicaCount: 2\n',
      readme: '# web\n',
      dependencies: [{ name: 'redis', version: '17.0.0', repository: 'https://charts.example.com' }],
    });
    const r = await mustRow(repo, chart.digest);
    assert.equal(r.type, 'CHART');
    assert.equal(r.config_media_type, artifactTypes.helmConfig);
    assert.equal(r.icon, icons.chart);
    assert.equal(Number(r.size), chart.totalSize);
    const a = attrs(r);
    assert.deepEqual(a, chart.metadata);
    assert.equal(a.name, 'web');
    assert.equal(a.version, '1.2.3');
    assert.equal(a.appVersion, '2.0.0');
    assert.equal(a.apiVersion, 'v2');
    assert.equal(typeof a.description, 'string');
    assert.equal(typeof a.icon, 'string');
    assert.deepEqual(a.dependencies, [{ name: 'redis', version: '17.0.0', repository: 'https://charts.example.com' }]);
    assert.equal(await tagExists(repo, '1.2.3'), true);
  });

  test("a CNAB bundle is CNAB with bundle.json's summary as extra_attrs", async () => {
    const repo = 'library/bundle';
    const cnab = await pushCnab(server, repo, 'v0.1.1');
    const index = await mustRow(repo, cnab.digest);
    assert.equal(index.type, 'CNAB');
    assert.equal(index.config_media_type, null);
    assert.equal(index.icon, icons.cnab);
    assert.equal(Number(index.size), cnab.totalSize);
    const a = attrs(index);
    assert.equal(a.name, 'helloworld');
    assert.equal(a.version, '0.1.1');
    assert.equal(a.schemaVersion, 'v1.0.0');
    assert.equal(a.description, cnab.bundle.description);
    assert.deepEqual(a.invocationImages, cnab.bundle.invocationImages);
    // Only bundle.json's summary keys.
    assert.equal(a.definitions, undefined);

    const config = await mustRow(repo, cnab.configManifest.digest);
    assert.equal(config.type, 'CNAB');
    assert.equal(config.config_media_type, artifactTypes.cnabConfig);
    assert.equal(attrs(config).name, 'helloworld');
    const invocation = await mustRow(repo, cnab.invocation.digest);
    assert.equal(invocation.type, 'IMAGE');
    assert.equal(invocation.config_media_type, types.dockerConfig);
  });

  test('cnab-to-oci\'s config manifest with "layers": null is accepted', async () => {
    const cnab = await pushCnab(server, 'library/bundle-null-layers', 'v1', { nullLayers: true });
    assert.equal((await mustRow('library/bundle-null-layers', cnab.digest)).type, 'CNAB');
  });

  test('a wasm-to-oci module is WASM', async () => {
    const repo = 'library/wasm';
    const wasm = await pushWasm(server, repo, 'v1');
    const r = await mustRow(repo, wasm.digest);
    assert.equal(r.type, 'WASM');
    assert.equal(r.config_media_type, artifactTypes.wasmConfig);
    assert.equal(r.icon, icons.wasm);
    // wasm-to-oci's config is "{}": nothing to extract.
    assert.equal(r.extra_attrs, null);
    assert.equal(r.accessory_of, null);
  });

  test('another OCI artifact is typed from its media types, with its JSON config as extra_attrs', async () => {
    const repo = 'library/things';
    const byConfig = await pushGenericArtifact(server, repo, 'v1', 'application/vnd.example.thing.config.v1+json', {
      config: { kind: 'thing', size: 3 },
    });
    const r = await mustRow(repo, byConfig.digest);
    assert.equal(r.type, 'THING');
    assert.equal(r.config_media_type, 'application/vnd.example.thing.config.v1+json');
    assert.deepEqual(attrs(r), { kind: 'thing', size: 3 });
    assert.equal(r.icon, icons.generic);

    const byArtifactType = await pushGenericArtifact(server, repo, 'v2', 'application/vnd.example.widget.config.v1+json', {
      asArtifactType: true,
    });
    const w = await mustRow(repo, byArtifactType.digest);
    assert.equal(w.type, 'WIDGET');
    assert.equal(w.config_media_type, artifactTypes.empty);
    assert.equal(w.extra_attrs, null);

    const unknown = await pushGenericArtifact(server, repo, 'v3', 'application/x-something');
    const u = await mustRow(repo, unknown.digest);
    assert.equal(u.type, 'UNKNOWN');
    assert.equal(u.icon, icons.generic);
  });
});

describe('accessories', () => {
  test('a cosign signature under its sha256-<hex>.sig tag is a signature.cosign accessory of the subject', async () => {
    const repo = 'library/signed';
    const subject = await pushContainerImage(server, repo, 'v1', { architecture: 'amd64', os: 'linux' });
    const sig = await pushCosignSignature(server, repo, subject.digest);
    assert.equal(sig.tag, cosignTag(subject.digest));
    const r = await mustRow(repo, sig.digest);
    assert.equal(r.accessory_of, subject.digest);
    assert.equal(r.accessory_type, 'signature.cosign');
    assert.equal(r.config_media_type, types.config);
    assert.ok(r.icon);
    assert.equal((await mustRow(repo, subject.digest)).accessory_of, null);
  });

  test("SBOM referrers are SBOM accessories: sbom for SPDX, sbom.harbor for Harbor's type", async () => {
    const repo = 'library/with-sbom';
    const subject = await pushContainerImage(server, repo, 'v1', { architecture: 'amd64', os: 'linux' });
    const spdx = await pushSbomReferrer(server, repo, subject.digest);
    assert.equal(spdx.tag, null);
    const s = await mustRow(repo, spdx.digest);
    assert.equal(s.type, 'SBOM');
    assert.equal(s.config_media_type, artifactTypes.empty);
    assert.equal(s.extra_attrs, null);
    assert.equal(s.accessory_of, subject.digest);
    assert.equal(s.accessory_type, 'sbom');
    assert.ok(s.icon);

    const harbor = await pushSbomReferrer(server, repo, subject.digest, { harbor: true });
    const h = await mustRow(repo, harbor.digest);
    assert.equal(h.type, 'SBOM');
    assert.equal(h.accessory_of, subject.digest);
    assert.equal(h.accessory_type, 'sbom.harbor');
  });

  test('a Notation signature is a SIGNATURE and a signature.notation accessory', async () => {
    const repo = 'library/notarised';
    const subject = await pushMultiPlatform(server, repo, 'v1');
    const sig = await pushNotationSignature(server, repo, subject.digest);
    const r = await mustRow(repo, sig.digest);
    assert.equal(r.type, 'SIGNATURE');
    assert.equal(r.config_media_type, artifactTypes.empty);
    assert.equal(r.accessory_of, subject.digest);
    assert.equal(r.accessory_type, 'signature.notation');
    assert.ok(r.icon);
  });

  test('deleting the subject over /v2 deletes its accessories, and theirs, with their tags', async () => {
    const repo = 'library/cascade';
    const subject = await pushContainerImage(server, repo, 'v1', { architecture: 'amd64', os: 'linux' });
    const other = await pushContainerImage(server, repo, 'v2', { architecture: 'arm64', os: 'linux', variant: 'v8' });
    const cosign = await pushCosignSignature(server, repo, subject.digest);
    const sbom = await pushSbomReferrer(server, repo, subject.digest);
    const notation = await pushNotationSignature(server, repo, subject.digest);
    // A signature of the SBOM: an accessory of an accessory.
    const sbomSig = await pushNotationSignature(server, repo, sbom.digest);
    const otherSig = await pushCosignSignature(server, repo, other.digest);
    const accessories = [cosign, sbom, notation, sbomSig];
    for (const a of accessories) assert.ok(await row(repo, a.digest));
    assert.equal((await mustRow(repo, sbomSig.digest)).accessory_of, sbom.digest);

    const res = await fetch(`${server.url}/v2/${repo}/manifests/${subject.digest}`, { method: 'DELETE', headers: server.admin });
    assert.equal(res.status, 202);

    assert.equal(await row(repo, subject.digest), undefined);
    for (const a of accessories) {
      assert.equal(await row(repo, a.digest), undefined, `accessory ${a.digest} is still there`);
      const get = await fetch(`${server.url}/v2/${repo}/manifests/${a.digest}`, { headers: { ...server.admin, accept: types.manifest } });
      assert.equal(get.status, 404);
      await get.arrayBuffer();
    }
    assert.equal(await tagExists(repo, cosignTag(subject.digest)), false);
    assert.equal(await tagExists(repo, 'v1'), false);

    // The other image and its signature stay.
    assert.ok(await row(repo, other.digest));
    assert.equal((await mustRow(repo, otherSig.digest)).accessory_of, other.digest);
    assert.equal(await tagExists(repo, cosignTag(other.digest)), true);
    assert.equal(await tagExists(repo, 'v2'), true);
  });
});
