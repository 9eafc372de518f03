import { z } from 'zod';
import {
  type CustomToolDescriptor,
  customToolDescriptorSchema,
  customToolNameSchema,
  customToolTimeouts,
  isCustomToolDescriptor,
  toolSecretNameSchema,
} from './api/custom-tools.ts';
import {
  type EnabledIntegration,
  isIntegrationName,
  isIntegrationSelection,
} from './api/integrations.ts';
import { type ApprovalRule, approvalRules } from './api/run-approvals.ts';
import { RunToolsError } from './errors.ts';

/** What `ctx.sandbox.exec` returns: a non-zero exit is a result, not an error. */
export interface ToolExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** True when `timeoutMs` killed the command (and everything it started). */
  timedOut: boolean;
}

export interface ToolExecOptions {
  /** Working directory in the sandbox (default: where the run's `bash` last `cd`-ed). */
  cwd?: string;
  /** Added to the sandbox's environment for this command. */
  env?: Record<string, string>;
  /** Kill the command after this long (default 120 s, at most the tool's own timeout). */
  timeoutMs?: number;
}

/** An entry of `ctx.sandbox.files.list()`. */
export interface ToolFileEntry {
  name: string;
  /** Absolute path in the sandbox. */
  path: string;
  type: 'file' | 'directory' | 'symlink' | 'other';
  size: number;
}

/**
 * The run's workspace sandbox, as a custom tool reaches it: the same sandbox the agent's core
 * tools act in. The tool itself runs elsewhere (a tool runner on the server), so each call is a
 * request to the server, which performs it in the sandbox.
 */
export interface ToolSandbox {
  /** Runs a command: a string goes to `/bin/sh -c`, an array is the argv. */
  exec(command: string | string[], options?: ToolExecOptions): Promise<ToolExecResult>;
  files: {
    /** A text file's content (UTF-8); a relative path is from the run's working directory. */
    read(path: string): Promise<string>;
    /** Creates or replaces a file (and missing parent directories). */
    write(path: string, text: string): Promise<void>;
    /** A directory's entries. */
    list(path: string): Promise<ToolFileEntry[]>;
  };
}

/** What a custom tool's `execute` gets besides its input. */
export interface ToolCallContext<Secret extends string = string> {
  sandbox: ToolSandbox;
  /** Aborted when the run is cancelled or the call times out: stop, and clean up. */
  signal: AbortSignal;
  runId: string;
  /** The run's metadata (what its caller gave with `POST /v1/run/{slug}`). */
  metadata: Record<string, unknown>;
  /** A line for the run's log: a `tool_log` event (secrets in it are masked). */
  log(message: string): void;
  /** The values of the secrets the tool declared, and only those. */
  secrets: Readonly<Record<Secret, string>>;
}

/** What `defineTool` takes. */
export interface ToolDefinitionInput<
  Input extends z.ZodObject = z.ZodObject,
  Secret extends string = string,
> {
  /** What the model calls it: lowercase letters, digits and `_` (not a core tool's name). */
  name: string;
  /** What the model reads to decide when to call it, and how. */
  description: string;
  /** The input's schema: the model is shown its JSON schema; a call is validated with it. */
  input: Input;
  /** Environment variables of the server the tool reads, e.g. `['ORDERS_API_KEY']`. */
  secrets?: readonly Secret[];
  /** Longest a call may take (default 60 000 ms); a slower call is an error result. */
  timeoutMs?: number;
  /**
   * Whether a call waits for a person's approval first (the run is `waiting`, its sandbox
   * paused): `'always'`, `'never'` (the default), or a function of the call's input that says
   * whether this call needs it. An agent's `approvals` entry for the tool overrides it.
   */
  approval?: ToolApproval<z.output<Input>>;
  /**
   * Does the work. A string is given to the model as it is, anything else as formatted JSON;
   * a throw is an error result the model sees (its message, never a stack).
   */
  execute(input: z.output<Input>, ctx: ToolCallContext<Secret>): unknown;
}

/**
 * When a tool's calls need a person's approval: `'always'`, `'never'`, or a function of the
 * call's input (true: ask). A function runs in the tool runner (the project's code), and one that
 * throws asks.
 */
export type ToolApproval<Input = never> =
  | 'always'
  | 'never'
  | ((input: Input) => boolean | Promise<boolean>);

/**
 * An entry of an agent's `approvals`: `'always'`, `'never'`, a function of the call's input (any
 * tool's, so its input is untyped), or `'input'`, the stored form of a function.
 */
export type AgentToolApproval =
  | 'always'
  | 'never'
  | 'input'
  // biome-ignore lint/suspicious/noExplicitAny: the input of whichever tool the entry names
  | ((input: any) => boolean | Promise<boolean>);

const toolMarker = Symbol.for('runtools.tool');

/** A tool made by `defineTool`: list it in an agent's `tools`. */
export type ToolDefinition<
  Input extends z.ZodObject = z.ZodObject,
  Secret extends string = string,
> = Readonly<Required<Omit<ToolDefinitionInput<Input, Secret>, 'timeoutMs' | 'approval'>>> & {
  readonly timeoutMs?: number;
  /** (Its input type is lost here so that every tool fits in an agent's `tools`.) */
  readonly approval?: ToolApproval<never>;
  readonly [toolMarker]: true;
};

/** A tool definition that is not valid (`invalid_tool`), with every problem listed. */
export class ToolDefinitionError extends RunToolsError {
  readonly issues: Array<{ field: string; message: string }>;
  constructor(name: string, issues: Array<{ field: string; message: string }>) {
    super(
      'invalid_tool',
      `Invalid tool ${name}: ${issues.map((i) => `${i.field}: ${i.message}`).join('; ')}`,
      { details: { tool: name, issues } },
    );
    this.name = 'ToolDefinitionError';
    this.issues = issues;
  }
}

/**
 * An approval rule: `'always'`, `'never'`, or a function of the input; with `stored`, also
 * `'input'` (how the API stores a function: the bundle decides).
 */
export const approvalRuleSchema = (stored: boolean) =>
  z.union(
    [
      stored ? z.enum(approvalRules) : z.enum(['always', 'never']),
      z.custom<(input: never) => boolean>(
        (v) => typeof v === 'function',
        'a function (input) => boolean',
      ),
    ],
    { error: "'always', 'never', or a function (input) => boolean" },
  );

const toolConfigSchema = z.object({
  name: customToolNameSchema,
  description: z.string().min(1, 'a description is required').max(4000),
  input: z.custom<z.ZodObject>(isZodObject, 'a zod object schema: z.object({ ... })'),
  secrets: z.array(toolSecretNameSchema).max(50).default([]),
  timeoutMs: z
    .number()
    .int()
    .min(customToolTimeouts.minMs)
    .max(customToolTimeouts.maxMs)
    .optional(),
  execute: z.custom<(...args: unknown[]) => unknown>(
    (v) => typeof v === 'function',
    'a function (input, ctx) => result',
  ),
  approval: approvalRuleSchema(false).optional(),
});

/**
 * Defines a custom tool: the project's own code, which an agent lists beside the core tools.
 * It runs on the server in an unprivileged tool runner (not in the workspace sandbox, where the
 * model's commands run), reaches that sandbox through `ctx.sandbox`, and gets the secrets it
 * declares (from the server's environment) in `ctx.secrets`.
 *
 * ```ts
 * import { defineTool } from '@runtools/sdk';
 * import { z } from 'zod';
 *
 * export const lookupOrder = defineTool({
 *   name: 'lookup_order',
 *   description: 'Looks up an order by its id: status, items and shipping.',
 *   input: z.object({ orderId: z.string().describe('e.g. A-1042') }),
 *   secrets: ['ORDERS_API_KEY'],
 *   async execute({ orderId }, ctx) {
 *     const r = await fetch(`https://orders.example.com/v1/orders/${orderId}`, {
 *       headers: { authorization: `Bearer ${ctx.secrets.ORDERS_API_KEY}` },
 *       signal: ctx.signal,
 *     });
 *     if (!r.ok) throw new Error(`the orders API answered ${r.status}`);
 *     return r.json();
 *   },
 * });
 * ```
 * A wrong field throws a `ToolDefinitionError` naming it.
 */
export function defineTool<Input extends z.ZodObject, const Secret extends string = never>(
  input: ToolDefinitionInput<Input, Secret>,
): ToolDefinition<Input, Secret> {
  const name = typeof input?.name === 'string' ? input.name : '(unnamed)';
  const r = toolConfigSchema.safeParse(input);
  if (!r.success) {
    throw new ToolDefinitionError(
      name,
      r.error.issues.map((i) => ({ field: i.path.join('.') || '(tool)', message: i.message })),
    );
  }
  const definition = Object.freeze({
    name: r.data.name,
    description: r.data.description,
    input: input.input,
    secrets: Object.freeze([...r.data.secrets]) as readonly Secret[],
    ...(r.data.timeoutMs !== undefined ? { timeoutMs: r.data.timeoutMs } : {}),
    ...(input.approval !== undefined ? { approval: input.approval } : {}),
    execute: input.execute,
    [toolMarker]: true as const,
  });
  // The model must be shown a schema: one zod cannot write as JSON schema is refused here.
  toolDescriptor(definition);
  return definition;
}

/** True for a value made by `defineTool` (in any copy of this package). */
export function isToolDefinition(value: unknown): value is ToolDefinition {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<symbol, unknown>)[toolMarker] === true
  );
}

/**
 * A tool definition as the API stores it: its input as JSON schema (what the model is shown,
 * for the input the model writes: defaults are optional). The code is shipped apart, bundled.
 */
export function toolDescriptor(definition: ToolDefinition): CustomToolDescriptor {
  let inputSchema: Record<string, unknown>;
  try {
    const { $schema: _, ...schema } = z.toJSONSchema(definition.input, { io: 'input' }) as Record<
      string,
      unknown
    >;
    inputSchema = schema;
  } catch (error) {
    throw new ToolDefinitionError(definition.name, [
      {
        field: 'input',
        message: `cannot be shown to the model as JSON schema: ${(error as Error).message}`,
      },
    ]);
  }
  return customToolDescriptorSchema.parse({
    custom: definition.name,
    description: definition.description,
    inputSchema,
    secrets: [...definition.secrets],
    ...(definition.timeoutMs !== undefined ? { timeoutMs: definition.timeoutMs } : {}),
    ...(definition.approval !== undefined
      ? { approval: storedApprovalRule(definition.approval) }
      : {}),
  });
}

/**
 * An approval rule as the API stores it: a function becomes `input` (the tool runner calls the
 * function in the bundle); `always` and `never` stay.
 */
export function storedApprovalRule(rule: ToolApproval<never> | ApprovalRule): ApprovalRule {
  return typeof rule === 'function' ? 'input' : rule;
}

/** An agent's `tools` sorted by kind. */
export interface AgentTools {
  /** Core tool names (and any other string: `createCoreTools` says which it does not know). */
  core: string[];
  /**
   * Marketplace integrations: a name (`'github'`, every action) or `{ slack: ['post_message'] }`
   * (those actions only).
   */
  integrations: EnabledIntegration[];
  /** Tools from `defineTool()`, in an agent file. */
  definitions: ToolDefinition[];
  /** Custom tools as the API stores them (their code is in the runtime's `bundle`). */
  descriptors: CustomToolDescriptor[];
}

/**
 * Sorts an agent's `tools` into core tool names, marketplace integrations, tool definitions and
 * custom tool descriptors.
 */
export function splitAgentTools(tools: readonly unknown[]): AgentTools {
  const split: AgentTools = { core: [], integrations: [], definitions: [], descriptors: [] };
  for (const tool of tools) {
    if (isIntegrationName(tool)) split.integrations.push({ name: tool });
    else if (typeof tool === 'string') split.core.push(tool);
    else if (isIntegrationSelection(tool)) {
      const [name, actions] = Object.entries(tool)[0] as [string, string[]];
      if (isIntegrationName(name)) split.integrations.push({ name, actions: [...actions] });
    } else if (isToolDefinition(tool)) split.definitions.push(tool);
    else if (isCustomToolDescriptor(tool)) split.descriptors.push(tool);
  }
  return split;
}

/** Duck-typed, so a schema made with the project's own copy of zod 4 is accepted too. */
function isZodObject(value: unknown): value is z.ZodObject {
  const zod = (value as { _zod?: { def?: { type?: unknown } } } | null)?._zod;
  return (
    typeof (value as { safeParse?: unknown } | null)?.safeParse === 'function' &&
    zod?.def?.type === 'object'
  );
}
