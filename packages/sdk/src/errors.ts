import type { ErrorCode } from './api/error-codes.ts';

/**
 * Every error RunTools raises on purpose is a `RunToolsError` with a stable, machine-readable
 * `code` (snake_case, never renamed once published) and a message that tells a person what to do.
 * The HTTP layer maps codes to status codes in one place; clients switch on `code`, not on classes,
 * because several copies of a package may be loaded at once.
 */
export class RunToolsError extends Error {
  /** Stable identifier, e.g. `sandbox_not_found`: one of `errorCodes`. */
  readonly code: ErrorCode;
  /** Structured facts about the failure (ids, paths, the failing step's output). */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(
    code: ErrorCode,
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RunToolsError';
    this.code = code;
    this.details = Object.freeze({ ...options.details });
  }

  /** True for any RunTools error, even one created by another copy of this package. */
  static isInstance(value: unknown): value is RunToolsError {
    return (
      value instanceof RunToolsError ||
      (value instanceof Error &&
        typeof (value as { code?: unknown }).code === 'string' &&
        (value as { [marker]?: unknown })[marker] === true)
    );
  }

  /** The JSON shape the API returns for an error: `{ error: { code, message, details } }`. */
  toJSON(): { code: ErrorCode; message: string; details: Record<string, unknown> } {
    return { code: this.code, message: this.message, details: { ...this.details } };
  }
}

const marker = Symbol.for('runtools.error');
Object.defineProperty(RunToolsError.prototype, marker, { value: true });
