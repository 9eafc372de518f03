import type { Sandbox } from '@runtools/sandbox';
import {
  type AgentDefinition,
  type ApprovalDecision,
  type ProjectConfig,
  type RunApproval,
  type RunEventInput,
  splitAgentTools,
  type Usage,
} from '@runtools/sdk';
import { RunToolsError } from '@runtools/sdk/errors';
import {
  jsonSchema,
  type LanguageModel,
  type ModelMessage,
  streamText,
  type ToolSet,
  tool,
} from 'ai';
import {
  type IntegrationToolsFactory,
  integrationToolsOf,
} from '../integrations/agent-integrations.ts';
import { connectMcpServers, type McpConnections } from '../mcp/mcp-tools.ts';
import type { ModelAccess } from '../models/model-access.ts';
import { type ModelEnvironment, resolveModel } from '../models/model-registry.ts';
import { createCoreTools } from '../tools/core-tools.ts';
import type { AgentTool, WebSearchConfig } from '../tools/tool.ts';
import { initialState, type LoopState, snapshot } from './loop-state.ts';

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
  const emit = async (e: RunEventInput) => {
    await options.onEvent?.(e);
  };

  const timeout = AbortSignal.timeout(agent.timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  const stopSignal = options.stopSignal;
  // The model call also ends on a stop; tool calls only on `signal`, so they finish.
  const modelSignal = stopSignal ? AbortSignal.any([signal, stopSignal]) : signal;
  // The last completed step: what a stop returns (and what the last checkpoint holds).
  let checkpoint = snapshot(state);
  let tools: Record<string, AgentTool>;
  let model: LanguageModel;
  try {
    tools = options.tools ?? {
      ...createCoreTools(splitAgentTools(agent.tools).core),
      ...(await extraTools(signal)),
    };
    model =
      options.model ??
      resolveModel(agent.model, options.env ?? {}, options.projectConfig, options.modelAccess, {
        demoModel: options.demoModel,
      });
  } catch (err) {
    return fail(err);
  }
  const toolSet: ToolSet = Object.fromEntries(
    Object.values(tools).map((t) => [
      t.name,
      tool({
        description: t.description,
        inputSchema: t.modelSchema ? jsonSchema(t.modelSchema) : t.inputSchema,
      }),
    ]),
  );

  async function fail(err: unknown): Promise<RunAgentResult> {
    const outcome: RunOutcome = timeout.aborted
      ? 'timeout'
      : signal.aborted
        ? 'cancelled'
        : 'failed';
    const code =
      outcome === 'timeout'
        ? 'timeout'
        : outcome === 'cancelled'
          ? 'cancelled'
          : RunToolsError.isInstance(err)
            ? err.code
            : 'model_error';
    const message =
      outcome === 'timeout'
        ? `The run exceeded its time limit of ${agent.timeoutMs} ms.`
        : outcome === 'cancelled'
          ? 'The run was cancelled.'
          : ((err as Error)?.message ?? String(err));
    await emit({ type: 'error', code, message });
    return {
      outcome,
      text: state.lastText,
      usage: state.usage,
      steps: state.steps,
      state,
      error: { code, message },
    };
  }

  /** Stops at a call that waits for approval: `state` is the step up to it (`pending`). */
  function waiting(approval: RunApproval): RunAgentResult {
    return {
      outcome: 'waiting',
      text: state.lastText,
      usage: state.usage,
      steps: state.steps,
      state: snapshot(state),
      approval,
    };
  }

  function stopped(): RunAgentResult {
    const last = checkpoint;
    return {
      outcome: 'stopped',
      text: last.lastText,
      usage: last.usage,
      steps: last.steps,
      state: last,
    };
  }

  const approvalNames = Object.keys(agent.approvals ?? {}).filter(
    (name) => !Object.hasOwn(tools, name),
  );
  if (approvalNames.length > 0) {
    // A misspelt name would let every call of the tool meant run unapproved.
    return fail(
      new RunToolsError(
        'invalid_agent',
        `approvals names ${approvalNames.join(', ')}, not a tool of this agent (its tools: ${Object.keys(tools).join(', ')}).`,
        { details: { unknown: approvalNames } },
      ),
    );
  }

  /** Whether a call must wait for a person: the agent's rule for the tool, else the tool's own. */
  async function needsApproval(t: AgentTool, input: unknown): Promise<boolean> {
    const rule = agent.approvals?.[t.name] ?? t.approval ?? 'never';
    if (rule === 'never') return false;
    if (rule === 'always') return true;
    try {
      // A rule that cannot decide asks: an approval is never skipped by an error.
      if (typeof rule === 'function') return Boolean(await rule(input));
      return options.approvalCheck ? await options.approvalCheck(t.name, input) : true;
    } catch {
      return true;
    }
  }

  while (state.steps < agent.maxSteps) {
    if (signal.aborted) return fail(signal.reason);
    const pending = state.pending;
    let step: number;
    let calls: Array<{ toolCallId: string; toolName: string; input: unknown }>;
    let usage: Usage;
    let finishReason: string;
    let results: unknown[];
    if (pending) {
      // Continuing a step that stopped at a call waiting for approval: its model call is done.
      if (options.answer?.callId !== pending.approval.callId) {
        return waiting(pending.approval);
      }
      ({ step, calls, usage, finishReason, results } = pending);
      results = [...results];
    } else {
      if (stopSignal?.aborted) return stopped();
      step = state.steps + 1;
      calls = [];
      let text = '';
      usage = { inputTokens: 0, outputTokens: 0, totalTokens: 0 };
      finishReason = 'unknown';
      let responseMessages: ModelMessage[];
      try {
        const result = streamText({
          model,
          instructions: agent.systemPrompt,
          messages: state.messages,
          tools: toolSet,
          abortSignal: modelSignal,
          maxRetries: 2,
          // Errors arrive as stream parts and end the run with an `error` event; don't also log them.
          onError: () => {},
          ...(agent.temperature !== undefined ? { temperature: agent.temperature } : {}),
        });
        for await (const part of result.stream) {
          switch (part.type) {
            case 'reasoning-delta':
              if (part.text) await emit({ type: 'thinking', step, delta: part.text });
              break;
            case 'text-delta':
              if (part.text) {
                text += part.text;
                await emit({ type: 'text', step, delta: part.text });
              }
              break;
            case 'tool-call':
              calls.push({
                toolCallId: part.toolCallId,
                toolName: part.toolName,
                input: part.input,
              });
              break;
            case 'finish-step':
              usage = toUsage(part.usage);
              finishReason = part.finishReason;
              break;
            case 'error':
              throw part.error;
            default:
          }
        }
        // An aborted stream just ends (an `abort` part, no error).
        if (signal.aborted) return fail(signal.reason);
        if (stopSignal?.aborted) return stopped();
        responseMessages = (await result.responseMessages) as ModelMessage[];
      } catch (err) {
        if (!signal.aborted && stopSignal?.aborted) return stopped();
        return fail(err);
      }

      state.messages.push(...responseMessages);
      state.usage = addUsage(state.usage, usage);
      if (text) state.lastText = text;
      results = [];
    }

    for (let i = pending ? pending.next : 0; i < calls.length; i++) {
      const call = calls[i] as (typeof calls)[number];
      const t = tools[call.toolName];
      const parsed = t?.inputSchema.safeParse(call.input);
      const input = parsed?.success ? parsed.data : call.input;
      const answered = pending !== undefined && i === pending.next ? options.answer : undefined;
      if (answered === undefined) {
        // The event carries the input as validated, or the raw one when it is invalid.
        await emit({ type: 'tool_call', step, id: call.toolCallId, name: call.toolName, input });
        if (t && parsed?.success && (await needsApproval(t, parsed.data))) {
          const now = Date.now();
          const approval: RunApproval = {
            callId: call.toolCallId,
            tool: call.toolName,
            input,
            step,
            requestedAt: new Date(now).toISOString(),
            expiresAt: new Date(now + agent.approvalTimeoutMs).toISOString(),
          };
          state.pending = { step, calls, next: i, results, usage, finishReason, approval };
          await emit({
            type: 'approval_requested',
            step,
            callId: approval.callId,
            tool: approval.tool,
            input,
            expiresAt: approval.expiresAt,
          });
          return waiting(approval);
        }
      }
      const started = performance.now();
      // A tool's log lines are events between its tool_call and its tool_result, in order.
      let logged: Promise<void> = Promise.resolve();
      const r =
        answered !== undefined && answered.decision !== 'approved'
          ? denial(answered)
          : await executeTool(t, call, parsed, {
              sandbox,
              signal,
              state: state.toolState,
              ...(options.projectConfig?.webSearch
                ? { webSearch: options.projectConfig.webSearch as WebSearchConfig }
                : {}),
              call: { id: call.toolCallId, step },
              log: (message) => {
                logged = logged
                  .then(() =>
                    emit({
                      type: 'tool_log',
                      step,
                      id: call.toolCallId,
                      name: call.toolName,
                      message,
                    }),
                  )
                  .catch(() => {});
              },
            });
      const durationMs = Math.round((performance.now() - started) * 10) / 10;
      await logged;
      await emit({
        type: 'tool_result',
        step,
        id: call.toolCallId,
        name: call.toolName,
        output: r.output,
        isError: r.isError === true,
        durationMs,
        ...(r.metadata ? { metadata: r.metadata } : {}),
      });
      results.push({
        type: 'tool-result',
        toolCallId: call.toolCallId,
        toolName: call.toolName,
        output: r.isError
          ? { type: 'error-text', value: r.output }
          : { type: 'text', value: r.output },
      });
      if (signal.aborted) return fail(signal.reason);
    }
    delete state.pending;
    if (calls.length) state.messages.push({ role: 'tool', content: results } as ModelMessage);
    state.steps = step;
    await emit({ type: 'step', step, usage, finishReason });
    checkpoint = snapshot(state);
    await options.onCheckpoint?.(snapshot(state));

    if (!calls.length) {
      await emit({
        type: 'complete',
        text: state.lastText,
        usage: state.usage,
        steps: state.steps,
      });
      return {
        outcome: 'completed',
        text: state.lastText,
        usage: state.usage,
        steps: state.steps,
        state,
      };
    }
  }
  await emit({
    type: 'complete',
    text: state.lastText,
    usage: state.usage,
    steps: state.steps,
    stopReason: 'max_steps',
  });
  return {
    outcome: 'max_steps',
    text: state.lastText,
    usage: state.usage,
    steps: state.steps,
    state,
  };
}

async function executeTool(
  t: AgentTool | undefined,
  call: { toolName: string },
  parsed: ReturnType<AgentTool['inputSchema']['safeParse']> | undefined,
  ctx: Parameters<AgentTool['execute']>[1],
): Promise<{ output: string; isError?: boolean; metadata?: Record<string, unknown> }> {
  if (!t || !parsed) return { output: `Unknown tool "${call.toolName}".`, isError: true };
  if (!parsed.success) {
    const issues = parsed.error.issues
      .map((i) => `${i.path.join('.') || 'input'}: ${i.message}`)
      .join('; ');
    return { output: `Invalid input for ${t.name}: ${issues}`, isError: true };
  }
  try {
    return await t.execute(parsed.data, ctx);
  } catch (err) {
    // A tool that throws is a failed call the model can react to, not a crashed run.
    return { output: `${t.name} failed: ${(err as Error)?.message ?? String(err)}`, isError: true };
  }
}

/** The result a call that was not approved gives the model. */
function denial(answer: NonNullable<RunAgentOptions['answer']>): {
  output: string;
  isError: true;
  metadata: Record<string, unknown>;
} {
  const why = answer.reason ? ` Reason: ${answer.reason}` : '';
  const output =
    answer.decision === 'expired'
      ? "This call needed a person's approval and got no answer in time, so it was not run."
      : `A person denied this call, so it was not run.${why}`;
  return { output, isError: true, metadata: { approval: answer.decision } };
}

function toUsage(u: {
  inputTokens: number | undefined;
  outputTokens: number | undefined;
  totalTokens?: number | undefined;
}): Usage {
  const inputTokens = u.inputTokens ?? 0;
  const outputTokens = u.outputTokens ?? 0;
  return { inputTokens, outputTokens, totalTokens: u.totalTokens ?? inputTokens + outputTokens };
}

function addUsage(a: Usage, b: Usage): Usage {
  return {
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    totalTokens: a.totalTokens + b.totalTokens,
  };
}

function requireInput(input: string | undefined): string {
  if (typeof input !== 'string' || !input.trim()) {
    throw new RunToolsError(
      'invalid_input',
      'A run needs a non-empty input (or a state to resume).',
    );
  }
  return input;
}
