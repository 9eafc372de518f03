/**
 * Agent files written the ways people write them, for the builder's round-trip tests: comments
 * everywhere, CRLF, a BOM, tabs, two and four spaces, each quote style, trailing commas or
 * none, imported prompts, spreads, `satisfies`, `as const`, multi-file agents.
 */
export interface CorpusFile {
  name: string;
  /** Relative to the project root. */
  file: string;
  text: string;
  /** Other files of the project the agent file needs. */
  extra?: Record<string, string>;
}

const scaffold = `import { defineAgent } from '@runtools/sdk';

/**
 * Served at POST /v1/run/code-assistant (and WS /v1/run/code-assistant/stream).
 */
export default defineAgent({
  slug: 'code-assistant',
  name: 'Code assistant',
  description: 'Reads, writes and runs code in its own sandbox.',
  model: 'auto',
  template: 'nodejs-20',
  tools: ['bash', 'read_file', 'edit_file', 'grep', 'glob', 'web_search'],
  maxSteps: 30,
  systemPrompt: \`You are a careful software engineer working in a Linux sandbox.

How to work:
- Look before you act.
- Quote the commands you used.\`,
});
`;

const fourSpacesDouble = `import { defineAgent } from "@runtools/sdk";

export default defineAgent({
    slug: "reviewer",
    model: "claude-sonnet-4-5",
    systemPrompt: "You review code and run its tests.",
    tools: ["bash", "read_file", "grep", "glob"],
    template: "nodejs-20"
});
`;

const tabs = `import { defineAgent } from '@runtools/sdk'

export default defineAgent({
\tslug: 'tabbed',
\tmodel: 'gpt-5',
\tsystemPrompt: 'Indented with tabs.',
\ttools: [
\t\t'bash',
\t\t'grep',
\t],
\tenv: {
\t\tLOG_LEVEL: 'debug',
\t},
})
`;

const comments = `// The support agent.
import { defineAgent } from '@runtools/sdk';

export default defineAgent({
  // Its endpoint is /v1/run/support.
  slug: 'support', // keep in sync with the docs
  /* The model: cheap and fast. */
  model: 'gpt-5-mini', // see pricing
  systemPrompt: 'You answer support questions.', /* short on purpose */
  tools: [
    'bash', // for scripts
    // reading is fine
    'read_file',
    'grep' /* search */,
  ],
  maxSteps: 10, // enough
  temperature: 0.2,
  // end of fields
});
// trailing comment
`;

const importedPrompt = `import { defineAgent } from '@runtools/sdk';
import { SUPPORT_PROMPT } from '../lib/prompts.ts';

export default defineAgent({
  slug: 'imported-prompt',
  model: 'auto',
  systemPrompt: SUPPORT_PROMPT,
  tools: ['read_file'],
});
`;

const spread = `import { defineAgent } from '@runtools/sdk';
import { base } from '../lib/base.ts';

export default defineAgent({
  ...base,
  slug: 'spread-agent',
  systemPrompt: 'Overrides the base prompt.',
  tools: ['bash'],
});
`;

const satisfiesObject = `import type { AgentDefinitionInput } from '@runtools/sdk';

export default {
  slug: 'plain-object',
  model: 'auto',
  systemPrompt: 'An object that satisfies the type.',
  tools: ['bash', 'glob'],
} satisfies AgentDefinitionInput;
`;

const asConst = `import { defineAgent } from '@runtools/sdk';

const config = {
  slug: 'as-const',
  model: 'auto',
  systemPrompt: 'Declared as const.',
  tools: ['bash', 'grep'] as const,
  maxSteps: 5,
} as const;

export default defineAgent(config);
`;

const multiFile = `import { defineAgent } from '@runtools/sdk';
import { lookupOrder } from './tools.ts';
import { prompt } from './prompt.ts';

export default defineAgent({
  slug: 'orders',
  model: 'auto',
  systemPrompt: prompt,
  tools: ['bash', lookupOrder],
  template: 'debian-13',
});
`;

const singleLine = `import { defineAgent } from '@runtools/sdk';
export default defineAgent({ slug: 'one-line', model: 'auto', systemPrompt: 'All on one line.', tools: ['bash'] });
`;

const customModel = `import { defineAgent } from '@runtools/sdk';

export default defineAgent({
  slug: 'local-llama',
  model: {
    provider: 'custom',
    endpoint: 'http://127.0.0.1:8000/v1',
    model: 'llama-3.1-8b',
  },
  systemPrompt: 'You run on a local model.',
  tools: ['bash'],
});
`;

const backticks = `import { defineAgent } from '@runtools/sdk';

export default defineAgent({
  slug: \`backticks\`,
  model: \`auto\`,
  systemPrompt: \`Every string is a template literal.\`,
  tools: [\`bash\`, \`grep\`],
});
`;

const quotedKeys = `import { defineAgent } from '@runtools/sdk';

export default defineAgent({
  'slug': 'quoted-keys',
  "model": 'auto',
  'systemPrompt': 'Keys in quotes.',
  'tools': ['bash'],
});
`;

const variablePrompt = `import { defineAgent } from '@runtools/sdk';

const PROMPT = 'A prompt kept in a constant.';

export default defineAgent({
  slug: 'variable-prompt',
  model: 'auto',
  systemPrompt: PROMPT,
  tools: ['grep'],
});
`;

const namedThenExported = `import { defineAgent } from '@runtools/sdk';

const agent = defineAgent({
  slug: 'named',
  model: 'auto',
  systemPrompt: 'Defined, then exported.',
});

export default agent;
`;

const prettierWrapped = `import { defineAgent } from '@runtools/sdk';

export default defineAgent({
  slug: 'wrapped',
  model: 'auto',
  systemPrompt: 'Prettier wrapped the tools.',
  tools: [
    'bash', 'read_file', 'edit_file',
    'grep', 'glob',
  ],
});
`;

const numericSeparators = `import { defineAgent } from '@runtools/sdk';

export default defineAgent({
  slug: 'numbers',
  model: 'auto',
  systemPrompt: 'Numbers with separators.',
  timeoutMs: 600_000,
  maxSteps: 1e2,
  temperature: .5,
});
`;

const computedPrompt = `import { defineAgent } from '@runtools/sdk';

const rules = ['Be brief.', 'Cite files.'];

export default defineAgent({
  slug: 'computed',
  model: 'auto',
  systemPrompt: ['You are terse.', ...rules].join('\\n'),
  tools: ['bash'],
  description: \`Built at \${new Date().getFullYear()}\`,
});
`;

const inlineTool = `import { defineAgent, defineTool } from '@runtools/sdk';
import { z } from 'zod';

export default defineAgent({
  slug: 'inline-tool',
  model: 'auto',
  systemPrompt: 'Has a tool of its own.',
  tools: [
    'bash',
    defineTool({
      name: 'add',
      description: 'Adds two numbers',
      input: z.object({ a: z.number(), b: z.number() }),
      run: async ({ a, b }) => String(a + b),
    }),
  ],
});
`;

const envAndMcp = `import { defineAgent } from '@runtools/sdk';

export default defineAgent({
  slug: 'with-env',
  model: 'auto',
  systemPrompt: 'Has an environment and MCP servers.',
  env: {
    REGION: 'eu-west-1',
    'DEBUG': "1",
  },
  mcpServers: {
    files: { command: 'mcp-server-filesystem', args: ['/root'] },
  },
});
`;

const escapes = `import { defineAgent } from '@runtools/sdk';

export default defineAgent({
  slug: 'escapes',
  model: 'auto',
  description: 'It\\'s got "quotes" and a \\\\ backslash',
  systemPrompt: "Line one\\nLine two\\t(tabbed)",
});
`;

const noTrailingMultiline = `import { defineAgent } from '@runtools/sdk';

export default defineAgent({
  slug: 'no-trailing',
  model: 'auto',
  systemPrompt: 'No trailing commas anywhere.',
  tools: [
    'bash',
    'grep'
  ]
});
`;

const typedConst = `import { type AgentDefinitionInput, defineAgent } from '@runtools/sdk';

const definition: AgentDefinitionInput = {
  slug: 'typed-const',
  model: 'auto',
  systemPrompt: 'Typed with a type annotation.',
};

export default defineAgent(definition);
`;

const workflow = `import { defineAgent } from '@runtools/sdk';
import { z } from 'zod';

async function tagRelease({ steps }: { steps: Record<string, { output: unknown }> }) {
  return { tagged: Boolean(steps.review) };
}

export default defineAgent({
  slug: 'triage',
  model: 'auto',
  systemPrompt: 'You triage issues.',
  tools: ['bash'],
  workflow: {
    start: 'triage',
    steps: {
      // The model's answer picks the path.
      triage: {
        kind: 'agent',
        prompt: 'Classify: {{input}}',
        output: z.object({ category: z.enum(['bug', 'question']) }),
        next: 'route',
      },
      route: {
        kind: 'branch',
        on: 'steps.triage.output.category',
        cases: { bug: 'fix', question: 'answer' },
        default: 'answer',
      },
      fix: { kind: 'tool', tool: 'bash', input: { command: 'make test' }, next: 'review' },
      review: { kind: 'approval', message: 'Ship it?', next: 'ship', denied: 'answer' },
      ship: { kind: 'parallel', steps: ['notes', 'tag'], next: 'done' },
      notes: { kind: 'agent', prompt: 'Release notes.' },
      tag: { kind: 'code', run: tagRelease },
      done: { kind: 'agent', prompt: 'Summarise.' },
      answer: { kind: 'agent', prompt: 'Answer: {{input}}' },
    },
  },
});
`;

export const corpus: CorpusFile[] = [
  { name: 'the scaffold', file: 'agents/code-assistant.ts', text: scaffold },
  {
    name: 'four spaces, double quotes, no trailing commas',
    file: 'agents/reviewer.ts',
    text: fourSpacesDouble,
  },
  { name: 'tabs, no semicolons', file: 'agents/tabbed.ts', text: tabs },
  {
    name: 'CRLF line endings',
    file: 'agents/crlf.ts',
    text: scaffold.replaceAll('code-assistant', 'crlf').replaceAll('\n', '\r\n'),
  },
  {
    name: 'a BOM and CRLF',
    file: 'agents/bom.ts',
    text: `\uFEFF${fourSpacesDouble.replaceAll('reviewer', 'bom').replaceAll('\n', '\r\n')}`,
  },
  { name: 'comments everywhere', file: 'agents/support.ts', text: comments },
  {
    name: 'an imported prompt',
    file: 'agents/imported-prompt.ts',
    text: importedPrompt,
    extra: { 'lib/prompts.ts': "export const SUPPORT_PROMPT = 'You help customers.';\n" },
  },
  {
    name: 'a spread of a base definition',
    file: 'agents/spread-agent.ts',
    text: spread,
    extra: { 'lib/base.ts': "export const base = { model: 'auto', maxSteps: 7 } as const;\n" },
  },
  {
    name: 'an object that satisfies AgentDefinitionInput',
    file: 'agents/plain-object.ts',
    text: satisfiesObject,
  },
  { name: 'a const object as const', file: 'agents/as-const.ts', text: asConst },
  {
    name: 'a multi-file agent',
    file: 'agents/orders/index.ts',
    text: multiFile,
    extra: {
      'agents/orders/prompt.ts': "export const prompt = 'You look up orders.';\n",
      'agents/orders/tools.ts': `import { defineTool } from '@runtools/sdk';
import { z } from 'zod';

export const lookupOrder = defineTool({
  name: 'lookup_order',
  description: 'Looks up an order',
  input: z.object({ id: z.string() }),
  run: async ({ id }) => \`order \${id}\`,
});
`,
    },
  },
  { name: 'everything on one line', file: 'agents/one-line.ts', text: singleLine },
  { name: 'a custom model endpoint', file: 'agents/local-llama.ts', text: customModel },
  { name: 'backtick strings', file: 'agents/backticks.ts', text: backticks },
  { name: 'quoted keys', file: 'agents/quoted-keys.ts', text: quotedKeys },
  { name: 'a prompt in a constant', file: 'agents/variable-prompt.ts', text: variablePrompt },
  { name: 'defined, then exported by name', file: 'agents/named.ts', text: namedThenExported },
  { name: 'an array wrapped by prettier', file: 'agents/wrapped.ts', text: prettierWrapped },
  { name: 'numeric separators and exponents', file: 'agents/numbers.ts', text: numericSeparators },
  { name: 'computed values', file: 'agents/computed.ts', text: computedPrompt },
  { name: 'an inline defineTool', file: 'agents/inline-tool.ts', text: inlineTool },
  { name: 'env with quoted keys and MCP servers', file: 'agents/with-env.ts', text: envAndMcp },
  { name: 'escapes in strings', file: 'agents/escapes.ts', text: escapes },
  {
    name: 'no trailing commas, multi-line',
    file: 'agents/no-trailing.ts',
    text: noTrailingMultiline,
  },
  { name: 'a typed const', file: 'agents/typed-const.ts', text: typedConst },
  {
    name: 'a workflow with a zod output and a code step',
    file: 'agents/triage.ts',
    text: workflow,
  },
];
