import { api } from '../helpers/api.js';
import type { TestServer } from '../helpers/server.js';

export type Pair = [resource: string, action: string];

export interface CreatedRobot {
  id: number;
  name: string;
  secret: string;
  creation_time: string;
  expires_at: number;
}

export function access(pairs: Pair[]) {
  return pairs.map(([resource, action]) => ({ resource, action }));
}

/** A RobotCreate body for a project robot. */
export function projectRobot(project: string, name: string, pairs: Pair[], extra: Record<string, unknown> = {}) {
  return { name, level: 'project', duration: -1, permissions: [{ kind: 'project', namespace: project, access: access(pairs) }], ...extra };
}

/** A RobotCreate body for a system robot covering the given project namespaces (names or "*"). */
export function systemRobot(name: string, namespaces: string[], pairs: Pair[], extra: Record<string, unknown> = {}) {
  return {
    name,
    level: 'system',
    duration: -1,
    permissions: namespaces.map((namespace) => ({ kind: 'project', namespace, access: access(pairs) })),
    ...extra,
  };
}

export const pushPull: Pair[] = [
  ['repository', 'pull'],
  ['repository', 'push'],
];

/** POST /robots; throws unless 201. */
export async function createRobot(server: TestServer, body: unknown, auth = server.admin.authorization): Promise<CreatedRobot> {
  const res = await api<CreatedRobot>(server, 'POST', '/robots', { auth, body });
  if (res.status !== 201) throw new Error(`creating robot: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** Creates a project through the API, as admin. */
export async function createProject(server: TestServer, name: string, isPublic = false): Promise<number> {
  const res = await api(server, 'POST', '/projects', {
    auth: server.admin.authorization,
    body: { project_name: name, metadata: { public: String(isPublic) } },
  });
  if (res.status !== 201) throw new Error(`creating project ${name}: ${res.status} ${JSON.stringify(res.body)}`);
  return Number(res.headers.get('location')!.split('/').pop());
}

/** Makes a user a member of a project with a Harbor role id (1 admin, 2 developer, 3 guest, 4 maintainer). */
export async function addMember(server: TestServer, project: string, username: string, role: number): Promise<void> {
  const res = await api(server, 'POST', `/projects/${project}/members`, {
    auth: server.admin.authorization,
    body: { role_id: role, member_user: { username } },
  });
  if (res.status !== 201) throw new Error(`adding ${username} to ${project}: ${res.status} ${JSON.stringify(res.body)}`);
}

/** Asks /service/token for scopes; returns the status, the token and the access it grants. */
export async function registryToken(server: TestServer, auth: string, ...scopes: string[]) {
  const params = new URLSearchParams({ service: 'harbor-registry' });
  for (const s of scopes) params.append('scope', s);
  const res = await fetch(`${server.url}/service/token?${params}`, { headers: { authorization: auth } });
  const body = (await res.json()) as { token?: string };
  const access = body.token ? (JSON.parse(Buffer.from(body.token.split('.')[1], 'base64url').toString()).access as unknown[]) : undefined;
  return { status: res.status, token: body.token, access };
}

export async function robotCount(server: TestServer): Promise<number> {
  const row = await server.berth.database.db
    .selectFrom('robots')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
