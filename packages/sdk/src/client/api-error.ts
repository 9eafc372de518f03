import type { ErrorCode, ErrorResponse } from '../api/error-codes.ts';
import { RunToolsError } from '../errors.ts';

/**
 * A non-2xx answer from the RunTools API. `code` is the API's (`unauthorized`,
 * `deployment_not_found`, `run_state`, …), `status` the HTTP status; switch on `code`. A newer
 * server may send a code this version does not list; an answer that is not in the API's error
 * shape (a proxy's 502 page) is `invalid_response` with the status and the body's start.
 */
export class RunToolsApiError extends RunToolsError {
  /** The HTTP status code. */
  readonly status: number;

  constructor(
    status: number,
    code: ErrorCode,
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(code, message, options);
    this.name = 'RunToolsApiError';
    this.status = status;
  }

  /** The error of a non-2xx `response` (its body is read; a body not in the API's shape still gives an error). */
  static async fromResponse(response: Response): Promise<RunToolsApiError> {
    const text = await response.text().catch(() => '');
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const error = errorBody(json);
    if (error !== undefined && error.code.length > 0) {
      const { code, message, details } = error;
      // As sent: the server's code, known to this version or not.
      return new RunToolsApiError(response.status, code as ErrorCode, message, { details });
    }
    return new RunToolsApiError(
      response.status,
      'invalid_response',
      `The API answered ${response.status} ${response.statusText}`.trim() +
        (text ? `: ${text.slice(0, 200)}` : '.'),
      { details: { status: response.status } },
    );
  }
}

/**
 * The `error` of a body in the API's error shape (`errorResponseSchema`), or undefined. Checked by
 * hand rather than with the schema so that the client, and a browser bundle of it, carries no
 * zod; api-error.test.ts checks that both accept the same bodies.
 */
export function errorBody(json: unknown): ErrorResponse['error'] | undefined {
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(json) || !isObject(json.error)) return undefined;
  const { code, message, details } = json.error;
  if (typeof code !== 'string' || typeof message !== 'string') return undefined;
  if (details !== undefined && !isObject(details)) return undefined;
  return details === undefined ? { code, message } : { code, message, details };
}

/** A request that got no HTTP answer (refused, reset, DNS): `network_error`. */
export function networkError(cause: unknown, what: string): RunToolsError {
  const reason = cause instanceof Error ? (cause.cause ?? cause) : cause;
  const message = reason instanceof Error ? reason.message : String(reason);
  return new RunToolsError('network_error', `${what} failed: ${message}`, { cause });
}
