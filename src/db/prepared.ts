import type { CompiledQuery, Compilable } from 'kysely';
import type { Db } from './index.js';

/** Stand-ins for the arguments while the query is compiled: no real value looks like them. */
const placeholder = (i: number) => `\u0000berth-argument-${i}\u0000`;

/**
 * A query of the data path built and compiled once, then run with new argument values.
 * Building a Kysely query and compiling it to SQL costs more than running it on SQLite for
 * the small lookups every manifest or blob GET makes. `build` receives stand-ins for the
 * arguments and must put each into the query as a value, unchanged (no branching on them,
 * no arithmetic): the compiled SQL's parameters that are stand-ins are replaced by the
 * arguments at each run, every other parameter stays as compiled.
 */
export function preparedQuery<A extends unknown[], O>(
  db: Db,
  arity: A['length'],
  build: (...args: A) => Compilable<O>,
): (...args: A) => Promise<O[]> {
  let compiled: CompiledQuery<O> | undefined;
  let slots: Array<{ arg: number } | { value: unknown }> = [];
  return async (...args: A) => {
    if (!compiled) {
      const stand = Array.from({ length: arity }, (_, i) => placeholder(i));
      const query = build(...(stand as A)).compile();
      const used = new Set<number>();
      slots = query.parameters.map((p) => {
        const arg = typeof p === 'string' ? stand.indexOf(p) : -1;
        if (arg >= 0) used.add(arg);
        return arg >= 0 ? { arg } : { value: p };
      });
      if (used.size !== arity) throw new Error(`preparedQuery: ${arity - used.size} of ${arity} arguments are not values of the query`);
      compiled = query;
    }
    const parameters = slots.map((s) => ('arg' in s ? args[s.arg] : s.value));
    const result = await db.executeQuery<O>({ ...compiled, parameters });
    return result.rows;
  };
}
