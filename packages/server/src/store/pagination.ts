import { maxPageSize } from '@runtools/sdk/api';

/** One page of a list, newest first. Pass `nextCursor` back as `cursor` for the next page. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface PageRequest {
  /** 1..100, default 20. */
  limit?: number;
  /** The `nextCursor` of the previous page. */
  cursor?: string;
}

export const defaultPageSize = 20;
export { maxPageSize };

export function pageLimit(request: PageRequest): number {
  const limit = Math.trunc(request.limit ?? defaultPageSize);
  return Math.min(Math.max(limit, 1), maxPageSize);
}

/**
 * Builds a page from rows fetched with `limit + 1` (the extra row only says whether there is a
 * next page). Rows are ordered by id descending and ids sort by creation time, so the cursor is
 * the last returned id.
 */
export function toPage<R extends { id: string }, T>(
  rows: R[],
  limit: number,
  map: (row: R) => T,
): Page<T> {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return {
    items: items.map(map),
    nextCursor: rows.length > limit && last !== undefined ? last.id : null,
  };
}
