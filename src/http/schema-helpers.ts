import type { FastifyInstance, FastifySchema } from 'fastify';

/**
 * Building blocks for route schemas. Route schemas only document the API (see openapi.ts:
 * nothing validates or serializes with them), so they describe what handlers accept and
 * answer, in Harbor's field names.
 */

/** A JSON Schema, as plain data. */
export type JsonSchema = { [keyword: string]: unknown };

/** A named definition (`components.schemas.<$id>` in the document), registered with addSchemas. */
export type SharedSchema = JsonSchema & { $id: string; description: string };

/** A reference to a shared schema by its `$id`. */
export function ref(id: string): JsonSchema {
  return { $ref: `${id}#` };
}

/**
 * Registers a feature's shared schemas on the instance its routes are added to. A second
 * registration of the same `$id` is skipped when identical and refused when it differs.
 */
export function addSchemas(app: FastifyInstance, schemas: SharedSchema[]): void {
  for (const schema of schemas) {
    const existing = app.getSchema(schema.$id);
    if (existing === undefined) app.addSchema(schema);
    else if (JSON.stringify(existing) !== JSON.stringify(schema)) throw new Error(`two different schemas are named ${schema.$id}`);
  }
}

export const str = (description: string, extra: JsonSchema = {}): JsonSchema => ({ type: 'string', description, ...extra });
export const int = (description: string, extra: JsonSchema = {}): JsonSchema => ({ type: 'integer', description, ...extra });
export const bool = (description: string, extra: JsonSchema = {}): JsonSchema => ({ type: 'boolean', description, ...extra });
export const dateTime = (description: string): JsonSchema => ({ type: 'string', format: 'date-time', description });
export const arrayOf = (items: JsonSchema, description?: string): JsonSchema => ({
  type: 'array',
  items,
  ...(description && { description }),
});

/** An object with these properties (`required` lists the ones that must be present). */
export function object(properties: Record<string, JsonSchema>, required: string[] = []): JsonSchema {
  return { type: 'object', properties, ...(required.length > 0 && { required }) };
}

/** Path parameters: every one is required. */
export function pathParams(properties: Record<string, JsonSchema>): JsonSchema {
  return object(properties, Object.keys(properties));
}

/** Harbor's error body, the answer to every failed /api/v2.0 request. Registered by openapi.ts. */
export const Errors: SharedSchema = {
  $id: 'Errors',
  description: 'What went wrong: one or more errors, each with a machine-readable code and a message for people.',
  type: 'object',
  properties: {
    errors: arrayOf(
      object({
        code: str('Error code, such as BAD_REQUEST, UNAUTHORIZED, FORBIDDEN, NOT_FOUND, CONFLICT or PRECONDITION'),
        message: str('What was wrong with the request, in words'),
      }),
    ),
  },
};

const errorDescriptions: Record<number, string> = {
  400: 'The request is malformed or one of its parameters is invalid.',
  401: 'Credentials are required, or the ones given are wrong.',
  403: 'The caller is not allowed to do this.',
  404: 'The resource does not exist, or the caller may not see it.',
  405: 'The operation is not allowed on this resource.',
  409: 'The resource already exists, or the change conflicts with another resource.',
  412: 'The request cannot be carried out in the current state of the resource.',
  415: 'The body is not in a media type the operation accepts (send application/json).',
  422: 'The request is well-formed but cannot be processed.',
  500: 'Unexpected internal error.',
};

/** `page` and `page_size`, as every Harbor list takes them. */
export const pagingQuery: Record<string, JsonSchema> = {
  page: int('Page number, from 1', { minimum: 1, default: 1 }),
  page_size: int('Items per page', { minimum: 1, maximum: 100, default: 10 }),
};

/** `q`, `sort` and paging, as Harbor's searchable lists take them. */
export const listQuery: Record<string, JsonSchema> = {
  q: str(
    'Filter terms separated by commas: key=value (exact), key=~value (fuzzy), key=[min~max] (range), ' +
      'key={a b} (any of), key=(a b) (all of)',
  ),
  sort: str('Sort keys separated by commas; a leading "-" sorts descending, e.g. sort=-creation_time'),
  ...pagingQuery,
};

/** The headers of a page of a list. */
const pagingHeaders: Record<string, JsonSchema> = {
  'X-Total-Count': int('Number of items in the whole list'),
  Link: str('Links to the previous and next pages (rel="prev", rel="next") when there are any'),
};

/** A successful answer with a JSON body. */
export function ok(schema: JsonSchema, description: string): JsonSchema {
  return { description, ...schema };
}

/** A successful answer that is one page of a list, with the paging headers. */
export function page(items: JsonSchema, description: string): JsonSchema {
  return { description, type: 'array', items, headers: pagingHeaders };
}

/** A successful answer without a body. */
export function empty(description = 'Success'): JsonSchema {
  return { description, type: 'null' };
}

/** 201 without a body, with the Location of the new resource. */
export function createdWithLocation(description: string): JsonSchema {
  return { description, type: 'null', headers: { Location: str('Path of the new resource') } };
}

/** What a route schema says about an operation. */
export interface OperationDoc {
  /** Harbor's tag names ("project", "user", …). */
  tags: string[];
  /** Harbor's operationId, so generated clients keep their method names. */
  operationId?: string;
  summary: string;
  description?: string;
  params?: JsonSchema;
  querystring?: JsonSchema;
  headers?: JsonSchema;
  body?: JsonSchema;
  /** Media types of the body when not JSON. */
  consumes?: string[];
  /** Media types of the successful answer when not JSON. */
  produces?: string[];
  /** Successful answers by status code: ok(), page(), empty(), createdWithLocation(). */
  response: Record<number, JsonSchema>;
  /** Status codes of the error answers (each with Harbor's error body). */
  errors?: number[];
  /** Leaves the route out of the document (an alias of a documented route). */
  hide?: boolean;
}

/** The Fastify route schema of an operation, with Harbor's error body for every error status. */
export function operation(doc: OperationDoc): FastifySchema {
  const { response, errors = [], ...rest } = doc;
  const schema: Record<string, unknown> = { ...rest, response: { ...response } };
  for (const status of errors) {
    (schema.response as Record<number, JsonSchema>)[status] = { description: errorDescriptions[status] ?? 'Error', ...ref('Errors') };
  }
  for (const key of Object.keys(schema)) if (schema[key] === undefined) delete schema[key];
  return schema as FastifySchema;
}
