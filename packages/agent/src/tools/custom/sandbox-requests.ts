import { posix } from 'node:path';
import { RunToolsError } from '@runtools/sdk/errors';
import type { ToolContext } from '../tool.ts';
import { resolveToolPath, workingDirectory } from '../working-directory.ts';
import type { SandboxOperation } from './runner-protocol.ts';

/** A command of `ctx.sandbox.exec` without a timeout of its own is killed after this long. */
const defaultExecTimeoutMs = 120_000;
/** Output kept per stream of one `ctx.sandbox.exec`. */
const maxExecOutputBytes = 10 * 1024 * 1024;
/** The largest file `ctx.sandbox.files.read` returns. */
const maxReadBytes = 16 * 1024 * 1024;

/**
 * Performs a custom tool's sandbox operation in the run's sandbox, the way the core tools act
 * there: relative paths and the default working directory are the run's (where `bash` last
 * `cd`-ed), through the same engine API. `signal` aborts when the call ends (its command is
 * killed). Throws `RunToolsError`s (`invalid_input`, the sandbox's own codes) the tool sees as
 * errors with that code.
 */
export async function performSandboxOperation(
  operation: SandboxOperation,
  ctx: Pick<ToolContext, 'sandbox' | 'state'>,
  signal: AbortSignal,
): Promise<unknown> {
  const toolCtx = { ...ctx, signal };
  switch (operation?.op) {
    case 'exec': {
      const { command, cwd, env, timeoutMs } = operation;
      if (
        !(typeof command === 'string' || (Array.isArray(command) && command.every(isString))) ||
        (cwd !== undefined && !isString(cwd)) ||
        (env !== undefined && !isStringRecord(env)) ||
        (timeoutMs !== undefined && !(Number.isInteger(timeoutMs) && timeoutMs > 0))
      ) {
        throw invalid(
          'exec(command, { cwd, env, timeoutMs }) takes a command string or argv array, a cwd string, an env of strings and a positive integer timeoutMs.',
        );
      }
      const dir = workingDirectory(toolCtx);
      const r = await ctx.sandbox.exec(command, {
        cwd: cwd === undefined ? dir : posix.resolve(dir, cwd),
        ...(env ? { env } : {}),
        timeoutMs: timeoutMs ?? defaultExecTimeoutMs,
        signal,
        maxOutputBytes: maxExecOutputBytes,
      });
      return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr, timedOut: r.timedOut };
    }
    case 'read': {
      const path = resolveToolPath(toolCtx, requirePath(operation.path));
      const info = await ctx.sandbox.files.stat(path);
      if (info.type === 'file' && info.size > maxReadBytes) {
        throw invalid(
          `${path} has ${info.size} bytes; files.read returns at most ${maxReadBytes}.`,
        );
      }
      return await ctx.sandbox.files.readText(path);
    }
    case 'write': {
      if (!isString(operation.text)) throw invalid('files.write(path, text) takes text.');
      await ctx.sandbox.files.write(
        resolveToolPath(toolCtx, requirePath(operation.path)),
        operation.text,
      );
      return null;
    }
    case 'list': {
      const entries = await ctx.sandbox.files.list(
        resolveToolPath(toolCtx, requirePath(operation.path)),
      );
      return entries.map((e) => ({ name: e.name, path: e.path, type: e.type, size: e.size }));
    }
    default:
      throw invalid(
        `Unknown sandbox operation ${JSON.stringify((operation as { op?: unknown })?.op)}.`,
      );
  }
}

function requirePath(path: unknown): string {
  if (!isString(path) || path === '') throw invalid('A path must be a non-empty string.');
  return path;
}

function invalid(message: string): RunToolsError {
  return new RunToolsError('invalid_input', message);
}

function isString(value: unknown): value is string {
  return typeof value === 'string';
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.values(value).every(isString)
  );
}
