import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createUser } from '../helpers/api.js';
import { testDialect } from '../helpers/database.js';
import { startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
/**
 * A second instance on the same database, as in a scaled-out deployment (PostgreSQL); on
 * SQLite, which one instance owns, the concurrent sign-ins all reach the one instance.
 */
let second: TestServer;
const users: Record<string, number> = {};

before(async () => {
  server = await startServer();
  second = testDialect() === 'postgres' ? await startServer({ dataDir: server.dataDir }) : server;
  for (const name of ['ann', 'ben', 'cid']) users[name] = await createUser(server, name);
  for (let i = 0; i < 8; i++) users[`u${i}`] = await createUser(server, `u${i}`);
});
after(async () => {
  if (second !== server) await second?.stop({ keepData: true });
  await server?.stop();
});

const db = () => server.berth.database.db;

async function groupsOf(userId: number): Promise<string[]> {
  const rows = await db()
    .selectFrom('user_group_members as m')
    .innerJoin('user_groups as g', 'g.id', 'm.group_id')
    .select(['g.group_type', 'g.group_name'])
    .where('m.user_id', '=', userId)
    .execute();
  return rows.map((r) => `${r.group_type}:${r.group_name}`).sort();
}

async function groupCount(): Promise<number> {
  return Number(
    (
      await db()
        .selectFrom('user_groups')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );
}

describe('setUserGroups', () => {
  test('creates unknown groups, returns their ids in order, and records the user in them', async () => {
    const ids = await server.berth.userGroups.setUserGroups(users.ann, 3, [{ name: 'devs' }, { name: 'qa' }]);
    assert.equal(ids.length, 2);
    const rows = await db().selectFrom('user_groups').selectAll().where('id', 'in', ids).orderBy('id').execute();
    assert.deepEqual(
      rows.map((r) => [Number(r.id), r.group_name, Number(r.group_type), r.group_key, r.ldap_group_dn]),
      [
        [ids[0], 'devs', 3, 'devs', ''],
        [ids[1], 'qa', 3, 'qa', ''],
      ],
    );
    assert.deepEqual(await groupsOf(users.ann), ['3:devs', '3:qa']);
    // The same names again: the same groups, no new rows.
    const before = await groupCount();
    assert.deepEqual(await server.berth.userGroups.setUserGroups(users.ben, 3, [{ name: 'qa' }, { name: 'devs' }]), [ids[1], ids[0]]);
    assert.equal(await groupCount(), before);
  });

  test("replaces the user's groups of that type only; an empty list removes them", async () => {
    await server.berth.userGroups.setUserGroups(users.ann, 1, [{ name: 'Admins', ldapDn: 'cn=admins,ou=groups,dc=example,dc=org' }]);
    await server.berth.userGroups.setUserGroups(users.ann, 3, [{ name: 'qa' }, { name: 'ops' }]);
    assert.deepEqual(await groupsOf(users.ann), ['1:Admins', '3:ops', '3:qa']);
    await server.berth.userGroups.setUserGroups(users.ann, 3, []);
    assert.deepEqual(await groupsOf(users.ann), ['1:Admins']);
    // Other users keep theirs.
    assert.deepEqual(await groupsOf(users.ben), ['3:devs', '3:qa']);
  });

  test('LDAP groups are known by DN in any case; a taken name falls back to the DN; blanks and repeats are skipped', async () => {
    const [first] = await server.berth.userGroups.setUserGroups(users.cid, 1, [
      { name: 'admins', ldapDn: 'CN=Admins,OU=Groups,DC=example,DC=org' },
    ]);
    const existing = await db().selectFrom('user_groups').select('id').where('group_name', '=', 'Admins').executeTakeFirstOrThrow();
    assert.equal(first, Number(existing.id));
    // Another DN whose group has the same name (Harbor names it by its DN so names stay unique).
    const [other] = await server.berth.userGroups.setUserGroups(users.cid, 1, [
      { name: 'Admins', ldapDn: 'cn=admins,ou=legacy,dc=example,dc=org' },
    ]);
    const row = await db().selectFrom('user_groups').selectAll().where('id', '=', other!).executeTakeFirstOrThrow();
    assert.equal(row.group_name, 'cn=admins,ou=legacy,dc=example,dc=org');
    assert.equal(row.group_key, 'cn=admins,ou=legacy,dc=example,dc=org');
    // A group with no DN cannot be an LDAP group; one with no name is named by its DN; repeats count once.
    const ids = await server.berth.userGroups.setUserGroups(users.cid, 1, [
      { name: 'nodn' },
      { name: '', ldapDn: 'cn=nameless,dc=example,dc=org' },
      { name: 'x', ldapDn: 'cn=x,dc=example,dc=org' },
      { name: 'x', ldapDn: 'CN=X,DC=example,DC=org' },
    ]);
    assert.equal(ids.length, 2);
    assert.deepEqual(await groupsOf(users.cid), ['1:cn=nameless,dc=example,dc=org', '1:x']);
    // OIDC names are exact: case makes a different group; blank names are skipped.
    const oidc = await server.berth.userGroups.setUserGroups(users.cid, 3, [{ name: 'Team' }, { name: 'team' }, { name: ' ' }]);
    assert.equal(new Set(oidc).size, 2);
  });

  test('an unknown group type is refused', async () => {
    await assert.rejects(server.berth.userGroups.setUserGroups(users.ann, 7 as never, [{ name: 'x' }]));
  });

  test(`concurrent sign-ins (${testDialect() === 'postgres' ? 'on two instances' : 'on one instance'}) never fail and store each group once`, async () => {
    const names = ['alpha', 'beta', 'gamma', 'delta'];
    const before = await groupCount();
    const calls: Array<Promise<number[]>> = [];
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 8; i++) {
        const instance = i % 2 === 0 ? server : second;
        calls.push(
          instance.berth.userGroups.setUserGroups(
            users[`u${i}`]!,
            3,
            names.map((name) => ({ name })),
          ),
        );
        calls.push(instance.berth.userGroups.setUserGroups(users[`u${i}`]!, 1, [{ name: 'race', ldapDn: 'cn=race,dc=example,dc=org' }]));
      }
    }
    const results = await Promise.all(calls);
    assert.equal(await groupCount(), before + names.length + 1);
    const oidcIds = results.filter((r) => r.length === names.length);
    assert.ok(oidcIds.every((ids) => JSON.stringify(ids) === JSON.stringify(oidcIds[0])));
    for (let i = 0; i < 8; i++) {
      assert.deepEqual(await groupsOf(users[`u${i}`]!), ['1:race', '3:alpha', '3:beta', '3:delta', '3:gamma']);
    }

    // One user signing in on both instances at once with different lists: one list wins whole.
    const lists = [['alpha', 'beta'], ['gamma'], ['delta', 'alpha'], ['beta', 'gamma', 'delta']];
    await Promise.all(
      lists.map((list, i) =>
        (i % 2 === 0 ? server : second).berth.userGroups.setUserGroups(
          users.u0!,
          3,
          list.map((name) => ({ name })),
        ),
      ),
    );
    const final = (await groupsOf(users.u0!)).filter((g) => g.startsWith('3:')).map((g) => g.slice(2));
    assert.ok(
      lists.some((list) => JSON.stringify([...list].sort()) === JSON.stringify(final)),
      `one list, not a merge: ${final.join(',')}`,
    );
  });
});
