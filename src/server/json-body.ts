import type { FastifyInstance } from 'fastify';

/** How deeply `[` and `{` may nest in a JSON request body; no Harbor body comes near it. */
export const maxJsonDepth = 64;

/** True when `[` and `{` nest deeper than `limit` in JSON text (brackets inside strings do not count). One pass, no recursion. */
export function jsonNestedDeeperThan(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/**
 * The JSON body parser: Fastify's own (prototype poisoning refused), after a check that the
 * body is not nested deeper than `maxJsonDepth`. A deeply nested body parsed fine but then
 * overflowed the stack of whatever walked it (JSON.stringify in a route's error message, a
 * recursive check): a 500. It is now a 400 before any route sees it.
 */
export function registerJsonBodyParser(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    if (jsonNestedDeeperThan(body as string, maxJsonDepth)) {
      done(Object.assign(new Error(`the JSON body is nested more than ${maxJsonDepth} levels deep`), { statusCode: 400 }), undefined);
      return;
    }
    parse(req, body as string, done);
  });
}
