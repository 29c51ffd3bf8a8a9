import type { RobotAccess, RobotPermission } from '../auth/identity.js';
import { passwordProblem } from '../auth/password.js';
import { robotProjectPermissionPairs, systemPermissionPairs } from '../auth/rbac.js';
import { apiError } from '../lib/errors.js';

/** Checks of robot request bodies: pure, so every rule reads in one place. */
export type RobotLevel = 'system' | 'project';

function bad(message: string) {
  return apiError('BAD_REQUEST', message);
}

/** Harbor's robot permission lists and Berth's roles (auth/rbac.ts). */
const allowedPairs: Record<RobotPermission['kind'], Set<string>> = {
  project: new Set(robotProjectPermissionPairs.map((p) => `${p.resource}:${p.action}`)),
  system: new Set(systemPermissionPairs.map((p) => `${p.resource}:${p.action}`)),
};

/** Harbor's rule: lower case letters and digits, single '.', '_' or '-' between them ('+' is the project separator). */
const namePattern = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/;

export function checkName(value: unknown): string {
  if (typeof value !== 'string' || value === '') throw bad('name is required');
  if (value.length > 128) throw bad('name must be at most 128 characters');
  if (!namePattern.test(value)) {
    throw bad(
      `robot name "${value}" is not in lower case or contains illegal characters: use a-z, 0-9 and single ".", "_" or "-" between them`,
    );
  }
  return value;
}

export function checkLevel(value: unknown): RobotLevel {
  if (value === 'system' || value === 'project') return value;
  throw bad(`level must be "system" or "project", not ${JSON.stringify(value ?? null)}`);
}

/** Days; -1 never expires; absent means the configured default. */
export function checkDuration(value: unknown, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || (value !== -1 && value < 1) || value >= 2 ** 31 - 1) {
    throw bad(`duration must be either -1 (never expires) or a positive number of days, not ${JSON.stringify(value)}`);
  }
  return value;
}

export function checkDescription(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw bad('description must be a string');
  if (value.length > 1024) throw bad('description must be at most 1024 characters');
  return value;
}

export function checkDisable(value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value !== 'boolean') throw bad('disable must be true or false');
  return value;
}

/** A chosen secret must follow the password rule; absent or empty means "generate one". */
export function checkSecret(value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const problem = passwordProblem(value);
  if (problem) throw bad(problem.replace(/^password/, 'secret'));
  return value as string;
}

function checkAccess(value: unknown, where: string, kind: RobotPermission['kind']): RobotAccess[] {
  if (!Array.isArray(value) || value.length === 0) throw bad(`${where}.access must be a non-empty list of {resource, action}`);
  const seen = new Map<string, RobotAccess>();
  value.forEach((raw, j) => {
    const item = raw as Record<string, unknown> | null;
    if (typeof item !== 'object' || item === null || typeof item.resource !== 'string' || typeof item.action !== 'string') {
      throw bad(`${where}.access[${j}] must be {resource, action} with string values`);
    }
    const effect = item.effect;
    if (effect !== undefined && effect !== null && effect !== '' && effect !== 'allow' && effect !== 'deny') {
      throw bad(`${where}.access[${j}].effect must be "allow" or "deny", not ${JSON.stringify(effect)}`);
    }
    if (!allowedPairs[kind].has(`${item.resource}:${item.action}`)) {
      throw bad(`${where}: "${item.action}" on "${item.resource}" is not a permission a robot may hold at ${kind} level`);
    }
    const access: RobotAccess = {
      resource: item.resource,
      action: item.action,
      ...(typeof effect === 'string' && effect !== '' && { effect }),
    };
    seen.set(`${access.resource}:${access.action}:${access.effect ?? ''}`, access);
  });
  return [...seen.values()];
}

/**
 * A project robot holds exactly one permission, of kind project, naming one project; a
 * system robot may hold one of kind system (namespace "/") and any number of project ones
 * (a project name or "*"). Whether the named projects exist is the service's question.
 */
export function checkPermissions(value: unknown, level: RobotLevel): RobotPermission[] {
  if (!Array.isArray(value) || value.length === 0) throw bad('permissions must be a non-empty list of {kind, namespace, access}');
  if (level === 'project' && value.length !== 1) {
    throw bad(`a project robot needs exactly one permission (kind "project", namespace its project), not ${value.length}`);
  }
  const keys = new Set<string>();
  return value.map((raw, i) => {
    const where = `permissions[${i}]`;
    const p = raw as Record<string, unknown> | null;
    if (typeof p !== 'object' || p === null) throw bad(`${where} must be {kind, namespace, access}`);
    if (p.kind !== 'project' && p.kind !== 'system')
      throw bad(`${where}.kind must be "project" or "system", not ${JSON.stringify(p.kind ?? null)}`);
    if (typeof p.namespace !== 'string' || p.namespace === '') throw bad(`${where}.namespace is required`);
    const kind = p.kind;
    const namespace = p.namespace;
    if (level === 'project') {
      if (kind !== 'project') throw bad(`a project robot's permission must be of kind "project", not "${kind}"`);
      if (namespace === '*') throw bad('a project robot\'s namespace must name one project, not "*"');
    }
    if (kind === 'system' && namespace !== '/') throw bad(`${where}: a permission of kind "system" has namespace "/", not "${namespace}"`);
    const key = `${kind}:${namespace}`;
    if (keys.has(key)) throw bad(`${where}: ${kind} namespace "${namespace}" is listed twice`);
    keys.add(key);
    return { kind, namespace, access: checkAccess(p.access, where, kind) };
  });
}
