import { z } from 'zod';
import { apiSlugSchema } from './deployments.ts';

/**
 * The agent builder's contract (`/v1/project/agents`): the project's agent files as fields the
 * dashboard's form edits, and the edits written back into the files. Code stays the source of
 * truth: a write changes only the text of the values it sets.
 */

/** A range of an agent file: UTF-16 offsets, 1-based lines and columns. */
export const sourceRangeSchema = z
  .object({
    start: z.number().int(),
    end: z.number().int(),
    line: z.number().int(),
    column: z.number().int(),
    endLine: z.number().int(),
    endColumn: z.number().int(),
  })
  .meta({ id: 'SourceRange' });

/** One field of an agent file's object literal. */
export const agentFieldSchema = z
  .object({
    name: z.string(),
    /** The value, when the source is a literal. */
    value: z.unknown().optional(),
    editable: z.boolean(),
    /** Why the builder does not edit it: "imported from ./prompts.ts", "computed", "spread", … */
    reason: z.string().optional(),
    /** The property's source text, as in the file. */
    source: z.string(),
    range: sourceRangeSchema,
  })
  .meta({ id: 'AgentField' });

export type AgentField = z.infer<typeof agentFieldSchema>;

/** An agent file as the builder shows it. */
export const projectAgentSchema = z
  .object({
    /** The agent's slug (its `slug` literal; else the file's name). */
    slug: z.string(),
    /** Relative to the project root: `agents/reviewer.ts`, `agents/support/index.ts`. */
    file: z.string(),
    /** SHA-256 (hex) of the file's content: the `baseHash` of an edit. */
    hash: z.string(),
    /** The file's text; null when it is not shown (a link to outside the project). */
    source: z.string().nullable(),
    /** Whether the builder may write the file. */
    editable: z.boolean(),
    /** Why not: no project folder, the file does not parse, a symbolic link, … */
    reason: z.string().optional(),
    /** Where the file fails to parse; it is read-only until fixed. */
    parseError: z
      .object({ message: z.string(), line: z.number().int(), column: z.number().int() })
      .optional(),
    fields: z.array(agentFieldSchema),
    /** Project files the agent file imports (`agents/prompts.ts`); a change of one is a change of the agent. */
    imports: z.array(z.string()),
  })
  .meta({ id: 'ProjectAgent' });

export type ProjectAgent = z.infer<typeof projectAgentSchema>;

/** `GET /v1/project/agents`. */
export const projectAgentListSchema = z
  .object({
    /** False on a server without a project folder: the agents are its deployments', read-only. */
    editable: z.boolean(),
    agents: z.array(projectAgentSchema),
    /** The tools a form offers: the core tools, and the other tools the project's agents name. */
    tools: z.object({ core: z.array(z.string()), installed: z.array(z.string()) }),
  })
  .meta({ id: 'ProjectAgentList' });

export type ProjectAgentList = z.infer<typeof projectAgentListSchema>;

/** An event of `GET /v1/project/agents/{slug}/events`: the agent as it is now. */
export const projectAgentEventSchema = z
  .object({
    type: z.literal('snapshot'),
    /** `initial` when the stream opens, `disk` for an outside change, `builder` for an API write. */
    origin: z.enum(['initial', 'disk', 'builder']),
    /** Null once the file is gone. */
    agent: projectAgentSchema.nullable(),
  })
  .meta({ id: 'ProjectAgentEvent' });

export type ProjectAgentEvent = z.infer<typeof projectAgentEventSchema>;

/** The body of `PATCH /v1/project/agents/{slug}` and of its preview. */
export const agentFileEditSchema = z
  .object({
    /** The `hash` the edit was made against; an outside change of another field is merged. */
    baseHash: z.string().regex(/^[0-9a-f]{64}$/, 'a SHA-256 in hex'),
    /** Field → new value (JSON); `null` removes the field from the file. */
    set: z.record(z.string(), z.unknown()),
  })
  .strict()
  .meta({ id: 'AgentFileEdit' });

export type AgentFileEdit = z.input<typeof agentFileEditSchema>;

/** The body of `POST /v1/project/agents/{slug}/preview`: an edit, or the file's removal. */
export const agentFilePreviewInputSchema = z
  .union([agentFileEditSchema, z.object({ delete: z.literal(true) }).strict()])
  .meta({ id: 'AgentFilePreviewInput' });

export type AgentFilePreviewInput = z.input<typeof agentFilePreviewInputSchema>;

/** What an edit (or a removal) would write. */
export const agentFilePreviewSchema = z
  .object({
    file: z.string(),
    /** A unified diff of the file; empty when nothing changes. */
    diff: z.string(),
    /** The file's text after the edit (null for a removal). */
    source: z.string().nullable(),
    /** The hash the file has now. */
    hash: z.string(),
    /** A removal's confirmation: pass it as `?confirm=` to DELETE while the file is unchanged. */
    confirm: z.string().optional(),
  })
  .meta({ id: 'AgentFilePreview' });

export type AgentFilePreview = z.infer<typeof agentFilePreviewSchema>;

/** The body of `POST /v1/project/agents`: a new `agents/{slug}.ts` in the scaffold's style. */
export const agentFileCreateSchema = z
  .object({
    slug: apiSlugSchema,
    name: z.string().min(1).max(200).optional(),
    description: z.string().max(2000).optional(),
    /** Default `auto`. */
    model: z.union([z.string().min(1), z.record(z.string(), z.unknown())]).optional(),
    /** Default: a short generic prompt. */
    systemPrompt: z.string().min(1).optional(),
    tools: z.array(z.string().min(1)).max(200).optional(),
    template: z.string().min(1).optional(),
  })
  .strict()
  .meta({ id: 'AgentFileCreate' });

export type AgentFileCreate = z.input<typeof agentFileCreateSchema>;

/** `?confirm=` of `DELETE /v1/project/agents/{slug}`. */
export const agentFileDeleteQuerySchema = z.object({
  confirm: z.string().min(1).max(200),
});
