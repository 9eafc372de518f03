/** Answers a store's page in the contract's shape: `{ data, nextCursor }`. */
export function toPageResponse<T, U>(
  page: { items: T[]; nextCursor: string | null },
  map: (item: T) => U,
): { data: U[]; nextCursor: string | null } {
  return { data: page.items.map(map), nextCursor: page.nextCursor };
}
