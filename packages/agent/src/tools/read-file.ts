import type { Sandbox } from '@runtools/sandbox';
import { z } from 'zod';
import { missingFileError } from './missing-file.ts';
import { numberLine } from './numbered-lines.ts';
import { type AgentTool, type ToolContext, ToolError, type ToolResult } from './tool.ts';
import { failureFromError } from './tool-failure.ts';
import { resolveToolPath } from './working-directory.ts';

export const READ_DEFAULT_LIMIT = 2000;
/** Stop adding lines once the result reaches this size; the model can read on with `offset`. */
export const READ_MAX_OUTPUT_CHARS = 100_000;
/** A NUL byte in this many leading bytes makes a file binary (what git and grep do). */
export const BINARY_SNIFF_BYTES = 8192;
const CHUNK_BYTES = 1 << 20;
/** Files up to this size are read to the end, so the result can say how many lines they have. */
const COUNT_ALL_BYTES = 8 << 20;

const inputSchema = z.object({
  path: z
    .string()
    .min(1)
    .describe(
      'The file to read: an absolute path, or one relative to the working directory (where ' +
        "bash's last `cd` left it).",
    ),
  offset: z
    .number()
    .int()
    .min(1)
    .optional()
    .describe(
      'The line number to start from (1-based, default 1). Use it with limit to read a large file in parts.',
    ),
  limit: z
    .number()
    .int()
    .min(1)
    .optional()
    .describe(`The most lines to return (default ${READ_DEFAULT_LIMIT}).`),
});

export type ReadFileInput = z.infer<typeof inputSchema>;

/**
 * `read_file`: a text file's lines, numbered like `cat -n`, optionally a range of them. A
 * directory, a missing file (with similar names from the same directory) and a binary file are
 * clear errors rather than a dump of bytes.
 */
export const readFileTool: AgentTool<ReadFileInput> = {
  name: 'read_file',
  description:
    'Read a text file from the sandbox. Lines come back numbered like `cat -n` (line number, a ' +
    `tab, the line); the numbers are not part of the file. By default up to ${READ_DEFAULT_LIMIT} ` +
    'lines from the start; use offset and limit for other parts of long files. Lines over 2000 ' +
    'characters are cut. Binary files are not shown; directories are refused (use glob or bash ' +
    '`ls` to list them).',
  inputSchema,
  async execute(input, ctx) {
    try {
      return await readFile(input, ctx);
    } catch (err) {
      return failureFromError(err, { path: input.path });
    }
  },
};

async function readFile(input: ReadFileInput, ctx: ToolContext): Promise<ToolResult> {
  const path = resolveToolPath(ctx, input.path);
  const info = await statOrExplain(ctx, input.path, path);
  if (info.type === 'directory') {
    throw new ToolError(
      `${path} is a directory, not a file. List it with bash (\`ls -la ${path}\`) or find files in it with glob.`,
      { path, type: 'directory' },
    );
  }
  if (info.type !== 'file') {
    throw new ToolError(`${path} is not a regular file (it is a ${info.type}).`, {
      path,
      type: info.type,
    });
  }
  if (info.size === 0) {
    return { output: `${path} is empty (0 bytes).`, metadata: { path, size: 0, totalLines: 0 } };
  }
  const sniff = await ctx.sandbox.files.read(path, { length: BINARY_SNIFF_BYTES });
  if (sniff.includes(0)) {
    throw new ToolError(
      `${path} is a binary file (${info.size} bytes); its content is not shown. Inspect it with bash (e.g. \`file ${path}\`, \`xxd ${path} | head\`).`,
      { path, size: info.size, binary: true },
    );
  }
  const from = input.offset ?? 1;
  const limit = input.limit ?? READ_DEFAULT_LIMIT;
  const read = await readLineRange(ctx.sandbox, path, from, limit, info.size <= COUNT_ALL_BYTES);
  if (read.lines.length === 0) {
    throw new ToolError(
      `offset ${from} is past the end of ${path}, which has ${read.totalLines} lines.`,
      { path, totalLines: read.totalLines },
    );
  }
  const shown: string[] = [];
  let size = 0;
  let cutLines = 0;
  for (const [i, line] of read.lines.entries()) {
    const { text, cut } = numberLine(from + i, line);
    size += text.length + 1;
    if (size > READ_MAX_OUTPUT_CHARS && shown.length > 0) break;
    shown.push(text);
    if (cut) cutLines++;
  }
  const to = from + shown.length - 1;
  const cappedBySize = shown.length < read.lines.length;
  const more = cappedBySize || read.moreAfter || to < (read.totalLines ?? to);
  const notes: string[] = [];
  if (more || from > 1) {
    const of = read.totalLines === undefined ? '' : ` of ${read.totalLines}`;
    const next = more ? ` Use offset=${to + 1} to read on.` : '';
    const why = cappedBySize ? ` (cut to stay under ${READ_MAX_OUTPUT_CHARS} characters)` : '';
    notes.push(`[Showing lines ${from}-${to}${of}${why}.${next}]`);
  }
  if (cutLines) notes.push(`[${cutLines} long line(s) were cut at 2000 characters]`);
  const body = shown.join('\n');
  return {
    output: notes.length ? `${body}\n\n${notes.join('\n')}` : body,
    metadata: {
      path,
      size: info.size,
      fromLine: from,
      toLine: to,
      ...(read.totalLines === undefined ? {} : { totalLines: read.totalLines }),
    },
  };
}

/** Stats a path; a missing one becomes a ToolError that suggests similar names nearby. */
async function statOrExplain(ctx: ToolContext, given: string, path: string) {
  try {
    return await ctx.sandbox.files.stat(path);
  } catch (err) {
    if ((err as { code?: unknown }).code === 'file_not_found') {
      throw await missingFileError(ctx, given, path);
    }
    throw err;
  }
}

interface LineRange {
  lines: string[];
  /** Known when the file was read to its end. */
  totalLines?: number;
  /** True when reading stopped early and more of the file follows. */
  moreAfter: boolean;
}

/**
 * Reads lines `from`..`from + count - 1` (1-based) in 1 MiB chunks, so a line range near the
 * start of a huge file reads little. Lines are split on LF bytes (safe for UTF-8) and lose a
 * trailing CR; a final newline does not start another line.
 */
async function readLineRange(
  sandbox: Sandbox,
  path: string,
  from: number,
  count: number,
  countAll: boolean,
): Promise<LineRange> {
  const lines: string[] = [];
  let lineNo = 0;
  let carry: Buffer = Buffer.alloc(0);
  let offset = 0;
  const take = (bytes: Buffer) => {
    lineNo++;
    if (lineNo >= from && lineNo < from + count) {
      const text = bytes.toString('utf8');
      lines.push(text.endsWith('\r') ? text.slice(0, -1) : text);
    }
  };
  for (;;) {
    const chunk = await sandbox.files.read(path, { offset, length: CHUNK_BYTES });
    offset += chunk.length;
    const data = carry.length ? Buffer.concat([carry, chunk]) : chunk;
    let start = 0;
    for (let nl = data.indexOf(10, start); nl !== -1; nl = data.indexOf(10, start)) {
      take(data.subarray(start, nl));
      start = nl + 1;
    }
    carry = Buffer.from(data.subarray(start));
    if (chunk.length < CHUNK_BYTES) break;
    if (!countAll && lineNo >= from + count) return { lines, moreAfter: true };
  }
  if (carry.length) take(carry);
  return { lines, totalLines: lineNo, moreAfter: false };
}
