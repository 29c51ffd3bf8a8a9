/**
 * A real OpenLDAP server for tests: Debian's /usr/sbin/slapd on 127.0.0.1 (random free ports for
 * ldap:// and ldaps://), a generated slapd.conf in a temp directory, a test CA and a server
 * certificate for LDAPS and StartTLS, an mdb database with the memberof and refint overlays, and
 * a small directory of people and groupOfNames groups (one nested in another, one admin group,
 * one cycle). Entries are added over LDAP once slapd runs, so the overlay maintains memberOf.
 *
 *   const skip = slapdSkip();
 *   describe('ldap', { skip }, () => {
 *     let slapd: Slapd;
 *     before(async () => (slapd = await startSlapd()));
 *     after(() => slapd?.stop());
 *   });
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Attribute, Change, Client } from 'ldapts';
import { freePort } from './ports.js';
import { signCsr } from './self-signed.js';
import { environmentLimit, runTool, which } from './tools.js';

export const slapdBin = '/usr/sbin/slapd';
const moduleDir = '/usr/lib/ldap';
const schemaDir = '/etc/ldap/schema';

/** false when slapd and openssl are here (pass as node:test's `skip`), else why not (a failure under CI=true). */
export function slapdSkip(): false | string {
  const missing: string[] = [];
  if (!existsSync(slapdBin)) missing.push(`${slapdBin} (apt-get install slapd)`);
  if (!existsSync(path.join(moduleDir, 'memberof.so')) && existsSync(slapdBin))
    missing.push(`${moduleDir}/memberof.so (slapd's memberof overlay)`);
  if (!which('openssl')) missing.push('openssl on PATH (apt-get install openssl)');
  if (missing.length === 0) return false;
  return environmentLimit(`needs ${missing.join(', ')} for a real LDAP server`);
}

export interface SlapdUser {
  uid: string;
  dn: string;
  password: string;
  cn: string;
  sn: string;
  mail: string;
  displayName?: string;
}

export interface SlapdGroup {
  cn: string;
  dn: string;
}

export interface SlapdOptions {
  /** More people under ou=people, beside the standard ones. */
  extraUsers?: Array<Omit<SlapdUser, 'dn'>>;
}

export interface Slapd {
  /** ldap://127.0.0.1:<port> (StartTLS offered there too). */
  url: string;
  /** ldaps://127.0.0.1:<port> */
  ldapsUrl: string;
  /** The test CA that issued slapd's certificate, for 127.0.0.1 only (so that `localhost` fails the name check). */
  caPem: string;
  /** A CA that issued nothing here: trusting only it must fail verification. */
  otherCaPem: string;
  baseDn: string;
  /** The directory manager (rootdn): may read and write everything. */
  bindDn: string;
  bindPassword: string;
  peopleDn: string;
  groupsDn: string;
  /**
   * alice: developers. bob: admins. carol: team-a, which is a member of developers (nested).
   * dave: cycle-a (cycle-a and cycle-b are members of each other). erin: platform, a member of
   * admins (nested admin). frank: no group. "o'brien*": a uid with filter characters.
   */
  users: Record<string, SlapdUser>;
  /** developers, team-a, admins, platform, cycle-a, cycle-b. */
  groups: Record<string, SlapdGroup>;
  /** A client bound as the directory manager (closed on stop). */
  admin(): Promise<Client>;
  addUser(user: Omit<SlapdUser, 'dn'>): Promise<SlapdUser>;
  addMember(groupDn: string, memberDn: string): Promise<void>;
  removeMember(groupDn: string, memberDn: string): Promise<void>;
  /** Stops slapd (SIGTERM) keeping its data; `start()` brings it back on the same ports. */
  pause(): Promise<void>;
  start(): Promise<void>;
  /** Stops slapd and removes its directory. */
  stop(): Promise<void>;
}

const baseDn = 'dc=example,dc=org';
const peopleDn = `ou=people,${baseDn}`;
const groupsDn = `ou=groups,${baseDn}`;
const bindDn = `cn=admin,${baseDn}`;
const bindPassword = 'directory-manager-secret';

const standardUsers: Array<Omit<SlapdUser, 'dn'>> = [
  { uid: 'alice', password: 'alice-ldap-pw', cn: 'Alice Liddell', sn: 'Liddell', mail: 'alice@example.org', displayName: 'Alice L.' },
  { uid: 'bob', password: 'bob-ldap-pw', cn: 'Bob Builder', sn: 'Builder', mail: 'bob@example.org' },
  { uid: 'carol', password: 'carol-ldap-pw', cn: 'Carol Danvers', sn: 'Danvers', mail: 'carol@example.org' },
  { uid: 'dave', password: 'dave-ldap-pw', cn: 'Dave Bowman', sn: 'Bowman', mail: 'dave@example.org' },
  { uid: 'erin', password: 'erin-ldap-pw', cn: 'Erin Brockovich', sn: 'Brockovich', mail: 'erin@example.org' },
  { uid: 'frank', password: 'frank-ldap-pw', cn: 'Frank Poole', sn: 'Poole', mail: 'frank@example.org' },
  { uid: "o'brien*", password: 'obrien-ldap-pw', cn: "Miles O'Brien (ops)", sn: "O'Brien", mail: 'obrien@example.org' },
];

function userDn(uid: string): string {
  return `uid=${escapeDnValue(uid)},${peopleDn}`;
}

function groupDn(cn: string): string {
  return `cn=${escapeDnValue(cn)},${groupsDn}`;
}

/** RFC 4514 escaping of an attribute value in a DN (enough for the test names). */
function escapeDnValue(value: string): string {
  return value.replace(/[\\,+"<>;=#]/g, (c) => `\\${c}`).replace(/^ | $/g, (c) => `\\${c}`);
}

async function makeCertificates(dir: string): Promise<{ caPem: string; otherCaPem: string; cert: string; key: string; ca: string }> {
  const file = (name: string) => path.join(dir, name);
  const days = '3650';
  for (const ca of ['ca', 'other-ca']) {
    await runTool('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-sha256',
      '-days',
      days,
      '-subj',
      `/CN=Berth test ${ca}`,
      '-keyout',
      file(`${ca}.key`),
      '-out',
      file(`${ca}.pem`),
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
  }
  await runTool('openssl', [
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-sha256',
    '-subj',
    '/CN=127.0.0.1',
    '-keyout',
    file('server.key'),
    '-out',
    file('server.csr'),
  ]);
  await writeFile(
    file('server.ext'),
    [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      'subjectAltName=IP:127.0.0.1',
      '',
    ].join('\n'),
  );
  signCsr(dir, 'server', 'ca', days);
  return {
    caPem: await readFile(file('ca.pem'), 'utf8'),
    otherCaPem: await readFile(file('other-ca.pem'), 'utf8'),
    cert: file('server.pem'),
    key: file('server.key'),
    ca: file('ca.pem'),
  };
}

function slapdConf(dir: string, certs: { cert: string; key: string; ca: string }): string {
  return [
    `include ${schemaDir}/core.schema`,
    `include ${schemaDir}/cosine.schema`,
    `include ${schemaDir}/inetorgperson.schema`,
    `modulepath ${moduleDir}`,
    'moduleload back_mdb',
    'moduleload memberof',
    'moduleload refint',
    `pidfile ${path.join(dir, 'slapd.pid')}`,
    `argsfile ${path.join(dir, 'slapd.args')}`,
    `TLSCACertificateFile ${certs.ca}`,
    `TLSCertificateFile ${certs.cert}`,
    `TLSCertificateKeyFile ${certs.key}`,
    'loglevel none',
    'database mdb',
    `suffix "${baseDn}"`,
    `rootdn "${bindDn}"`,
    `rootpw ${bindPassword}`,
    `directory ${path.join(dir, 'db')}`,
    'maxsize 104857600',
    'overlay memberof',
    'memberof-group-oc groupOfNames',
    'memberof-member-ad member',
    'memberof-memberof-ad memberOf',
    'memberof-refint TRUE',
    'overlay refint',
    'refint_attributes member',
    // Anyone may bind with a password; once bound (or anonymously) everything but passwords is readable.
    'access to attrs=userPassword by self write by anonymous auth by * none',
    'access to * by * read',
    '',
  ].join('\n');
}

async function waitListening(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`slapd exited with ${child.exitCode}: ${output()}`);
    const client = new Client({ url, timeout: 2000, connectTimeout: 2000 });
    try {
      await client.bind(bindDn, bindPassword);
      await client.unbind();
      // Another process may hold the port and have answered: ours then exits at once.
      await new Promise((r) => setTimeout(r, 150));
      if (child.exitCode !== null) throw new Error(`slapd exited with ${child.exitCode}: ${output()}`);
      return;
    } catch (err) {
      if (/slapd exited/.test((err as Error).message)) throw err;
      await client.unbind().catch(() => undefined);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`slapd did not answer at ${url} within 15 s: ${output()}`);
}

/**
 * Starts slapd with the test directory. Use `slapdSkip()` as the suite's skip option.
 */
export async function startSlapd(options: SlapdOptions = {}): Promise<Slapd> {
  const dir = await mkdtemp(path.join(tmpdir(), 'berth-slapd-'));
  try {
    await mkdir(path.join(dir, 'db'));
    const certs = await makeCertificates(dir);
    const confFile = path.join(dir, 'slapd.conf');
    await writeFile(confFile, slapdConf(dir, certs));
    // A port found free may be taken before slapd binds it (other test processes run at once).
    for (let attempt = 1; ; attempt++) {
      const [ldapPort, ldapsPort] = [await freePort(), await freePort()];
      if (ldapPort === ldapsPort) continue;
      try {
        const slapd = await startOn(dir, confFile, ldapPort, ldapsPort, certs);
        await slapd.populate(options.extraUsers ?? []);
        return slapd.handle;
      } catch (err) {
        if (attempt >= 5 || !/slapd exited/.test((err as Error).message)) throw err;
      }
    }
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

async function startOn(
  dir: string,
  confFile: string,
  ldapPort: number,
  ldapsPort: number,
  certs: { caPem: string; otherCaPem: string },
): Promise<{ handle: Slapd; populate(extra: Array<Omit<SlapdUser, 'dn'>>): Promise<void> }> {
  const url = `ldap://127.0.0.1:${ldapPort}`;
  const ldapsUrl = `ldaps://127.0.0.1:${ldapsPort}`;
  let child: ChildProcess | undefined;
  const clients: Client[] = [];

  const start = async () => {
    let log = '';
    // -d 0: stay in the foreground (the test owns the process) without debug output.
    const proc = spawn(slapdBin, ['-d', '0', '-f', confFile, '-h', `${url}/ ${ldapsUrl}/`], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc.stdout!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
    proc.stderr!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
    child = proc;
    try {
      await waitListening(url, proc, () => log);
    } catch (err) {
      await pause();
      throw err;
    }
  };
  const pause = async () => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill('SIGTERM');
      setTimeout(() => proc.kill('SIGKILL'), 5000).unref();
    });
  };
  const admin = async () => {
    const client = new Client({ url, timeout: 5000, connectTimeout: 5000 });
    await client.bind(bindDn, bindPassword);
    clients.push(client);
    return client;
  };
  await start();

  const users: Record<string, SlapdUser> = {};
  const groups: Record<string, SlapdGroup> = {};
  const addUser = async (user: Omit<SlapdUser, 'dn'>): Promise<SlapdUser> => {
    const dn = userDn(user.uid);
    const client = await admin();
    await client.add(dn, {
      objectClass: ['inetOrgPerson'],
      uid: user.uid,
      cn: user.cn,
      sn: user.sn,
      mail: user.mail,
      userPassword: user.password,
      ...(user.displayName ? { displayName: user.displayName } : {}),
    });
    const added = { ...user, dn };
    users[user.uid] = added;
    return added;
  };
  const modifyMember = async (operation: 'add' | 'delete', group: string, member: string) => {
    const client = await admin();
    await client.modify(group, new Change({ operation, modification: new Attribute({ type: 'member', values: [member] }) }));
  };
  const addGroup = async (cn: string, members: string[]) => {
    const dn = groupDn(cn);
    const client = await admin();
    await client.add(dn, { objectClass: ['groupOfNames'], cn, member: members });
    groups[cn] = { cn, dn };
  };

  const populate = async (extra: Array<Omit<SlapdUser, 'dn'>>) => {
    const client = await admin();
    await client.add(baseDn, { objectClass: ['dcObject', 'organization'], dc: 'example', o: 'Example' });
    await client.add(peopleDn, { objectClass: ['organizationalUnit'], ou: 'people' });
    await client.add(groupsDn, { objectClass: ['organizationalUnit'], ou: 'groups' });
    for (const user of [...standardUsers, ...extra]) await addUser(user);
    await addGroup('team-a', [userDn('carol')]);
    await addGroup('developers', [userDn('alice'), groupDn('team-a')]);
    await addGroup('platform', [userDn('erin')]);
    await addGroup('admins', [userDn('bob'), groupDn('platform')]);
    await addGroup('cycle-a', [userDn('dave')]);
    await addGroup('cycle-b', [groupDn('cycle-a')]);
    await modifyMember('add', groupDn('cycle-a'), groupDn('cycle-b'));
  };

  const handle: Slapd = {
    url,
    ldapsUrl,
    caPem: certs.caPem,
    otherCaPem: certs.otherCaPem,
    baseDn,
    bindDn,
    bindPassword,
    peopleDn,
    groupsDn,
    users,
    groups,
    admin,
    addUser,
    addMember: (group, member) => modifyMember('add', group, member),
    removeMember: (group, member) => modifyMember('delete', group, member),
    pause: async () => {
      for (const client of clients.splice(0)) await client.unbind().catch(() => undefined);
      await pause();
    },
    start,
    async stop() {
      for (const client of clients.splice(0)) await client.unbind().catch(() => undefined);
      await pause();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return { handle, populate };
}

/**
 * The LDAP settings (Harbor's /configurations keys) that point a Berth at this slapd: search as
 * the directory manager, people by uid, groups of names named by cn, `admins` as the admin
 * group, memberOf as the membership attribute, the test CA trusted. Add `auth_mode: 'ldap_auth'`.
 */
export function ldapSettings(slapd: Slapd, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ldap_url: slapd.url,
    ldap_search_dn: slapd.bindDn,
    ldap_search_password: slapd.bindPassword,
    ldap_base_dn: slapd.baseDn,
    ldap_uid: 'uid',
    ldap_filter: '(objectClass=inetOrgPerson)',
    ldap_scope: 2,
    ldap_group_base_dn: slapd.groupsDn,
    ldap_group_search_filter: '(objectClass=groupOfNames)',
    ldap_group_attribute_name: 'cn',
    ldap_group_admin_dn: slapd.groups.admins!.dn,
    ldap_group_membership_attribute: 'memberof',
    ldap_verify_cert: true,
    ldap_ca_cert: slapd.caPem,
    ...overrides,
  };
}
