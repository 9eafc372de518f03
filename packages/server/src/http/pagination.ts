import { z } from '@hono/zod-openapi';
import { maxPageSize } from '../store/pagination.ts';
import { textSchema } from './common-schemas.ts';

/** `?limit=&cursor=` of every list route. */
export const pageQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(maxPageSize).optional().meta({ example: 20 }),
  cursor: textSchema(200).optional(),
});

/** `{ data, nextCursor }`: pass `nextCursor` back as `cursor`; null on the last page. */
export function pageResponseSchema<T extends z.ZodType>(item: T) {
  return z.object({ data: z.array(item), nextCursor: z.string().nullable() });
}

export function toPageResponse<T, U>(
  page: { items: T[]; nextCursor: string | null },
  map: (item: T) => U,
): { data: U[]; nextCursor: string | null } {
  return { data: page.items.map(map), nextCursor: page.nextCursor };
}
