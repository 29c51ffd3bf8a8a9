import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { checkShape } from '../../compat/harbor-shapes.js';
import { api, createUser, errorCode } from '../../helpers/api.js';
import { testDialect } from '../../helpers/database.js';
import { startDockerRegistry, type DockerRegistry } from '../../helpers/docker-registry.js';
import { basicAuth, startServer, type TestServer } from '../../helpers/server.js';
import { requireTools } from '../../helpers/tools.js';
import { createEndpoint, createPolicy, pushPolicy } from './helpers.js';

const skip = requireTools('docker-registry');

/**
 * Harbor's /replication/policies against a real Berth whose registry endpoint is a real
 * docker-registry. Jobs do not run here (jobs.concurrency 0): the policies' side only.
 */
describe(`replication policies API (${testDialect()})`, { skip }, () => {
  let server: TestServer;
  let registry: DockerRegistry;
  let admin: string;
  let destId: number;

  before(async () => {
    registry = await startDockerRegistry();
    server = await startServer({ yaml: { 'jobs.concurrency': 0 } });
    admin = server.admin.authorization;
    destId = await createEndpoint(server, registry.url, 'dr');
  });
  after(async () => {
    await server?.stop();
    await registry?.close();
  });

  const db = () => server.berth.database.db;
  const schedule = (id: number) => db().selectFrom('schedules').selectAll().where('name', '=', `replication:${id}`).executeTakeFirst();
  /** What a refused request must leave as it was. */
  const state = async () => ({
    policies: await db().selectFrom('replication_policies').selectAll().orderBy('id').execute(),
    schedules: await db().selectFrom('schedules').select(['name', 'cron']).where('name', 'like', 'replication:%').orderBy('name').execute(),
    audits: Number(
      (
        await db()
          .selectFrom('audit_logs')
          .select((eb) => eb.fn.countAll().as('n'))
          .where('resource_type', '=', 'replication_policy')
          .executeTakeFirstOrThrow()
      ).n,
    ),
  });

  /**
   * The fields of a policy against Harbor's ReplicationPolicy: filter values apart (Harbor gives
   * them no type), the embedded Registry objects apart (the registries feature's, checked there).
   */
  const policyShape = (p: Record<string, any>) => {
    const { src_registry: _s, dest_registry: _d, ...rest } = p;
    for (const f of p.filters)
      assert.ok(typeof f.value === 'string' || (Array.isArray(f.value) && f.value.every((v: unknown) => typeof v === 'string')));
    return checkShape({ ...rest, filters: p.filters.map((f: Record<string, unknown>) => ({ ...f, value: {} })) }, 'ReplicationPolicy');
  };

  test('a push-based policy is created and read back in Harbor\'s shape, this Berth as the "Local" registry 0', async () => {
    const res = await api(server, 'POST', '/replication/policies', { auth: admin, body: pushPolicy('to-dr', destId) });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const location = res.headers.get('location')!;
    assert.match(location, /^\/api\/v2\.0\/replication\/policies\/\d+$/);
    const got = await api(server, 'GET', location.replace('/api/v2.0', ''), { auth: admin });
    assert.equal(got.status, 200);
    const p = got.body;
    assert.equal(p.id, Number(location.split('/').pop()));
    assert.equal(p.name, 'to-dr');
    assert.equal(p.description, 'to-dr policy');
    assert.equal(p.src_registry.id, 0);
    assert.equal(p.src_registry.name, 'Local');
    assert.equal(p.dest_registry.id, destId);
    assert.equal(p.dest_registry.name, 'dr');
    assert.equal(p.dest_registry.type, 'docker-registry');
    assert.equal(p.dest_registry.url, registry.url);
    assert.equal(p.dest_namespace, 'mirror');
    assert.equal(p.dest_namespace_replace_count, 1);
    assert.deepEqual(p.trigger, { type: 'manual', trigger_settings: { cron: '' } });
    assert.deepEqual(p.filters, [
      { type: 'name', value: 'library/**' },
      { type: 'tag', value: 'v*', decoration: 'matches' },
    ]);
    assert.equal(p.replicate_deletion, false);
    assert.equal(p.deletion, false);
    assert.equal(p.override, true);
    assert.equal(p.enabled, true);
    assert.equal(p.speed, 0);
    assert.equal(p.copy_by_chunk, false);
    assert.equal(p.single_active_replication, false);
    assert.ok(!Number.isNaN(Date.parse(p.creation_time)));
    assert.ok(!Number.isNaN(Date.parse(p.update_time)));
    assert.deepEqual(policyShape(p), []);
    assert.equal(await schedule(p.id), undefined, 'a manual policy has no schedule');
    const audit = await db().selectFrom('audit_logs').selectAll().where('resource_type', '=', 'replication_policy').execute();
    assert.deepEqual(
      audit.map((a) => [a.operation, a.resource, a.username]),
      [['create', 'to-dr', 'admin']],
    );
  });

  test("Harbor's defaults: disabled, no override, flatten all (-1), manual, no filters; a negative speed is unlimited (0); deletion is replicate_deletion", async () => {
    const id = await createPolicy(server, { name: 'minimal', dest_registry: { id: destId }, speed: -1, deletion: true });
    const p = (await api(server, 'GET', `/replication/policies/${id}`, { auth: admin })).body;
    assert.equal(p.enabled, false);
    assert.equal(p.override, false);
    assert.equal(p.dest_namespace, '');
    assert.equal(p.dest_namespace_replace_count, -1);
    assert.deepEqual(p.trigger, { type: 'manual', trigger_settings: { cron: '' } });
    assert.deepEqual(p.filters, []);
    assert.equal(p.speed, 0);
    assert.equal(p.replicate_deletion, true);
    assert.equal(p.description, '');
  });

  test('a pull-based policy: the source is the endpoint, the destination this Berth ({"id":0} or null alike)', async () => {
    const id = await createPolicy(server, {
      ...pushPolicy('from-dr', destId),
      src_registry: { id: destId },
      dest_registry: { id: 0 },
      filters: [
        { type: 'resource', value: 'image' },
        { type: 'label', value: ['release'], decoration: 'excludes' },
      ],
      trigger: { type: 'scheduled', trigger_settings: { cron: '0 30 2 * * *' } },
      speed: 512,
      copy_by_chunk: true,
      single_active_replication: true,
    });
    const p = (await api(server, 'GET', `/replication/policies/${id}`, { auth: admin })).body;
    assert.equal(p.src_registry.id, destId);
    assert.equal(p.dest_registry.id, 0);
    assert.equal(p.dest_registry.name, 'Local');
    assert.deepEqual(p.filters, [
      { type: 'resource', value: 'image' },
      { type: 'label', value: ['release'], decoration: 'excludes' },
    ]);
    assert.deepEqual(p.trigger, { type: 'scheduled', trigger_settings: { cron: '0 30 2 * * *' } });
    assert.equal(p.speed, 512);
    assert.equal(p.copy_by_chunk, true);
    assert.equal(p.single_active_replication, true);
  });

  const invalid: Array<[string, (base: Record<string, any>) => unknown, RegExp]> = [
    ['a body that is a list', () => [], /request body must be a ReplicationPolicy JSON object/],
    ['no name', (b) => ({ ...b, name: undefined }), /empty name/],
    ['a name that is a number', (b) => ({ ...b, name: 5 }), /name must be a string/],
    ['a name of 256 characters', (b) => ({ ...b, name: 'n'.repeat(256) }), /name is longer than 255 characters/],
    ['this Berth on both sides', (b) => ({ ...b, dest_registry: null }), /either src_registry or dest_registry should be empty/],
    [
      'a remote registry on both sides',
      (b) => ({ ...b, src_registry: { id: destId } }),
      /either src_registry or dest_registry should be empty/,
    ],
    [
      'a destination registry that does not exist',
      (b) => ({ ...b, dest_registry: { id: 9999 } }),
      /dest_registry: registry 9999 not found/,
    ],
    [
      'a source registry that does not exist',
      (b) => ({ ...b, src_registry: { id: 9998 }, dest_registry: null }),
      /src_registry: registry 9998 not found/,
    ],
    ['a negative registry id', (b) => ({ ...b, dest_registry: { id: -3 } }), /dest_registry\.id must be a registry id/],
    ['a registry given as a string', (b) => ({ ...b, dest_registry: 'dr' }), /dest_registry must be a registry object/],
    ['filters that are not a list', (b) => ({ ...b, filters: { type: 'name' } }), /filters must be a list of filters/],
    [
      'an unknown filter type',
      (b) => ({ ...b, filters: [{ type: 'repository', value: 'a/**' }] }),
      /filters\[0\]: invalid filter type "repository"/,
    ],
    [
      'a name filter whose value is a list',
      (b) => ({ ...b, filters: [{ type: 'name', value: ['a'] }] }),
      /filters\[0\]: the type of filter value isn't string/,
    ],
    [
      'a name filter with a decoration',
      (b) => ({ ...b, filters: [{ type: 'name', value: 'a/**', decoration: 'excludes' }] }),
      /only tag and label filter support decoration/,
    ],
    [
      'an unknown decoration',
      (b) => ({ ...b, filters: [{ type: 'tag', value: 'v*', decoration: 'contains' }] }),
      /invalid filter decoration "contains"/,
    ],
    [
      'a name pattern with an unclosed brace',
      (b) => ({ ...b, filters: [{ type: 'name', value: 'library/{a,b' }] }),
      /the name pattern "library\/\{a,b" is not a valid doublestar pattern/,
    ],
    [
      'a tag pattern with an unclosed bracket',
      (b) => ({ ...b, filters: [{ type: 'tag', value: 'v[0-9' }] }),
      /filters\[0\]: the tag pattern "v\[0-9" is not a valid doublestar pattern/,
    ],
    [
      'a label filter of one string',
      (b) => ({ ...b, filters: [{ type: 'label', value: 'release' }] }),
      /the type of label filter value isn't string slice/,
    ],
    [
      'a label filter with a number',
      (b) => ({ ...b, filters: [{ type: 'label', value: [1] }] }),
      /the type of label filter value isn't string slice/,
    ],
    ['an unknown resource type', (b) => ({ ...b, filters: [{ type: 'resource', value: 'chart' }] }), /invalid resource filter: "chart"/],
    [
      'a resource filter with a decoration',
      (b) => ({ ...b, filters: [{ type: 'resource', value: 'image', decoration: 'matches' }] }),
      /only tag and label filter support decoration/,
    ],
    ['an upper-case destination namespace', (b) => ({ ...b, dest_namespace: 'Mirror' }), /invalid destination namespace: Mirror/],
    ['a destination namespace with an empty component', (b) => ({ ...b, dest_namespace: 'a//b' }), /invalid destination namespace: a\/\/b/],
    ['a flattening count below -1', (b) => ({ ...b, dest_namespace_replace_count: -2 }), /dest_namespace_replace_count must be -1/],
    [
      'a flattening count that is not an integer',
      (b) => ({ ...b, dest_namespace_replace_count: 1.5 }),
      /dest_namespace_replace_count must be an integer/,
    ],
    ['an unknown trigger type', (b) => ({ ...b, trigger: { type: 'hourly' } }), /invalid trigger type "hourly"/],
    [
      'a scheduled trigger without cron',
      (b) => ({ ...b, trigger: { type: 'scheduled' } }),
      /the cron string cannot be empty when the trigger type is scheduled/,
    ],
    [
      'a five-field cron',
      (b) => ({ ...b, trigger: { type: 'scheduled', trigger_settings: { cron: '0 2 * * *' } } }),
      /invalid cron string for scheduled trigger: "0 2 \* \* \*" \(six fields/,
    ],
    [
      'a cron with minute 61',
      (b) => ({ ...b, trigger: { type: 'scheduled', trigger_settings: { cron: '0 61 * * * *' } } }),
      /invalid cron string for scheduled trigger/,
    ],
    [
      'a cron whose seconds are not 0',
      (b) => ({ ...b, trigger: { type: 'scheduled', trigger_settings: { cron: '5 0 * * * *' } } }),
      /the 1st field \(indicating Seconds of time\) of the cron setting must be 0/,
    ],
    [
      'a cron every minute',
      (b) => ({ ...b, trigger: { type: 'scheduled', trigger_settings: { cron: '0 * * * * *' } } }),
      /\* is not allowed for the Minutes field/,
    ],
    [
      'a cron that is a number',
      (b) => ({ ...b, trigger: { type: 'scheduled', trigger_settings: { cron: 5 } } }),
      /trigger\.trigger_settings\.cron must be a string/,
    ],
    [
      'an event-based pull policy',
      (b) => ({ ...b, src_registry: { id: destId }, dest_registry: null, trigger: { type: 'event_based' } }),
      /an event_based trigger needs this Berth as the source/,
    ],
    [
      'single active replication on events',
      (b) => ({ ...b, trigger: { type: 'event_based' }, single_active_replication: true }),
      /single active replication is not allowed for event_based triggers/,
    ],
    ['enabled as a string', (b) => ({ ...b, enabled: 'yes' }), /enabled must be true or false, not "yes"/],
    ['a speed that is a string', (b) => ({ ...b, speed: 'fast' }), /speed must be an integer, not "fast"/],
  ];

  for (const [title, change, message] of invalid) {
    test(`400, nothing saved: ${title}`, async () => {
      const before = await state();
      const res = await api(server, 'POST', '/replication/policies', {
        auth: admin,
        body: change(pushPolicy('refused', destId, { trigger: { type: 'scheduled', trigger_settings: { cron: '0 0 3 * * *' } } })),
      });
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal(errorCode(res), 'BAD_REQUEST');
      assert.match(res.body.errors[0].message, message);
      assert.deepEqual(await state(), before);
    });
  }

  test('a valid body in the matrix above is accepted (the matrix fails for the reason it names)', async () => {
    const id = await createPolicy(
      server,
      pushPolicy('matrix-base', destId, { trigger: { type: 'scheduled', trigger_settings: { cron: '0 0 3 * * *' } } }),
    );
    assert.ok(await schedule(id));
    assert.equal((await api(server, 'DELETE', `/replication/policies/${id}`, { auth: admin })).status, 200);
  });

  test('an update with an invalid body is refused and changes nothing', async () => {
    const id = await createPolicy(server, pushPolicy('kept', destId));
    const before = await state();
    const res = await api(server, 'PUT', `/replication/policies/${id}`, {
      auth: admin,
      body: pushPolicy('kept', destId, { filters: [{ type: 'tag', value: '{1.0' }], description: 'changed' }),
    });
    assert.equal(res.status, 400);
    assert.match(res.body.errors[0].message, /not a valid doublestar pattern/);
    assert.deepEqual(await state(), before);
  });

  test('409 for a name taken, on create and on update; nothing saved', async () => {
    const other = await createPolicy(server, pushPolicy('other', destId));
    const before = await state();
    const dup = await api(server, 'POST', '/replication/policies', { auth: admin, body: pushPolicy('to-dr', destId) });
    assert.equal(dup.status, 409);
    assert.equal(errorCode(dup), 'CONFLICT');
    assert.equal(dup.body.errors[0].message, 'replication policy to-dr already exists');
    const renamed = await api(server, 'PUT', `/replication/policies/${other}`, { auth: admin, body: pushPolicy('to-dr', destId) });
    assert.equal(renamed.status, 409);
    assert.deepEqual(await state(), before);
  });

  test('update replaces the fields; the update time moves', async () => {
    const id = await createPolicy(server, pushPolicy('changing', destId));
    const first = (await api(server, 'GET', `/replication/policies/${id}`, { auth: admin })).body;
    const res = await api(server, 'PUT', `/replication/policies/${id}`, {
      auth: admin,
      body: pushPolicy('changed', destId, {
        filters: [],
        dest_namespace: '',
        dest_namespace_replace_count: 0,
        override: false,
        enabled: false,
      }),
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const p = (await api(server, 'GET', `/replication/policies/${id}`, { auth: admin })).body;
    assert.equal(p.name, 'changed');
    assert.deepEqual(p.filters, []);
    assert.equal(p.dest_namespace, '');
    assert.equal(p.dest_namespace_replace_count, 0);
    assert.equal(p.override, false);
    assert.equal(p.enabled, false);
    assert.equal(p.creation_time, first.creation_time);
    assert.ok(p.update_time >= first.update_time);
  });

  test('the cron schedule replication:<id> follows the policy: created, changed, removed when manual or disabled, and with the policy', async () => {
    const scheduled = (cron: string, enabled = true) =>
      pushPolicy('nightly', destId, { enabled, trigger: { type: 'scheduled', trigger_settings: { cron } } });
    const id = await createPolicy(server, scheduled('0 0 2 * * *'));
    let s = await schedule(id);
    assert.ok(s, 'created with the policy');
    assert.equal(s.job_type, 'REPLICATION');
    assert.equal(s.cron, '0 0 2 * * *');
    assert.equal(Number(s.vendor_id), id);
    assert.deepEqual(JSON.parse(s.payload), { policyId: id, trigger: 'scheduled' });
    assert.ok(s.next_run_at);

    assert.equal((await api(server, 'PUT', `/replication/policies/${id}`, { auth: admin, body: scheduled('0 15 4 * * 1') })).status, 200);
    s = await schedule(id);
    assert.equal(s?.cron, '0 15 4 * * 1', 'a changed cron');

    assert.equal(
      (await api(server, 'PUT', `/replication/policies/${id}`, { auth: admin, body: scheduled('0 15 4 * * 1', false) })).status,
      200,
    );
    assert.equal(await schedule(id), undefined, 'a disabled policy has no schedule (Harbor: IsScheduledTrigger)');

    assert.equal((await api(server, 'PUT', `/replication/policies/${id}`, { auth: admin, body: scheduled('0 0 1 * * *') })).status, 200);
    assert.equal((await schedule(id))?.cron, '0 0 1 * * *', 'enabled again');

    assert.equal(
      (await api(server, 'PUT', `/replication/policies/${id}`, { auth: admin, body: pushPolicy('nightly', destId) })).status,
      200,
    );
    assert.equal(await schedule(id), undefined, 'manual again');

    assert.equal((await api(server, 'PUT', `/replication/policies/${id}`, { auth: admin, body: scheduled('0 0 1 * * *') })).status, 200);
    assert.ok(await schedule(id));
    assert.equal((await api(server, 'DELETE', `/replication/policies/${id}`, { auth: admin })).status, 200);
    assert.equal(await schedule(id), undefined, 'deleted with the policy');
    assert.equal((await api(server, 'GET', `/replication/policies/${id}`, { auth: admin })).status, 404);
  });

  test('a due tick of the schedule enqueues the REPLICATION job for the policy (the engine creates a scheduled execution from it)', async () => {
    const id = await createPolicy(
      server,
      pushPolicy('due', destId, { trigger: { type: 'scheduled', trigger_settings: { cron: '0 0 5 * * *' } } }),
    );
    const jobs = () =>
      db()
        .selectFrom('jobs')
        .select(['id', 'payload'])
        .where('type', '=', 'REPLICATION')
        .execute()
        .then((rows) => rows.filter((r) => (JSON.parse(r.payload) as { policyId?: number }).policyId === id));
    assert.deepEqual(await jobs(), []);
    await db()
      .updateTable('schedules')
      .set({ next_run_at: new Date(Date.now() - 60_000).toISOString() })
      .where('name', '=', `replication:${id}`)
      .execute();
    await server.berth.jobs.scheduler.tick();
    const fired = await jobs();
    assert.equal(fired.length, 1);
    assert.deepEqual(JSON.parse(fired[0].payload), { policyId: id, trigger: 'scheduled' });
    assert.ok(((await schedule(id))?.next_run_at ?? '') > new Date().toISOString(), 'the next tick is in the future');
    assert.equal((await api(server, 'DELETE', `/replication/policies/${id}`, { auth: admin })).status, 200);
  });

  test('lists: X-Total-Count, Link, q by name (exact, fuzzy), the deprecated ?name=, sort; unknown q or sort keys are 400', async () => {
    const all = await api(server, 'GET', '/replication/policies?page_size=100', { auth: admin });
    assert.equal(all.status, 200);
    const total = Number(all.headers.get('x-total-count'));
    assert.equal(total, all.body.length);
    assert.ok(total >= 5);
    const ids = all.body.map((p: any) => p.id);
    assert.deepEqual(
      ids,
      [...ids].sort((a: number, b: number) => b - a),
      'newest first',
    );
    assert.ok(
      all.body.every((p: any) => p.src_registry && p.dest_registry),
      'registries embedded',
    );
    for (const p of all.body) assert.deepEqual(policyShape(p), [], p.name);

    const page1 = await api(server, 'GET', '/replication/policies?page=1&page_size=2', { auth: admin });
    assert.equal(page1.body.length, 2);
    assert.equal(page1.headers.get('x-total-count'), String(total));
    assert.match(page1.headers.get('link') ?? '', /page=2&page_size=2>; rel="next"/);

    const exact = await api(server, 'GET', `/replication/policies?q=${encodeURIComponent('name=to-dr')}`, { auth: admin });
    assert.deepEqual(
      exact.body.map((p: any) => p.name),
      ['to-dr'],
    );
    const fuzzy = await api(server, 'GET', `/replication/policies?q=${encodeURIComponent('name=~DR')}&sort=name`, { auth: admin });
    assert.deepEqual(
      fuzzy.body.map((p: any) => p.name),
      ['from-dr', 'to-dr'],
    );
    const legacy = await api(server, 'GET', '/replication/policies?name=from', { auth: admin });
    assert.deepEqual(
      legacy.body.map((p: any) => p.name),
      ['from-dr'],
    );
    const pulls = await api(server, 'GET', `/replication/policies?q=${encodeURIComponent(`src_registry_id=${destId}`)}`, { auth: admin });
    assert.deepEqual(
      pulls.body.map((p: any) => p.name),
      ['from-dr'],
    );
    const byName = await api(server, 'GET', '/replication/policies?sort=-name&page_size=100', { auth: admin });
    const names = byName.body.map((p: any) => p.name);
    assert.deepEqual(names, [...names].sort().reverse());

    const badKey = await api(server, 'GET', `/replication/policies?q=${encodeURIComponent('colour=red')}`, { auth: admin });
    assert.equal(badKey.status, 400);
    assert.match(badKey.body.errors[0].message, /unknown key "colour"/);
    assert.equal((await api(server, 'GET', '/replication/policies?sort=colour', { auth: admin })).status, 400);
    assert.equal((await api(server, 'GET', '/replication/policies?page_size=101', { auth: admin })).status, 400);
  });

  test('404 for a policy that does not exist, 400 for an id that is not one', async () => {
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const res = await api(server, method, '/replication/policies/99999', {
        auth: admin,
        body: method === 'PUT' ? pushPolicy('x', destId) : undefined,
      });
      assert.equal(res.status, 404, method);
      assert.equal(res.body.errors[0].message, 'replication policy 99999 not found');
    }
    assert.equal((await api(server, 'GET', '/replication/policies/abc', { auth: admin })).status, 400);
  });

  test("a registry a policy uses cannot be deleted (412, Harbor's message); once the policy is gone it can", async () => {
    const endpoint = await createEndpoint(server, registry.url, 'dr-used');
    const id = await createPolicy(server, pushPolicy('uses-dr-used', endpoint));
    const refused = await api(server, 'DELETE', `/registries/${endpoint}`, { auth: admin });
    assert.equal(refused.status, 412, JSON.stringify(refused.body));
    assert.match(
      refused.body.errors[0].message,
      new RegExp(`the registry ${endpoint} is referenced by replication policies, cannot delete it \\(uses-dr-used\\)`),
    );
    assert.equal((await api(server, 'GET', `/registries/${endpoint}`, { auth: admin })).status, 200);
    assert.equal((await api(server, 'DELETE', `/replication/policies/${id}`, { auth: admin })).status, 200);
    assert.equal((await api(server, 'DELETE', `/registries/${endpoint}`, { auth: admin })).status, 200);
  });

  test('only system administrators (or robots granted replication-policy) manage policies: 401 anonymous, 403 others, nothing saved', async () => {
    await createUser(server, 'plainuser');
    const user = basicAuth('plainuser', 'Passw0rd1');
    const before = await state();
    assert.equal((await api(server, 'GET', '/replication/policies')).status, 401);
    assert.equal((await api(server, 'GET', '/replication/policies', { auth: user })).status, 403);
    const created = await api(server, 'POST', '/replication/policies', { auth: user, body: pushPolicy('not-mine', destId) });
    assert.equal(created.status, 403);
    const some = before.policies[0].id;
    assert.equal((await api(server, 'GET', `/replication/policies/${some}`, { auth: user })).status, 403);
    assert.equal((await api(server, 'PUT', `/replication/policies/${some}`, { auth: user, body: pushPolicy('x', destId) })).status, 403);
    assert.equal((await api(server, 'DELETE', `/replication/policies/${some}`, { auth: user })).status, 403);
    assert.deepEqual(await state(), before);
  });
});
