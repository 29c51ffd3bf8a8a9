import type { Transaction } from 'kysely';
import { requireAuthenticated, type AccessGuard, type ProjectRef } from '../auth/guard.js';
import { displayName, type Identity } from '../auth/identity.js';
import type { Database } from '../db/types.js';
import type { AuditEntry } from '../events/audit.js';
import { nowIso } from '../lib/clock.js';
import { apiError } from '../lib/errors.js';
import type { Paging } from '../lib/paging.js';
import type { QueryTerm } from '../lib/query.js';
import type { LabelChanges, LabelRow, LabelScope, LabelStore } from './store.js';

/** How the labels feature finds projects (the projects feature answers, wired in app.ts). */
export interface LabelProjectDirectory {
  byId(id: number): Promise<ProjectRef | null>;
}

/** The Label definition of Harbor's API. */
export interface LabelView {
  id: number;
  name: string;
  description: string;
  color: string;
  /** 'g' global or 'p' project. */
  scope: string;
  /** 0 for a global label. */
  project_id: number;
  creation_time: string;
  update_time: string;
}

/** The query parameters of GET /labels, as the request gave them. */
export interface LabelListParams {
  scope?: string;
  projectId?: string;
  name?: string;
  terms: QueryTerm[];
  sort?: string;
}

export const maxNameLength = 128;
export const maxColorLength = 16;

export function labelView(row: LabelRow): LabelView {
  return {
    id: Number(row.id),
    name: row.name,
    description: row.description,
    color: row.color,
    scope: row.scope,
    project_id: Number(row.project_id),
    creation_time: row.creation_time,
    update_time: row.update_time,
  };
}

/** May this label be put on an artifact of this project? Global labels fit everywhere, project labels only at home. */
export function labelUsableIn(label: Pick<LabelView, 'scope' | 'project_id'>, projectId: number): boolean {
  return label.scope === 'g' || (label.scope === 'p' && label.project_id === projectId);
}

function shown(value: unknown): string {
  return JSON.stringify(value) ?? 'nothing';
}

function checkScope(value: unknown): LabelScope {
  if (value === 'g' || value === 'p') return value;
  throw apiError('BAD_REQUEST', `scope must be "g" (global) or "p" (project), not ${shown(value)}`);
}

function checkName(value: unknown): string {
  if (typeof value !== 'string') throw apiError('BAD_REQUEST', `name is required and must be a string, not ${shown(value)}`);
  const name = value.trim();
  if (name === '') throw apiError('BAD_REQUEST', 'name must not be empty');
  if (Array.from(name).length > maxNameLength) throw apiError('BAD_REQUEST', `name must be at most ${maxNameLength} characters`);
  return name;
}

/** description or color: a string, or absent/null for "". */
function checkText(value: unknown, field: string, max?: number): string {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw apiError('BAD_REQUEST', `${field} must be a string, not ${shown(value)}`);
  if (max !== undefined && Array.from(value).length > max) throw apiError('BAD_REQUEST', `${field} must be at most ${max} characters`);
  return value;
}

function checkProjectId(value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw apiError('BAD_REQUEST', `project_id must be the id of a project when scope is "p", not ${shown(value)}`);
  }
  return value;
}

function audit(
  actor: string,
  operation: 'create' | 'update' | 'delete',
  label: { name: string; scope: string; project_id: number },
): AuditEntry {
  return {
    username: actor,
    operation,
    resourceType: 'label',
    resource: label.name,
    projectId: label.scope === 'p' ? Number(label.project_id) : null,
  };
}

/**
 * Harbor's labels: global ones (scope g, managed by system administrators) and project
 * ones (scope p, managed under the project's `label` permissions). Attaching them to
 * artifacts belongs to the artifacts feature, which reads them through byId/byIds.
 */
export class LabelService {
  constructor(
    private readonly store: LabelStore,
    private readonly guard: AccessGuard,
    private readonly projects: LabelProjectDirectory,
  ) {}

  /** A label by id, without any access check (for other features). */
  async byId(id: number): Promise<LabelView | undefined> {
    const row = await this.store.byId(id);
    return row ? labelView(row) : undefined;
  }

  /** Labels by id, without any access check; unknown ids are absent from the map. */
  async byIds(ids: number[]): Promise<Map<number, LabelView>> {
    const unique = [...new Set(ids.filter((id) => Number.isSafeInteger(id) && id > 0))];
    const out = new Map<number, LabelView>();
    if (unique.length === 0) return out;
    for (const row of await this.store.byIds(unique)) out.set(Number(row.id), labelView(row));
    return out;
  }

  /** The project a project label belongs to; 404 when it is gone. */
  private async projectOf(projectId: number): Promise<ProjectRef> {
    const project = await this.projects.byId(projectId);
    if (!project) throw apiError('NOT_FOUND', `project ${projectId} does not exist`);
    return project;
  }

  /**
   * Global labels: any signed-in caller reads them; writing takes the system `label`
   * permission (system administrators, system robots given it). Project labels: the
   * project's `label` permissions, as the guard reads the RBAC table.
   */
  private async requireAccess(
    identity: Identity,
    scope: string,
    projectId: number,
    action: 'read' | 'list' | 'create' | 'update' | 'delete',
  ) {
    if (scope === 'g') {
      requireAuthenticated(identity);
      if (action !== 'read' && action !== 'list') this.guard.requireSystem(identity, 'label', action);
      return;
    }
    await this.guard.require(identity, await this.projectOf(projectId), 'label', action);
  }

  /** A label the caller may take `action` on; 404 when there is none (or its project is gone). */
  private async find(identity: Identity, id: number, action: 'read' | 'update' | 'delete'): Promise<LabelRow> {
    const row = await this.store.byId(id);
    if (!row || (row.scope === 'p' && !(await this.projects.byId(Number(row.project_id))))) {
      throw apiError('NOT_FOUND', `label ${id} does not exist`);
    }
    await this.requireAccess(identity, row.scope, Number(row.project_id), action);
    return row;
  }

  /** GET /labels: scope=g, or scope=p with project_id; `name` matches fuzzily. */
  async list(identity: Identity, params: LabelListParams, paging: Paging): Promise<{ items: LabelView[]; total: number }> {
    const scope = checkScope(params.scope ?? '');
    let projectId = 0;
    if (scope === 'p') {
      const raw = params.projectId ?? '';
      if (!/^\d+$/.test(raw) || !Number.isSafeInteger(Number(raw)) || Number(raw) < 1) {
        throw apiError('BAD_REQUEST', `project_id must be the id of a project when scope is "p", not "${raw}"`);
      }
      projectId = Number(raw);
    }
    await this.requireAccess(identity, scope, projectId, 'list');
    const page = await this.store.list(
      {
        scope,
        projectId,
        name: typeof params.name === 'string' && params.name !== '' ? params.name : undefined,
        terms: params.terms,
        sort: params.sort,
      },
      paging,
    );
    return { items: page.items.map(labelView), total: page.total };
  }

  async get(identity: Identity, id: number): Promise<LabelView> {
    return labelView(await this.find(identity, id, 'read'));
  }

  /** POST /labels with a Label body; returns the new label. */
  async create(identity: Identity, body: Record<string, unknown>): Promise<LabelView> {
    requireAuthenticated(identity);
    const name = checkName(body.name);
    const description = checkText(body.description, 'description');
    const color = checkText(body.color, 'color', maxColorLength);
    const scope = checkScope(body.scope);
    // As in Harbor, a global label belongs to no project whatever the body says.
    const projectId = scope === 'p' ? checkProjectId(body.project_id) : 0;
    await this.requireAccess(identity, scope, projectId, 'create');

    const conflict = () =>
      apiError('CONFLICT', `label ${name} already exists ${scope === 'g' ? 'as a global label' : `in project ${projectId}`}`);
    if (await this.store.named(name, scope, projectId)) throw conflict();
    const row = await this.store.insert(
      { name, description, color, scope, projectId, now: nowIso() },
      audit(displayName(identity), 'create', { name, scope, project_id: projectId }),
    );
    if (!row) throw conflict();
    return labelView(row);
  }

  /**
   * PUT /labels/{id}: name, description and color; a field left out keeps its value.
   * Scope and project cannot change (a body may repeat them).
   */
  async update(identity: Identity, id: number, body: Record<string, unknown>): Promise<void> {
    requireAuthenticated(identity);
    const row = await this.find(identity, id, 'update');
    if (body.scope !== undefined && body.scope !== null && body.scope !== row.scope) {
      throw apiError('BAD_REQUEST', `the scope of a label cannot be changed (label ${id} has scope "${row.scope}")`);
    }
    const projectId = Number(row.project_id);
    if (
      body.project_id !== undefined &&
      body.project_id !== null &&
      body.project_id !== projectId &&
      !(row.scope === 'g' && body.project_id === 0)
    ) {
      throw apiError('BAD_REQUEST', `the project of a label cannot be changed (label ${id} belongs to project ${projectId})`);
    }
    const changes: LabelChanges = {
      name: body.name === undefined ? row.name : checkName(body.name),
      description: body.description === undefined ? row.description : checkText(body.description, 'description'),
      color: body.color === undefined ? row.color : checkText(body.color, 'color', maxColorLength),
    };
    const conflict = () =>
      apiError('CONFLICT', `label ${changes.name} already exists ${row.scope === 'g' ? 'as a global label' : `in project ${projectId}`}`);
    if (changes.name !== row.name) {
      const other = await this.store.named(changes.name, row.scope as LabelScope, projectId);
      if (other && Number(other.id) !== id) throw conflict();
    }
    const result = await this.store.update(id, changes, nowIso(), audit(displayName(identity), 'update', { ...row, name: changes.name }));
    if (result === 'conflict') throw conflict();
    if (result === 'gone') throw apiError('NOT_FOUND', `label ${id} does not exist`);
  }

  /** DELETE /labels/{id}; the label comes off every artifact that carried it. */
  async delete(identity: Identity, id: number): Promise<void> {
    requireAuthenticated(identity);
    const row = await this.find(identity, id, 'delete');
    if (!(await this.store.delete(id, audit(displayName(identity), 'delete', row)))) {
      throw apiError('NOT_FOUND', `label ${id} does not exist`);
    }
  }

  /**
   * Deletes every label of a project (and so takes them off its artifacts), with an audit
   * record per label. Pass the transaction that deletes the project to make both one change.
   * Returns how many labels went.
   */
  async deleteForProject(projectId: number, actor: string, tx?: Transaction<Database>): Promise<number> {
    const rows = await this.store.deleteForProject(projectId, (label) => audit(actor, 'delete', label), tx);
    return rows.length;
  }
}
