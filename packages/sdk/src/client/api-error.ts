import { z } from 'zod';
import { RunToolsError } from '../errors.ts';

/** The one error shape of the API: `{ error: { code, message, details? } }`. */
const errorBodySchema = z.object({
  error: z.object({
    code: z.string().min(1),
    message: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
});

/**
 * A non-2xx answer from the RunTools API. `code` is the API's (`unauthorized`,
 * `deployment_not_found`, `run_state`, …), `status` the HTTP status; switch on `code`.
 */
export class RunToolsApiError extends RunToolsError {
  /** The HTTP status code. */
  readonly status: number;

  constructor(
    status: number,
    code: string,
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
    const parsed = errorBodySchema.safeParse(json);
    if (parsed.success) {
      const { code, message, details } = parsed.data.error;
      return new RunToolsApiError(response.status, code, message, { details });
    }
    return new RunToolsApiError(
      response.status,
      `http_${response.status}`,
      `The API answered ${response.status} ${response.statusText}`.trim() +
        (text ? `: ${text.slice(0, 200)}` : '.'),
    );
  }
}

/** A request that got no HTTP answer (refused, reset, DNS): `network_error`. */
export function networkError(cause: unknown, what: string): RunToolsError {
  const reason = cause instanceof Error ? (cause.cause ?? cause) : cause;
  const message = reason instanceof Error ? reason.message : String(reason);
  return new RunToolsError('network_error', `${what} failed: ${message}`, { cause });
}
