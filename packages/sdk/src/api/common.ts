import { z } from 'zod';

/**
 * A non-empty string of at most `max` characters without NUL, which PostgreSQL's text columns
 * refuse (a NUL that reached the database would be a 500, not the 400 it deserves).
 */
export function textSchema(max: number) {
  return z
    .string()
    .min(1)
    .max(max)
    .refine((text) => !text.includes('\0'), 'must not contain NUL characters');
}

/** An id such as `rtm_…` or `dep_…`, in a path, query or body. */
export const idSchema = textSchema(100);

/** A string of at most `max` characters without NUL; may be empty. */
export function plainTextSchema(max: number) {
  return z
    .string()
    .max(max)
    .refine((text) => !text.includes('\0'), 'must not contain NUL characters');
}

/** Environment variables: shell variable names to values. */
export const envSchema = z.record(
  z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,255}$/, 'a shell variable name'),
  plainTextSchema(128 * 1024),
);

/** An ISO 8601 time, e.g. `2026-12-03T06:00:00.000Z`. */
export const timestampSchema = z.string().meta({ example: '2026-12-03T06:00:00.000Z' });

/** `{ code, message }` of a failed run or build. */
export const failureSchema = z.object({ code: z.string(), message: z.string() });
