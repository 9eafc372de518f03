import type { FileInfo } from '@runtools/sandbox';
import { z } from 'zod';
import {
  adaptIndentation,
  type FuzzyMethod,
  findFuzzy,
  type LineBlock,
  SIMILARITY_THRESHOLD,
} from './fuzzy-match.ts';
import {
  applyReplacements,
  countLineFeeds,
  splitLineEndings,
  type ViewReplacement,
} from './line-endings.ts';
import { missingFileError } from './missing-file.ts';
import { numberLines } from './numbered-lines.ts';
import { BINARY_SNIFF_BYTES } from './read-file.ts';
import { type AgentTool, type ToolContext, ToolError, type ToolResult } from './tool.ts';
import { failureFromError } from './tool-failure.ts';
import { resolveToolPath } from './working-directory.ts';

/** Lines of context shown around an edit, and the most lines a snippet shows. */
const SNIPPET_CONTEXT = 3;
const SNIPPET_MAX_LINES = 40;

const inputSchema = z.object({
  path: z
    .string()
    .min(1)
    .describe(
      'The file to edit: an absolute path, or one relative to the working directory. To create ' +
        'a file, give a path that does not exist yet and an empty old_string.',
    ),
  old_string: z
    .string()
    .describe(
      'The text to replace, copied exactly from the file: same indentation, same line breaks, ' +
        'without the line numbers read_file adds. It must occur exactly once unless replace_all ' +
        'is true, so include enough surrounding lines to make it unique. Empty only to create a ' +
        'new file (or fill an empty one).',
    ),
  new_string: z
    .string()
    .describe(
      'The text to put in place of old_string (must differ from it); empty to delete old_string.',
    ),
  replace_all: z
    .boolean()
    .optional()
    .describe(
      'Replace every occurrence of old_string instead of exactly one, e.g. to rename something ' +
        'throughout the file. Default false.',
    ),
});

export type EditFileInput = z.infer<typeof inputSchema>;

interface EditPlan {
  method: 'exact' | FuzzyMethod;
  replacements: ViewReplacement[];
  /** The 1-based original lines each replacement covered. */
  lines: { start: number; end: number }[];
  similarity?: number;
}

/**
 * `edit_file`: replaces `old_string` by `new_string` in a file inside the sandbox, like Claude
 * Code's Edit. Without an exact match it falls back to a whitespace-insensitive match and then
 * to the most similar block of lines, says so, and refuses when that is ambiguous. Line endings
 * (CRLF or LF, per line) are kept; a missing file is created when `old_string` is empty.
 */
export const editFileTool: AgentTool<EditFileInput> = {
  name: 'edit_file',
  description:
    'Edit a text file in the sandbox by replacing old_string with new_string, and show the ' +
    'edited lines. Read the file first and copy old_string exactly. If old_string is not found ' +
    'verbatim, the tool looks for it ignoring whitespace and indentation (and re-indents ' +
    `new_string to fit), then for the block of lines most similar to it (at least ${SIMILARITY_THRESHOLD * 100}% ` +
    'similar); the result says when it matched that way and where, so check it. Ambiguous ' +
    'matches are refused with the candidate places. The file keeps its line endings (CRLF or ' +
    'LF). With an empty old_string it creates a new file, including missing parent directories.',
  inputSchema,
  async execute(input, ctx) {
    try {
      return await editFile(input, ctx);
    } catch (err) {
      return failureFromError(err, { path: input.path });
    }
  },
};

async function editFile(input: EditFileInput, ctx: ToolContext): Promise<ToolResult> {
  if (input.old_string === input.new_string) {
    throw new ToolError('old_string and new_string are identical: there is nothing to change.');
  }
  const path = resolveToolPath(ctx, input.path);
  const info = await statIfExists(ctx, path);
  if (info?.type === 'directory') {
    throw new ToolError(`${path} is a directory; edit_file edits files.`, { path });
  }
  if (info && info.type !== 'file') {
    throw new ToolError(`${path} is not a regular file (it is a ${info.type}).`, { path });
  }
  if (input.old_string === '') return createFile(ctx, path, info, input.new_string);
  if (!info) throw await missingFileError(ctx, input.path, path);

  const raw = await ctx.sandbox.files.read(path);
  if (raw.subarray(0, BINARY_SNIFF_BYTES).includes(0)) {
    throw new ToolError(`${path} is a binary file (${raw.length} bytes); edit_file edits text.`, {
      path,
      binary: true,
    });
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    throw new ToolError(`${path} is not valid UTF-8 text; edit it with bash (e.g. sed) instead.`, {
      path,
    });
  }
  const doc = splitLineEndings(text);
  const plan = planEdit(
    doc.view,
    toLf(input.old_string),
    toLf(input.new_string),
    input.replace_all === true,
    path,
  );
  const updated = applyReplacements(doc, plan.replacements);
  await ctx.sandbox.files.write(path, updated, { mode: info.mode });

  const newView = splitLineEndings(updated).view;
  const newStarts = lineStarts(newView);
  let delta = 0;
  const edited = plan.replacements.map((r) => {
    const start = r.start + delta;
    delta += r.text.length - (r.end - r.start);
    const first = lineOf(newStarts, start);
    return { start: first, end: first + (r.text ? countLineFeeds(r.text.replace(/\n$/, '')) : 0) };
  });
  const crlf = doc.dominant === '\r\n';
  const header = describeEdit(path, plan, crlf);
  return {
    output: `${header}\n\n${snippet(newView, edited[0] ?? { start: 1, end: 1 })}`,
    metadata: {
      path,
      method: plan.method,
      replacements: plan.replacements.length,
      lines: plan.lines,
      editedLines: edited,
      ...(plan.similarity === undefined ? {} : { similarity: plan.similarity }),
      lineEndings: crlf ? 'crlf' : 'lf',
    },
  };
}

async function createFile(
  ctx: ToolContext,
  path: string,
  info: FileInfo | undefined,
  content: string,
): Promise<ToolResult> {
  if (info && info.size > 0) {
    throw new ToolError(
      `${path} already exists and is not empty, so old_string cannot be empty. To change it, ` +
        'give the text to replace as old_string (read the file first).',
      { path },
    );
  }
  await ctx.sandbox.files.write(path, content, { createParents: true });
  const lines = content === '' ? 0 : countLineFeeds(content.replace(/\n$/, '')) + 1;
  const what = info
    ? `Wrote ${lines} lines to ${path}, which was empty.`
    : `Created ${path} (${lines} lines).`;
  return {
    output: lines ? `${what}\n\n${snippet(toLf(content), { start: 1, end: lines })}` : what,
    metadata: { path, method: 'create', created: !info, lines },
  };
}

/** Decides what to replace: the exact text, else a fuzzy match; throws a ToolError otherwise. */
function planEdit(
  view: string,
  oldText: string,
  newText: string,
  replaceAll: boolean,
  path: string,
): EditPlan {
  const starts = lineStarts(view);
  const found: number[] = [];
  for (let p = view.indexOf(oldText); p !== -1; p = view.indexOf(oldText, p + oldText.length)) {
    found.push(p);
  }
  const span = (p: number) => {
    const start = lineOf(starts, p);
    return { start, end: start + countLineFeeds(oldText.replace(/\n$/, '')) };
  };
  if (found.length > 1 && !replaceAll) {
    const at = found.slice(0, 20).map((p) => span(p).start);
    throw new ToolError(
      `old_string occurs ${found.length} times in ${path} (at lines ${at.join(', ')}${found.length > 20 ? ', …' : ''}). ` +
        'Include more surrounding lines in old_string so that it matches only the place you ' +
        'mean, or set replace_all: true to replace every occurrence.',
      { path, occurrences: found.length, lines: at },
    );
  }
  if (found.length > 0) {
    return {
      method: 'exact',
      replacements: found.map((p) => ({ start: p, end: p + oldText.length, text: newText })),
      lines: found.map(span),
    };
  }

  const fileLines = view.split('\n');
  const old = trimBlankEdges(oldText.split('\n'));
  const newLines = newText === '' ? [] : newText.split('\n');
  const replacement = newLines.slice(
    Math.min(old.leading, leadingBlank(newLines)),
    newLines.length - Math.min(old.trailing, leadingBlank([...newLines].reverse())),
  );
  const result = findFuzzy(fileLines, old.lines, { replaceAll });
  if (result.kind === 'none') throw notFound(path, fileLines, result.closest, replaceAll);
  if (result.kind === 'ambiguous') throw ambiguous(path, fileLines, result.method, result.blocks);
  return {
    method: result.method,
    replacements: result.blocks.map((b) => {
      const block = fileLines.slice(b.start, b.end);
      const lines = adaptIndentation(old.lines, replacement, block);
      let start = starts[b.start] as number;
      let end = (starts[b.end - 1] as number) + (fileLines[b.end - 1] as string).length;
      if (lines.length === 0) {
        // Deleting whole lines: take one line break with them.
        if (b.end < fileLines.length) end = starts[b.end] as number;
        else if (start > 0) start -= 1;
      }
      return { start, end, text: lines.join('\n') };
    }),
    lines: result.blocks.map((b) => ({ start: b.start + 1, end: b.end })),
    ...(result.method === 'similarity' ? { similarity: round(result.blocks[0]?.score ?? 0) } : {}),
  };
}

/** The first line of the result: what was replaced where, and how it was found. */
function describeEdit(path: string, plan: EditPlan, crlf: boolean): string {
  const where = [
    ...new Set(plan.lines.map((l) => (l.start === l.end ? `${l.start}` : `${l.start}-${l.end}`))),
  ];
  const at = `line${plan.lines.length > 1 || where[0]?.includes('-') ? 's' : ''} ${where.join(', ')}`;
  const endings = crlf ? ' The file keeps its CRLF line endings.' : '';
  switch (plan.method) {
    case 'exact':
      return plan.replacements.length > 1
        ? `Edited ${path}: replaced ${plan.replacements.length} occurrences (at ${at}).${endings}`
        : `Edited ${path}: replaced the text at ${at}.${endings}`;
    case 'whitespace':
      return (
        `Edited ${path}. old_string did not match exactly; it matched fuzzily, ignoring ` +
        `whitespace and indentation, at ${at} (of the original file), and new_string was ` +
        `re-indented to the indentation there.${endings} Check the result:`
      );
    case 'similarity':
      return (
        `Edited ${path}. old_string did not match exactly; it matched fuzzily: the most similar ` +
        `text, ${percent(plan.similarity ?? 0)} similar, was at ${at} (of the original file) and ` +
        `was replaced.${endings} Check that this is the place you meant:`
      );
  }
}

function notFound(
  path: string,
  fileLines: string[],
  closest: LineBlock | undefined,
  replaceAll: boolean,
): ToolError {
  let message =
    `old_string was not found in ${path}: not verbatim, not ignoring whitespace, and no block ` +
    `of lines is at least ${percent(SIMILARITY_THRESHOLD)} similar to it.`;
  if (replaceAll && closest && closest.score >= SIMILARITY_THRESHOLD) {
    message =
      `old_string was not found in ${path}, neither verbatim nor ignoring whitespace ` +
      '(replace_all does not use similarity matches).';
  }
  if (closest) {
    const lines = fileLines.slice(closest.start, Math.min(closest.end, closest.start + 10));
    message += ` The closest text (${percent(closest.score)} similar) is at lines ${closest.start + 1}-${closest.end}:\n${numberLines(lines, closest.start + 1)}\n`;
  } else {
    message += ' ';
  }
  message += 'Read the file again (read_file) and copy old_string exactly, indentation included.';
  return new ToolError(message, {
    path,
    ...(closest
      ? { closest: { start: closest.start + 1, end: closest.end, score: round(closest.score) } }
      : {}),
  });
}

function ambiguous(
  path: string,
  fileLines: string[],
  method: FuzzyMethod,
  blocks: LineBlock[],
): ToolError {
  const how = method === 'whitespace' ? 'ignoring whitespace and indentation' : 'by similarity';
  const list = blocks
    .map((b) => {
      const score = method === 'similarity' ? ` (${percent(b.score)} similar)` : '';
      const first = (fileLines[b.start] ?? '').trim().slice(0, 120);
      return `  lines ${b.start + 1}-${b.end}${score}: ${first}`;
    })
    .join('\n');
  const all = method === 'whitespace' ? ', or set replace_all: true to replace all of them' : '';
  return new ToolError(
    `old_string was not found verbatim in ${path}, and it matches ${blocks.length} places ` +
      `${how} about equally well, so nothing was changed:\n${list}\nInclude more surrounding ` +
      `lines in old_string (copied exactly) so that it matches one place${all}.`,
    {
      path,
      method,
      candidates: blocks.map((b) => ({ start: b.start + 1, end: b.end, score: round(b.score) })),
    },
  );
}

/** The edited lines (1-based, inclusive) with a few lines around them, numbered. */
function snippet(view: string, edited: { start: number; end: number }): string {
  const lines = view.split('\n');
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  const from = Math.max(1, edited.start - SNIPPET_CONTEXT);
  const to = Math.min(lines.length, edited.end + SNIPPET_CONTEXT, from + SNIPPET_MAX_LINES - 1);
  const more = to < Math.min(lines.length, edited.end + SNIPPET_CONTEXT) ? '\n     …' : '';
  return numberLines(lines.slice(from - 1, to), from) + more;
}

async function statIfExists(ctx: ToolContext, path: string): Promise<FileInfo | undefined> {
  try {
    return await ctx.sandbox.files.stat(path);
  } catch (err) {
    if ((err as { code?: unknown }).code === 'file_not_found') return undefined;
    throw err;
  }
}

function trimBlankEdges(lines: string[]): { lines: string[]; leading: number; trailing: number } {
  const leading = leadingBlank(lines);
  const trailing = leading === lines.length ? 0 : leadingBlank([...lines].reverse());
  return { lines: lines.slice(leading, lines.length - trailing), leading, trailing };
}

function leadingBlank(lines: string[]): number {
  let n = 0;
  while (n < lines.length && !(lines[n] as string).trim()) n++;
  return n;
}

/** Offsets where each line of `view` starts. */
function lineStarts(view: string): number[] {
  const starts = [0];
  for (let i = view.indexOf('\n'); i !== -1; i = view.indexOf('\n', i + 1)) starts.push(i + 1);
  return starts;
}

/** The 1-based line holding `offset`. */
function lineOf(starts: number[], offset: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((starts[mid] as number) <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
}

function toLf(s: string): string {
  return s.replace(/\r\n/g, '\n');
}

function percent(score: number): string {
  return `${Math.floor(score * 100)}%`;
}

function round(score: number): number {
  return Math.round(score * 1000) / 1000;
}
