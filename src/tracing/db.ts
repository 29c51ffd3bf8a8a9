import { context, SpanKind, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';
import { ATTR_DB_COLLECTION_NAME, ATTR_DB_OPERATION_NAME, ATTR_DB_SYSTEM_NAME, ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import type { CompiledQuery, DatabaseConnection, Dialect, Driver, OperationNode } from 'kysely';

const operations: Record<string, string> = {
  SelectQueryNode: 'SELECT',
  InsertQueryNode: 'INSERT',
  UpdateQueryNode: 'UPDATE',
  DeleteQueryNode: 'DELETE',
  MergeQueryNode: 'MERGE',
};

type Node = OperationNode & Record<string, unknown>;

/** The table a query builder's node names first (the FROM, INTO or UPDATE target). */
function tableOf(node: Node | undefined): string | undefined {
  if (!node) return undefined;
  switch (node.kind) {
    case 'TableNode':
      return ((node.table as Node | undefined)?.identifier as { name?: string } | undefined)?.name;
    case 'AliasNode':
      return tableOf(node.node as Node);
    case 'FromNode':
      return tableOf((node.froms as Node[] | undefined)?.[0]);
    default:
      return undefined;
  }
}

/** What a span says of a query: its kind and table, never its text or parameter values. */
function describe(query: CompiledQuery): { operation: string; table: string | undefined } {
  const node = query.query as Node;
  const operation = operations[node.kind];
  if (operation) {
    const target =
      node.kind === 'SelectQueryNode' || node.kind === 'DeleteQueryNode'
        ? node.from
        : node.kind === 'InsertQueryNode'
          ? node.into
          : node.table;
    return { operation, table: tableOf(target as Node | undefined) };
  }
  // Raw SQL (sql`…`, BEGIN, COMMIT): its first keyword.
  return { operation: /^\s*([A-Za-z]+)/.exec(query.sql)?.[1]?.toUpperCase() ?? 'SQL', table: undefined };
}

const instrumented = new WeakSet<DatabaseConnection>();

function instrument(connection: DatabaseConnection, tracer: Tracer, system: string): DatabaseConnection {
  if (instrumented.has(connection)) return connection;
  instrumented.add(connection);
  const execute = connection.executeQuery.bind(connection);
  const stream = connection.streamQuery.bind(connection);
  const start = (query: CompiledQuery) => {
    const { operation, table } = describe(query);
    return tracer.startSpan(
      table ? `${operation} ${table}` : operation,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          [ATTR_DB_SYSTEM_NAME]: system,
          'db.system': system,
          [ATTR_DB_OPERATION_NAME]: operation,
          ...(table ? { [ATTR_DB_COLLECTION_NAME]: table } : {}),
        },
      },
      context.active(),
    );
  };
  const failed = (span: ReturnType<typeof start>, err: unknown) => {
    span.recordException(err as Error);
    span.setAttribute(ATTR_ERROR_TYPE, (err as { code?: string }).code ?? (err as Error).name ?? 'Error');
    span.setStatus({ code: SpanStatusCode.ERROR });
  };
  connection.executeQuery = async <R>(query: CompiledQuery) => {
    const span = start(query);
    try {
      return await context.with(trace.setSpan(context.active(), span), () => execute<R>(query));
    } catch (err) {
      failed(span, err);
      throw err;
    } finally {
      span.end();
    }
  };
  connection.streamQuery = async function* (query, chunkSize) {
    const span = start(query);
    try {
      yield* stream(query, chunkSize);
    } catch (err) {
      failed(span, err);
      throw err;
    } finally {
      span.end();
    }
  };
  return connection;
}

/**
 * The dialect with a span per query (a child of the active span: the request's or the job's),
 * saying db.system and the statement's kind and table. Transactions' BEGIN and COMMIT are
 * queries too.
 */
export function tracedDialect(dialect: Dialect, tracer: Tracer, system: 'sqlite' | 'postgresql'): Dialect {
  return {
    createAdapter: () => dialect.createAdapter(),
    createQueryCompiler: () => dialect.createQueryCompiler(),
    createIntrospector: (db) => dialect.createIntrospector(db),
    createDriver(): Driver {
      const driver = dialect.createDriver();
      const acquire = driver.acquireConnection.bind(driver);
      driver.acquireConnection = async () => instrument(await acquire(), tracer, system);
      return driver;
    },
  };
}
