/**
 * Fuzzing of Harbor's list parameters: the `q=` language (src/lib/query.ts), `sort=` and the
 * SQL they become (src/db/query.ts, compiled for SQLite and PostgreSQL without a database),
 * and paging (src/lib/paging.ts). Every input is a list of terms or a 400 BAD_REQUEST.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  DummyDriver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
} from 'kysely';
import { applyQuery, applySort, type Field } from '../../src/db/query.js';
import { pagingLink, parsePaging } from '../../src/lib/paging.js';
import { parseQuery, type QueryTerm } from '../../src/lib/query.js';
import { appError, hostileString, params, prototypeKeys, returnsOrRefuses } from './fuzz.js';

const qGrammar = 'abkey_.09=~[]{}(),  %25';
const badRequest = appError('BAD_REQUEST');

const fields: Record<string, Field> = {
  name: { column: 'name', type: 'string' },
  id: { column: 'id', type: 'number' },
  public: { column: 'public', type: 'boolean' },
  creation_time: { column: 'creation_time', type: 'time' },
};

const dbs = [
  new Kysely<any>({
    dialect: {
      createAdapter: () => new SqliteAdapter(),
      createDriver: () => new DummyDriver(),
      createIntrospector: (db) => new SqliteIntrospector(db),
      createQueryCompiler: () => new SqliteQueryCompiler(),
    },
  }),
  new Kysely<any>({
    dialect: {
      createAdapter: () => new PostgresAdapter(),
      createDriver: () => new DummyDriver(),
      createIntrospector: (db) => new PostgresIntrospector(db),
      createQueryCompiler: () => new PostgresQueryCompiler(),
    },
  }),
];

/** q and sort applied to a query and compiled to SQL: SQL, or a 400. */
function compile(q: unknown, sort: unknown) {
  return returnsOrRefuses(
    'q/sort to SQL',
    () =>
      dbs.map((db) => {
        const terms = parseQuery(q as string);
        const qb = applySort(applyQuery(db.selectFrom('t').selectAll(), terms, fields), sort as string, fields, {
          column: 'id',
          direction: 'desc',
        });
        return qb.compile().sql;
      }),
    badRequest,
  );
}

test('q: any text is a list of terms or a 400, the same every time, in bounded time', () => {
  fc.assert(
    fc.property(hostileString(qGrammar), (q) => {
      const first = returnsOrRefuses('parseQuery', () => parseQuery(q), badRequest);
      assert.deepEqual(
        returnsOrRefuses('parseQuery', () => parseQuery(q), badRequest),
        first,
      );
    }),
    params(2000),
  );
});

const key = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_.]{0,15}$/);
const word = fc.string({ unit: fc.constantFrom(...'abcXYZ019-_:/.'), minLength: 1, maxLength: 12 });
const term: fc.Arbitrary<QueryTerm> = fc.oneof(
  fc.record({ key, op: fc.constant('exact' as const), value: word }),
  fc.record({ key, op: fc.constant('fuzzy' as const), value: word }),
  fc.record({ key, op: fc.constant('range' as const), min: fc.option(word, { nil: null }), max: fc.option(word, { nil: null }) }),
  fc.record({ key, op: fc.constant('or' as const), values: fc.array(word, { minLength: 1, maxLength: 4 }) }),
  fc.record({ key, op: fc.constant('and' as const), values: fc.array(word, { minLength: 1, maxLength: 4 }) }),
);

/** Harbor's q syntax for terms (the formatter the portal and clients use). */
function format(terms: QueryTerm[]): string {
  return terms
    .map((t) => {
      switch (t.op) {
        case 'exact':
          return `${t.key}=${t.value}`;
        case 'fuzzy':
          return `${t.key}=~${t.value}`;
        case 'range':
          return `${t.key}=[${t.min ?? ''}~${t.max ?? ''}]`;
        case 'or':
          return `${t.key}={${t.values.join(' ')}}`;
        case 'and':
          return `${t.key}=(${t.values.join(' ')})`;
      }
    })
    .join(',');
}

test('q: formatted terms parse back to themselves (plain and URL-encoded)', () => {
  fc.assert(
    fc.property(fc.array(term, { minLength: 1, maxLength: 5 }), (generated) => {
      const terms: QueryTerm[] = JSON.parse(JSON.stringify(generated));
      // An exact value that starts with "~" would read as fuzzy: not a term format() can write.
      const writable = terms.filter(
        (t) => !(t.op === 'exact' && /^[~[{(]/.test(t.value)) && !(t.op === 'range' && (t.min?.includes('~') || t.max?.includes('~'))),
      );
      if (writable.length === 0) return;
      assert.deepEqual(parseQuery(format(writable)), writable);
      assert.deepEqual(parseQuery(encodeURIComponent(format(writable))), writable);
    }),
    params(500),
  );
});

test('q and sort become SQL or a 400 on both dialects, whatever the keys and values', () => {
  const qText = fc.oneof(
    hostileString(qGrammar, 500),
    fc.array(term, { maxLength: 4 }).map(format),
    fc
      .tuple(
        fc.constantFrom(...Object.keys(fields), ...prototypeKeys),
        fc.constantFrom('=', '=~', '=[', '={'),
        hostileString('019-T:.Ze+ ~', 60),
      )
      .map(([k, op, v]) => `${k}${op}${v}`),
  );
  const sortText = fc.oneof(
    hostileString('-,name id public creation_time', 200),
    fc
      .array(fc.tuple(fc.boolean(), fc.constantFrom(...Object.keys(fields), ...prototypeKeys)), { maxLength: 4 })
      .map((ks) => ks.map(([d, k]) => (d ? `-${k}` : k)).join(',')),
  );
  const repeated = <T>(arb: fc.Arbitrary<T>) =>
    fc.oneof({ weight: 4, arbitrary: arb }, { weight: 1, arbitrary: fc.array(arb, { minLength: 2, maxLength: 3 }) });
  fc.assert(
    fc.property(repeated(qText), repeated(sortText), (q, sort) => {
      compile(q, sort);
    }),
    params(2000),
  );
});

test('regression: q and sort keys that name members of Object.prototype are a 400, not a crash', () => {
  // fields[key] found Object.prototype's members ("constructor", "toString", …): the SQL
  // builder then failed on a field with no column, a 500.
  for (const k of prototypeKeys) {
    const refused = compile(`${k}=1`, undefined);
    assert.ok(!refused.ok && /unknown key/.test((refused.error as Error).message), k);
    assert.throws(
      () => dbs.map((db) => applySort(db.selectFrom('t').selectAll(), `-${k}`, fields, { column: 'id', direction: 'desc' })),
      badRequest,
      k,
    );
    assert.throws(() => applyQuery(dbs[0].selectFrom('t').selectAll(), [{ key: k, op: 'exact', value: '1' }], fields), badRequest, k);
  }
});

test('regression: q and sort given more than once: the last one counts, as in Harbor', () => {
  // The query-string parser gives a list for a repeated parameter; q.trim() and sort.split()
  // then threw TypeError, a 500.
  assert.deepEqual(parseQuery(['name=a', 'name=b'] as unknown as string), [{ key: 'name', op: 'exact', value: 'b' }]);
  const compiled = compile(['id=1', 'name=x'], ['name', '-id']);
  assert.ok(compiled.ok);
  assert.match(compiled.value[0], /"name" = \? order by "id" desc nulls last, "id" desc$/);
});

test('paging: page and page_size are positive integers (page_size at most 100) or a 400', () => {
  const value = fc.oneof(
    hostileString('0123456789-+.eE xX_', 400),
    fc.integer().map(String),
    fc.constantFrom(undefined, '', '1e2', '0x10', ' 5 ', '9007199254740993'),
  );
  fc.assert(
    fc.property(value, value, (page, pageSize) => {
      const outcome = returnsOrRefuses('parsePaging', () => parsePaging({ page, page_size: pageSize }), badRequest);
      if (outcome.ok) {
        const p = outcome.value;
        assert.ok(Number.isSafeInteger(p.page) && p.page >= 1);
        assert.ok(Number.isSafeInteger(p.pageSize) && p.pageSize >= 1 && p.pageSize <= 100);
        assert.equal(p.offset, (p.page - 1) * p.pageSize);
        const link = pagingLink('/api/v2.0/projects', { page, page_size: pageSize, q: 'name=~x' }, p, 1000);
        if (link)
          for (const part of link.split(' , '))
            assert.match(part, /^<\/api\/v2\.0\/projects\?[^>]*page=\d+&page_size=\d+>; rel="(prev|next)"$/);
      }
    }),
    params(1000),
  );
});
