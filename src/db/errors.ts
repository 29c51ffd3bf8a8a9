/**
 * Whether a database error is a unique (or primary key) constraint violation, on either
 * dialect: PostgreSQL's SQLSTATE 23505, better-sqlite3's extended result codes.
 */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
