import type { CoreToolName } from '@runtools/sdk/api';
import { RunToolsError } from '@runtools/sdk/errors';
import { bashTool } from './bash.ts';
import { editFileTool } from './edit-file.ts';
import { globTool } from './glob.ts';
import { grepTool } from './grep.ts';
import { readFileTool } from './read-file.ts';
import type { AgentTool } from './tool.ts';
import { webSearchTool } from './web-search.ts';

export type { CoreToolName };

/** The tools every agent can name in `tools: [...]`, by the name the model calls them. */
export const coreTools: Record<CoreToolName, AgentTool> = {
  bash: bashTool,
  read_file: readFileTool,
  edit_file: editFileTool,
  grep: grepTool,
  glob: globTool,
  web_search: webSearchTool,
};

/**
 * The core tools an agent names, keyed by name, in the order given. An unknown name is an
 * `unknown_tool` error that lists every unknown name and the known ones.
 *
 * @example
 * const tools = createCoreTools(['bash', 'read_file', 'edit_file']);
 */
export function createCoreTools(names: string[]): Record<string, AgentTool> {
  const unknown = names.filter((n) => !Object.hasOwn(coreTools, n));
  if (unknown.length) {
    const known = Object.keys(coreTools);
    throw new RunToolsError(
      'unknown_tool',
      `Unknown tool${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => JSON.stringify(n)).join(', ')}. ` +
        `The core tools are: ${known.join(', ')}.`,
      { details: { unknown, known } },
    );
  }
  return Object.fromEntries(names.map((n) => [n, coreTools[n as CoreToolName]]));
}
