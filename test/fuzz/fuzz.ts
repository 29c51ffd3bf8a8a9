/**
 * Settings and generators the fuzz tests share. A fixed seed by default, so a run is
 * reproducible; FUZZ_SEED and FUZZ_RUNS explore further (fast-check prints the seed and the
 * shrunk counterexample of a failure, to replay it with FUZZ_SEED).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AppError } from '../../src/lib/errors.js';

export const seed = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : 19_019;

/** fast-check's parameters for a property with `numRuns` cases by default (FUZZ_RUNS overrides). */
export function params(numRuns: number): fc.Parameters<unknown> {
  const runs = process.env.FUZZ_RUNS !== undefined ? Number(process.env.FUZZ_RUNS) : numRuns;
  return { seed, numRuns: runs, includeErrorInReport: true };
}

/**
 * The hang check: one call of a parser that takes longer than this is a hang (catastrophic
 * regex backtracking, a loop that does not end), not a slow machine. Generous on purpose.
 */
export const hangMs = 1000;

/** Runs `fn` and fails when it took longer than `hangMs` (checked around the call). */
export function bounded<T>(what: string, fn: () => T): T {
  const start = performance.now();
  const result = fn();
  const ms = performance.now() - start;
  assert.ok(ms < hangMs, `${what} took ${Math.round(ms)} ms on one input: a hang`);
  return result;
}

/**
 * Calls `fn` under the hang check; it either returns or throws an error that `typed`
 * accepts. Returns the result or the typed error.
 */
export function returnsOrRefuses<T>(
  what: string,
  fn: () => T,
  typed: (err: unknown) => boolean,
): { ok: true; value: T } | { ok: false; error: unknown } {
  const start = performance.now();
  let outcome: { ok: true; value: T } | { ok: false; error: unknown };
  try {
    outcome = { ok: true, value: fn() };
  } catch (error) {
    if (!typed(error)) throw new Error(`${what} threw an untyped error: ${(error as Error)?.stack ?? String(error)}`);
    outcome = { ok: false, error };
  }
  const ms = performance.now() - start;
  assert.ok(ms < hangMs, `${what} took ${Math.round(ms)} ms on one input: a hang`);
  return outcome;
}

/** An AppError with one of `codes` (any code when none are given). */
export function appError(...codes: string[]) {
  return (err: unknown) => err instanceof AppError && (codes.length === 0 || codes.includes(err.code));
}

/** Names of Object.prototype's members: keys that a plain-object lookup finds without their being there. */
export const prototypeKeys = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf', '__defineGetter__'];

/**
 * Strings made to break parsers: arbitrary text, long runs of one short piece (the shape that
 * makes a backtracking regex take exponential time), text over a grammar's own characters,
 * prototype member names.
 */
export function hostileString(grammar = 'abz09:/._-+=~[]{}(),;"\\ \t%@*?!#', maxLength = 3000): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.string({ maxLength: 200 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 100 }) },
    { weight: 3, arbitrary: fc.string({ unit: fc.constantFrom(...grammar), maxLength: 200 }) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(
          fc.string({ unit: fc.constantFrom(...grammar), minLength: 1, maxLength: 6 }),
          fc.integer({ min: 1, max: maxLength }),
          fc.string({ maxLength: 3 }),
        )
        .map(([piece, n, tail]) => piece.repeat(Math.ceil(n / piece.length)).slice(0, maxLength) + tail),
    },
    { weight: 1, arbitrary: fc.constantFrom(...prototypeKeys) },
  );
}

/** JSON values with wrong types where structure is expected: the raw material of bad bodies. */
export const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.constantFrom(null, 0, -1, 1.5, 1e308, '', [], {}, true, 'constructor', JSON.parse('{"__proto__":{"x":1}}')),
);
