import { RunToolsError } from '@runtools/sdk/errors';
import { ToolError, type ToolResult } from './tool.ts';

/** An error result: the model reads `message` and can correct itself. */
export function toolFailure(message: string, metadata: Record<string, unknown> = {}): ToolResult {
  return { output: message, isError: true, metadata };
}

/**
 * Turns an expected failure into an error result: a `ToolError` a tool raised on purpose, or a
 * `RunToolsError` from the sandbox (missing file, invalid path, sandbox paused). Anything else is
 * a bug and is re-thrown, so the loop reports it as such.
 */
export function failureFromError(err: unknown, metadata: Record<string, unknown> = {}): ToolResult {
  if (err instanceof ToolError) return toolFailure(err.message, { ...metadata, ...err.metadata });
  if (RunToolsError.isInstance(err)) {
    return toolFailure(err.message, { ...metadata, code: err.code });
  }
  throw err;
}
