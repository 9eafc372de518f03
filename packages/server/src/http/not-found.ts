import type { Context } from 'hono';
import { errorResponse } from './errors.ts';

interface RouteEntry {
  method: string;
  path: string;
}

/**
 * The answer for a request no route took: 405 with `Allow` when the path exists under other
 * methods, else 404. Both in the error shape. `routes` is read at request time, so routes added
 * after this handler was made count too.
 */
export function notFoundHandler(routes: () => readonly RouteEntry[]) {
  return (c: Context): Response => {
    const allowed = new Set<string>();
    for (const route of routes()) {
      if (route.method === 'ALL') continue;
      if (pathPattern(route.path).test(c.req.path)) allowed.add(route.method);
    }
    if (allowed.size > 0) {
      const allow = [...allowed].sort().join(', ');
      c.header('Allow', allow);
      return errorResponse(
        c,
        'method_not_allowed',
        `${c.req.method} is not allowed on ${c.req.path}; use ${allow}.`,
        { allow: [...allowed].sort() },
      );
    }
    return errorResponse(c, 'not_found', `No route for ${c.req.method} ${c.req.path}.`);
  };
}

const patterns = new Map<string, RegExp>();

/** `/v1/runs/:id` → /^\/v1\/runs\/[^/]+$/ */
function pathPattern(path: string): RegExp {
  let pattern = patterns.get(path);
  if (pattern === undefined) {
    const source = path
      .split('/')
      .map((part) => (part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('/');
    pattern = new RegExp(`^${source}/?$`);
    patterns.set(path, pattern);
  }
  return pattern;
}
