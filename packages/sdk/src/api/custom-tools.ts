import { z } from 'zod';
import { textSchema } from './common.ts';
import { approvalRules } from './run-approvals.ts';

/** The tools RunTools has built in, by the name the model calls them (`tools: ['bash', …]`). */
export const coreToolNames = [
  'bash',
  'read_file',
  'edit_file',
  'grep',
  'glob',
  'web_search',
] as const;

export type CoreToolName = (typeof coreToolNames)[number];

/** True for the name of a core tool. */
export function isCoreToolName(name: unknown): name is CoreToolName {
  return typeof name === 'string' && (coreToolNames as readonly string[]).includes(name);
}

/**
 * A custom tool's name: what the model calls it. Lowercase letters, digits and `_`, starting
 * with a letter, at most 64 characters (every provider accepts these), and not a core tool's.
 */
export const customToolNameSchema = z
  .string()
  .regex(
    /^[a-z][a-z0-9_]{0,63}$/,
    'lowercase letters, digits and "_", starting with a letter, at most 64 characters',
  )
  .refine((name) => !isCoreToolName(name), 'is the name of a core tool; pick another');

/**
 * The name of an environment variable a custom tool may read as a secret. RunTools' own
 * configuration (`RUNTOOLS_*`, `DATABASE_URL`) is never handed to a tool.
 */
export const toolSecretNameSchema = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'an environment variable name such as ORDERS_API_KEY')
  .refine(
    (name) => !/^RUNTOOLS_/i.test(name) && name !== 'DATABASE_URL',
    "is RunTools' own configuration, which no tool may read",
  );

/** The longest a custom tool call may take (`timeoutMs`), and the default. */
export const customToolTimeouts = { defaultMs: 60_000, minMs: 100, maxMs: 3_600_000 } as const;

/**
 * A custom tool as the API stores it: what the model is shown (name, description, the JSON
 * schema of its input) and what the server needs to run it (the secrets it declared, its
 * timeout). The code itself is in the runtime's `bundle`; `runtools dev` and `runtools deploy`
 * make both from a `defineTool()`.
 */
export const customToolDescriptorSchema = z
  .object({
    /** The tool's name (`custom` marks the entry as a custom tool, beside core tool names). */
    custom: customToolNameSchema,
    description: textSchema(4000),
    /** The JSON schema of the tool's input (an object), as the model is shown it. */
    inputSchema: z
      .record(z.string(), z.unknown())
      .refine((schema) => schema.type === 'object', 'must be the JSON schema of an object'),
    /** Environment variables of the server whose values the tool gets as `ctx.secrets`. */
    secrets: z.array(toolSecretNameSchema).max(50).default([]),
    /** Longest a call may take (default 60 s); a slower call is an error result. */
    timeoutMs: z
      .number()
      .int()
      .min(customToolTimeouts.minMs)
      .max(customToolTimeouts.maxMs)
      .optional(),
    /**
     * Whether a call waits for a person's approval: `always`, `never` (the default), or `input`
     * (the tool's `approval` function in the bundle decides from the call's input).
     */
    approval: z.enum(approvalRules).optional(),
  })
  .strict()
  .meta({
    id: 'CustomTool',
    description:
      "A custom tool of the runtime's code bundle: its name, description and input schema as " +
      'the model sees them, the secrets it declared and its timeout.',
  });

export type CustomToolDescriptor = z.output<typeof customToolDescriptorSchema>;

/** True for a custom tool's descriptor (an entry of `tools` that is not a core tool's name). */
export function isCustomToolDescriptor(value: unknown): value is CustomToolDescriptor {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { custom?: unknown }).custom === 'string'
  );
}
