import type { AgentFileCreate } from '@runtools/sdk/api';
import { type FileStyle, printKey, printValue } from './agent-literal.ts';

/** The style of the files `runtools init` writes: single quotes, two spaces, trailing commas. */
const scaffoldStyle: FileStyle = { quote: "'", eol: '\n', indentUnit: '  ', trailingComma: true };

const defaultPrompt = 'You are a helpful assistant. Answer briefly and say what you did.';

/**
 * The text of a new `agents/{slug}.ts`, written as `runtools init` writes its example agent: the
 * import, a comment naming the endpoint, `export default defineAgent({ … })` with one field per
 * line. Values are printed as escaped literals, never pasted as code.
 */
export function newAgentSource(input: AgentFileCreate): string {
  const fields: Array<[string, unknown]> = [
    ['slug', input.slug],
    ['name', input.name],
    ['description', input.description],
    ['model', input.model ?? 'auto'],
    ['template', input.template],
    ['tools', input.tools ?? ['bash', 'read_file', 'edit_file', 'grep', 'glob']],
    ['systemPrompt', input.systemPrompt ?? defaultPrompt],
  ];
  const lines = fields
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `  ${printKey(k, scaffoldStyle)}: ${printValue(v, scaffoldStyle, '  ')},`);
  return `import { defineAgent } from '@runtools/sdk';

/** Served at POST /v1/run/${input.slug} (and WS /v1/run/${input.slug}/stream). */
export default defineAgent({
${lines.join('\n')}
});
`;
}
