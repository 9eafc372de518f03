import type { Sandbox } from '@runtools/sandbox';
import {
  type AgentDefinition,
  type ApprovalDecision,
  type ProjectConfig,
  type RunApproval,
  type RunEventInput,
  splitAgentTools,
  type Usage,
  type WorkflowCodeContext,
} from '@runtools/sdk';
import { RunToolsError } from '@runtools/sdk/errors';
import { jsonSchema, type LanguageModel, type ToolSet, tool } from 'ai';
import {
  type IntegrationToolsFactory,
  integrationToolsOf,
} from '../integrations/agent-integrations.ts';
import { connectMcpServers, type McpConnections } from '../mcp/mcp-tools.ts';
import type { ModelAccess } from '../models/model-access.ts';
import { type ModelEnvironment, resolveModel } from '../models/model-registry.ts';
import { createCoreTools } from '../tools/core-tools.ts';
import type { AgentTool } from '../tools/tool.ts';
import { runWorkflow } from '../workflow/run-workflow.ts';
import { initialState, type LoopState, snapshot } from './loop-state.ts';
import { type LoopContext, think } from './think.ts';

export interface RunAgentOptions {
  agent: AgentDefinition;
  /** The user's input; not needed when resuming. */
  input?: string;
  /** Where the tools run. */
  sandbox: Sandbox;
  /** Continue a run from a saved state (its last completed step). */
  resume?: LoopState;
  /**
   * Receives every event, in order. Events have no `seq` or `ts` here: the run's event log
   * stamps them as it stores them (the server's store; a caller without one numbers them itself).
   */
  onEvent?: (event: RunEventInput) => void | Promise<void>;
  /** Called after every completed step with a state to persist (for pause and restarts). */
  onCheckpoint?: (state: LoopState) => void | Promise<void>;
  /** Aborts at once: the model call stops, the tool process is killed (outcome `cancelled`). */
  signal?: AbortSignal;
  /**
   * Stops at the next safe point (pause, drain): a model call in flight is abandoned (its step is
   * redone on resume), a step's tool calls finish and the step is checkpointed; then the run ends
   * with outcome `stopped`, no `error` event, and `state` is the last checkpoint. A step that is
   * the final answer completes the run instead.
   */
  stopSignal?: AbortSignal;
  /** Overrides the model from the agent's definition (tests, the scripted model). */
  model?: LanguageModel;
  env?: ModelEnvironment;
  /**
   * Where the server's keys may go and which addresses custom endpoints may reach (default: no
   * operator allowances; see `ModelAccess`).
   */
  modelAccess?: ModelAccess;
  /**
   * What `model: 'auto'` does with no provider key in `env`: the scripted demo model (true, the
   * default) or fail the run with `no_model_configured` (false: a production server).
   */
  demoModel?: boolean;
  projectConfig?: Pick<ProjectConfig, 'openaiCompatible' | 'webSearch'>;
  /** Overrides the tools named by the agent. */
  tools?: Record<string, AgentTool>;
  /**
   * The agent's custom tools (its `{ custom: … }` descriptors), as the server runs them: in the
   * tool runner of the definition's bundle (see `createCustomTools`). Called once per run. An
   * agent with custom tools and no factory fails with `unknown_tool`.
   */
  customTools?: (agent: AgentDefinition, signal: AbortSignal) => Promise<Record<string, AgentTool>>;
  /**
   * The agent's marketplace integrations (`tools: ['github', { slack: [...] }]`) as the server
   * runs them: `createIntegrationTools` with its secret store. Called once per run. An agent
   * with integrations and no factory fails with `unknown_tool`.
   */
  integrationTools?: IntegrationToolsFactory;
  /**
   * Decides an `input` approval rule (a function in the agent's code bundle, which runs in its
   * tool runner): true when the call needs a person's approval. Without it, or when it throws,
   * such a call needs approval.
   */
  approvalCheck?: (tool: string, input: unknown) => Promise<boolean>;
  /**
   * The answer to the approval a resumed state waits for (`resume.pending`): the call runs when
   * `approved`; otherwise the model gets a denial as the call's result.
   */
  answer?: { callId: string; decision: ApprovalDecision; reason?: string };
  /**
   * A sandbox of its own for a workflow step declared with `sandbox: 'own'` (released when the
   * step ends). Without it, such a step runs in the run's sandbox.
   */
  stepSandbox?: (stepId: string) => Promise<{ sandbox: Sandbox; release(): Promise<void> }>;
  /**
   * Runs a workflow's code step whose function is in the agent's bundle (stored as `bundle`): in
   * the bundle's tool runner, as the server does for custom tools.
   */
  runCode?: (stepId: string, context: WorkflowCodeContext, signal: AbortSignal) => Promise<unknown>;
}

export type RunOutcome =
  | 'completed'
  | 'max_steps'
  | 'cancelled'
  | 'stopped'
  | 'waiting'
  | 'timeout'
  | 'failed';

export interface RunAgentResult {
  outcome: RunOutcome;
  text: string;
  usage: Usage;
  steps: number;
  state: LoopState;
  error?: { code: string; message: string };
  /**
   * With `waiting`: the tool call a person must approve. `state` holds the step up to that call
   * (`pending`); run the agent again from it with the `answer`.
   */
  approval?: RunApproval;
}

/**
 * Runs an agent: think (a streamed model call) → act (each tool call runs in the sandbox and its
 * result joins the context) → repeat, until a final answer, `maxSteps`, the timeout, or the abort
 * signal. Emits `thinking`, `text`, `tool_call`, `tool_log` (a tool's log lines), `tool_result`,
 * `step`, then `complete` or `error`. A tool that fails becomes an error result the model sees;
 * the run goes on.
 */
export async function runAgent(options: RunAgentOptions): Promise<RunAgentResult> {
  const servers = options.agent.mcpServers ?? {};
  if (options.tools !== undefined) return runLoop(options, async () => ({}));
  // The agent's MCP servers are connected for this run (stdio ones start in its sandbox) and
  // closed when it ends, however it ends.
  let mcp: McpConnections | undefined;
  try {
    return await runLoop(options, async (signal) => {
      const custom = {
        ...(await customToolsOf(options, signal)),
        ...(await integrationToolsOf(options.agent, options.integrationTools, signal)),
      };
      if (Object.keys(servers).length === 0) return custom;
      mcp = await connectMcpServers(servers, {
        sandbox: options.sandbox,
        signal,
        ...(options.modelAccess ? { endpointPolicy: options.modelAccess.endpointPolicy } : {}),
      });
      for (const name of Object.keys(mcp.tools)) {
        if (Object.hasOwn(custom, name)) {
          throw new RunToolsError(
            'invalid_agent',
            `The tool name ${name} is both a custom tool and an MCP server's tool; rename the custom tool or narrow the server with allow/deny.`,
          );
        }
      }
      return { ...custom, ...mcp.tools };
    });
  } finally {
    await mcp?.close();
  }
}

/** The agent's custom tools, from the caller's factory. */
async function customToolsOf(
  options: RunAgentOptions,
  signal: AbortSignal,
): Promise<Record<string, AgentTool>> {
  const { definitions, descriptors } = splitAgentTools(options.agent.tools);
  if (definitions.length === 0 && descriptors.length === 0) return {};
  if (options.customTools === undefined || definitions.length > 0) {
    const names = [...definitions.map((d) => d.name), ...descriptors.map((d) => d.custom)];
    throw new RunToolsError(
      'unknown_tool',
      `Custom tools (${names.join(', ')}) run in a tool runner of the RunTools server: deploy the agent (runtools dev, runtools deploy) rather than passing its definitions to runAgent.`,
      { details: { unknown: names } },
    );
  }
  return options.customTools(options.agent, signal);
}

async function runLoop(
  options: RunAgentOptions,
  extraTools: (signal: AbortSignal) => Promise<Record<string, AgentTool>>,
): Promise<RunAgentResult> {
  const { agent, sandbox } = options;
  const state = options.resume
    ? snapshot(options.resume)
    : initialState(requireInput(options.input));
  const timeout = AbortSignal.timeout(agent.timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  const stopSignal = options.stopSignal;
  const ctx: LoopContext = {
    agent,
    sandbox,
    options,
    emit: async (e) => {
      await options.onEvent?.(e);
    },
    signal,
    stopSignal,
    // The model call also ends on a stop; tool calls only on `signal`, so they finish.
    modelSignal: stopSignal ? AbortSignal.any([signal, stopSignal]) : signal,
    timeout,
    tools: {},
    toolSet: {},
    // Set below; a setup failure ends the run before any model call.
    model: undefined as unknown as LanguageModel,
  };
  try {
    ctx.tools = options.tools ?? {
      ...createCoreTools(splitAgentTools(agent.tools).core),
      ...(await extraTools(signal)),
    };
    ctx.model =
      options.model ??
      resolveModel(agent.model, options.env ?? {}, options.projectConfig, options.modelAccess, {
        demoModel: options.demoModel,
      });
    const unknown = Object.keys(agent.approvals ?? {}).filter(
      (name) => !Object.hasOwn(ctx.tools, name),
    );
    if (unknown.length > 0) {
      // A misspelt name would let every call of the tool meant run unapproved.
      throw new RunToolsError(
        'invalid_agent',
        `approvals names ${unknown.join(', ')}, not a tool of this agent (its tools: ${Object.keys(ctx.tools).join(', ')}).`,
        { details: { unknown } },
      );
    }
  } catch (err) {
    return think(ctx, state, { final: true, failWith: err });
  }
  ctx.toolSet = toolSetOf(Object.values(ctx.tools));
  if (agent.workflow) return runWorkflow(ctx, state, agent.workflow);
  return think(ctx, state, {
    final: true,
    ...(options.answer ? { answer: options.answer } : {}),
    ...(options.onCheckpoint ? { onCheckpoint: options.onCheckpoint } : {}),
  });
}

/** The tools as the model is offered them: each one's description and JSON schema. */
export function toolSetOf(tools: readonly AgentTool[]): ToolSet {
  return Object.fromEntries(
    tools.map((t) => [
      t.name,
      tool({
        description: t.description,
        inputSchema: t.modelSchema ? jsonSchema(t.modelSchema) : t.inputSchema,
      }),
    ]),
  );
}

export function requireInput(input: string | undefined): string {
  if (typeof input !== 'string' || !input.trim()) {
    throw new RunToolsError(
      'invalid_input',
      'A run needs a non-empty input (or a state to resume).',
    );
  }
  return input;
}
