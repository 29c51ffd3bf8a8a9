import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { api, createUser, errorCode } from '../helpers/api.js';
import { startDockerRegistry, type DockerRegistry } from '../helpers/docker-registry.js';
import { basicAuth, startServer, type TestServer } from '../helpers/server.js';
import { requireTools } from '../helpers/tools.js';
import { pushImage, types } from '../helpers/oci.js';
import { createEndpoint, createProxyProject, projectState, pushUpstream } from './fixtures.js';

const skip = requireTools('docker-registry');

/** Harbor's rules for a ProjectReq with registry_id, and for proxy cache projects' metadata. */
describe('proxy cache projects through the projects API', { skip }, () => {
  let upstream: DockerRegistry;
  let server: TestServer;
  let admin: string;
  let registryId: number;

  before(async () => {
    upstream = await startDockerRegistry();
    server = await startServer();
    admin = server.admin.authorization;
    registryId = await createEndpoint(server, 'distribution', upstream.url);
    await createUser(server, 'erin');
  });
  after(async () => {
    await server?.stop();
    await upstream?.close();
  });

  test('bad registry_id values are 400, a user who is no system administrator 403, and nothing is created', async () => {
    const before = await projectState(server);
    const bodies: Array<[unknown, RegExp]> = [
      [0, /0 is invalid value of registry_id, it should be greater than 0/],
      [-3, /-3 is invalid value of registry_id/],
      [1.5, /1.5 is invalid value of registry_id/],
      ['1', /"1" is invalid value of registry_id/],
      [true, /invalid value of registry_id/],
      [987654, /failed to get the registry 987654: registry 987654 not found/],
    ];
    for (const [value, message] of bodies) {
      const res = await api(server, 'POST', '/projects', { auth: admin, body: { project_name: 'cache', registry_id: value } });
      assert.equal(res.status, 400, `registry_id ${JSON.stringify(value)}: ${JSON.stringify(res.body)}`);
      assert.equal(errorCode(res), 'BAD_REQUEST');
      assert.match(res.body.errors[0].message, message);
    }
    const bad: Array<Record<string, unknown>> = [
      { metadata: { proxy_cache_freshness_seconds: 'soon' } },
      { metadata: { proxy_cache_freshness_seconds: '999999999' } },
      { metadata: { proxy_cache_filter_kind: 'glob', proxy_cache_filter_pattern: 'a/**' } },
      { metadata: { proxy_cache_filter_kind: 'regex', proxy_cache_filter_pattern: '(' } },
      { metadata: { proxy_cache_filter_pattern: 'library/**' } },
      { metadata: { proxy_cache_local_on_not_found: 'perhaps' } },
      { metadata: { proxy_speed_kb: 'fast' } },
      { metadata: { proxy_speed_kb: '99999999999' } },
      { metadata: { max_upstream_conn: '1.5' } },
      { metadata: { proxy_referrer_api: 'true' } },
    ];
    for (const extra of bad) {
      const res = await api(server, 'POST', '/projects', {
        auth: admin,
        body: { project_name: 'cache', registry_id: registryId, ...extra },
      });
      assert.equal(res.status, 400, `${JSON.stringify(extra)}: ${JSON.stringify(res.body)}`);
    }
    // Harbor: only a system administrator creates a proxy cache project.
    const erin = await api(server, 'POST', '/projects', {
      auth: basicAuth('erin', 'Passw0rd1'),
      body: { project_name: 'erins-cache', registry_id: registryId },
    });
    assert.equal(erin.status, 403);
    assert.equal(erin.body.errors[0].message, 'Only system admin can create proxy cache project');
    // Proxy keys on an ordinary project.
    const plain = await api(server, 'POST', '/projects', {
      auth: admin,
      body: { project_name: 'plain', metadata: { proxy_cache_freshness_seconds: '60' } },
    });
    assert.equal(plain.status, 400);
    assert.deepEqual(await projectState(server), before);
  });

  test('a proxy cache project answers registry_id and its metadata; ordinary projects leave registry_id out; enable_content_trust is ignored as in Harbor', async () => {
    const id = await createProxyProject(server, 'mirror', registryId, {
      metadata: {
        proxy_cache_freshness_seconds: '120',
        proxy_cache_local_on_not_found: 'true',
        proxy_cache_filter_kind: 'doublestar',
        proxy_cache_filter_pattern: 'team/**',
        proxy_speed_kb: '-1',
        enable_content_trust: 'true',
      },
    });
    const res = await api(server, 'GET', `/projects/${id}`, { auth: admin });
    assert.equal(res.body.registry_id, registryId);
    assert.equal(res.body.metadata.proxy_cache_freshness_seconds, '120');
    assert.equal(res.body.metadata.proxy_cache_filter_pattern, 'team/**');
    assert.equal(res.body.metadata.proxy_speed_kb, '-1');
    assert.equal(res.body.metadata.enable_content_trust, undefined);
    const list = await api<any[]>(server, 'GET', '/projects?page_size=50', { auth: admin });
    const byName = new Map(list.body.map((p) => [p.name, p]));
    assert.equal(byName.get('mirror').registry_id, registryId);
    assert.equal('registry_id' in byName.get('library'), false);

    // Its summary names the endpoint, never its secret.
    const summary = await api(server, 'GET', `/projects/${id}/summary`, { auth: admin });
    assert.equal(summary.body.registry.id, registryId);
    assert.equal(summary.body.registry.name, 'distribution');
    assert.equal(
      (await api(server, 'GET', '/projects/library/summary', { auth: admin, headers: { 'X-Is-Resource-Name': 'true' } })).body.registry,
      undefined,
    );

    // Harbor's default for a proxy cache project: retain what was pulled in the last 7 days, daily.
    const retentionId = res.body.metadata.retention_id;
    assert.match(retentionId ?? '', /^\d+$/);
    const policy = await api(server, 'GET', `/retentions/${retentionId}`, { auth: admin });
    assert.equal(policy.status, 200, JSON.stringify(policy.body));
    assert.equal(policy.body.rules.length, 1);
    assert.equal(policy.body.rules[0].template, 'nDaysSinceLastPull');
    assert.deepEqual(policy.body.rules[0].params, { nDaysSinceLastPull: 7 });
    assert.equal(policy.body.trigger.settings.cron, '0 0 0 * * *');
  });

  test('copying an artifact into a proxy project, or tagging one there, is 405 as in Harbor', async () => {
    await createProxyProject(server, 'mirror3', registryId);
    const local = await pushImage(server.url, 'library/app', 'v1', { headers: server.admin });
    const copy = await api(server, 'POST', `/projects/mirror3/repositories/some%252Frepo/artifacts?from=library/app@${local.digest}`, {
      auth: admin,
    });
    assert.equal(copy.status, 405, JSON.stringify(copy.body));
    assert.equal(copy.body.errors[0].message, "the operation isn't supported for a proxy cache project");

    const cached = await pushUpstream(upstream.url, 'team/tagged', 'v1', [100]);
    const pulled = await fetch(`${server.url}/v2/mirror3/team/tagged/manifests/v1`, {
      headers: { ...server.admin, accept: types.manifest },
    });
    assert.equal(pulled.status, 200);
    const tag = await api(server, 'POST', `/projects/mirror3/repositories/team%252Ftagged/artifacts/${cached.digest}/tags`, {
      auth: admin,
      body: { name: 'mine' },
    });
    assert.equal(tag.status, 405, JSON.stringify(tag.body));
    const tags = await api<any[]>(server, 'GET', `/projects/mirror3/repositories/team%252Ftagged/artifacts/${cached.digest}/tags`, {
      auth: admin,
    });
    assert.deepEqual(
      tags.body.map((t) => t.name),
      ['v1'],
    );
  });

  test('updates: metadata of a proxy project checked, registry_id never changes, proxy keys refused on ordinary projects', async () => {
    const id = await createProxyProject(server, 'mirror2', registryId);
    const before = await projectState(server);
    const refusals: Array<[string, string, unknown]> = [
      ['PUT', `/projects/${id}`, { registry_id: registryId + 1 }],
      ['PUT', `/projects/${id}`, { metadata: { proxy_cache_freshness_seconds: '-1' } }],
      ['PUT', `/projects/${id}`, { metadata: { proxy_cache_filter_kind: 'regex', proxy_cache_filter_pattern: '[' } }],
      ['PUT', `/projects/${id}/metadatas/proxy_cache_freshness_seconds`, { proxy_cache_freshness_seconds: 'x' }],
      ['POST', `/projects/${id}/metadatas`, { proxy_cache_filter_pattern: 'a/**' }],
      ['PUT', '/projects/library', { registry_id: registryId }],
      ['POST', '/projects/library/metadatas', { proxy_cache_local_on_not_found: 'true' }],
    ];
    for (const [method, path, body] of refusals) {
      const res = await api(server, method, path, {
        auth: admin,
        body,
        headers: path.endsWith('library') || path.includes('library/') ? { 'X-Is-Resource-Name': 'true' } : {},
      });
      assert.equal(res.status, 400, `${method} ${path} ${JSON.stringify(body)}: ${res.status} ${JSON.stringify(res.body)}`);
    }
    assert.deepEqual(await projectState(server), before);
    const ok = await api(server, 'PUT', `/projects/${id}`, {
      auth: admin,
      body: { registry_id: registryId, metadata: { proxy_cache_freshness_seconds: '30' } },
    });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal((await api(server, 'GET', `/projects/${id}`, { auth: admin })).body.metadata.proxy_cache_freshness_seconds, '30');
  });
});
