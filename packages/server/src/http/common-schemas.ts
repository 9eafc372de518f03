import { z } from '@hono/zod-openapi';

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

/** `{id}` in a path. */
export const idParamSchema = z.object({
  id: idSchema.openapi({ param: { name: 'id', in: 'path' } }),
});
