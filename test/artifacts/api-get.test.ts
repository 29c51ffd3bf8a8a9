import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { api } from '../helpers/api.js';
import { artifactTypes, pushChart, pushContainerImage } from '../helpers/artifacts.js';
import { types } from '../helpers/oci.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { artifactKeys, artifactsPath, assertHarborError, chartOptions, seedApp, seedBundle, type Seeded } from './api-fixtures.js';

let server: TestServer;
let admin: string;
let s: Seeded;
let bundle: Awaited<ReturnType<typeof seedBundle>>;
let nested: Awaited<ReturnType<typeof pushChart>>;
const app = artifactsPath('library/app');

/** GET as admin, or anonymously with `auth` null. */
async function get(path: string, auth: string | null = admin) {
  return api<any>(server, 'GET', path, { auth: auth ?? undefined });
}

/** GET an addition as raw text with its Content-Type. */
async function addition(path: string) {
  const res = await fetch(`${server.url}/api/v2.0${path}`, { headers: { authorization: admin } });
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', text: await res.text() };
}

before(async () => {
  server = await startServer();
  admin = server.admin.authorization;
  s = await seedApp(server);
  bundle = await seedBundle(server);
  nested = await pushChart(server, 'library/charts/nginx', { ...chartOptions, version: '2.0.0', dependencies: [] });
});
after(async () => {
  await server.stop();
});

describe('get artifact', () => {
  test('by tag and by digest answer the same artifact', async () => {
    for (const [tag, artifact] of [
      ['v1', s.index],
      ['v2', s.image],
      ['1.2.3', s.chart],
      ['wasm-1', s.wasm],
    ] as const) {
      const byTag = await get(`${app}/${tag}`);
      const byDigest = await get(`${app}/${artifact.digest}`);
      assert.equal(byTag.status, 200, JSON.stringify(byTag.body));
      assert.equal(byDigest.status, 200);
      assert.deepEqual(byTag.body, byDigest.body);
      // A single artifact always carries Berth's signatures field (src/signatures/); without trusted keys, "signed".
      assert.deepEqual(Object.keys(byTag.body).sort(), [...artifactKeys, 'signatures'].sort());
      assert.ok(byTag.body.signatures.every((v: { status: string }) => v.status === 'signed'));
      assert.equal(byTag.body.digest, artifact.digest);
      assert.equal(byTag.body.size, artifact.totalSize);
      assert.equal(byTag.body.repository_name, 'library/app');
      assert.ok(byTag.body.tags.some((t: { name: string }) => t.name === tag));
    }
  });

  test('an image: IMAGE, its config media type, extra_attrs from the config, build_history and layers links', async () => {
    const { body } = await get(`${app}/v2`);
    assert.equal(body.type, 'IMAGE');
    assert.equal(body.media_type, types.config);
    assert.equal(body.manifest_media_type, types.manifest);
    const config = s.image.configDoc;
    assert.deepEqual(body.extra_attrs, {
      architecture: config.architecture,
      os: config.os,
      author: config.author,
      created: config.created,
      config: config.config,
    });
    assert.deepEqual(body.references, []);
    assert.deepEqual(body.addition_links, {
      build_history: { href: `/api/v2.0${app}/${s.image.digest}/additions/build_history`, absolute: false },
      layers: { href: `/api/v2.0${app}/${s.image.digest}/additions/layers`, absolute: false },
      // The built-in scanner can scan it (served by the scans feature, as Harbor links it).
      vulnerabilities: { href: `/api/v2.0${app}/${s.image.digest}/additions/vulnerabilities`, absolute: false },
    });
    assert.match(body.icon, /^sha256:[a-f0-9]{64}$/);
    assert.equal(body.pull_time, '0001-01-01T00:00:00.000Z');
    assert.ok(!Number.isNaN(Date.parse(body.push_time)));
  });

  test('an index: IMAGE, the index media type, references with each child platform, only the vulnerabilities addition', async () => {
    const { body } = await get(`${app}/v1`);
    assert.equal(body.type, 'IMAGE');
    assert.equal(body.manifest_media_type, types.index);
    assert.equal(body.media_type, types.index);
    assert.deepEqual(body.extra_attrs, {});
    assert.deepEqual(Object.keys(body.addition_links), ['vulnerabilities']);
    const children = await Promise.all(s.index.images.map(async (i) => (await get(`${app}/${i.digest}`)).body));
    assert.deepEqual(body.references, [
      {
        parent_id: body.id,
        child_id: children[0].id,
        child_digest: s.index.images[0].digest,
        platform: { architecture: 'amd64', os: 'linux' },
        urls: [],
      },
      {
        parent_id: body.id,
        child_id: children[1].id,
        child_digest: s.index.images[1].digest,
        platform: { architecture: 'arm64', os: 'linux', variant: 'v8' },
        urls: [],
      },
    ]);
    // A child is an image of its own, readable by digest, with no tags.
    assert.equal(children[1].type, 'IMAGE');
    assert.equal(children[1].extra_attrs.architecture, 'arm64');
    assert.deepEqual(children[1].tags, []);
  });

  test('a chart: CHART, Chart.yaml as extra_attrs, values.yaml, readme.md and dependencies links', async () => {
    const { body } = await get(`${app}/1.2.3`);
    assert.equal(body.type, 'CHART');
    assert.equal(body.media_type, artifactTypes.helmConfig);
    assert.equal(body.manifest_media_type, types.manifest);
    assert.deepEqual(body.extra_attrs, s.chart.metadata);
    assert.equal(body.extra_attrs.name, 'nginx');
    assert.equal(body.extra_attrs.version, '1.2.3');
    assert.deepEqual(body.annotations['org.opencontainers.image.title'], 'nginx');
    const base = `/api/v2.0${app}/${s.chart.digest}/additions`;
    assert.deepEqual(body.addition_links, {
      'values.yaml': { href: `${base}/values.yaml`, absolute: false },
      'readme.md': { href: `${base}/readme.md`, absolute: false },
      dependencies: { href: `${base}/dependencies`, absolute: false },
    });
  });

  test('a CNAB bundle: CNAB, the bundle name and version from bundle.json, references to its manifests', async () => {
    const { status, body } = await get(`${artifactsPath('library/bundle')}/v1`);
    assert.equal(status, 200);
    assert.equal(body.type, 'CNAB');
    assert.equal(body.manifest_media_type, types.index);
    assert.equal(body.extra_attrs.name, 'helloworld');
    assert.equal(body.extra_attrs.version, '0.1.1');
    assert.equal(body.extra_attrs.description, bundle.bundle.description);
    assert.deepEqual(body.extra_attrs.invocationImages, bundle.bundle.invocationImages);
    assert.deepEqual(body.addition_links, {});
    const refs = new Map(body.references.map((r: { child_digest: string; annotations: unknown }) => [r.child_digest, r.annotations]));
    assert.deepEqual(refs.get(bundle.configManifest.digest), { 'io.cnab.manifest.type': 'config' });
    assert.deepEqual(refs.get(bundle.invocation.digest), { 'io.cnab.manifest.type': 'invocation' });
    assert.equal(refs.size, 2);
    // The bundle's manifests are not listed at the top level.
    const listed = await get(artifactsPath('library/bundle'));
    assert.deepEqual(
      listed.body.map((a: { digest: string }) => a.digest),
      [bundle.digest],
    );
  });

  test('a WASM module: WASM with its config media type and a build_history link', async () => {
    const { body } = await get(`${app}/wasm-1`);
    assert.equal(body.type, 'WASM');
    assert.equal(body.media_type, artifactTypes.wasmConfig);
    assert.equal(body.manifest_media_type, types.manifest);
    assert.deepEqual(Object.keys(body.addition_links), ['build_history']);
  });

  test('accessories are artifacts of their own, readable by digest', async () => {
    const { body } = await get(`${app}/${s.sbom.digest}`);
    assert.equal(body.digest, s.sbom.digest);
    assert.equal(body.artifact_type, artifactTypes.spdx);
    assert.equal(body.size, s.sbom.totalSize);
  });

  test('the with_* flags add their fields to a single artifact too', async () => {
    const { body } = await get(`${app}/v1?with_tag=false&with_label=true&with_accessory=true&with_scan_overview=true`);
    assert.ok(!('tags' in body));
    assert.deepEqual(body.labels, []);
    assert.equal(body.accessories.length, 3);
    assert.ok('scan_overview' in body);
    const signed = await get(`${app}/v1?with_signature=true`);
    assert.deepEqual(signed.body, (await get(`${app}/v1`)).body);
  });
});

describe('icons', () => {
  test('each artifact icon is served by /icons/{digest} as {"content-type", content base64}, to anyone', async () => {
    const icons = new Set<string>();
    for (const ref of ['v1', 'v2', '1.2.3', 'wasm-1']) icons.add((await get(`${app}/${ref}`)).body.icon);
    icons.add((await get(`${artifactsPath('library/bundle')}/v1`)).body.icon);
    assert.equal(icons.size, 4, 'image, chart, WASM and CNAB icons differ; the index shares the image icon');
    for (const digest of icons) {
      const res = await get(`/icons/${digest}`, null);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(Object.keys(res.body).sort(), ['content', 'content-type']);
      assert.match(res.body['content-type'], /^image\//);
      const content = Buffer.from(res.body.content, 'base64');
      assert.ok(content.length > 0);
      assert.equal(res.body.content, content.toString('base64'));
    }
  });

  test('an unknown icon digest is 404; something that is not a digest is 400', async () => {
    assertHarborError(await get(`/icons/sha256:${'0'.repeat(64)}`), 404, 'NOT_FOUND');
    assertHarborError(await get('/icons/sha256:xyz'), 400, 'BAD_REQUEST');
    assertHarborError(await get('/icons/not-a-digest'), 400, 'BAD_REQUEST');
  });
});

describe('additions', () => {
  test('build_history: the image config history as a JSON array', async () => {
    const res = await addition(`${app}/v2/additions/build_history`);
    assert.equal(res.status, 200);
    assert.match(res.contentType, /^application\/json/);
    assert.deepEqual(JSON.parse(res.text), s.image.configDoc.history);
  });

  test("layers (Berth's own): the manifest's layers in order as {index, digest, media_type, size}", async () => {
    assert.equal(s.image.layers.length, 2);
    const res = await addition(`${app}/v2/additions/layers`);
    assert.equal(res.status, 200);
    assert.match(res.contentType, /^application\/json/);
    const expected = s.image.layers.map((l, index) => ({ index, digest: l.digest, media_type: types.layer, size: l.size }));
    assert.deepEqual(JSON.parse(res.text), expected);
    // The same by digest, and for the child images of an index.
    assert.equal((await addition(`${app}/${s.image.digest}/additions/layers`)).text, res.text);
    const child = s.index.images[1];
    const childLayers = await addition(`${app}/${child.digest}/additions/layers`);
    assert.deepEqual(
      JSON.parse(childLayers.text).map((l: { digest: string }) => l.digest),
      child.layers.map((l) => l.digest),
    );
  });

  test('layers of a Docker schema 2 image: its Docker layer media type; an index and other kinds have none', async () => {
    const docker = await pushContainerImage(server, 'library/docker', 'v1', { architecture: 'amd64', os: 'linux' }, { docker: true });
    const path = artifactsPath('library/docker');
    const { body } = await get(`${path}/v1`);
    assert.equal(body.manifest_media_type, types.dockerManifest);
    assert.deepEqual(Object.keys(body.addition_links), ['build_history', 'layers', 'vulnerabilities']);
    const res = await addition(`${path}/v1/additions/layers`);
    assert.equal(res.status, 200);
    assert.deepEqual(
      JSON.parse(res.text),
      docker.layers.map((l, index) => ({ index, digest: l.digest, media_type: types.dockerLayer, size: l.size })),
    );
    assertHarborError(await get(`${app}/v1/additions/layers`), 404, 'NOT_FOUND');
    assertHarborError(await get(`${app}/1.2.3/additions/layers`), 404, 'NOT_FOUND', /layers/);
    assertHarborError(await get(`${app}/wasm-1/additions/layers`), 404, 'NOT_FOUND', /layers/);
    assertHarborError(await get(`${artifactsPath('library/bundle')}/v1/additions/layers`), 404, 'NOT_FOUND');
  });

  test('values.yaml and readme.md: the chart files as text', async () => {
    const values = await addition(`${app}/1.2.3/additions/values.yaml`);
    assert.equal(values.status, 200);
    assert.match(values.contentType, /^text\//);
    assert.equal(values.text, chartOptions.values);
    const readme = await addition(`${app}/${s.chart.digest}/additions/readme.md`);
    assert.equal(readme.status, 200);
    assert.match(readme.contentType, /^text\//);
    assert.equal(readme.text, chartOptions.readme);
  });

  test('dependencies: a JSON array of {name, version, repository}', async () => {
    const res = await addition(`${app}/1.2.3/additions/dependencies`);
    assert.equal(res.status, 200);
    assert.match(res.contentType, /^application\/json/);
    assert.deepEqual(
      JSON.parse(res.text),
      chartOptions.dependencies!.map(({ name, version, repository }) => ({ name, version, repository })),
    );
  });

  test('the addition links of an artifact are followable as given', async () => {
    for (const ref of ['v2', '1.2.3']) {
      const { body } = await get(`${app}/${ref}`);
      for (const link of Object.values(body.addition_links) as Array<{ href: string }>) {
        const res = await fetch(`${server.url}${link.href}`, { headers: { authorization: admin } });
        assert.equal(res.status, 200, link.href);
        await res.arrayBuffer();
      }
    }
  });

  test('an addition the artifact type does not offer is 404', async () => {
    assertHarborError(await get(`${app}/1.2.3/additions/build_history`), 404, 'NOT_FOUND', /build_history/);
    assertHarborError(await get(`${app}/v2/additions/values.yaml`), 404, 'NOT_FOUND', /values\.yaml/);
    assertHarborError(await get(`${app}/v1/additions/build_history`), 404, 'NOT_FOUND');
    assertHarborError(await get(`${artifactsPath('library/bundle')}/v1/additions/readme.md`), 404, 'NOT_FOUND');
    assertHarborError(await get(`${app}/v2/additions/nonsense`), 404, 'NOT_FOUND');
  });

  test("parents (Berth's own): an accessory names its subject, an index's image the indexes that list it, each with its tags", async () => {
    const subject = { digest: s.index.digest, tags: ['v1'] };
    for (const accessory of [s.cosign, s.sbom, s.notation]) {
      const { body } = await get(`${app}/${accessory.digest}`);
      assert.deepEqual(body.addition_links.parents, { href: `/api/v2.0${app}/${accessory.digest}/additions/parents`, absolute: false });
      const res = await addition(`${app}/${accessory.digest}/additions/parents`);
      assert.equal(res.status, 200, res.text);
      assert.match(res.contentType, /^application\/json/);
      assert.deepEqual(JSON.parse(res.text), { subject, indexes: [] });
    }
    const child = s.index.images[0];
    assert.ok((await get(`${app}/${child.digest}`)).body.addition_links.parents, 'a child links to its parents');
    assert.deepEqual(JSON.parse((await addition(`${app}/${child.digest}/additions/parents`)).text), {
      subject: null,
      indexes: [{ digest: s.index.digest, tags: ['v1'] }],
    });
    // Listed as such too, a page at a time.
    const listed = await get(`${app}?page_size=100`);
    const byDigest = new Map((listed.body as any[]).map((a) => [a.digest, a]));
    assert.ok(byDigest.get(s.image.digest) && !('parents' in byDigest.get(s.image.digest).addition_links), 'a lone image has none');
    // An artifact with neither: 404, Harbor's error body, saying why.
    assertHarborError(await get(`${app}/v2/additions/parents`), 404, 'NOT_FOUND', /neither an accessory nor listed by an index/);
    assertHarborError(await get(`${app}/v1/additions/parents`), 404, 'NOT_FOUND');
  });
});

describe('repository names with slashes', () => {
  test('a/b is encoded twice in the path (a%252Fb): list, get, additions, and the links Berth gives', async () => {
    const path = artifactsPath('library/charts/nginx');
    assert.equal(path, '/projects/library/repositories/charts%252Fnginx/artifacts');
    const listed = await get(path);
    assert.equal(listed.status, 200, JSON.stringify(listed.body));
    assert.deepEqual(
      listed.body.map((a: { digest: string }) => a.digest),
      [nested.digest],
    );
    assert.equal(listed.body[0].repository_name, 'library/charts/nginx');
    const one = await get(`${path}/2.0.0`);
    assert.equal(one.status, 200);
    assert.equal(one.body.addition_links['values.yaml'].href, `/api/v2.0${path}/${nested.digest}/additions/values.yaml`);
    const values = await addition(`${path}/2.0.0/additions/values.yaml`);
    assert.equal(values.status, 200);
    assert.equal(values.text, chartOptions.values);
    const deps = await addition(`${path}/2.0.0/additions/dependencies`);
    assert.deepEqual(JSON.parse(deps.text), []);
  });
});
