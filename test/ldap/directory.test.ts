import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { DirectoryError, directoryUrl, withSession } from '../../src/ldap/client.js';
import { Directory } from '../../src/ldap/directory.js';
import { andEquals, escapeFilterValue, isUnderDn, normalizeDn, parseDn, sameDn } from '../../src/ldap/dn.js';
import { defaultSettings, type SystemSettings } from '../../src/settings/keys.js';
import { ldapSettings, slapdSkip, startSlapd, type Slapd } from '../helpers/slapd.js';

const base = defaultSettings(loadConfig({ env: {}, file: undefined }));

function settingsFor(slapd: Slapd, overrides: Partial<SystemSettings> = {}): SystemSettings {
  return { ...base, ...(ldapSettings(slapd) as Partial<SystemSettings>), auth_mode: 'ldap_auth', ...overrides };
}

describe('LDAP strings', () => {
  test('filter values are escaped as RFC 4515 says', () => {
    assert.equal(escapeFilterValue('a*b(c)d\\e\0'), 'a\\2ab\\28c\\29d\\5ce\\00');
    assert.equal(andEquals('(objectClass=person)', 'uid', "o'brien*"), "(&(objectClass=person)(uid=o'brien\\2a))");
    assert.equal(andEquals('objectClass=person', 'uid', 'x'), '(&(objectClass=person)(uid=x))');
    assert.equal(andEquals('', 'uid', '*)(uid=*'), '(uid=\\2a\\29\\28uid=\\2a)');
  });

  test('DNs are parsed, compared and nested case-insensitively with escapes resolved', () => {
    assert.deepEqual(parseDn('cn=Team\\, A,ou=Groups, DC=example,dc=org'), [
      [['cn', 'Team, A']],
      [['ou', 'Groups']],
      [['DC', 'example']],
      [['dc', 'org']],
    ]);
    assert.equal(parseDn('not a dn'), null);
    assert.equal(parseDn('cn=a,=b'), null);
    assert.ok(sameDn('CN=Admins,OU=Groups,DC=Example,DC=Org', 'cn=admins, ou=groups, dc=example, dc=org'));
    assert.ok(sameDn('cn=a\\2cb,dc=org', 'cn=a\\,b,dc=org'));
    assert.ok(!sameDn('cn=admins,dc=org', 'cn=admins2,dc=org'));
    assert.ok(isUnderDn('cn=x,ou=groups,dc=example,dc=org', 'OU=Groups,DC=example,DC=org'));
    assert.ok(isUnderDn('ou=groups,dc=example,dc=org', 'ou=groups,dc=example,dc=org'));
    // An escaped comma is part of a value, not a separator.
    assert.ok(!isUnderDn('cn=x\\,ou=groups,dc=example,dc=org', 'ou=groups,dc=example,dc=org'));
    assert.ok(!isUnderDn('cn=x,ou=people,dc=example,dc=org', 'ou=groups,dc=example,dc=org'));
    assert.equal(normalizeDn('UID=Bob ,OU=People'), 'uid=bob,ou=people');
  });

  test('ldap_url is read as Harbor reads it', () => {
    assert.equal(directoryUrl('ldap.example.org'), 'ldap://ldap.example.org:389');
    assert.equal(directoryUrl('ldap.example.org:636'), 'ldaps://ldap.example.org:636');
    assert.equal(directoryUrl('ldaps://ldap.example.org'), 'ldaps://ldap.example.org:636');
    assert.equal(directoryUrl('ldap://127.0.0.1:3890/'), 'ldap://127.0.0.1:3890');
    assert.throws(() => directoryUrl(''), /ldap_url is empty/);
    assert.throws(() => directoryUrl('http://x'), /scheme must be ldap or ldaps/);
  });
});

describe('the directory, against a real slapd', { skip: slapdSkip() }, () => {
  let slapd: Slapd;
  before(async () => {
    slapd = await startSlapd();
  });
  after(async () => {
    await slapd?.stop();
  });

  test('sign-in over ldap:// finds the user, binds, and collects direct and nested groups', async () => {
    const directory = new Directory(settingsFor(slapd));
    const alice = await directory.signIn('alice', 'alice-ldap-pw');
    assert.ok(alice);
    assert.equal(alice.user.username, 'alice');
    assert.equal(alice.user.email, 'alice@example.org');
    assert.equal(alice.user.realname, 'Alice L.'); // displayName before cn
    assert.deepEqual(
      alice.groups.map((g) => g.name),
      ['developers'],
    );
    assert.equal(alice.admin, false);

    const carol = await directory.signIn('carol', 'carol-ldap-pw');
    assert.deepEqual(carol?.groups.map((g) => g.name).sort(), ['developers', 'team-a']);
    assert.ok(sameDn(carol!.groups.find((g) => g.name === 'developers')!.dn, slapd.groups.developers!.dn));
    assert.equal(carol?.user.realname, 'Carol Danvers');
  });

  test('the admin group counts directly and through nested groups', async () => {
    const directory = new Directory(settingsFor(slapd));
    assert.equal((await directory.signIn('bob', 'bob-ldap-pw'))?.admin, true);
    const erin = await directory.signIn('erin', 'erin-ldap-pw');
    assert.equal(erin?.admin, true);
    assert.deepEqual(erin?.groups.map((g) => g.name).sort(), ['admins', 'platform']);
    assert.equal((await directory.signIn('frank', 'frank-ldap-pw'))?.admin, false);
  });

  test('groups that are members of each other end (a cycle)', async () => {
    const dave = await new Directory(settingsFor(slapd)).signIn('dave', 'dave-ldap-pw');
    assert.deepEqual(dave?.groups.map((g) => g.name).sort(), ['cycle-a', 'cycle-b']);
  });

  test('the group filter and group base DN limit the groups recorded, not the admin standing', async () => {
    const onlyAdmins = new Directory(settingsFor(slapd, { ldap_group_search_filter: '(cn=admins)' }));
    const erin = await onlyAdmins.signIn('erin', 'erin-ldap-pw');
    assert.deepEqual(
      erin?.groups.map((g) => g.name),
      ['admins'],
    );
    const elsewhere = new Directory(settingsFor(slapd, { ldap_group_base_dn: slapd.peopleDn }));
    const bob = await elsewhere.signIn('bob', 'bob-ldap-pw');
    assert.deepEqual(bob?.groups, []);
    assert.equal(bob?.admin, true);
  });

  test('a wrong or empty password, an unknown user and filter characters in the name never sign in', async () => {
    const directory = new Directory(settingsFor(slapd));
    assert.equal(await directory.signIn('alice', 'wrong'), null);
    assert.equal(await directory.signIn('alice', ''), null);
    assert.equal(await directory.signIn('nobody', 'alice-ldap-pw'), null);
    assert.equal(await directory.signIn('*', 'alice-ldap-pw'), null);
    assert.equal(await directory.signIn('al*', 'alice-ldap-pw'), null);
    assert.equal(await directory.signIn('alice)(uid=*', 'alice-ldap-pw'), null);
    // The uid with filter characters is found as written.
    const obrien = await directory.signIn("o'brien*", 'obrien-ldap-pw');
    assert.equal(obrien?.user.username, "o'brien*");
  });

  test('ldap_filter limits who may sign in', async () => {
    const directory = new Directory(settingsFor(slapd, { ldap_filter: `(memberOf=${slapd.groups.admins!.dn})` }));
    assert.ok(await directory.signIn('bob', 'bob-ldap-pw'));
    assert.equal(await directory.signIn('alice', 'alice-ldap-pw'), null);
  });

  test('ldaps:// with the test CA trusted signs in; verify_cert with an unknown CA fails clearly; off works', async () => {
    const trusted = new Directory(settingsFor(slapd, { ldap_url: slapd.ldapsUrl }));
    assert.ok(await trusted.signIn('alice', 'alice-ldap-pw'));

    const unknownCa = new Directory(settingsFor(slapd, { ldap_url: slapd.ldapsUrl, ldap_ca_cert: slapd.otherCaPem }));
    await assert.rejects(unknownCa.signIn('alice', 'alice-ldap-pw'), (err: Error) => {
      assert.ok(err instanceof DirectoryError, String(err));
      assert.match(err.message, /TLS certificate was not accepted/);
      assert.match(err.message, /ldap_ca_cert|ldap_verify_cert/);
      return true;
    });
    const noCa = new Directory(settingsFor(slapd, { ldap_url: slapd.ldapsUrl, ldap_ca_cert: '' }));
    await assert.rejects(noCa.signIn('alice', 'alice-ldap-pw'), /TLS certificate was not accepted/);

    const unverified = new Directory(settingsFor(slapd, { ldap_url: slapd.ldapsUrl, ldap_ca_cert: '', ldap_verify_cert: false }));
    assert.ok(await unverified.signIn('alice', 'alice-ldap-pw'));
  });

  test("the certificate must name the host: localhost is not in slapd's certificate", async () => {
    const port = new URL(slapd.ldapsUrl).port;
    const ldaps = new Directory(settingsFor(slapd, { ldap_url: `ldaps://localhost:${port}` }));
    await assert.rejects(ldaps.signIn('alice', 'alice-ldap-pw'), /TLS certificate was not accepted \(ERR_TLS_CERT_ALTNAME_INVALID/);
    const startTls = new Directory(settingsFor(slapd, { ldap_url: `ldap://localhost:${new URL(slapd.url).port}`, ldap_start_tls: true }));
    await assert.rejects(startTls.signIn('alice', 'alice-ldap-pw'), /StartTLS .* failed: .*ERR_TLS_CERT_ALTNAME_INVALID/);
    const unverified = new Directory(settingsFor(slapd, { ldap_url: `ldaps://localhost:${port}`, ldap_verify_cert: false }));
    assert.ok(await unverified.signIn('alice', 'alice-ldap-pw'));
  });

  test('StartTLS upgrades ldap:// (verified with the CA, refused with an unknown one)', async () => {
    const startTls = new Directory(settingsFor(slapd, { ldap_start_tls: true }));
    assert.ok(await startTls.signIn('carol', 'carol-ldap-pw'));
    const unknownCa = new Directory(settingsFor(slapd, { ldap_start_tls: true, ldap_ca_cert: slapd.otherCaPem }));
    await assert.rejects(
      unknownCa.signIn('carol', 'carol-ldap-pw'),
      /StartTLS .* failed: the directory's TLS certificate was not accepted/,
    );
    const onLdaps = new Directory(settingsFor(slapd, { ldap_start_tls: true, ldap_url: slapd.ldapsUrl }));
    await assert.rejects(onLdaps.signIn('carol', 'carol-ldap-pw'), /ldap_start_tls is for ldap:\/\//);
  });

  test('a wrong search password or an unreachable directory is a DirectoryError, not a wrong password', async () => {
    const badSearcher = new Directory(settingsFor(slapd, { ldap_search_password: 'nope' }));
    await assert.rejects(badSearcher.signIn('alice', 'alice-ldap-pw'), (err: Error) => {
      assert.ok(err instanceof DirectoryError);
      assert.match(err.message, /refused the search DN .*invalid credentials/);
      return true;
    });
    const down = new Directory(settingsFor(slapd, { ldap_url: 'ldap://127.0.0.1:1' }));
    await assert.rejects(down.signIn('alice', 'alice-ldap-pw'), /cannot be reached: connection refused/);
    const badFilter = new Directory(settingsFor(slapd, { ldap_filter: '(objectClass=person' }));
    await assert.rejects(badFilter.signIn('alice', 'alice-ldap-pw'), DirectoryError);
  });

  test('a directory that accepts the connection but never answers times out after ldap_timeout', async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const port = (silent.address() as net.AddressInfo).port;
      const directory = new Directory(settingsFor(slapd, { ldap_url: `ldap://127.0.0.1:${port}`, ldap_timeout: 1 }));
      await assert.rejects(directory.signIn('alice', 'alice-ldap-pw'), (err: Error) => {
        assert.ok(err instanceof DirectoryError, String(err));
        assert.match(err.message, /cannot be reached: no answer in time/);
        return true;
      });
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  test('an anonymous search (no search DN) works where the directory allows it', async () => {
    const anonymous = new Directory(settingsFor(slapd, { ldap_search_dn: '', ldap_search_password: '' }));
    const bob = await anonymous.signIn('bob', 'bob-ldap-pw');
    assert.equal(bob?.admin, true);
  });

  test('groups by DN and by name, within the group base DN and filter', async () => {
    const settings = settingsFor(slapd);
    const directory = new Directory(settings);
    await withSession(settings, async (session) => {
      const group = await directory.groupByDn(session, slapd.groups.developers!.dn.toUpperCase());
      assert.equal(group?.name, 'developers');
      assert.equal(await directory.groupByDn(session, `cn=missing,${slapd.groupsDn}`), null);
      assert.equal(await directory.groupByDn(session, slapd.users.alice!.dn), null); // outside the group base DN
      assert.deepEqual(
        (await directory.groupsByName(session, 'team-a')).map((g) => g.name),
        ['team-a'],
      );
      assert.deepEqual(await directory.groupsByName(session, 'team-*'), []); // escaped, not a wildcard
      const users = await directory.findUsers(session, '');
      assert.ok(users.length >= 7);
    });
  });
});
