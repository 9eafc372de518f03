import { z } from 'zod';
import { searchTarget } from './search-target.ts';
import { type AgentTool, type ToolContext, ToolError, type ToolResult } from './tool.ts';
import { failureFromError } from './tool-failure.ts';
import { resolveToolPath } from './working-directory.ts';

export const GLOB_MAX_RESULTS = 100;
const GLOB_TIMEOUT_MS = 60_000;

const inputSchema = z.object({
  pattern: z
    .string()
    .min(1)
    .describe(
      'Glob pattern for the file paths to find, relative to path: `**/*.ts` (every .ts file at ' +
        'any depth), `src/**/*.{js,jsx}`, `test_*.py`, `src/*.ts` (only directly in src). A ' +
        'pattern without a slash matches file names at any depth, as in .gitignore. An ' +
        'absolute pattern such as `/etc/**/*.conf` searches from its fixed leading directories.',
    ),
  path: z
    .string()
    .optional()
    .describe(
      'The directory to search (absolute, or relative to the working directory). Default: the ' +
        'working directory.',
    ),
});

export type GlobInput = z.infer<typeof inputSchema>;

/**
 * `glob`: files whose paths match a pattern, newest first. Runs `rg --files` inside the sandbox,
 * sorted by modification time.
 */
export const globTool: AgentTool<GlobInput> = {
  name: 'glob',
  description:
    'Find files by name pattern in the sandbox (e.g. `**/*.ts`, `src/**/test_*.py`). Returns ' +
    `absolute paths, most recently modified first, at most ${GLOB_MAX_RESULTS}; the result says ` +
    'when more matched. Lists files only, not directories. Includes hidden files; skips `.git` ' +
    'and, inside a git repository, files ignored by .gitignore. Use grep to search contents.',
  inputSchema,
  async execute(input, ctx) {
    try {
      return await glob(input, ctx);
    } catch (err) {
      return failureFromError(err, { pattern: input.pattern });
    }
  },
};

async function glob(input: GlobInput, ctx: ToolContext): Promise<ToolResult> {
  const { base, pattern } = splitPattern(input.pattern, input.path ?? '.');
  const dir = resolveToolPath(ctx, base);
  const target = await searchTarget(ctx, dir);
  if (!target.isDirectory) {
    throw new ToolError(`${dir} is not a directory; give the directory to search as path.`, {
      path: dir,
    });
  }
  const r = await ctx.sandbox.exec(
    [
      'rg',
      '--no-config',
      '--files',
      '--hidden',
      '--glob=!.git',
      `--glob=${pattern}`,
      '--sortr=modified',
      '--',
      target.arg,
    ],
    { cwd: target.cwd, timeoutMs: GLOB_TIMEOUT_MS, signal: ctx.signal, maxOutputBytes: 8 << 20 },
  );
  if (r.timedOut) {
    throw new ToolError(`The search timed out after ${GLOB_TIMEOUT_MS / 1000} s; narrow it.`, {
      path: dir,
      timedOut: true,
    });
  }
  if (ctx.signal.aborted) throw new ToolError('The search was cancelled.', { cancelled: true });
  if (r.exitCode === 2 && !r.stdout) {
    throw new ToolError(`glob failed: ${r.stderr.trim() || 'ripgrep exited with status 2'}`, {
      path: dir,
    });
  }
  const files = r.stdout.split('\n').filter(Boolean).map(target.absolute);
  if (files.length === 0) {
    return {
      output: `No files match ${JSON.stringify(pattern)} in ${dir}.`,
      metadata: { path: dir, pattern, files: 0 },
    };
  }
  const shown = files.slice(0, GLOB_MAX_RESULTS);
  const total = `${files.length}${r.truncated ? '+' : ''}`;
  const note =
    shown.length < files.length
      ? `\n\n[Showing the ${shown.length} most recently modified of ${total} matching files. Use a more specific pattern or path to see others.]`
      : '';
  return {
    output: `${shown.join('\n')}${note}`,
    metadata: { path: dir, pattern, files: files.length, truncated: shown.length < files.length },
  };
}

/**
 * An absolute pattern (`/etc/**\/*.conf`) becomes a search of its fixed leading directories
 * (`/etc`) for the rest (`**\/*.conf`); a relative one is searched for in `path`.
 */
function splitPattern(pattern: string, path: string): { base: string; pattern: string } {
  if (!pattern.startsWith('/')) return { base: path, pattern };
  const parts = pattern.split('/');
  let fixed = 1;
  while (fixed < parts.length - 1 && !/[*?[\]{}!\\]/.test(parts[fixed] as string)) fixed++;
  return { base: parts.slice(0, fixed).join('/') || '/', pattern: parts.slice(fixed).join('/') };
}
