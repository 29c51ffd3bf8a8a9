import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { decodeKey, generatedKeySetting, newKeyText, SecretBox } from '../../src/auth/secret-box.js';
import { api, createUser, errorCode } from '../helpers/api.js';
import { testDialect } from '../helpers/database.js';
import { refusedPort } from '../helpers/ports.js';
import { startDragonflyFake, type DragonflyFake } from '../helpers/dragonfly-fake.js';
import { basicAuth, startServer, type TestServer } from '../helpers/server.js';
import { assertShape, createInstance, createPolicy, createProject, filters, manual } from './helpers.js';

/*
 * The preheat API with nothing running but the server and a Dragonfly stand-in (written from
 * Dragonfly's open API documentation): providers, instances and policies, every bad input a
 * Harbor-shaped 400 (or 409/412) with nothing saved, credentials sealed at rest and re-sealed
 * by a key rotation, schedules of scheduled policies, permissions.
 */
describe(`preheat API (${testDialect()})`, () => {
  let server: TestServer;
  let dragonfly: DragonflyFake;
  const admin = () => server.admin.authorization;
  const db = () => server.berth.database.db;
  const instanceRows = () => db().selectFrom('preheat_instances').selectAll().orderBy('id').execute();
  const policyRows = () => db().selectFrom('preheat_policies').selectAll().orderBy('id').execute();
  let alice: string;

  before(async () => {
    server = await startServer();
    dragonfly = await startDragonflyFake({ token: 'pat-1' });
    await createProject(server, 'p2p');
    await createUser(server, 'alice');
    alice = basicAuth('alice', 'Passw0rd1');
    // alice is a developer of p2p: preheat policies are the project administrator's (Harbor's role matrix).
    const aliceId = (await api(server, 'GET', '/users/search?username=alice', { auth: admin() })).body[0].user_id;
    assert.equal(
      (await api(server, 'POST', '/projects/p2p/members', { auth: admin(), body: { role_id: 2, member_user: { user_id: aliceId } } }))
        .status,
      201,
    );
  });
  after(async () => {
    await server?.stop();
    await dragonfly?.close();
  });

  test('providers: Dragonfly and Kraken, for system administrators only', async () => {
    const res = await api(server, 'GET', '/p2p/preheat/providers', { auth: admin() });
    assert.equal(res.status, 200);
    assert.deepEqual(
      res.body.map((p: any) => [p.id, p.name]),
      [
        ['dragonfly', 'Dragonfly'],
        ['kraken', 'Kraken'],
      ],
    );
    for (const p of res.body) assert.equal(typeof p.version, 'string');
    assertShape(res.body, 'Metadata');
    assert.equal((await api(server, 'GET', '/p2p/preheat/providers')).status, 401);
    assert.equal((await api(server, 'GET', '/p2p/preheat/providers', { auth: alice })).status, 403);
    assert.equal((await api(server, 'GET', '/p2p/preheat/instances', { auth: alice })).status, 403);
  });

  const good = () => ({ name: 'df-1', vendor: 'dragonfly', endpoint: dragonfly.url, auth_mode: 'OAUTH', auth_info: { token: 'pat-1' } });
  const badInstances: Array<[string, Record<string, unknown>, RegExp]> = [
    ['no name', { name: '' }, /instance name is required/],
    ['a name with a space', { name: 'df 1' }, /name df 1 is invalid/],
    ['a name ending in a dash', { name: 'df-' }, /name df- is invalid/],
    ['an unknown vendor', { vendor: 'bittorrent' }, /vendor must be one of dragonfly, kraken/],
    ['no endpoint', { endpoint: '' }, /endpoint is required/],
    ['an endpoint that is no URL', { endpoint: 'manager:8080' }, /must be an http or https URL|is not a URL/],
    ['an ftp endpoint', { endpoint: 'ftp://127.0.0.1/' }, /must be an http or https URL/],
    ['credentials in the endpoint', { endpoint: 'http://u:p@127.0.0.1:1' }, /must not carry credentials/],
    ['an unknown auth mode', { auth_mode: 'KERBEROS' }, /auth_mode must be one of NONE, BASIC, OAUTH, CUSTOM/],
    ['OAUTH without a token', { auth_info: { user: 'x' } }, /needs "token" for auth_mode OAUTH/],
    ['BASIC without a password', { auth_mode: 'BASIC', auth_info: { username: 'u' } }, /needs "username" and "password"/],
    ['CUSTOM with two headers', { auth_mode: 'CUSTOM', auth_info: { 'X-A': '1', 'X-B': '2' } }, /exactly one entry/],
    ['CUSTOM with a bad header name', { auth_mode: 'CUSTOM', auth_info: { 'X A': '1' } }, /is not an HTTP header name/],
    ['auth_info that is not strings', { auth_info: { token: 5 } }, /auth_info must be an object of strings/],
    ['enabled as a string', { enabled: 'yes' }, /enabled must be true or false/],
  ];
  for (const [what, change, message] of badInstances) {
    test(`instance with ${what}: 400, nothing saved`, async () => {
      const res = await api(server, 'POST', '/p2p/preheat/instances', { auth: admin(), body: { ...good(), ...change } });
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal(errorCode(res), 'BAD_REQUEST');
      assert.match(res.body.errors[0].message, message);
      assert.deepEqual(await instanceRows(), []);
    });
  }

  test('instances: created with the credential sealed at rest, never answered; 409 for a taken name or endpoint; lists', async () => {
    const res = await api(server, 'POST', '/p2p/preheat/instances', {
      auth: admin(),
      body: { ...good(), endpoint: `${dragonfly.url}/`, default: true },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.headers.get('location'), '/api/v2.0/p2p/preheat/instances/df-1');
    const got = await api(server, 'GET', '/p2p/preheat/instances/df-1', { auth: admin() });
    assert.equal(got.status, 200);
    assert.equal(got.body.endpoint, dragonfly.url);
    assert.equal(got.body.auth_mode, 'OAUTH');
    assert.equal(got.body.status, 'Unknown');
    assert.equal(got.body.enabled, true);
    assert.equal(got.body.default, true);
    assert.equal(got.body.insecure, false);
    assert.ok(Math.abs(got.body.setup_timestamp - Date.now() / 1000) < 120);
    assert.equal(got.body.auth_info, undefined);
    assertShape(got.body, 'Instance');
    assert.doesNotMatch(JSON.stringify(got.body), /pat-1/);
    const [row] = await instanceRows();
    assert.match(row.auth_info_sealed!, /^bsec1:[0-9a-f]{12}:/);
    assert.doesNotMatch(row.auth_info_sealed!, /pat-1/);

    const dupName = await api(server, 'POST', '/p2p/preheat/instances', {
      auth: admin(),
      body: { ...good(), endpoint: 'http://127.0.0.1:9' },
    });
    assert.equal(dupName.status, 409);
    const dupEndpoint = await api(server, 'POST', '/p2p/preheat/instances', { auth: admin(), body: { ...good(), name: 'df-2' } });
    assert.equal(dupEndpoint.status, 409);
    assert.match(dupEndpoint.body.errors[0].message, /df-1 already has the endpoint/);
    assert.equal((await instanceRows()).length, 1);

    await createInstance(server, { name: 'kr-1', vendor: 'kraken', endpoint: 'http://127.0.0.1:9', default: true });
    const list = await api(server, 'GET', '/p2p/preheat/instances?sort=-name', { auth: admin() });
    assert.equal(list.headers.get('x-total-count'), '2');
    assert.deepEqual(
      list.body.map((i: any) => [i.name, i.default]),
      [
        ['kr-1', true],
        ['df-1', false],
      ],
    );
    assertShape(list.body, 'Instance');
    const fuzzy = await api(server, 'GET', '/p2p/preheat/instances?q=name%3D~df', { auth: admin() });
    assert.deepEqual(
      fuzzy.body.map((i: any) => i.name),
      ['df-1'],
    );
    const paged = await api(server, 'GET', '/p2p/preheat/instances?page=2&page_size=1', { auth: admin() });
    assert.equal(paged.body.length, 1);
    assert.match(paged.headers.get('link') ?? '', /rel="prev"/);
    assert.equal((await api(server, 'GET', '/p2p/preheat/instances?sort=password', { auth: admin() })).status, 400);
    assert.equal((await api(server, 'GET', '/p2p/preheat/instances/nope', { auth: admin() })).status, 404);
  });

  test('ping: by endpoint and credential, by id (recording Healthy); a closed port or a refused token is a 400 saying why', async () => {
    const ok = await api(server, 'POST', '/p2p/preheat/instances/ping', {
      auth: admin(),
      body: { vendor: 'dragonfly', endpoint: dragonfly.url },
    });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    const closed = await api(server, 'POST', '/p2p/preheat/instances/ping', {
      auth: admin(),
      body: { vendor: 'kraken', endpoint: `http://127.0.0.1:${await refusedPort()}` },
    });
    assert.equal(closed.status, 400);
    assert.match(closed.body.errors[0].message, /failed to ping the preheat instance .*ECONNREFUSED/);
    const byId = await api(server, 'POST', '/p2p/preheat/instances/ping', { auth: admin(), body: { id: (await instanceRows())[0].id } });
    assert.equal(byId.status, 200, JSON.stringify(byId.body));
    assert.equal((await api(server, 'GET', '/p2p/preheat/instances/df-1', { auth: admin() })).body.status, 'Healthy');
    const kr = await api(server, 'POST', '/p2p/preheat/instances/ping', { auth: admin(), body: { id: (await instanceRows())[1].id } });
    assert.equal(kr.status, 400);
    assert.equal((await api(server, 'GET', '/p2p/preheat/instances/kr-1', { auth: admin() })).body.status, 'Unhealthy');
    assert.equal((await api(server, 'POST', '/p2p/preheat/instances/ping', { auth: admin(), body: { id: 9999 } })).status, 404);
    assert.equal((await api(server, 'POST', '/p2p/preheat/instances/ping', { auth: admin(), body: { name: 'x' } })).status, 400);
    assert.equal((await api(server, 'POST', '/p2p/preheat/instances/ping', { auth: alice, body: { id: 1 } })).status, 403);
  });

  const policy = (change: Record<string, unknown> = {}) => ({
    name: 'warm',
    provider_id: 0,
    filters: filters({ type: 'repository', value: '**' }, { type: 'tag', value: 'v*' }),
    trigger: manual,
    enabled: true,
    ...change,
  });
  const dfId = async () => Number((await instanceRows())[0].id);

  const badPolicies: Array<[string, Record<string, unknown>, RegExp]> = [
    ['a bad name', { name: 'a b' }, /name a b is invalid/],
    ['no provider', { provider_id: undefined }, /provider_id must be the id of a preheat instance/],
    ['an unknown provider', { provider_id: 9999 }, /provider_id 9999: there is no preheat instance/],
    ['filters that are not JSON', { filters: '[{' }, /filters must be JSON text/],
    ['filters that are no list', { filters: '{"type":"tag"}' }, /filters must be a JSON list/],
    [
      'an unknown filter type',
      { filters: filters({ type: 'size', value: '1' }) },
      /filters\[0\]\.type must be one of repository, tag, label, signature, vulnerability/,
    ],
    [
      'a pattern with an unclosed brace',
      { filters: filters({ type: 'repository', value: '{a,b' }) },
      /not a valid doublestar pattern: a "\{" is not closed/,
    ],
    [
      'a tag pattern with an unclosed bracket',
      { filters: filters({ type: 'tag', value: 'v[1' }) },
      /filters\[0\]\.value "v\[1" is not a valid doublestar pattern/,
    ],
    ['a tag filter that is no string', { filters: filters({ type: 'tag', value: 3 }) }, /must be a doublestar pattern/],
    ['two tag filters', { filters: filters({ type: 'tag', value: 'a' }, { type: 'tag', value: 'b' }) }, /there is already a tag filter/],
    ['an empty label filter', { filters: filters({ type: 'label', value: ' , ' }) }, /must name one or more labels/],
    [
      'a signature filter that is no boolean',
      { filters: filters({ type: 'signature', value: 'yes' }) },
      /must be true or false for the signature filter/,
    ],
    ['a severity out of range', { filters: filters({ type: 'vulnerability', value: 7 }) }, /must be a severity code/],
    ['a severity by name', { filters: filters({ type: 'vulnerability', value: 'High' }) }, /must be a severity code/],
    ['no trigger', { trigger: undefined }, /trigger is required/],
    ['an unknown trigger', { trigger: JSON.stringify({ type: 'on_pull' }) }, /trigger\.type must be one of manual, scheduled, event_based/],
    [
      'a schedule without cron',
      { trigger: JSON.stringify({ type: 'scheduled', trigger_setting: { cron: '' } }) },
      /cron is required for a scheduled trigger/,
    ],
    [
      'an invalid cron',
      { trigger: JSON.stringify({ type: 'scheduled', trigger_setting: { cron: '0 0 99 * * *' } }) },
      /invalid cron string for scheduled preheat: 0 0 99 \* \* \*/,
    ],
    ['extra_attrs that are no object', { extra_attrs: '[1]' }, /extra_attrs must be a JSON object/],
    [
      'an unknown Dragonfly scope',
      { extra_attrs: JSON.stringify({ scope: 'everyone' }) },
      /extra_attrs\.scope must be one of single_seed_peer, all_seed_peers, all_peers/,
    ],
    [
      'bad cluster ids',
      { extra_attrs: JSON.stringify({ cluster_ids: ['a'] }) },
      /extra_attrs\.cluster_ids must be a list of positive integers/,
    ],
    ['enabled as a number', { enabled: 1 }, /enabled must be true or false/],
  ];
  for (const [what, change, message] of badPolicies) {
    test(`policy with ${what}: 400, nothing saved`, async () => {
      const body = policy({ provider_id: await dfId(), ...change });
      const res = await api(server, 'POST', '/projects/p2p/preheat/policies', { auth: admin(), body });
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.match(res.body.errors[0].message, message);
      assert.deepEqual(await policyRows(), []);
      assert.equal((await db().selectFrom('schedules').select('name').where('name', 'like', 'PREHEAT:%').execute()).length, 0);
    });
  }

  test("policies: created, read in Harbor's shape, listed, 409 for a taken name, the project's providers", async () => {
    const id = await dfId();
    await createPolicy(
      server,
      'p2p',
      policy({ provider_id: id, description: 'warm releases', extra_attrs: JSON.stringify({ scope: 'all_peers' }) }),
    );
    const got = await api(server, 'GET', '/projects/p2p/preheat/policies/warm', { auth: admin() });
    assert.equal(got.status, 200);
    assert.equal(got.body.provider_id, id);
    assert.equal(got.body.provider_name, 'df-1');
    assert.equal(got.body.description, 'warm releases');
    assert.equal(got.body.enabled, true);
    assert.deepEqual(JSON.parse(got.body.filters), [
      { type: 'repository', value: '**' },
      { type: 'tag', value: 'v*' },
    ]);
    assert.deepEqual(JSON.parse(got.body.trigger), { type: 'manual', trigger_setting: { cron: '' } });
    assert.deepEqual(JSON.parse(got.body.extra_attrs), { scope: 'all_peers' });
    assert.equal(typeof got.body.project_id, 'number');
    assertShape(got.body, 'PreheatPolicy');

    const dup = await api(server, 'POST', '/projects/p2p/preheat/policies', { auth: admin(), body: policy({ provider_id: id }) });
    assert.equal(dup.status, 409);
    assert.equal((await policyRows()).length, 1);

    // JSON values are taken as well as Harbor's JSON text.
    await createPolicy(server, 'p2p', {
      name: 'on-push',
      provider_id: id,
      filters: [{ type: 'label', value: 'release' }],
      trigger: { type: 'event_based' },
    });
    const list = await api(server, 'GET', '/projects/p2p/preheat/policies?sort=name', { auth: admin() });
    assert.equal(list.headers.get('x-total-count'), '2');
    assert.deepEqual(
      list.body.map((p: any) => p.name),
      ['on-push', 'warm'],
    );
    assertShape(list.body, 'PreheatPolicy');
    const providers = await api(server, 'GET', '/projects/p2p/preheat/providers', { auth: admin() });
    assertShape(providers.body, 'ProviderUnderProject');
    assert.deepEqual(providers.body[0], { id, provider: `dragonfly df-1-${dragonfly.url}`, enabled: true, default: false });
    assert.equal((await api(server, 'GET', '/projects/p2p/preheat/policies/none', { auth: admin() })).status, 404);
    assert.equal((await api(server, 'GET', '/projects/nowhere/preheat/policies', { auth: admin() })).status, 404);
  });

  test('permissions: a developer may not read or write preheat policies; anonymous callers get 401', async () => {
    assert.equal((await api(server, 'GET', '/projects/p2p/preheat/policies', { auth: alice })).status, 403);
    assert.equal((await api(server, 'POST', '/projects/p2p/preheat/policies/warm', { auth: alice })).status, 403);
    assert.equal((await api(server, 'DELETE', '/projects/p2p/preheat/policies/warm', { auth: alice })).status, 403);
    assert.equal((await api(server, 'GET', '/projects/p2p/preheat/policies')).status, 401);
    assert.equal((await policyRows()).length, 2);
  });

  test('scheduled policies own a PREHEAT:<id> schedule, changed and removed with them', async () => {
    const id = await dfId();
    const schedule = async (policyId: number) => server.berth.jobs.scheduler.get(`PREHEAT:${policyId}`);
    const trigger = (cron: string) => JSON.stringify({ type: 'scheduled', trigger_setting: { cron } });
    await createPolicy(server, 'p2p', policy({ name: 'nightly', provider_id: id, trigger: trigger('0 0 2 * * *') }));
    const row = (await policyRows()).find((p) => p.name === 'nightly')!;
    const s = await schedule(Number(row.id));
    assert.equal(s?.cron, '0 0 2 * * *');
    assert.equal(s?.jobType, 'PREHEAT');
    assert.deepEqual(s?.payload, { policyId: Number(row.id), trigger: 'scheduled' });

    const put = await api(server, 'PUT', '/projects/p2p/preheat/policies/nightly', {
      auth: admin(),
      body: policy({ name: 'nightly', provider_id: id, trigger: trigger('0 30 3 * * *') }),
    });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.equal((await schedule(Number(row.id)))?.cron, '0 30 3 * * *');
    // A bad update changes nothing.
    const bad = await api(server, 'PUT', '/projects/p2p/preheat/policies/nightly', {
      auth: admin(),
      body: policy({ name: 'nightly', provider_id: id, trigger: trigger('x') }),
    });
    assert.equal(bad.status, 400);
    assert.equal((await schedule(Number(row.id)))?.cron, '0 30 3 * * *');
    const renameClash = await api(server, 'PUT', '/projects/p2p/preheat/policies/nightly', {
      auth: admin(),
      body: policy({ name: 'warm', provider_id: id }),
    });
    assert.equal(renameClash.status, 409);

    const disabled = await api(server, 'PUT', '/projects/p2p/preheat/policies/nightly', {
      auth: admin(),
      body: policy({ name: 'nightly', provider_id: id, trigger: trigger('0 30 3 * * *'), enabled: false }),
    });
    assert.equal(disabled.status, 200);
    assert.equal(await schedule(Number(row.id)), undefined);
    // A disabled policy refuses manual runs; no execution is written.
    const run = await api(server, 'POST', '/projects/p2p/preheat/policies/nightly', { auth: admin() });
    assert.equal(run.status, 400);
    assert.match(run.body.errors[0].message, /is not enabled/);
    assert.equal((await db().selectFrom('preheat_executions').selectAll().execute()).length, 0);

    await api(server, 'PUT', '/projects/p2p/preheat/policies/nightly', {
      auth: admin(),
      body: policy({ name: 'nightly', provider_id: id, trigger: trigger('0 0 4 * * *') }),
    });
    assert.equal((await schedule(Number(row.id)))?.cron, '0 0 4 * * *');
    assert.equal((await api(server, 'DELETE', '/projects/p2p/preheat/policies/nightly', { auth: admin() })).status, 200);
    assert.equal(await schedule(Number(row.id)), undefined);
    assert.equal((await api(server, 'GET', '/projects/p2p/preheat/policies/nightly', { auth: admin() })).status, 404);
  });

  test('executions and tasks of another policy or none are 404s; bad ids 400', async () => {
    assert.equal((await api(server, 'GET', '/projects/p2p/preheat/policies/warm/executions/424242', { auth: admin() })).status, 404);
    assert.equal((await api(server, 'GET', '/projects/p2p/preheat/policies/warm/executions/abc', { auth: admin() })).status, 400);
    assert.equal((await api(server, 'GET', '/projects/p2p/preheat/policies/warm/executions/1/tasks', { auth: admin() })).status, 404);
    assert.equal(
      (await api(server, 'GET', '/projects/p2p/preheat/policies/warm/executions/1/tasks/1/logs', { auth: admin() })).status,
      404,
    );
    const list = await api(server, 'GET', '/projects/p2p/preheat/policies/warm/executions', { auth: admin() });
    assert.equal(list.status, 200);
    assert.deepEqual(list.body, []);
  });

  test('instance updates: vendor fixed, stored credential kept when omitted, used instances neither disabled nor deleted (412)', async () => {
    const body = {
      name: 'df-1',
      vendor: 'dragonfly',
      endpoint: dragonfly.url,
      auth_mode: 'OAUTH',
      enabled: true,
      description: 'the manager',
    };
    const vendor = await api(server, 'PUT', '/p2p/preheat/instances/df-1', { auth: admin(), body: { ...body, vendor: 'kraken' } });
    assert.equal(vendor.status, 400);
    assert.match(vendor.body.errors[0].message, /vendor cannot be changed/);
    const before = (await instanceRows())[0].auth_info_sealed;
    const kept = await api(server, 'PUT', '/p2p/preheat/instances/df-1', { auth: admin(), body });
    assert.equal(kept.status, 200, JSON.stringify(kept.body));
    assert.equal((await api(server, 'GET', '/p2p/preheat/instances/df-1', { auth: admin() })).body.description, 'the manager');
    assert.equal((await instanceRows())[0].auth_info_sealed !== null, true);
    assert.notEqual((await instanceRows())[0].auth_info_sealed, null);
    assert.ok(before);
    // The stand-in takes jobs only with the token: a policy run proves it was kept (ping does not need it).
    const id = await dfId();
    const drv = server.berth.preheat.instances.driver((await server.berth.preheat.instances.open(id))!);
    try {
      const status = await drv.preheat({
        type: 'image',
        url: `${server.url}/v2/p2p/x/manifests/v1`,
        headers: {},
        repository: 'p2p/x',
        tag: 'v1',
        digest: 'sha256:0',
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        children: [],
        extraAttrs: null,
      });
      assert.equal(status.status, 'Running');
    } finally {
      drv.close();
    }

    const disable = await api(server, 'PUT', '/p2p/preheat/instances/df-1', { auth: admin(), body: { ...body, enabled: false } });
    assert.equal(disable.status, 412);
    assert.match(disable.body.errors[0].message, /Provider \[df-1\] cannot be disabled as some preheat policies are using it/);
    const del = await api(server, 'DELETE', '/p2p/preheat/instances/df-1', { auth: admin() });
    assert.equal(del.status, 412);
    assert.match(del.body.errors[0].message, /cannot be deleted as some preheat policies are using it/);
    assert.equal((await api(server, 'DELETE', '/p2p/preheat/instances/kr-1', { auth: admin() })).status, 200);
    assert.equal((await api(server, 'GET', '/p2p/preheat/instances/kr-1', { auth: admin() })).status, 404);
    assert.equal((await api(server, 'DELETE', '/p2p/preheat/instances/kr-1', { auth: admin() })).status, 404);

    // NONE drops the credential.
    await createInstance(server, {
      name: 'kr-2',
      vendor: 'kraken',
      endpoint: 'http://127.0.0.1:19',
      auth_mode: 'BASIC',
      auth_info: { username: 'u', password: 'p' },
    });
    const none = await api(server, 'PUT', '/p2p/preheat/instances/kr-2', {
      auth: admin(),
      body: { name: 'kr-2', vendor: 'kraken', endpoint: 'http://127.0.0.1:19', auth_mode: 'NONE' },
    });
    assert.equal(none.status, 200);
    assert.equal((await instanceRows()).find((r) => r.name === 'kr-2')!.auth_info_sealed, null);
  });

  test('berth secrets rotate re-seals instance credentials with the new key; the old key still opens until then', async () => {
    // The resealer is registered with the server's Secrets, which `berth secrets rotate` runs (nothing to do with the same key).
    const results = await server.berth.secrets.rotate();
    assert.deepEqual(
      results.find((r) => r.name === 'preheat instances'),
      { name: 'preheat instances', resealed: 0 },
    );
    const stored = await db().selectFrom('settings').select('value').where('name', '=', generatedKeySetting).executeTakeFirstOrThrow();
    const oldKey = decodeKey(stored.value);
    const rotated = new SecretBox(decodeKey(newKeyText()), [oldKey]);
    const before = (await instanceRows()).find((r) => r.name === 'df-1')!.auth_info_sealed!;
    assert.equal(rotated.isCurrent(before), false);
    assert.equal(await server.berth.preheat.instances.reseal(rotated), 1);
    const after = (await instanceRows()).find((r) => r.name === 'df-1')!.auth_info_sealed!;
    assert.equal(rotated.isCurrent(after), true);
    assert.deepEqual(JSON.parse(rotated.open(after)), { token: 'pat-1' });
    assert.equal(await server.berth.preheat.instances.reseal(rotated), 0);
  });
});
