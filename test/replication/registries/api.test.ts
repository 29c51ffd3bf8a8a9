/**
 * /registries, /registries/ping, /registries/{id}/info, /replication/adapters and
 * /replication/adapterinfos as Harbor answers them, against real registries on 127.0.0.1:
 * Debian's docker-registry, a second Berth (harbor adapter, bearer tokens, wrong passwords)
 * and a port nothing listens on. Every refused request is checked to have saved nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { api, createUser, errorCode, type ApiResponse } from '../../helpers/api.js';
import { testDialect } from '../../helpers/database.js';
import { refusedPort } from '../../helpers/ports.js';
import { startDockerRegistry, type DockerRegistry } from '../../helpers/docker-registry.js';
import { basicAuth, adminPassword, startServer, type TestServer } from '../../helpers/server.js';
import { requireTools } from '../../helpers/tools.js';

const skip = requireTools('docker-registry');

/** A self-signed certificate (CN=berth-test), only parsed, never used for TLS. */
const testCa = `-----BEGIN CERTIFICATE-----
MIIBfTCCASOgAwIBAgIUJ6c5yW0b5p0kqM9e0t3b2mQvF7EwCgYIKoZIzj0EAwIw
FTETMBEGA1UEAwwKYmVydGgtdGVzdDAeFw0yNDAxMDEwMDAwMDBaFw0zNDAxMDEw
MDAwMDBaMBUxEzARBgNVBAMMCmJlcnRoLXRlc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAAQ=
-----END CERTIFICATE-----`;

describe(`registry endpoints API (${testDialect()})`, { skip }, () => {
  let server: TestServer;
  let remote: TestServer;
  let upstream: DockerRegistry;
  let admin: string;
  let closedPort: number;
  let ca: string;

  before(async () => {
    [server, remote, upstream] = await Promise.all([startServer(), startServer(), startDockerRegistry()]);
    admin = server.admin.authorization;
    closedPort = await refusedPort();
    ca = await selfSignedCa();
  });
  after(async () => {
    await Promise.all([server?.stop(), remote?.stop(), upstream?.close()]);
  });

  const list = (query = '') => api(server, 'GET', `/registries${query}`, { auth: admin });
  const count = async () => Number((await list('?page_size=100')).headers.get('x-total-count'));
  const messageOf = (res: ApiResponse) => (res.body as { errors: Array<{ message: string }> }).errors[0]!.message;
  const create = (body: unknown) => api(server, 'POST', '/registries', { auth: admin, body });
  const idOf = (res: ApiResponse) => Number(res.headers.get('location')!.split('/').pop());

  test('/replication/adapters and /replication/adapterinfos list the adapter types', async () => {
    const types = await api(server, 'GET', '/replication/adapters', { auth: admin });
    assert.equal(types.status, 200);
    for (const t of ['docker-registry', 'harbor', 'docker-hub']) assert.ok(types.body.includes(t), `${t} in ${types.body}`);
    assert.deepEqual([...types.body].sort(), types.body);
    const infos = await api(server, 'GET', '/replication/adapterinfos', { auth: admin });
    assert.equal(infos.status, 200);
    assert.equal(infos.body['docker-hub'].endpoint_pattern.endpoint_type, 'EndpointPatternTypeFix');
    assert.deepEqual(infos.body['docker-hub'].endpoint_pattern.endpoints, [{ key: 'hub.docker.com', value: 'https://hub.docker.com' }]);
  });

  test('create a docker-registry endpoint: 201 with Location, answered in Harbor’s shape', async () => {
    const schedule = () => server.berth.jobs.scheduler.get('registry.health_check');
    assert.equal(await schedule(), undefined, 'no health check while there is no registry');
    const res = await create({
      name: 'distribution',
      type: 'docker-registry',
      url: `${upstream.url}/`,
      description: 'Debian docker-registry',
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.match(res.headers.get('location')!, /^\/api\/v2\.0\/registries\/\d+$/);
    const got = await api(server, 'GET', `/registries/${idOf(res)}`, { auth: admin });
    assert.equal(got.status, 200);
    assert.equal(got.body.id, idOf(res));
    assert.equal(got.body.name, 'distribution');
    assert.equal(got.body.type, 'docker-registry');
    assert.equal(got.body.url, upstream.url, 'the trailing slash is dropped');
    assert.equal(got.body.description, 'Debian docker-registry');
    assert.equal(got.body.insecure, false);
    assert.equal(got.body.status, 'healthy');
    assert.deepEqual(got.body.credential, {});
    assert.equal('ca_certificate' in got.body, false);
    assert.ok(Date.parse(got.body.creation_time) > 0);
    assert.ok(Date.parse(got.body.update_time) > 0);
    const defined = await schedule();
    assert.equal(defined?.jobType, 'REGISTRY_HEALTH_CHECK');
    assert.equal(defined?.cron, '*/5 * * * *');
  });

  test('bad input is a 400 naming the problem, and nothing is saved', async () => {
    const before = await count();
    const good = { name: 'x-bad', type: 'docker-registry', url: upstream.url };
    const cases: Array<[unknown, RegExp]> = [
      [{ ...good, name: '' }, /^name cannot be empty$/],
      [{ ...good, name: 'n'.repeat(65) }, /^the max length of name is 64$/],
      [{ ...good, name: 42 }, /name must be a string/],
      [{ ...good, type: undefined }, /^type cannot be empty$/],
      [{ ...good, type: 'nexus' }, /^adapter type "nexus" is not supported; supported: .*docker-registry/],
      [{ ...good, url: '' }, /^url cannot be empty$/],
      [{ ...good, url: 'ftp://127.0.0.1:21' }, /^invalid HTTP scheme: ftp$/],
      [{ ...good, url: 'http://user:pw@127.0.0.1:5000' }, /must not carry credentials/],
      [{ ...good, url: 'http://[::1' }, /^invalid URL/],
      [{ ...good, insecure: 'yes' }, /insecure must be true or false/],
      [{ ...good, ca_certificate: 'not a certificate' }, /^invalid CA certificate: no valid certificates found in PEM data$/],
      [{ ...good, ca_certificate: testCa }, /^invalid CA certificate: failed to parse certificate/],
      [{ ...good, credential: 'admin:secret' }, /credential must be an object/],
      [{ ...good, credential: { type: 'kerberos', access_key: 'a', access_secret: 'b' } }, /credential\.type "kerberos" is not supported/],
      [{ ...good, url: `http://127.0.0.1:${closedPort}` }, /^the registry is unhealthy: .*(refused|ECONNREFUSED|unreachable)/i],
      [[good], /request body must be a JSON object/],
    ];
    for (const [body, message] of cases) {
      const res = await create(body);
      assert.equal(res.status, 400, `${JSON.stringify(body)} → ${res.status} ${JSON.stringify(res.body)}`);
      assert.equal(errorCode(res), 'BAD_REQUEST');
      assert.match(messageOf(res), message, JSON.stringify(body));
    }
    assert.equal(await count(), before);
    const byName = await list('?q=name%3D~x-bad');
    assert.equal(byName.headers.get('x-total-count'), '0');
  });

  test('a valid CA certificate is kept and answered', async () => {
    const res = await create({ name: 'with-ca', type: 'docker-registry', url: upstream.url, ca_certificate: ca });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const got = await api(server, 'GET', `/registries/${idOf(res)}`, { auth: admin });
    assert.equal(got.body.ca_certificate, ca.trim());
    assert.equal((await api(server, 'DELETE', `/registries/${idOf(res)}`, { auth: admin })).status, 200);
  });

  test('a name taken is 409, on create and on rename, and nothing changes', async () => {
    const before = await count();
    const dup = await create({ name: 'distribution', type: 'docker-registry', url: upstream.url });
    assert.equal(dup.status, 409);
    assert.equal(errorCode(dup), 'CONFLICT');
    assert.equal(messageOf(dup), 'registry distribution already exists');
    assert.equal(await count(), before);

    const other = await create({ name: 'distribution-2', type: 'docker-registry', url: upstream.url });
    assert.equal(other.status, 201);
    const rename = await api(server, 'PUT', `/registries/${idOf(other)}`, { auth: admin, body: { name: 'distribution' } });
    assert.equal(rename.status, 409);
    assert.equal((await api(server, 'GET', `/registries/${idOf(other)}`, { auth: admin })).body.name, 'distribution-2');
    assert.equal((await api(server, 'DELETE', `/registries/${idOf(other)}`, { auth: admin })).status, 200);
  });

  test('ping: by settings, by id, an unreachable port, a missing type or url, an unknown id', async () => {
    const ok = await api(server, 'POST', '/registries/ping', { auth: admin, body: { type: 'docker-registry', url: upstream.url } });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    const id = (await list('?q=name%3Ddistribution')).body[0].id;
    assert.equal((await api(server, 'POST', '/registries/ping', { auth: admin, body: { id } })).status, 200);

    const down = await api(server, 'POST', '/registries/ping', {
      auth: admin,
      body: { type: 'docker-registry', url: `http://127.0.0.1:${closedPort}` },
    });
    assert.equal(down.status, 400);
    assert.match(messageOf(down), /^the registry is unhealthy: /);

    const empty = await api(server, 'POST', '/registries/ping', { auth: admin, body: { url: upstream.url } });
    assert.equal(empty.status, 400);
    assert.equal(messageOf(empty), 'type or url cannot be empty');

    const unknownType = await api(server, 'POST', '/registries/ping', { auth: admin, body: { type: 'nexus', url: upstream.url } });
    assert.equal(unknownType.status, 400);

    const missing = await api(server, 'POST', '/registries/ping', { auth: admin, body: { id: 999999 } });
    assert.equal(missing.status, 404);
    assert.equal(messageOf(missing), 'registry 999999 not found');
  });

  test('a ping of a stored registry records its status: unhealthy with the reason while it is down, healthy again after', async () => {
    const id = (await list('?q=name%3Ddistribution')).body[0].id;
    await upstream.stop();
    try {
      const down = await api(server, 'POST', '/registries/ping', { auth: admin, body: { id } });
      assert.equal(down.status, 400);
      const got = await api(server, 'GET', `/registries/${id}`, { auth: admin });
      assert.equal(got.body.status, 'unhealthy');
      assert.match((await server.berth.replication.registries.service.get(id)).statusMessage, /cannot reach the registry/);
      const unhealthy = await list('?q=status%3Dunhealthy');
      assert.deepEqual(
        unhealthy.body.map((r: { id: number }) => r.id),
        [id],
      );
      // The periodic health check, run as the job its schedule enqueues, says the same in its log.
      const queue = server.berth.jobs.queue;
      const jobId = await queue.enqueue('REGISTRY_HEALTH_CHECK', null);
      for (let i = 0; i < 600 && !['success', 'error', 'stopped'].includes((await queue.get(jobId))!.status); i++)
        await new Promise((r) => setTimeout(r, 50));
      assert.equal((await queue.get(jobId))!.status, 'success');
      assert.match((await queue.logText(jobId))!, /checked 1 registry, 1 unhealthy/);
    } finally {
      await upstream.start();
    }
    assert.equal((await api(server, 'POST', '/registries/ping', { auth: admin, body: { id } })).status, 200);
    const got = await api(server, 'GET', `/registries/${id}`, { auth: admin });
    assert.equal(got.body.status, 'healthy');
    assert.equal((await server.berth.replication.registries.service.get(id)).statusMessage, '');
  });

  test('a Berth as a harbor endpoint: a wrong password is refused (400, nothing saved), the right one is kept sealed and masked', async () => {
    const before = await count();
    const wrong = await create({
      name: 'other-berth',
      type: 'harbor',
      url: remote.url,
      credential: { type: 'basic', access_key: 'admin', access_secret: 'not-the-password' },
    });
    assert.equal(wrong.status, 400, JSON.stringify(wrong.body));
    assert.match(messageOf(wrong), /^the registry is unhealthy: .*401/);
    assert.equal(await count(), before);

    const pingWrong = await api(server, 'POST', '/registries/ping', {
      auth: admin,
      body: { type: 'harbor', url: remote.url, credential_type: 'basic', access_key: 'admin', access_secret: 'nope' },
    });
    assert.equal(pingWrong.status, 400);

    const right = await create({
      name: 'other-berth',
      type: 'harbor',
      url: remote.url,
      credential: { type: 'basic', access_key: 'admin', access_secret: adminPassword },
    });
    assert.equal(right.status, 201, JSON.stringify(right.body));
    const got = await api(server, 'GET', `/registries/${idOf(right)}`, { auth: admin });
    assert.deepEqual(got.body.credential, { type: 'basic', access_key: 'admin', access_secret: '*****' });
    assert.equal(JSON.stringify((await list('?page_size=100')).body).includes(adminPassword), false);

    // The stored credential pings; overriding it with a wrong one does not, and changes nothing.
    assert.equal((await api(server, 'POST', '/registries/ping', { auth: admin, body: { id: idOf(right) } })).status, 200);
    const override = await api(server, 'POST', '/registries/ping', { auth: admin, body: { id: idOf(right), access_secret: 'nope' } });
    assert.equal(override.status, 400);
    assert.equal((await api(server, 'GET', `/registries/${idOf(right)}`, { auth: admin })).body.status, 'healthy');
    // A ping by id keeps the stored URL: a url in the body does not redirect the stored credential.
    const redirected = await api(server, 'POST', '/registries/ping', {
      auth: admin,
      body: { id: idOf(right), url: `http://127.0.0.1:${closedPort}` },
    });
    assert.equal(redirected.status, 200);

    const endpoint = await server.berth.replication.registries.service.endpoint(idOf(right));
    assert.deepEqual(endpoint?.credential, { type: 'basic', accessKey: 'admin', accessSecret: adminPassword });
  });

  test('update: partial fields, "*****" keeps the secret, a new URL without a secret drops it (and must still ping)', async () => {
    const id = (await list('?q=name%3Dother-berth')).body[0].id;
    const service = server.berth.replication.registries.service;
    const desc = await api(server, 'PUT', `/registries/${id}`, {
      auth: admin,
      body: { description: 'the other site', access_secret: '*****' },
    });
    assert.equal(desc.status, 200, JSON.stringify(desc.body));
    let got = (await api(server, 'GET', `/registries/${id}`, { auth: admin })).body;
    assert.equal(got.description, 'the other site');
    assert.equal(got.name, 'other-berth');
    assert.equal((await service.endpoint(id))?.credential?.accessSecret, adminPassword);

    // Same Berth under another spelling of its address: the secret is dropped, admin without it is refused.
    const otherUrl = remote.url.replace('127.0.0.1', 'localhost');
    const moved = await api(server, 'PUT', `/registries/${id}`, { auth: admin, body: { url: otherUrl, description: 'moved' } });
    assert.equal(moved.status, 400, JSON.stringify(moved.body));
    got = (await api(server, 'GET', `/registries/${id}`, { auth: admin })).body;
    assert.equal(got.url, remote.url, 'nothing saved');
    assert.equal(got.description, 'the other site');
    assert.equal((await service.endpoint(id))?.credential?.accessSecret, adminPassword);

    const movedWithSecret = await api(server, 'PUT', `/registries/${id}`, {
      auth: admin,
      body: { url: otherUrl, access_secret: adminPassword },
    });
    assert.equal(movedWithSecret.status, 200, JSON.stringify(movedWithSecret.body));
    assert.equal((await api(server, 'GET', `/registries/${id}`, { auth: admin })).body.url, otherUrl);

    // Clearing the access key drops the credential (Harbor stores none without an access key).
    assert.equal((await api(server, 'PUT', `/registries/${id}`, { auth: admin, body: { access_key: '' } })).status, 200);
    assert.deepEqual((await api(server, 'GET', `/registries/${id}`, { auth: admin })).body.credential, {});
    assert.equal((await service.endpoint(id))?.credential, null);
    const restored = await api(server, 'PUT', `/registries/${id}`, {
      auth: admin,
      body: { credential_type: 'basic', access_key: 'admin', access_secret: adminPassword },
    });
    assert.equal(restored.status, 200);
    assert.equal((await service.endpoint(id))?.credential?.accessSecret, adminPassword);

    const badType = await api(server, 'PUT', `/registries/${id}`, { auth: admin, body: { credential_type: 'kerberos' } });
    assert.equal(badType.status, 400);
    const badName = await api(server, 'PUT', `/registries/${id}`, { auth: admin, body: { name: '' } });
    assert.equal(badName.status, 400);
    assert.equal((await api(server, 'PUT', '/registries/999999', { auth: admin, body: { description: 'x' } })).status, 404);
    assert.equal((await api(server, 'PUT', '/registries/0', { auth: admin, body: { description: 'x' } })).status, 404);
  });

  test('info: the adapter’s filters and triggers; 0 is Berth itself, the only one with event_based', async () => {
    const id = (await list('?q=name%3Ddistribution')).body[0].id;
    const info = await api(server, 'GET', `/registries/${id}/info`, { auth: admin });
    assert.equal(info.status, 200, JSON.stringify(info.body));
    assert.equal(info.body.type, 'docker-registry');
    const filterTypes = info.body.supported_resource_filters.map((f: { type: string }) => f.type);
    assert.ok(filterTypes.includes('name') && filterTypes.includes('tag'), filterTypes);
    assert.ok(info.body.supported_triggers.includes('manual'));
    assert.equal(info.body.supported_triggers.includes('event_based'), false);

    const local = await api(server, 'GET', '/registries/0/info', { auth: admin });
    assert.equal(local.status, 200);
    assert.ok(local.body.supported_triggers.includes('event_based'));
    const localRegistry = await api(server, 'GET', '/registries/0', { auth: admin });
    assert.equal(localRegistry.status, 200);
    assert.equal(localRegistry.body.name, 'Local');

    assert.equal((await api(server, 'GET', '/registries/999999/info', { auth: admin })).status, 404);
    assert.equal((await api(server, 'GET', '/registries/abc', { auth: admin })).status, 400);
  });

  test('list: q, the deprecated name, sort, paging with X-Total-Count and Link', async () => {
    const all = await list('?page_size=100');
    assert.equal(all.status, 200);
    const names = all.body.map((r: { name: string }) => r.name);
    assert.deepEqual(names, ['other-berth', 'distribution'], 'newest first');
    assert.deepEqual(
      (await list('?sort=name')).body.map((r: { name: string }) => r.name),
      ['distribution', 'other-berth'],
    );
    assert.deepEqual(
      (await list('?name=other')).body.map((r: { name: string }) => r.name),
      ['other-berth'],
    );
    assert.deepEqual(
      (await list('?q=type%3Dharbor')).body.map((r: { name: string }) => r.name),
      ['other-berth'],
    );
    const first = await list('?page=1&page_size=1');
    assert.equal(first.headers.get('x-total-count'), '2');
    assert.match(first.headers.get('link') ?? '', /rel="next"/);
    assert.equal((await list('?q=nope%3D1')).status, 400);
    assert.equal((await list('?sort=secret')).status, 400);
  });

  test('only system administrators manage registries (403), anonymous callers are asked to sign in (401)', async () => {
    await createUser(server, 'regular');
    const user = basicAuth('regular', 'Passw0rd1');
    assert.equal((await api(server, 'GET', '/registries', { auth: user })).status, 403);
    assert.equal((await api(server, 'GET', '/replication/adapters', { auth: user })).status, 403);
    const before = await count();
    const res = await api(server, 'POST', '/registries', { auth: user, body: { name: 'u', type: 'docker-registry', url: upstream.url } });
    assert.equal(res.status, 403);
    assert.equal(await count(), before);
    assert.equal((await api(server, 'GET', '/registries')).status, 401);
  });

  test('delete: refused (412) while a replication policy or a proxy-cache project uses the registry, with Harbor’s messages', async () => {
    const res = await create({ name: 'in-use', type: 'docker-registry', url: upstream.url });
    assert.equal(res.status, 201);
    const id = idOf(res);
    const policy = await api(server, 'POST', '/replication/policies', {
      auth: admin,
      body: { name: 'to-in-use', dest_registry: { id }, trigger: { type: 'manual' }, enabled: true },
    });
    assert.equal(policy.status, 201, JSON.stringify(policy.body));
    const byPolicy = await api(server, 'DELETE', `/registries/${id}`, { auth: admin });
    assert.equal(byPolicy.status, 412);
    assert.match(messageOf(byPolicy), new RegExp(`^the registry ${id} is referenced by replication policies, cannot delete it`));
    const policyId = Number(policy.headers.get('location')!.split('/').pop());
    assert.equal((await api(server, 'DELETE', `/replication/policies/${policyId}`, { auth: admin })).status, 200);

    const project = await api(server, 'POST', '/projects', {
      auth: admin,
      body: { project_name: 'in-use-cache', registry_id: id, metadata: { public: 'true' } },
    });
    assert.equal(project.status, 201, JSON.stringify(project.body));
    const byProject = await api(server, 'DELETE', `/registries/${id}`, { auth: admin });
    assert.equal(byProject.status, 412);
    assert.equal(messageOf(byProject), `the registry ${id} is referenced by proxy cache project, cannot delete it`);
    assert.equal((await api(server, 'GET', `/registries/${id}`, { auth: admin })).status, 200);
    assert.equal((await api(server, 'DELETE', '/projects/in-use-cache', { auth: admin })).status, 200);
    assert.equal((await api(server, 'DELETE', `/registries/${id}`, { auth: admin })).status, 200);
  });

  test('delete: refused (412) while a feature says the registry is used, then deleted (and 404 after)', async () => {
    const id = (await list('?q=name%3Ddistribution')).body[0].id;
    let used = true;
    server.berth.replication.registries.service.onUsageCheck(async (registryId) =>
      used && registryId === id ? `the registry ${registryId} is referenced by replication policies, cannot delete it` : null,
    );
    const refused = await api(server, 'DELETE', `/registries/${id}`, { auth: admin });
    assert.equal(refused.status, 412);
    assert.equal(errorCode(refused), 'PRECONDITION');
    assert.equal(messageOf(refused), `the registry ${id} is referenced by replication policies, cannot delete it`);
    assert.equal((await api(server, 'GET', `/registries/${id}`, { auth: admin })).status, 200);
    used = false;
    assert.equal((await api(server, 'DELETE', `/registries/${id}`, { auth: admin })).status, 200);
    const gone = await api(server, 'GET', `/registries/${id}`, { auth: admin });
    assert.equal(gone.status, 404);
    assert.equal(messageOf(gone), `registry ${id} not found`);
    assert.equal((await api(server, 'DELETE', `/registries/${id}`, { auth: admin })).status, 404);
  });
});

/** A real self-signed certificate made with node's crypto is not available without a library; openssl makes one. */
async function selfSignedCa(): Promise<string> {
  const { execFileSync } = await import('node:child_process');
  const { mkdtempSync, readFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const path = await import('node:path');
  const dir = mkdtempSync(path.join(tmpdir(), 'berth-ca-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        path.join(dir, 'key.pem'),
        '-out',
        path.join(dir, 'cert.pem'),
        '-days',
        '1',
        '-subj',
        '/CN=berth-test-ca',
      ],
      { stdio: 'ignore' },
    );
    return readFileSync(path.join(dir, 'cert.pem'), 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
