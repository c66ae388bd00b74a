import { QueryFailedError } from 'typeorm';

function violation(error: unknown, sqlState: string, constraint?: string): boolean {
  if (!(error instanceof QueryFailedError)) return false;
  const driverError = error.driverError as { code?: string; constraint?: string };
  return driverError.code === sqlState && (!constraint || driverError.constraint === constraint);
}

/** True when `error` is Postgres' unique violation (23505), optionally of one named constraint. */
export const isUniqueViolation = (error: unknown, constraint?: string) =>
  violation(error, '23505', constraint);

/** True when `error` is Postgres' foreign key violation (23503), optionally of one constraint. */
export const isForeignKeyViolation = (error: unknown, constraint?: string) =>
  violation(error, '23503', constraint);
