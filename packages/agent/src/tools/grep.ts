import { z } from 'zod';
import { searchTarget } from './search-target.ts';
import { type AgentTool, type ToolContext, ToolError, type ToolResult } from './tool.ts';
import { failureFromError } from './tool-failure.ts';
import { resolveToolPath } from './working-directory.ts';

export const GREP_DEFAULT_HEAD_LIMIT = 100;
const GREP_TIMEOUT_MS = 60_000;
/** What rg may print before the rest is dropped (the result says the count is a lower bound). */
const GREP_MAX_OUTPUT_BYTES = 8 << 20;
/** Matched lines longer than this are shown shortened (minified files). */
const GREP_MAX_COLUMNS = 500;

const inputSchema = z.object({
  pattern: z
    .string()
    .min(1)
    .describe(
      'The regular expression to search for (Rust regex syntax, like PCRE without look-around ' +
        'or backreferences), e.g. `function\\s+\\w+` or `TODO`. Escape regex characters to find ' +
        'them literally: `interface\\{\\}`, `\\.then\\(`.',
    ),
  path: z
    .string()
    .optional()
    .describe(
      'The file or directory to search (absolute, or relative to the working directory). ' +
        'Default: the working directory.',
    ),
  glob: z
    .string()
    .optional()
    .describe(
      'Only search files whose path matches this glob, e.g. `*.ts`, `**/*.{ts,tsx}`, ' +
        '`src/**/*.py`; a leading `!` excludes instead (`!*.min.js`).',
    ),
  type: z
    .string()
    .optional()
    .describe(
      'Only search files of this ripgrep type, e.g. `js`, `ts`, `py`, `rust`, `go`, `java` ' +
        '(`rg --type-list` lists them). Often faster than glob.',
    ),
  case_insensitive: z.boolean().optional().describe('Ignore case (rg -i). Default false.'),
  context: z
    .number()
    .int()
    .min(0)
    .max(50)
    .optional()
    .describe('Lines of context to show before and after each match (rg -C); content mode only.'),
  output_mode: z
    .enum(['content', 'files_with_matches', 'count'])
    .optional()
    .describe(
      '`files_with_matches` (default): the paths of matching files, most recently modified ' +
        'first. `content`: the matching lines as `path:line:text` (context lines as ' +
        '`path-line-text`). `count`: the number of matching lines per file as `path:count`.',
    ),
  head_limit: z
    .number()
    .int()
    .min(1)
    .optional()
    .describe(
      `Return at most this many lines (content) or entries (files, counts). Default ${GREP_DEFAULT_HEAD_LIMIT}.`,
    ),
  multiline: z
    .boolean()
    .optional()
    .describe(
      'Let the pattern span lines: `.` also matches a newline and `\\n` can be used ' +
        '(rg -U --multiline-dotall). Default false: patterns match within one line.',
    ),
});

export type GrepInput = z.infer<typeof inputSchema>;

/**
 * `grep`: ripgrep inside the sandbox. The arguments go to `rg` as an argv array, never through a
 * shell. Hidden files are searched, `.git` and whatever `.gitignore` excludes are not.
 */
export const grepTool: AgentTool<GrepInput> = {
  name: 'grep',
  description:
    'Search file contents in the sandbox with ripgrep (regular expressions). Use it instead of ' +
    'running grep or rg through bash. Filter with glob or type; choose output_mode `content` to ' +
    'see matching lines with line numbers, `files_with_matches` (default) for file paths, ' +
    '`count` for per-file counts. Searches hidden files, skips `.git` and files ignored by ' +
    '`.gitignore`. Results are limited by head_limit; the result says when more were found.',
  inputSchema,
  async execute(input, ctx) {
    try {
      return await grep(input, ctx);
    } catch (err) {
      return failureFromError(err, { pattern: input.pattern });
    }
  },
};

async function grep(input: GrepInput, ctx: ToolContext): Promise<ToolResult> {
  const mode = input.output_mode ?? 'files_with_matches';
  const limit = input.head_limit ?? GREP_DEFAULT_HEAD_LIMIT;
  const path = resolveToolPath(ctx, input.path ?? '.');
  const target = await searchTarget(ctx, path);
  const args = [
    'rg',
    '--no-config',
    '--color=never',
    '--hidden',
    '--glob=!.git',
    `--max-columns=${GREP_MAX_COLUMNS}`,
    '--max-columns-preview',
  ];
  if (mode === 'content') {
    args.push('--line-number', '--with-filename', '--no-heading', '--sort=path');
    if (input.context) args.push(`--context=${input.context}`);
  } else if (mode === 'count') {
    args.push('--count', '--with-filename', '--sort=path');
  } else {
    args.push('--files-with-matches', '--sortr=modified');
  }
  if (input.case_insensitive) args.push('--ignore-case');
  if (input.multiline) args.push('--multiline', '--multiline-dotall');
  if (input.glob) args.push(`--glob=${input.glob}`);
  if (input.type) args.push(`--type=${input.type}`);
  args.push('--regexp', input.pattern, '--', target.arg);

  const r = await ctx.sandbox.exec(args, {
    cwd: target.cwd,
    timeoutMs: GREP_TIMEOUT_MS,
    signal: ctx.signal,
    maxOutputBytes: GREP_MAX_OUTPUT_BYTES,
  });
  if (r.timedOut) {
    throw new ToolError(
      `The search timed out after ${GREP_TIMEOUT_MS / 1000} s; narrow it with path, glob or type.`,
      { path, timedOut: true },
    );
  }
  if (ctx.signal.aborted) throw new ToolError('The search was cancelled.', { cancelled: true });
  const errors = r.stderr.trim();
  if (r.exitCode === 2 && !r.stdout) {
    if (errors.includes('regex parse error')) {
      throw new ToolError(
        `Invalid regular expression ${JSON.stringify(input.pattern)} (escape special characters such as ( [ { . * + ? to match them literally):\n${errors.replace(/^rg: /, '')}`,
        { path, exitCode: 2, invalidPattern: true },
      );
    }
    throw new ToolError(`grep failed: ${errors || 'ripgrep exited with status 2'}`, {
      path,
      exitCode: 2,
    });
  }
  const entries = r.stdout.split('\n').map(target.absolute);
  if (entries[entries.length - 1] === '') entries.pop();
  if (entries.length === 0) {
    return {
      output: `No matches for ${JSON.stringify(input.pattern)} in ${path}.`,
      metadata: { path, mode, matches: 0, files: 0 },
    };
  }
  const shown = entries.slice(0, limit);
  const total = `${entries.length}${r.truncated ? '+' : ''}`;
  const unit = mode === 'content' ? 'lines' : 'files';
  const notes: string[] = [];
  let header = '';
  const metadata: Record<string, unknown> = {
    path,
    mode,
    truncated: shown.length < entries.length,
  };
  if (mode === 'files_with_matches') {
    header = `Found ${total} file${entries.length === 1 ? '' : 's'}\n`;
    metadata.files = entries.length;
  } else if (mode === 'count') {
    const matches = entries.reduce((sum, e) => sum + Number(e.slice(e.lastIndexOf(':') + 1)), 0);
    header = `Found ${matches} matching line${matches === 1 ? '' : 's'} in ${total} file${entries.length === 1 ? '' : 's'}\n`;
    metadata.files = entries.length;
    metadata.matches = matches;
  } else {
    metadata.lines = entries.length;
  }
  if (shown.length < entries.length || r.truncated) {
    notes.push(
      `[Showing the first ${shown.length} of ${total} ${unit}. Narrow the search (path, glob, ` +
        'type, a more specific pattern) or raise head_limit to see more.]',
    );
  }
  if (errors) notes.push(`[ripgrep also reported: ${errors.split('\n').slice(0, 5).join('; ')}]`);
  return {
    output: `${header}${shown.join('\n')}${notes.length ? `\n\n${notes.join('\n')}` : ''}`,
    metadata,
  };
}
