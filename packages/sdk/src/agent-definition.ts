import { z } from 'zod';
import { bundleHashSchema } from './api/bundles.ts';
import { customToolDescriptorSchema, isCoreToolName } from './api/custom-tools.ts';
import {
  integrationActions,
  integrationSelectionSchema,
  integrationToolName,
} from './api/integrations.ts';
import { approvalTimeouts } from './api/run-approvals.ts';
import { workflowDefinitionSchema } from './api/workflows.ts';
import { RunToolsError } from './errors.ts';
import {
  type AgentToolApproval,
  approvalRuleSchema,
  isToolDefinition,
  splitAgentTools,
  type ToolDefinition,
} from './tool-definition.ts';

const slug = z
  .string()
  .min(1)
  .max(64)
  .regex(
    /^[a-z0-9][a-z0-9-]*$/,
    'lowercase letters, digits and "-", starting with a letter or digit',
  );

/**
 * Which model an agent uses. A string picks the provider by name: `claude-*` → Anthropic,
 * `gpt-*`, `o1`…`o4*`, `chatgpt-*` → OpenAI, `gemini-*` → Google, anything else (e.g. `llama-*`)
 * → the OpenAI-compatible provider configured for the project. `'auto'` picks at run time the
 * first provider whose key the server has (`ANTHROPIC_API_KEY` → a current Claude Sonnet, else
 * `OPENAI_API_KEY`, else `GOOGLE_GENERATIVE_AI_API_KEY`), and with none the built-in scripted demo
 * model, which needs no key or network; `'scripted'` is always that demo model. An object names a
 * custom OpenAI-compatible endpoint (a local Llama server, a gateway) or a provider explicitly.
 */
export const modelSchema = z.union([
  z.string().min(1),
  z
    .object({
      provider: z.literal('custom'),
      endpoint: z.url({ message: 'an http(s) URL such as http://localhost:8000/v1' }),
      /** The model name sent to the endpoint (default: "default"). */
      model: z.string().min(1).optional(),
      /** The key itself, or `env:NAME` to read it from the server's environment. */
      apiKey: z.string().optional(),
      headers: z.record(z.string(), z.string()).optional(),
    })
    .strict(),
  z
    .object({
      provider: z.enum(['anthropic', 'openai', 'google', 'openai-compatible']),
      model: z.string().min(1),
      baseURL: z.url().optional(),
      apiKey: z.string().optional(),
    })
    .strict(),
]);

const toolFilter = {
  /** Only these of the server's tools (their names as the server gives them). */
  allow: z.array(z.string().min(1)).optional(),
  /** All of the server's tools but these. */
  deny: z.array(z.string().min(1)).optional(),
  /** Longest wait for one tool call (default 60 s); a slower call is an error result. */
  timeoutMs: z.number().int().min(100).max(3_600_000).optional(),
};

/**
 * An MCP server whose tools the agent gets, named `SERVER_TOOL`. `command`: started **inside the
 * run's sandbox** over stdio (so it sees the workspace, and nothing of the host). `url`: a remote
 * server over Streamable HTTP, reached from the server (the address checks of custom model
 * endpoints apply).
 */
export const mcpServerSchema = z.union([
  z
    .object({
      command: z.string().min(1),
      args: z.array(z.string()).default([]),
      env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string()).default({}),
      cwd: z.string().optional(),
      ...toolFilter,
    })
    .strict(),
  z
    .object({
      url: z.url({ message: 'an http(s) URL of a Streamable HTTP MCP endpoint' }),
      headers: z.record(z.string(), z.string()).default({}),
      ...toolFilter,
    })
    .strict(),
]);

export type McpServerConfig = z.output<typeof mcpServerSchema>;

export const agentDefinitionSchema = z
  .object({
    slug,
    name: z.string().min(1).max(200).optional(),
    description: z.string().max(2000).optional(),
    model: modelSchema,
    systemPrompt: z.string().min(1, 'a system prompt is required'),
    /**
     * Core tool names (bash, read_file, edit_file, grep, glob, web_search), marketplace
     * integrations (`'github'`, or `{ slack: ['post_message'] }` for some of its actions) and
     * custom tools: `defineTool()`s in an agent file, their descriptors (`{ custom: NAME, … }`)
     * as the API stores them.
     */
    tools: z
      .array(
        z.union(
          [
            z.string().min(1),
            z.custom<ToolDefinition>(isToolDefinition),
            customToolDescriptorSchema,
            integrationSelectionSchema,
          ],
          {
            error:
              'a core tool or integration name, { integration: [actions] }, a tool made by defineTool(), or a custom tool descriptor { custom, description, inputSchema }',
          },
        ),
      )
      .max(200)
      .default([]),
    /**
     * The SHA-256 of the code bundle the custom tools run (`PUT /v1/bundles/{sha256}`);
     * `runtools dev` and `runtools deploy` bundle the agent file and set it.
     */
    bundle: bundleHashSchema.optional(),
    /** Sandbox template the agent's tools run in (default: the project's, else `debian-13`). */
    template: z.string().min(1).optional(),
    maxSteps: z.number().int().min(1).max(1000).default(25),
    timeoutMs: z
      .number()
      .int()
      .min(1000)
      .max(24 * 3600 * 1000)
      .default(10 * 60 * 1000),
    temperature: z.number().min(0).max(2).optional(),
    /** Environment variables for the agent's sandbox. */
    env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string()).default({}),
    /**
     * MCP servers by name (lowercase letters, digits, `-`; their tools are `NAME_TOOL`), e.g.
     * `{ files: { command: 'mcp-server-filesystem', args: ['/root'] } }`.
     */
    mcpServers: z
      .record(
        z.string().regex(/^[a-z][a-z0-9-]{0,20}$/, 'a short lowercase name such as "files"'),
        mcpServerSchema,
      )
      .default({}),
    /**
     * Which tools' calls wait for a person's approval, by the name the model calls them (core,
     * custom and MCP tools, e.g. `files_write_file`): `'always'`, `'never'`, or a function of the
     * call's input, e.g. `{ bash: (input) => /\b(rm|git push)\b/.test(input.command) }`. Overrides
     * a custom tool's own `approval`. A function runs in the tool runner of the agent's code
     * bundle (`runtools dev` and `runtools deploy` bundle the file for it); the API stores it as
     * `'input'`.
     */
    approvals: z
      .record(z.string().min(1).max(200), approvalRuleSchema(true))
      .default({}) as unknown as z.ZodDefault<z.ZodType<Record<string, AgentToolApproval>>>,
    /**
     * An optional step graph instead of one think/act loop: `{ start, steps }` (see `Workflow`):
     * agent, tool, branch, parallel, approval and code steps, checked when the agent loads.
     */
    workflow: workflowDefinitionSchema(false).optional(),
    /** How long a run waits for an approval before the call is denied (default a day). */
    approvalTimeoutMs: z
      .number()
      .int()
      .min(approvalTimeouts.minMs)
      .max(approvalTimeouts.maxMs)
      .default(approvalTimeouts.defaultMs),
  })
  .strict();

/**
 * The checks of an agent's `tools` that span entries and fields: a custom tool's name is used
 * once and is not a core tool's, and descriptors (code that is not in the definition) come with
 * the `bundle` that holds it. Added to a schema with `.superRefine(checkAgentTools)`.
 */
export function checkAgentTools(
  definition: { tools?: readonly unknown[]; bundle?: string | undefined },
  ctx: z.RefinementCtx,
): void {
  const { definitions, descriptors, integrations } = splitAgentTools(definition.tools ?? []);
  const seen = new Set<string>();
  for (const integration of integrations) {
    if (seen.has(integration.name)) {
      ctx.addIssue({
        code: 'custom',
        path: ['tools'],
        message: `the integration "${integration.name}" is named twice; name it once, with the actions it may use`,
      });
    }
    seen.add(integration.name);
    for (const action of integrationActions[integration.name]) {
      seen.add(integrationToolName(integration.name, action));
    }
  }
  for (const name of [...definitions.map((d) => d.name), ...descriptors.map((d) => d.custom)]) {
    if (isCoreToolName(name) || seen.has(name)) {
      ctx.addIssue({
        code: 'custom',
        path: ['tools'],
        message: `two tools are named "${name}"; tool names must be unique`,
      });
    }
    seen.add(name);
  }
  const approvals = (definition as { approvals?: Record<string, unknown> }).approvals ?? {};
  for (const [tool, rule] of Object.entries(approvals)) {
    if (rule === 'input' && definition.bundle === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['approvals', tool],
        message:
          "'input' is a function's stored form: it needs the bundle the function is in (its SHA-256); write the function in the agent file instead",
      });
    }
  }
  const workflow = (definition as { workflow?: { steps?: Record<string, { run?: unknown }> } })
    .workflow;
  for (const [id, step] of Object.entries(workflow?.steps ?? {})) {
    if (step.run === 'bundle' && definition.bundle === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['workflow', 'steps', id, 'run'],
        message:
          "'bundle' is a function's stored form: it needs the bundle the function is in; write the function in the agent file instead",
      });
    }
  }
  if (descriptors.length > 0 && definition.bundle === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['bundle'],
      message: 'custom tool descriptors need the bundle their code is in (its SHA-256)',
    });
  }
}

const checkedAgentSchema = agentDefinitionSchema.superRefine(checkAgentTools);

export type AgentDefinitionInput = z.input<typeof agentDefinitionSchema>;
export type AgentDefinition = z.output<typeof agentDefinitionSchema> & {
  readonly [agentMarker]: true;
};
export type ModelSpec = z.output<typeof modelSchema>;

const agentMarker = Symbol.for('runtools.agent');

/** An agent file that does not hold a valid agent (`invalid_agent`). */
export class AgentDefinitionError extends RunToolsError {
  readonly issues: Array<{ field: string; message: string }>;
  constructor(message: string, issues: Array<{ field: string; message: string }>, file?: string) {
    super('invalid_agent', message, { details: { issues, ...(file ? { file } : {}) } });
    this.name = 'AgentDefinitionError';
    this.issues = issues;
  }
}

/**
 * Defines an agent. Put it in `agents/NAME.ts` (or `agents/NAME/index.ts`) as the default export:
 *
 * ```ts
 * import { defineAgent } from '@runtools/sdk';
 * export default defineAgent({
 *   slug: 'code-assistant',
 *   model: 'claude-sonnet-4-5',
 *   systemPrompt: 'You are a careful coding assistant.',
 *   tools: ['bash', 'read_file', 'edit_file', 'grep', 'glob'],
 *   template: 'nodejs-20',
 * });
 * ```
 * A wrong field throws an `AgentDefinitionError` naming the field and what was expected.
 */
export function defineAgent(input: AgentDefinitionInput): AgentDefinition {
  const r = checkedAgentSchema.safeParse(input);
  if (!r.success) {
    const issues = r.error.issues.map((i) => ({
      field: i.path.join('.') || '(agent)',
      message: i.message,
    }));
    throw new AgentDefinitionError(
      `Invalid agent definition: ${issues.map((i) => `${i.field}: ${i.message}`).join('; ')}`,
      issues,
    );
  }
  return Object.freeze({ ...r.data, [agentMarker]: true as const });
}

/** True for a value made by `defineAgent` (in any copy of this package). */
export function isAgentDefinition(value: unknown): value is AgentDefinition {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<symbol, unknown>)[agentMarker] === true
  );
}
