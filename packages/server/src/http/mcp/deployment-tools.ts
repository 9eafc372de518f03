import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { maxPageSize, runResultSchema } from '@runtools/sdk/api';
import { z } from 'zod';
import type { Deployment } from '../../store/deployments.ts';
import type { Runtime } from '../../store/runtimes.ts';
import type { Store } from '../../store/store.ts';

/**
 * The arguments of every deployment's tool. A model fills in one string; `metadata` is for the
 * client's own bookkeeping (it is stored with the run, as in `POST /v1/run/{slug}`, and the agent
 * does not see it).
 */
export const deploymentToolInputSchema = z
  .object({
    input: z
      .string()
      .min(1)
      .describe(
        'What the agent is asked to do: the task or question, in full, as text. The agent sees ' +
          'only this, not the conversation it came from.',
      ),
    metadata: z
      .record(z.string(), z.unknown())
      .optional()
      .describe('Stored with the run for your bookkeeping; the agent does not see it.'),
  })
  .strict();

export type DeploymentToolInput = z.infer<typeof deploymentToolInputSchema>;

/** `structuredContent` of a call: the fields of `POST /v1/run/{slug}`'s result. */
export const deploymentToolOutputSchema = runResultSchema.pick({
  runId: true,
  status: true,
  output: true,
  error: true,
});

export type DeploymentToolOutput = z.infer<typeof deploymentToolOutputSchema>;

/**
 * JSON Schema for MCP, without `$schema`: clients compile these with validators of several
 * drafts (the SDK's Ajv speaks draft-07), and these schemas mean the same in all of them.
 */
function jsonSchema(schema: z.ZodType): Tool['inputSchema'] {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { target: 'draft-7' });
  return rest as Tool['inputSchema'];
}

const inputJsonSchema = jsonSchema(deploymentToolInputSchema);
const outputJsonSchema = jsonSchema(deploymentToolOutputSchema);

/** What of a runtime's stored definition a tool shows; read loosely, as any version stored it. */
const shownDefinitionSchema = z.looseObject({
  name: z.string().optional().catch(undefined),
  description: z.string().optional().catch(undefined),
  systemPrompt: z.string().optional().catch(undefined),
  model: z.unknown(),
});

const summaryChars = 300;

/** The model's name, never its endpoint or key. */
function modelName(model: unknown): string | undefined {
  if (typeof model === 'string') return model;
  if (typeof model !== 'object' || model === null) return undefined;
  const { provider, model: name } = model as { provider?: unknown; model?: unknown };
  if (provider === 'custom') return `${typeof name === 'string' ? name : 'default'} (custom)`;
  if (typeof provider === 'string' && typeof name === 'string') return `${provider}/${name}`;
  return undefined;
}

/** The start of `text` up to `max` characters, cut at a word, with an ellipsis when cut. */
function excerpt(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  if (flat.length <= max) return flat;
  const cut = flat.slice(0, max);
  const space = cut.lastIndexOf(' ');
  return `${(space > max / 2 ? cut.slice(0, space) : cut).trimEnd()}…`;
}

/**
 * The MCP tool of a deployment: named by its apiSlug (valid as an MCP tool name), described by
 * its runtime (the description, else the start of the system prompt, and the model).
 */
export function deploymentTool(deployment: Deployment, runtime: Runtime | undefined): Tool {
  const parsed = shownDefinitionSchema.safeParse(runtime?.definition ?? {});
  const definition = parsed.success ? parsed.data : { model: undefined };
  const what =
    definition.description?.trim() ||
    (definition.systemPrompt
      ? `An agent instructed: "${excerpt(definition.systemPrompt, summaryChars)}"`
      : '') ||
    `The RunTools agent deployed at "${deployment.apiSlug}".`;
  const model = modelName(definition.model);
  const how =
    `A RunTools agent${model ? ` (model ${model})` : ''}. A call runs it once on \`input\` in its ` +
    'own sandbox and answers with its final text; structuredContent.runId names the run in the ' +
    'RunTools API.';
  return {
    name: deployment.apiSlug,
    ...(definition.name ? { title: definition.name } : {}),
    description: `${what}\n\n${how}`,
    inputSchema: inputJsonSchema,
    outputSchema: outputJsonSchema,
  };
}

/**
 * One page of the tools a caller may use: the deployments (all, or the `apiSlugs` of a restricted
 * key) newest first, `maxPageSize` at a time; `cursor` is the previous page's `nextCursor`.
 */
export async function listDeploymentTools(
  store: Store,
  apiSlugs: readonly string[] | null,
  cursor: string | undefined,
): Promise<{ tools: Tool[]; nextCursor?: string }> {
  const page = await store.deployments.list({
    apiSlugs,
    limit: maxPageSize,
    ...(cursor !== undefined ? { cursor } : {}),
  });
  const tools = await Promise.all(
    page.items.map(async (deployment) =>
      deploymentTool(deployment, await store.runtimes.get(deployment.runtimeId)),
    ),
  );
  return page.nextCursor === null ? { tools } : { tools, nextCursor: page.nextCursor };
}
