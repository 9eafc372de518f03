import { z } from 'zod';
import { agentDefinitionSchema, checkAgentTools } from '../agent-definition.ts';
import { textSchema, timestampSchema } from './common.ts';
import { customToolDescriptorSchema } from './custom-tools.ts';
import { integrationSelectionSchema } from './integrations.ts';
import { pageQuerySchema } from './pagination.ts';
import { approvalRules } from './run-approvals.ts';
import { workflowSchema } from './workflows.ts';

/** The system prompt of a runtime created without one. */
export const defaultSystemPrompt =
  'You are a helpful assistant. Use your tools to do what you are asked, then answer briefly.';

/**
 * The body of `POST /v1/runtimes` and `PUT /v1/runtimes/{id}`: an agent definition, where only
 * `model` is required. Without `slug` the server names the runtime (`agent-…`); without
 * `systemPrompt` it gets `defaultSystemPrompt`. Custom tools are descriptors here (their code is
 * the `bundle`, uploaded first): a `defineTool()` is code, which JSON cannot carry.
 */
export const runtimeInputSchema = agentDefinitionSchema
  .extend({
    slug: agentDefinitionSchema.shape.slug.optional(),
    systemPrompt: z.string().min(1).default(defaultSystemPrompt),
    tools: z
      .array(
        z.union([z.string().min(1), customToolDescriptorSchema, integrationSelectionSchema], {
          error:
            'a core tool or integration name, { integration: [actions] }, or a custom tool descriptor { custom, description, inputSchema }',
        }),
      )
      .max(200)
      .default([]),
    /** Functions are code too: here a rule is `always`, `never` or `input` (a function in the bundle). */
    approvals: z.record(z.string().min(1).max(200), z.enum(approvalRules)).default({}),
    /** Structured outputs are JSON schemas here, and a code step's `run` is `bundle`. */
    workflow: workflowSchema.optional(),
  })
  .superRefine(checkAgentTools)
  .meta({ id: 'RuntimeInput' });

export type RuntimeInput = z.input<typeof runtimeInputSchema>;

/** A version of an agent definition (`/v1/runtimes`). */
export const runtimeSchema = z
  .object({
    id: z.string(),
    slug: z.string(),
    version: z.number().int(),
    definition: z.record(z.string(), z.unknown()).meta({
      description:
        'The agent definition. Its secrets (a literal `model.apiKey`, the values of ' +
        '`model.headers`) are stored encrypted and shown masked (`sk-…abcd`); a masked value ' +
        'sent back unchanged keeps the stored secret.',
    }),
    createdAt: timestampSchema,
    updatedAt: timestampSchema,
  })
  .meta({ id: 'Runtime' });

export type Runtime = z.infer<typeof runtimeSchema>;

/** `GET /v1/runtimes`: newest first; with `slug`, the versions of one agent. */
export const runtimeListQuerySchema = pageQuerySchema.extend({ slug: textSchema(64).optional() });

export type RuntimeListParams = z.infer<typeof runtimeListQuerySchema>;
