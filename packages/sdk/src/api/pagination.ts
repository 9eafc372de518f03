import { z } from 'zod';
import { textSchema } from './common.ts';

/** The most items one page holds; the default is 20. */
export const maxPageSize = 100;

/** `?limit=&cursor=` of every list route. */
export const pageQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(maxPageSize).optional().meta({ example: 20 }),
  cursor: textSchema(200).optional(),
});

export type PageParams = z.infer<typeof pageQuerySchema>;

/** `{ data, nextCursor }`: pass `nextCursor` back as `cursor`; null on the last page. */
export function pageSchema<T extends z.ZodType>(item: T) {
  return z.object({ data: z.array(item), nextCursor: z.string().nullable() });
}

/** A page of a list, newest first. */
export interface Page<T> {
  data: T[];
  /** Pass it back as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}
