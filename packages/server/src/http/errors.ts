import type { z } from '@hono/zod-openapi';
import { RunToolsError } from '@runtools/sdk';
import {
  type ErrorCode,
  type ErrorResponse,
  errorCodes,
  errorResponseSchema,
  isErrorCode,
} from '@runtools/sdk/api';
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Logger } from './logger.ts';

/** The HTTP status of an error code: the contract's map (`errorCodes` in `@runtools/sdk/api`). */
export function statusForCode(code: ErrorCode): ContentfulStatusCode {
  return errorCodes[code];
}

/** Codes for the errors Hono and its validators raise as `HTTPException`s. */
const codeByStatus: Readonly<Record<number, ErrorCode>> = {
  400: 'invalid_input',
  401: 'unauthorized',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
};

export type ErrorBody = ErrorResponse;

export { errorResponseSchema };

export function errorBody(
  code: ErrorCode,
  message: string,
  details?: Record<string, unknown>,
): ErrorBody {
  return { error: details === undefined ? { code, message } : { code, message, details } };
}

/** Answers with the error shape; the status comes from `statusForCode`. */
export function errorResponse(
  c: Context,
  code: ErrorCode,
  message: string,
  details?: Record<string, unknown>,
): Response {
  return c.json(errorBody(code, message, details), statusForCode(code));
}

/**
 * Turns anything thrown by a handler into a response. RunTools errors keep their code and
 * details, except the unexpected ones (status 500), whose message may name files or hosts; Hono's
 * exceptions (malformed JSON, unsupported media type) get a code from their status; anything else
 * is logged and answered with a generic 500 that reveals nothing.
 */
export function handleError(error: unknown, c: Context, logger: Logger): Response {
  if (RunToolsError.isInstance(error)) {
    // A code from a newer package than this server's map knows is unexpected too.
    const status = isErrorCode(error.code) ? statusForCode(error.code) : 500;
    if (status === 500) return internalError(error, c, logger);
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
function friendlyMessage(code: ErrorCode, message: string): string {
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
