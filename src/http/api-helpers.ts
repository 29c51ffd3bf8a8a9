import type { FastifyReply, FastifyRequest } from 'fastify';
import { pagingLink, parsePaging, type Paging } from '../lib/paging.js';
import { apiError } from '../lib/errors.js';

export type Query = Record<string, string | undefined>;

export function queryOf(req: FastifyRequest): Query {
  return req.query as Query;
}

export function pagingOf(req: FastifyRequest): Paging {
  return parsePaging(queryOf(req));
}

/** Sends a page of a list with Harbor's X-Total-Count and Link headers. */
export function sendPage<T>(req: FastifyRequest, reply: FastifyReply, paging: Paging, page: { items: T[]; total: number }) {
  reply.header('x-total-count', page.total);
  const path = req.url.split('?')[0];
  const link = pagingLink(path, queryOf(req), paging, page.total);
  if (link) reply.header('link', link);
  return reply.send(page.items);
}

/** A path id that must be a positive integer. */
export function idParam(value: unknown, name = 'id'): number {
  const n = Number(value);
  if (typeof value !== 'string' || !/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
    throw apiError('BAD_REQUEST', `${name} must be a positive integer, not "${String(value)}"`);
  }
  return n;
}

export function bodyOf(req: FastifyRequest): Record<string, unknown> {
  const body = req.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw apiError('BAD_REQUEST', 'request body must be a JSON object');
  return body as Record<string, unknown>;
}

/** 201 with the Location of the new resource, as Harbor answers a create. */
export function created(reply: FastifyReply, location: string) {
  return reply.code(201).header('location', location).send();
}

/** Harbor's X-Is-Resource-Name: the `{…_name_or_id}` path parameter is a name even when it is all digits. */
export function isResourceName(req: FastifyRequest): boolean {
  const value = req.headers['x-is-resource-name'];
  return typeof value === 'string' && ['true', '1'].includes(value.trim().toLowerCase());
}

/** An optional boolean query parameter ("true"/"false"); 400 for anything else. */
export function boolParam(value: string | undefined, name: string): boolean | undefined {
  if (value === undefined || value === '') return undefined;
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw apiError('BAD_REQUEST', `${name} must be true or false, not "${value}"`);
}

/**
 * The full repository name ("project/a/b") from Harbor's `{repository_name}` path parameter,
 * which names the repository without its project and, when it holds a slash, is encoded
 * twice by the client (a/b → a%2Fb → a%252Fb). The router decodes once; this decodes again.
 * A parameter that is not valid percent-encoding is a 400.
 */
export function repositoryPathName(projectName: string, param: string): string {
  let name: string;
  try {
    name = decodeURIComponent(param);
  } catch {
    throw apiError('BAD_REQUEST', `repository_name "${param.length > 100 ? `${param.slice(0, 100)}…` : param}" is not valid URL encoding`);
  }
  if (name === '') throw apiError('BAD_REQUEST', 'repository_name is empty');
  return `${projectName}/${name}`;
}
