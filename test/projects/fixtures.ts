import assert from 'node:assert/strict';
import { api, type ApiResponse } from '../helpers/api.js';
import type { TestServer } from '../helpers/server.js';

/** Every row a projects or members request could change, to prove that a refusal changed nothing. */
export async function dbState(server: TestServer) {
  // Pull audit records are written in batches: the earlier tests' pulls land now, not during the next one.
  await server.berth.pulls.flush();
  const db = server.berth.database.db;
  const audits = await db
    .selectFrom('audit_logs')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return {
    projects: await db.selectFrom('projects').selectAll().orderBy('id').execute(),
    metadata: await db.selectFrom('project_metadata').selectAll().orderBy('project_id').orderBy('name').execute(),
    members: await db.selectFrom('project_members').selectAll().orderBy('id').execute(),
    audits: Number(audits.n),
  };
}

/** POST /projects; throws unless 201; returns the new project's id. */
export async function createProject(server: TestServer, body: Record<string, unknown>, auth = server.admin.authorization): Promise<number> {
  const res = await api(server, 'POST', '/projects', { auth, body });
  if (res.status !== 201) throw new Error(`creating project: ${res.status} ${JSON.stringify(res.body)}`);
  return Number(res.headers.get('location')!.split('/').pop());
}

/** Asserts a Harbor error body with the given status and code. */
export function assertError(res: ApiResponse, status: number, code: string, context = ''): void {
  assert.equal(res.status, status, `${context} ${JSON.stringify(res.body)}`);
  const body = res.body as { errors?: Array<{ code: string; message: string }> };
  assert.ok(Array.isArray(body?.errors) && body.errors.length === 1, `${context} Harbor error body: ${JSON.stringify(res.body)}`);
  assert.equal(body.errors![0].code, code, context);
  assert.equal(typeof body.errors![0].message, 'string');
}

/** Audit lines "user operation resource_type resource" matching a `q`. */
export async function auditLines(server: TestServer, q: string): Promise<string[]> {
  const res = await api<any[]>(server, 'GET', `/audit-logs?page_size=100&q=${encodeURIComponent(q)}`, { auth: server.admin.authorization });
  assert.equal(res.status, 200);
  return res.body.map((l) => `${l.username} ${l.operation} ${l.resource_type} ${l.resource}`);
}
