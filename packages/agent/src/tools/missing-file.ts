import { posix } from 'node:path';
import type { Sandbox } from '@runtools/sandbox';
import { similarity } from './string-similarity.ts';
import { type ToolContext, ToolError } from './tool.ts';
import { workingDirectory } from './working-directory.ts';

/**
 * The error for a file that does not exist: says where a relative path was looked for and
 * suggests files of the same directory with similar names (a typo, another extension).
 */
export async function missingFileError(
  ctx: ToolContext,
  given: string,
  path: string,
): Promise<ToolError> {
  const hints = await similarNames(ctx.sandbox, path);
  const relative = given.startsWith('/')
    ? ''
    : ` (relative paths start from the working directory, ${workingDirectory(ctx)})`;
  const suggestion = hints.length ? ` Did you mean: ${hints.join(', ')}?` : '';
  return new ToolError(`File not found: ${path}${relative}.${suggestion}`, {
    path,
    code: 'file_not_found',
    suggestions: hints,
  });
}

/** Up to five entries of the file's directory whose names look like the one asked for. */
async function similarNames(sandbox: Sandbox, path: string): Promise<string[]> {
  const wanted = posix.basename(path).toLowerCase();
  const stem = withoutExtension(wanted);
  let entries: { path: string; name: string }[];
  try {
    entries = await sandbox.files.list(posix.dirname(path));
  } catch {
    return [];
  }
  return entries
    .map((e) => {
      const name = e.name.toLowerCase();
      const contains =
        Math.min(name.length, wanted.length) >= 3 &&
        (name.includes(wanted) || wanted.includes(name));
      const score = Math.max(
        similarity(wanted, name),
        withoutExtension(name) === stem ? 0.9 : 0,
        contains ? 0.7 : 0,
      );
      return { path: e.path, score };
    })
    .filter((e) => e.score >= 0.6)
    .sort((a, b) => b.score - a.score)
    .slice(0, 5)
    .map((e) => e.path);
}

function withoutExtension(name: string): string {
  return name.replace(/(.)\.[^.]*$/, '$1');
}
