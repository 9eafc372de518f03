import { posix } from 'node:path';
import type { ToolContext } from './tool.ts';

/**
 * The directory the run is "in": where bash's last `cd` left it (kept in `ctx.state.cwd`, so it
 * survives a pause and resume of the run), else the sandbox's own working directory.
 */
export function workingDirectory(ctx: ToolContext): string {
  const cwd = ctx.state.cwd;
  return typeof cwd === 'string' && cwd.startsWith('/') ? cwd : ctx.sandbox.info().cwd;
}

/**
 * Resolves a path the model gave (absolute, or relative to the working directory) to an absolute
 * path inside the sandbox. Throws the sandbox's `InvalidPathError` for a path it refuses.
 */
export function resolveToolPath(ctx: ToolContext, path: string): string {
  const joined = path.startsWith('/') ? path : posix.join(workingDirectory(ctx), path);
  return ctx.sandbox.files.resolve(joined);
}
