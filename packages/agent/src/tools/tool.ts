import type { Sandbox } from '@runtools/sandbox';
import type { ApprovalRule } from '@runtools/sdk';
import type { z } from 'zod';

/** Configuration of the web_search tool's provider (from project or server configuration). */
export type WebSearchConfig =
  | { provider: 'tavily'; apiKey: string; endpoint?: string }
  | { provider: 'brave'; apiKey: string; endpoint?: string }
  | { provider: 'searxng'; url: string };

/** What a tool gets besides its input. */
export interface ToolContext {
  /** The run's sandbox: every core tool acts inside it, never on the host. */
  sandbox: Sandbox;
  /** Aborted when the run is cancelled: a tool must stop and kill what it started. */
  signal: AbortSignal;
  /**
   * State that lives for one run and is serialised with it (e.g. bash's working directory),
   * so a resumed run continues where it was.
   */
  state: Record<string, unknown>;
  webSearch?: WebSearchConfig;
  /** The call being made: its id (as in the `tool_call` event) and the step it is part of. */
  call?: { id: string; step: number };
  /** A line for the run's log while the call runs: a `tool_log` event of this call. */
  log?: (message: string) => void;
}

/** The result of a tool call as the model sees it, plus facts for events and logs. */
export interface ToolResult {
  /** Text given back to the model. */
  output: string;
  /** True when the tool failed; the model sees `output` as the error. */
  isError?: boolean;
  /** Structured facts (exit code, file path, match location) for events and tests. */
  metadata?: Record<string, unknown>;
  /**
   * The result as a workflow's tool step gives it to later steps (`steps.ID.output`), when that
   * is not `output` (bash: the command's output, without the lines about its exit).
   */
  value?: unknown;
}

/**
 * A tool an agent can call. `inputSchema` validates the model's input and is also the JSON
 * schema the model is shown, so the two never disagree.
 */
export interface AgentTool<Input = unknown> {
  name: string;
  description: string;
  inputSchema: z.ZodType<Input>;
  /**
   * The JSON schema the model is shown, when it is not `inputSchema`'s (an MCP server's tool,
   * which validates its own input).
   */
  modelSchema?: Record<string, unknown>;
  /** Whether a call waits for a person's approval (a custom tool's own rule; the agent's `approvals` override it). */
  approval?: ApprovalRule;
  execute(input: Input, ctx: ToolContext): Promise<ToolResult>;
}

/** Errors a tool reports to the model (not a crash of the run). */
export class ToolError extends Error {
  readonly metadata: Record<string, unknown>;
  constructor(message: string, metadata: Record<string, unknown> = {}) {
    super(message);
    this.name = 'ToolError';
    this.metadata = metadata;
  }
}
