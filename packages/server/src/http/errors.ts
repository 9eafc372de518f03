import { z } from '@hono/zod-openapi';
import { RunToolsError } from '@runtools/sdk';
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Logger } from './logger.ts';

/**
 * The one place that maps error codes to HTTP status. Codes not listed fall back by suffix
 * (`*_not_found` → 404, `*_state`, `*_taken`, `*_in_use` → 409) and then to 500.
 */
const statusByCode: Readonly<Record<string, ContentfulStatusCode>> = {
  invalid_json: 400,
  invalid_input: 400,
  invalid_options: 400,
  invalid_agent: 400,
  invalid_path: 400,
  exec_failed: 400,
  is_a_directory: 400,
  not_a_directory: 400,
  name_too_long: 400,
  symlink_loop: 400,
  template_invalid: 400,
  template_runtime_unavailable: 400,
  unauthorized: 401,
  forbidden: 403,
  permission_denied: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  run_state: 409,
  sandbox_state: 409,
  run_claim_lost: 409,
  template_exists: 409,
  template_build_failed: 409,
  file_exists: 409,
  // CRIU could not dump the sandbox (its message says which process and why); it keeps running.
  checkpoint_failed: 409,
  // The sandbox was paused or stopped while the request used it (or its rt-init died).
  supervisor_unavailable: 409,
  directory_not_empty: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  upgrade_required: 426,
  rate_limited: 429,
  internal_error: 500,
  port_unreachable: 502,
  server_shutting_down: 503,
  sandboxes_unavailable: 503,
  // CRIU could not restore a paused sandbox; it stays paused with its images: retry, or delete it.
  restore_failed: 503,
  // A package mirror or registry a template build needs did not answer: try again later.
  template_mirror_unreachable: 503,
  template_registry_unreachable: 503,
  template_base_unreachable: 503,
};

export function statusForCode(code: string): ContentfulStatusCode {
  const known = statusByCode[code];
  if (known !== undefined) return known;
  if (code.endsWith('_not_found')) return 404;
  if (code.endsWith('_state') || code.endsWith('_taken') || code.endsWith('_in_use')) return 409;
  return 500;
}

/** Codes for the errors Hono and its validators raise as `HTTPException`s. */
const codeByStatus: Readonly<Record<number, string>> = {
  400: 'invalid_input',
  401: 'unauthorized',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
};

/** The body of every error response. */
export const errorResponseSchema = z
  .object({
    error: z.object({
      code: z.string().meta({ example: 'deployment_not_found' }),
      message: z.string(),
      details: z.record(z.string(), z.unknown()).optional(),
    }),
  })
  .openapi('Error');

export type ErrorBody = z.infer<typeof errorResponseSchema>;

export function errorBody(
  code: string,
  message: string,
  details?: Record<string, unknown>,
): ErrorBody {
  return { error: details === undefined ? { code, message } : { code, message, details } };
}

/** Answers with the error shape; the status comes from `statusForCode`. */
export function errorResponse(
  c: Context,
  code: string,
  message: string,
  details?: Record<string, unknown>,
): Response {
  return c.json(errorBody(code, message, details), statusForCode(code));
}

/**
 * Turns anything thrown by a handler into a response. RunTools errors keep their code and
 * details (unless their code maps to 5xx); Hono's exceptions (malformed JSON, unsupported media type) get a code from their
 * status; anything else is logged and answered with a generic 500 that reveals nothing.
 */
export function handleError(error: unknown, c: Context, logger: Logger): Response {
  if (RunToolsError.isInstance(error)) {
    const status = statusForCode(error.code);
    // A code the API does not map is a failure it did not plan for: its message may name files
    // or hosts, so it is logged and answered like any other unexpected error.
    if (status >= 500) return internalError(error, c, logger);
    const details = Object.keys(error.details).length > 0 ? { ...error.details } : undefined;
    const response = c.json(errorBody(error.code, error.message, details), status);
    const retryAfter = error.details.retryAfterSeconds;
    if (typeof retryAfter === 'number') response.headers.set('retry-after', String(retryAfter));
    return response;
  }
  if (error instanceof HTTPException && error.status < 500) {
    const code =
      error.message === 'Malformed JSON in request body'
        ? 'invalid_json'
        : (codeByStatus[error.status] ?? 'invalid_input');
    return c.json(errorBody(code, friendlyMessage(code, error.message)), statusForCode(code));
  }
  return internalError(error, c, logger);
}

/** Hono's terse messages, said so that a user knows what to change. */
function friendlyMessage(code: string, message: string): string {
  if (code === 'invalid_json')
    return 'The body is not valid JSON. Send a JSON object, e.g. {"input": "…"}.';
  if (code === 'unsupported_media_type')
    return 'The body must be JSON: send it with the header content-type: application/json.';
  return message || code;
}

function internalError(error: unknown, c: Context, logger: Logger): Response {
  logger.error({ err: error, method: c.req.method, path: c.req.path }, 'request failed');
  return c.json(errorBody('internal_error', 'An unexpected error occurred.'), 500);
}

/** A field-by-field 400 for a body, query or path that failed its zod schema. */
export function validationError(error: z.ZodError, target: string): RunToolsError {
  const issues = error.issues.map((issue) => ({
    field: issue.path.map(String).join('.') || `(${target})`,
    message: issue.message,
  }));
  const summary = issues
    .slice(0, 5)
    .map((i) => `${i.field}: ${i.message}`)
    .join('; ');
  return new RunToolsError('invalid_input', `Invalid ${target}: ${summary}`, {
    details: { issues },
  });
}
