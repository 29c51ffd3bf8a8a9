/**
 * The adapter registry: the types Harbor's /replication/adapters lists, the
 * /replication/adapterinfos body, createAdapter for each type and its refusal of an
 * unknown one; the Bearer challenge parser; github-ghcr's listing by name only (its v2
 * path checked against a real docker-registry, ghcr.io itself being out of reach).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parseChallenge, nextLink } from '../../../src/replication/adapters/http.js';
import { adapterInfos, adapterTypes, createAdapter, isAdapterType, RemoteConnections } from '../../../src/replication/adapters/index.js';
import { RemoteRegistryError } from '../../../src/replication/types.js';
import { startDockerRegistry, type DockerRegistry } from '../../helpers/docker-registry.js';
import { requireTools } from '../../helpers/tools.js';
import { endpoint, makeImage, pushThrough } from './content.js';

test('adapter types, sorted as Harbor lists them', () => {
  assert.deepEqual(adapterTypes(), ['docker-hub', 'docker-registry', 'github-ghcr', 'harbor']);
  for (const type of adapterTypes()) assert.equal(isAdapterType(type), true);
  for (const type of ['', 'Harbor', 'aws-ecr', 'constructor', '__proto__', 'toString']) assert.equal(isAdapterType(type), false, type);
});

test("adapterinfos: Harbor's RegistryProviderInfo for the types with a fixed endpoint only", () => {
  const infos = adapterInfos();
  assert.deepEqual(Object.keys(infos), ['docker-hub', 'github-ghcr']);
  assert.deepEqual(infos['docker-hub'], {
    endpoint_pattern: { endpoint_type: 'EndpointPatternTypeFix', endpoints: [{ key: 'hub.docker.com', value: 'https://hub.docker.com' }] },
  });
  assert.deepEqual(infos['github-ghcr'].endpoint_pattern?.endpoints, [{ key: 'ghcr.io', value: 'https://ghcr.io' }]);
  // A copy each time: a caller changing it changes nothing here.
  infos['docker-hub'].endpoint_pattern!.endpoints!.length = 0;
  assert.equal(adapterInfos()['docker-hub'].endpoint_pattern?.endpoints?.length, 1);
});

test('createAdapter: one per type with its own info; an unknown type or a bad URL is refused', () => {
  for (const type of adapterTypes()) {
    const adapter = createAdapter(endpoint('http://127.0.0.1:5000', type));
    const info = adapter.info();
    assert.equal(info.type, type);
    assert.deepEqual(info.supportedTriggers, ['manual', 'scheduled']);
    assert.ok(info.supportedResourceFilters.some((f) => f.type === 'name'));
    assert.ok(info.supportedResourceFilters.some((f) => f.type === 'resource' && f.style === 'radio'));
  }
  assert.throws(() => createAdapter(endpoint('http://127.0.0.1:5000', 'aws-ecr')), /unknown registry adapter type "aws-ecr"/);
  assert.throws(
    () => createAdapter(endpoint('not a url')),
    (err: unknown) => err instanceof RemoteRegistryError && /not a URL/.test(err.message),
  );
  assert.throws(() => createAdapter(endpoint('ftp://127.0.0.1')), /not an http or https URL/);
});

test('Bearer and Basic challenges, Link headers', () => {
  assert.deepEqual(
    parseChallenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull"'),
    {
      scheme: 'bearer',
      realm: 'https://auth.docker.io/token',
      service: 'registry.docker.io',
      scopes: ['repository:library/nginx:pull'],
      error: undefined,
    },
  );
  // Several scopes in one value (a mount), an error, and an escaped quote.
  const mount = parseChallenge(
    'bearer realm="http://h/t",service="s",scope="repository:a:pull,push repository:b:pull",error="insufficient_scope"',
  );
  assert.deepEqual(mount?.scopes, ['repository:a:pull,push', 'repository:b:pull']);
  assert.equal(mount?.error, 'insufficient_scope');
  assert.equal(parseChallenge('Basic realm="a \\"quoted\\" realm"')?.realm, 'a "quoted" realm');
  assert.equal(parseChallenge(['Basic realm="x"', 'Bearer realm="y"'])?.scheme, 'bearer');
  assert.equal(parseChallenge('Negotiate abc'), null);
  assert.equal(parseChallenge(undefined), null);

  const base = new URL('http://r:5000/v2/_catalog?n=2');
  assert.equal(nextLink('</v2/_catalog?last=b&n=2>; rel="next"', base)?.href, 'http://r:5000/v2/_catalog?last=b&n=2');
  assert.equal(nextLink('<http://x/p?page=1>; rel="prev", <http://x/p?page=3>; rel="next"', base)?.href, 'http://x/p?page=3');
  assert.equal(nextLink('<http://x/p?page=1>; rel="prev"', base), null);
  assert.equal(nextLink(undefined, base), null);
});

describe(
  'github-ghcr lists only named repositories (its v2 path against a real docker-registry)',
  { skip: requireTools('docker-registry') },
  () => {
    let registry: DockerRegistry;
    let connections: RemoteConnections;

    before(async () => {
      registry = await startDockerRegistry();
      connections = new RemoteConnections();
    });

    after(async () => {
      connections?.close();
      await registry?.close();
    });

    test('a pattern that names repositories lists them; a real pattern is refused with the reason', async () => {
      const ghcr = createAdapter(endpoint(registry.url, 'github-ghcr'), { connections });
      const image = makeImage();
      await pushThrough(ghcr, 'owner/tool', 'v1', image);
      const artifacts = await ghcr.listArtifacts({ repositoryPattern: 'owner/{tool,absent}' });
      assert.deepEqual(
        artifacts.map((a) => [a.repository, a.digest, a.tags]),
        [['owner/tool', image.digest, ['v1']]],
      );
      await assert.rejects(ghcr.listRepositories({ repositoryPattern: 'owner/**' }), (err: unknown) => {
        assert.ok(err instanceof RemoteRegistryError);
        assert.match(err.message, /no catalog: name the repositories/);
        return true;
      });
    });
  },
);
