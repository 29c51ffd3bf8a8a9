import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AccessGuard, type MembershipLookup, type ProjectRef } from '../../src/auth/guard.js';
import type { Identity } from '../../src/auth/identity.js';
import type { RoleId } from '../../src/auth/rbac.js';
import { api, createUser } from '../helpers/api.js';
import { pushImage, types } from '../helpers/oci.js';
import { basicAuth, startServer, type TestServer } from '../helpers/server.js';
import { createRobot, projectRobot, type CreatedRobot } from '../robots/fixtures.js';

/**
 * Harbor's project role matrix, transcribed by hand from /work/shared/reference/harbor-notes.md §3
 * (rbac_role.go), NOT from src/auth/rbac.ts: the test exists to catch the two drifting apart.
 * "-" = nothing; "op" = operate.
 */
const HARBOR_MATRIX = `
resource            | projectAdmin                | maintainer                  | developer                 | guest        | limitedGuest | public
project             | R,U,D                       | R                           | R                         | R            | R            | R
member              | R,L,C,U,D                   | R,L                         | R,L                       | R,L          | -            | -
metadata            | R,C,U,D                     | R                           | -                         | -            | -            | -
log                 | L                           | -                           | -                         | -            | -            | -
label               | R,L,C,U,D                   | R,L,C,U,D                   | R,L                       | R,L          | -            | R,L
quota               | R                           | R                           | R                         | R            | R            | -
repository          | R,L,C,U,D,pull,push         | R,L,C,U,D,pull,push         | R,L,C,U,pull,push         | R,L,pull     | R,L,pull     | L,pull
tag-retention       | R,L,C,U,D,op                | R,L,C,U,D,op                | R,L,C,U,D,op              | -            | -            | -
immutable-tag       | L,C,U,D                     | L,C,U,D                     | -                         | -            | -            | -
configuration       | R,U                         | R                           | R                         | R            | R            | -
robot               | R,L,C,U,D                   | R,L                         | R,L                       | R,L          | -            | -
notification-policy | R,L,C,U,D                   | R,L                         | -                         | -            | -            | -
scan                | R,C,stop                    | R,C,stop                    | R                         | R            | R            | R
sbom                | R,C,stop                    | R,C,stop                    | R                         | R            | R            | -
scanner             | R,C                         | R                           | R                         | R            | R            | R
artifact            | R,L,C,D                     | R,L,C,D                     | R,L,C                     | R,L          | R,L          | R,L
artifact-addition   | R                           | R                           | R                         | R            | R            | R
tag                 | L,C,D                       | L,C,D                       | L,C                       | L            | L            | L
accessory           | L                           | L                           | L                         | L            | L            | L
artifact-label      | C,D                         | C,D                         | C,D                       | -            | -            | -
preheat-policy      | R,L,C,U,D                   | -                           | -                         | -            | -            | -
export-cve          | R,L,C                       | R,L,C                       | R,L,C                     | -            | -            | -
`;

type Column = 'projectAdmin' | 'maintainer' | 'developer' | 'guest' | 'limitedGuest' | 'public';
const actionNames: Record<string, string> = {
  R: 'read',
  L: 'list',
  C: 'create',
  U: 'update',
  D: 'delete',
  op: 'operate',
  stop: 'stop',
  pull: 'pull',
  push: 'push',
};

function parseMatrix(text: string): Record<Column, Set<string>> {
  const lines = text
    .trim()
    .split('\n')
    .map((l) => l.split('|').map((c) => c.trim()));
  const header = lines[0].slice(1) as Column[];
  const out = Object.fromEntries(header.map((c) => [c, new Set<string>()])) as Record<Column, Set<string>>;
  for (const [resource, ...cells] of lines.slice(1)) {
    cells.forEach((cell, i) => {
      if (cell === '-') return;
      for (const a of cell.split(',')) {
        const action = actionNames[a];
        assert.ok(action, `unknown action ${a} in the matrix`);
        out[header[i]].add(`${resource}:${action}`);
      }
    });
  }
  return out;
}

const expected = parseMatrix(HARBOR_MATRIX);
const roleIds: Record<Exclude<Column, 'public'>, RoleId> = { projectAdmin: 1, developer: 2, guest: 3, maintainer: 4, limitedGuest: 5 };
const roleColumns = Object.keys(roleIds) as Array<Exclude<Column, 'public'>>;
/** Every pair anyone holds, plus a few nobody should: checked in both directions. */
const universe = [
  ...new Set([
    ...Object.values(expected).flatMap((s) => [...s]),
    'project:create',
    'log:read',
    'member:operate',
    'catalog:read',
    'repository:operate',
  ]),
].sort();

describe("(a) AccessGuard against Harbor's matrix", () => {
  const privateRef: ProjectRef = { id: 7, name: 'priv', public: false };
  const publicRef: ProjectRef = { id: 8, name: 'pub', public: true };
  const roleOfUser = new Map<number, RoleId>(roleColumns.map((c) => [100 + roleIds[c], roleIds[c]]));
  const members: MembershipLookup = { roleOf: async (_p, userId) => roleOfUser.get(userId) ?? null };
  const guard = new AccessGuard(members);
  const user = (id: number): Identity => ({ kind: 'user', userId: id, username: `u${id}`, sysadmin: false, via: 'basic' });

  for (const column of roleColumns) {
    test(`${column}: can() matches every pair, in a private and a public project`, async () => {
      const mismatches: string[] = [];
      for (const pair of universe) {
        const [resource, action] = pair.split(':');
        const inPrivate = expected[column].has(pair);
        const inPublic = inPrivate || expected.public.has(pair);
        if ((await guard.can(user(100 + roleIds[column]), privateRef, resource, action)) !== inPrivate)
          mismatches.push(`private ${pair} expected ${inPrivate}`);
        if ((await guard.can(user(100 + roleIds[column]), publicRef, resource, action)) !== inPublic)
          mismatches.push(`public ${pair} expected ${inPublic}`);
      }
      assert.deepEqual(mismatches, []);
    });
  }

  test('public column: anonymous and a non-member get exactly the public set in a public project, nothing in a private one', async () => {
    const mismatches: string[] = [];
    for (const who of [{ kind: 'anonymous' } as Identity, user(999)]) {
      for (const pair of universe) {
        const [resource, action] = pair.split(':');
        if ((await guard.can(who, publicRef, resource, action)) !== expected.public.has(pair))
          mismatches.push(`${who.kind} public ${pair}`);
        if (await guard.can(who, privateRef, resource, action)) mismatches.push(`${who.kind} private ${pair}`);
      }
    }
    assert.deepEqual(mismatches, []);
  });

  test('a system administrator passes every check', async () => {
    const admin: Identity = { kind: 'user', userId: 1, username: 'admin', sysadmin: true, via: 'basic' };
    for (const pair of universe) {
      const [resource, action] = pair.split(':');
      assert.equal(await guard.can(admin, privateRef, resource, action), true, pair);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// (b) Over HTTP, one server.

const password = 'Passw0rd1';
type Subject = {
  name: string;
  auth?: string;
  anonymous?: boolean;
  sysadmin?: boolean;
  /** Harbor matrix column the subject holds as a member of both projects. */
  column?: Exclude<Column, 'public'>;
  /** Pairs a robot holds in the private project only. */
  robotPairs?: string[];
  /** How a project names the subject as a member: member_user, or member_group for a user holding the role only through a group. */
  member?: Record<string, unknown>;
};

let server: TestServer;
const projects = { priv: { name: 'mx-private', id: 0, public: false }, pub: { name: 'mx-public', id: 0, public: true } };
const subjects: Subject[] = [];
let spare = 0;

/** What the independent matrix says this subject may do in this project. */
function allowed(subject: Subject, project: { public: boolean }, pair: string): boolean {
  if (subject.sysadmin) return true;
  if (project.public && expected.public.has(pair)) return true;
  if (subject.column && expected[subject.column].has(pair)) return true;
  if (subject.robotPairs && !project.public && subject.robotPairs.includes(pair)) return true;
  return false;
}

function v2(path: string, subject: Subject, init: { method?: string; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...init.headers };
  if (subject.auth) headers.authorization = subject.auth;
  return fetch(`${server.url}/v2/${path}`, { method: init.method ?? 'GET', headers });
}

async function checkV2(res: Response, subject: Subject, ok: boolean, what: string, okStatus?: number) {
  const text = await res.text();
  const context = `${subject.name}: ${what} → ${res.status} ${text.slice(0, 200)}`;
  if (ok) {
    assert.ok(res.status !== 401 && res.status !== 403, context);
    if (okStatus !== undefined) assert.equal(res.status, okStatus, context);
  } else if (subject.anonymous) {
    assert.equal(res.status, 401, context);
    assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer realm=/, context);
  } else {
    assert.equal(res.status, 403, context);
    assert.equal(JSON.parse(text).errors[0].code, 'DENIED', context);
  }
}

function checkApi(res: { status: number; body: unknown }, subject: Subject, ok: boolean, what: string, okStatus?: number) {
  const context = `${subject.name}: ${what} → ${res.status} ${JSON.stringify(res.body)?.slice(0, 200)}`;
  if (ok) {
    assert.ok(res.status !== 401 && res.status !== 403, context);
    if (okStatus !== undefined) assert.equal(res.status, okStatus, context);
  } else {
    assert.equal(res.status, subject.anonymous ? 401 : 403, context);
  }
}

describe('(b) every subject × project over HTTP', () => {
  before(async () => {
    server = await startServer();
    const admin = server.admin.authorization;
    for (const p of Object.values(projects)) {
      const res = await api(server, 'POST', '/projects', {
        auth: admin,
        body: { project_name: p.name, metadata: { public: String(p.public) } },
      });
      assert.equal(res.status, 201);
      p.id = Number(res.headers.get('location')!.split('/').pop());
      await pushImage(server.url, `${p.name}/app`, 'v1', { headers: server.admin });
    }
    subjects.push({ name: 'admin', auth: admin, sysadmin: true });
    for (const column of roleColumns) {
      const username = `mx-${column.toLowerCase()}`;
      await createUser(server, username, password);
      for (const p of Object.values(projects)) {
        const res = await api(server, 'POST', `/projects/${p.name}/members`, {
          auth: admin,
          body: { role_id: roleIds[column], member_user: { username } },
        });
        assert.equal(res.status, 201, JSON.stringify(res.body));
      }
      subjects.push({ name: column, auth: basicAuth(username, password), column, member: { member_user: { username } } });
    }
    // The same roles held only through a user group (an OIDC group the user was put in, as a sign-in would).
    for (const column of roleColumns) {
      const username = `mxg-${column.toLowerCase()}`;
      const userId = await createUser(server, username, password);
      const made = await api(server, 'POST', '/usergroups', { auth: admin, body: { group_name: `mx-group-${column}`, group_type: 3 } });
      assert.equal(made.status, 201, JSON.stringify(made.body));
      const groupId = Number(made.headers.get('location')!.split('/').pop());
      for (const p of Object.values(projects)) {
        const res = await api(server, 'POST', `/projects/${p.name}/members`, {
          auth: admin,
          body: { role_id: roleIds[column], member_group: { id: groupId } },
        });
        assert.equal(res.status, 201, JSON.stringify(res.body));
      }
      await server.berth.userGroups.setUserGroups(userId, 3, [{ name: `mx-group-${column}` }]);
      subjects.push({
        name: `${column} (through a group)`,
        auth: basicAuth(username, password),
        column,
        member: { member_group: { id: groupId } },
      });
    }
    await createUser(server, 'mx-outsider', password);
    subjects.push({ name: 'non-member', auth: basicAuth('mx-outsider', password) });
    const pullOnly: CreatedRobot = await createRobot(server, projectRobot(projects.priv.name, 'pull', [['repository', 'pull']]));
    const pushPull: CreatedRobot = await createRobot(
      server,
      projectRobot(projects.priv.name, 'pushpull', [
        ['repository', 'pull'],
        ['repository', 'push'],
      ]),
    );
    subjects.push({ name: 'robot(pull)', auth: basicAuth(pullOnly.name, pullOnly.secret), robotPairs: ['repository:pull'] });
    subjects.push({
      name: 'robot(pull,push)',
      auth: basicAuth(pushPull.name, pushPull.secret),
      robotPairs: ['repository:pull', 'repository:push'],
    });
    subjects.push({ name: 'anonymous', anonymous: true });
  });
  after(async () => {
    await server?.stop();
  });

  test('GET /users/current/permissions?relative=true for a member of each role is exactly the matrix (role ∪ public)', async () => {
    for (const subject of subjects.filter((s) => s.column)) {
      for (const p of Object.values(projects)) {
        const res = await api<Array<{ resource: string; action: string }>>(
          server,
          'GET',
          `/users/current/permissions?scope=/project/${p.id}&relative=true`,
          { auth: subject.auth },
        );
        assert.equal(res.status, 200);
        const got = new Set(res.body.map((x) => `${x.resource}:${x.action}`));
        const want = new Set(universe.filter((pair) => allowed(subject, p, pair)));
        assert.deepEqual([...got].sort(), [...want].sort(), `${subject.name} in ${p.name}`);
      }
    }
    const outsider = subjects.find((s) => s.name === 'non-member')!;
    for (const p of Object.values(projects)) {
      const res = await api<Array<{ resource: string; action: string }>>(
        server,
        'GET',
        `/users/current/permissions?scope=/project/${p.id}&relative=true`,
        { auth: outsider.auth },
      );
      assert.deepEqual(res.body.map((x) => `${x.resource}:${x.action}`).sort(), p.public ? [...expected.public].sort() : []);
    }
  });

  test('/v2: pull, tags/list, push (blob upload), delete by digest', async () => {
    for (const p of Object.values(projects)) {
      for (const subject of subjects) {
        const repo = `${p.name}/app`;
        const mayPull = allowed(subject, p, 'repository:pull');
        await checkV2(
          await v2(`${repo}/manifests/v1`, subject, { headers: { accept: types.manifest } }),
          subject,
          mayPull,
          `pull ${repo}`,
          200,
        );
        await checkV2(await v2(`${repo}/tags/list`, subject), subject, mayPull, `tags/list ${repo}`, 200);
        const mayPush = allowed(subject, p, 'repository:push');
        await checkV2(await v2(`${repo}/blobs/uploads/`, subject, { method: 'POST' }), subject, mayPush, `push ${repo}`, 202);
        const mayDelete = allowed(subject, p, 'repository:delete');
        // A fresh artifact per allowed attempt; a refusal is tried on the shared one (still there after).
        const target = mayDelete ? await pushImage(server.url, `${p.name}/doomed`, `t${spare++}`, { headers: server.admin }) : undefined;
        const digest =
          target?.digest ??
          (
            await v2(
              `${repo}/manifests/v1`,
              { name: 'admin', auth: server.admin.authorization },
              { method: 'HEAD', headers: { accept: types.manifest } },
            )
          ).headers.get('docker-content-digest')!;
        const path = mayDelete ? `${p.name}/doomed/manifests/${digest}` : `${repo}/manifests/${digest}`;
        await checkV2(await v2(path, subject, { method: 'DELETE' }), subject, mayDelete, `delete ${path}`, 202);
      }
      const still = await v2(
        `${p.name}/app/manifests/v1`,
        { name: 'admin', auth: server.admin.authorization },
        { headers: { accept: types.manifest } },
      );
      assert.equal(still.status, 200, 'refused deletes removed nothing');
    }
  });

  test('/v2/_catalog: system administrators only', async () => {
    for (const subject of subjects) {
      await checkV2(await v2('_catalog', subject), subject, subject.sysadmin === true, '_catalog', 200);
    }
  });

  test('API: project, members, member create, logs, metadata, robots', async () => {
    for (const p of Object.values(projects)) {
      for (const subject of subjects) {
        const auth = subject.auth;
        checkApi(
          await api(server, 'GET', `/projects/${p.name}`, { auth }),
          subject,
          allowed(subject, p, 'project:read'),
          `GET project ${p.name}`,
          200,
        );
        checkApi(
          await api(server, 'GET', `/projects/${p.name}/members`, { auth }),
          subject,
          allowed(subject, p, 'member:list'),
          `GET members ${p.name}`,
          200,
        );

        const mayAdd = allowed(subject, p, 'member:create');
        const newcomer = `mx-spare${spare++}`;
        if (mayAdd) await createUser(server, newcomer, password);
        checkApi(
          await api(server, 'POST', `/projects/${p.name}/members`, {
            auth,
            body: { role_id: 3, member_user: { username: mayAdd ? newcomer : 'mx-outsider' } },
          }),
          subject,
          mayAdd,
          `POST member ${p.name}`,
          201,
        );

        checkApi(
          await api(server, 'GET', `/projects/${p.name}/logs`, { auth }),
          subject,
          allowed(subject, p, 'log:list'),
          `GET logs ${p.name}`,
          200,
        );
        checkApi(
          await api(server, 'PUT', `/projects/${p.name}/metadatas/auto_scan`, { auth, body: { auto_scan: 'false' } }),
          subject,
          allowed(subject, p, 'metadata:update'),
          `PUT metadata ${p.name}`,
          200,
        );
        const q = encodeURIComponent(`Level=project,ProjectID=${p.id}`);
        checkApi(
          await api(server, 'GET', `/robots?q=${q}`, { auth }),
          subject,
          allowed(subject, p, 'robot:list'),
          `GET robots ${p.name}`,
          200,
        );

        // DELETE project: a refusal on the real project; an allowed caller deletes a throwaway one it holds the same role in.
        if (allowed(subject, p, 'project:delete')) {
          const throwaway = `mx-throwaway${spare++}`;
          const made = await api(server, 'POST', '/projects', {
            auth: server.admin.authorization,
            body: { project_name: throwaway, metadata: { public: String(p.public) } },
          });
          assert.equal(made.status, 201);
          if (subject.column) {
            const add = await api(server, 'POST', `/projects/${throwaway}/members`, {
              auth: server.admin.authorization,
              body: { role_id: roleIds[subject.column], ...subject.member },
            });
            assert.equal(add.status, 201);
          }
          checkApi(await api(server, 'DELETE', `/projects/${throwaway}`, { auth }), subject, true, `DELETE project ${throwaway}`, 200);
        } else {
          checkApi(await api(server, 'DELETE', `/projects/${p.name}`, { auth }), subject, false, `DELETE project ${p.name}`);
        }
      }
      assert.equal(
        (await api(server, 'GET', `/projects/${p.name}`, { auth: server.admin.authorization })).status,
        200,
        `${p.name} survived`,
      );
    }
  });
});
