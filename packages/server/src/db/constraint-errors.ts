/**
 * True when a driver error is a unique-constraint violation: PostgreSQL's SQLSTATE 23505 or
 * SQLite's SQLITE_CONSTRAINT_UNIQUE / SQLITE_CONSTRAINT_PRIMARYKEY (extended codes 2067 and 1555).
 */
export function isUniqueViolation(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as { code?: unknown; errcode?: unknown };
  return e.code === '23505' || e.errcode === 2067 || e.errcode === 1555;
}

/**
 * True when a driver error is a foreign-key violation: PostgreSQL's SQLSTATE 23503 or SQLite's
 * SQLITE_CONSTRAINT_FOREIGNKEY (extended code 787).
 */
export function isForeignKeyViolation(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as { code?: unknown; errcode?: unknown };
  return e.code === '23503' || e.errcode === 787;
}
