import { createRoute, OpenAPIHono, type RouteConfig, type z } from '@hono/zod-openapi';
import type { ApiScope } from '@runtools/sdk/api';
import { requireScope } from './access.ts';
import type { AppEnv } from './app-env.ts';
import { errorResponseSchema, validationError } from './errors.ts';

/**
 * A router whose routes are described by zod: the same schemas validate requests and generate
 * the OpenAPI document. A body, query or path that fails its schema is a 400 `invalid_input`
 * naming each failing field.
 */
export function newRouter(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) throw validationError(result.error, targetName(result.target));
    },
  });
}

function targetName(target: string): string {
  if (target === 'json') return 'body';
  if (target === 'param') return 'path';
  return target;
}

/** A required JSON request body (a body of another media type is a 415). */
export function jsonBody<T extends z.ZodType>(schema: T) {
  return { required: true, content: { 'application/json': { schema } } } as const;
}

export function jsonResponse<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { 'application/json': { schema } } } as const;
}

const errorDescriptions = {
  400: 'Invalid body, query or path (`invalid_input`, `invalid_json`).',
  401: 'Missing, unknown or revoked API key (`unauthorized`).',
  403: 'The API key lacks the scope this route needs (`insufficient_scope`).',
  404: 'The resource does not exist (`*_not_found`).',
  409: 'Conflicts with the current state (`*_taken`, `*_in_use`, `*_state`).',
  413: 'Body larger than the limit (`payload_too_large`).',
  415: 'Body is not JSON (`unsupported_media_type`).',
  426: 'A WebSocket endpoint called without the upgrade (`upgrade_required`).',
  429: 'Rate limit exceeded (`rate_limited`); see Retry-After.',
} as const;

/** The error responses a route may give, all of the shape `{ error: { code, message } }`. */
export function errorResponses(...statuses: Array<keyof typeof errorDescriptions>) {
  const all = [...new Set([401, 429, ...statuses] as const)];
  return Object.fromEntries(
    all.map((status) => [status, jsonResponse(errorResponseSchema, errorDescriptions[status])]),
  ) as Record<(typeof all)[number], ReturnType<typeof jsonResponse<typeof errorResponseSchema>>>;
}

/**
 * `createRoute` for a route that needs one of `scopes`: the check runs before the request is
 * validated (a 403 `insufficient_scope` otherwise), and the OpenAPI document names the scopes as
 * the operation's security requirement (`Bearer: [scope]`, one alternative per scope).
 */
export function scopedRoute<R extends RouteConfig>(
  scopes: ApiScope | readonly ApiScope[],
  config: R,
) {
  const list: ApiScope[] = typeof scopes === 'string' ? [scopes] : [...scopes];
  return createRoute({
    ...config,
    security: list.map((scope) => ({ Bearer: [scope] })),
    middleware: requireScope(...list),
    responses: {
      ...config.responses,
      403: jsonResponse(errorResponseSchema, errorDescriptions[403]),
    },
  });
}
