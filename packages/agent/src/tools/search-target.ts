import { posix } from 'node:path';
import type { FileInfo } from '@runtools/sandbox';
import { type ToolContext, ToolError } from './tool.ts';

/** Where and how to run rg for one search. */
export interface SearchTarget {
  /** The directory rg runs in. */
  cwd: string;
  /** The path argument to give rg. */
  arg: string;
  isDirectory: boolean;
  /** Turns a path (or `path:…` line) rg printed into one that starts with the absolute path. */
  absolute(line: string): string;
}

/**
 * How to point rg at `path`: a directory is searched as `.` from inside it, so that globs with a
 * slash (`src/**\/*.ts`) match relative to it as people expect, and `./` in the output becomes
 * the directory again; a file is passed as it is.
 */
export async function searchTarget(ctx: ToolContext, path: string): Promise<SearchTarget> {
  let info: FileInfo;
  try {
    info = await ctx.sandbox.files.stat(path);
  } catch (err) {
    if ((err as { code?: unknown }).code === 'file_not_found') {
      throw new ToolError(`No such file or directory: ${path}`, { path, code: 'file_not_found' });
    }
    throw err;
  }
  if (info.type !== 'directory') {
    return { cwd: posix.dirname(path), arg: path, isDirectory: false, absolute: (line) => line };
  }
  const prefix = path === '/' ? '/' : `${path}/`;
  return {
    cwd: path,
    arg: '.',
    isDirectory: true,
    absolute: (line) => (line.startsWith('./') ? prefix + line.slice(2) : line),
  };
}
