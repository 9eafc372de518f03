import type { Sandbox } from '@runtools/sandbox';
import type { RunApproval, RunEventInput, Usage } from '@runtools/sdk';
import { RunToolsError } from '@runtools/sdk/errors';
import { type LanguageModel, type ModelMessage, streamText, type ToolSet } from 'ai';
import type { AgentTool, ToolResult, WebSearchConfig } from '../tools/tool.ts';
import { type LoopState, snapshot } from './loop-state.ts';
import type { RunAgentOptions, RunAgentResult, RunOutcome } from './run-agent.ts';

/** What the think/act loop of a run works with, set up once per run (`runAgent`). */
export interface LoopContext {
  agent: RunAgentOptions['agent'];
  sandbox: Sandbox;
  options: RunAgentOptions;
  emit: (event: RunEventInput) => Promise<void>;
  /** Aborts at once: cancel, the run's timeout. */
  signal: AbortSignal;
  /** Stops at the next safe point (pause, drain). */
  stopSignal: AbortSignal | undefined;
  /** Ends a model call: `signal` or `stopSignal`. */
  modelSignal: AbortSignal;
  timeout: AbortSignal;
  tools: Record<string, AgentTool>;
  toolSet: ToolSet;
  model: LanguageModel;
}

export interface ThinkOptions {
  /**
   * Whether this loop is the run: it emits `complete` or `error` at its end. A workflow's agent
   * step is not (the workflow ends the run).
   */
  final: boolean;
  /** The answer to the approval `state.pending` waits for. */
  answer?: RunAgentOptions['answer'];
  onCheckpoint?: RunAgentOptions['onCheckpoint'];
  /** The tools the model is offered (default: all the agent's). */
  toolSet?: ToolSet;
  /** Instead of the agent's system prompt. */
  systemPrompt?: string;
  /** The workflow step this loop runs: its events carry it as `workflowStep`. */
  workflowStep?: string;
  /** A failure of the run's setup: reported as the loop's own (no model call is made). */
  failWith?: unknown;
}

/** The event types a workflow step's loop marks with the step. */
const stepEvents = new Set([
  'thinking',
  'text',
  'tool_call',
  'tool_log',
  'tool_result',
  'step',
  'approval_requested',
  'approval_resolved',
]);

/**
 * The think/act loop over `state`: a streamed model call, then each tool call (waiting for an
 * approval where a rule asks for one), until a final answer, `maxSteps`, a stop, an approval to
 * wait for, or a failure.
 */
export async function think(
  ctx: LoopContext,
  state: LoopState,
  opts: ThinkOptions,
): Promise<RunAgentResult> {
  const { agent, sandbox, options, signal, stopSignal, modelSignal, timeout, tools, model } = ctx;
  const toolSet = opts.toolSet ?? ctx.toolSet;
  const inStep = opts.workflowStep;
  const emit =
    inStep === undefined
      ? ctx.emit
      : (e: RunEventInput) =>
          ctx.emit(stepEvents.has(e.type) ? ({ ...e, workflowStep: inStep } as RunEventInput) : e);
  // The last completed step: what a stop returns (and what the last checkpoint holds).
  let checkpoint = snapshot(state);

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
    if (opts.final) await emit({ type: 'error', code, message });
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

  if (opts.failWith !== undefined) return fail(opts.failWith);

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
      if (opts.answer?.callId !== pending.approval.callId) {
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
          instructions: opts.systemPrompt ?? agent.systemPrompt,
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
      const answered = pending !== undefined && i === pending.next ? opts.answer : undefined;
      if (answered === undefined) {
        // The event carries the input as validated, or the raw one when it is invalid.
        await emit({ type: 'tool_call', step, id: call.toolCallId, name: call.toolName, input });
        if (t && parsed?.success && (await needsApproval(ctx, t, parsed.data))) {
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
    await opts.onCheckpoint?.(snapshot(state));

    if (!calls.length) {
      if (opts.final) {
        await emit({
          type: 'complete',
          text: state.lastText,
          usage: state.usage,
          steps: state.steps,
        });
      }
      return {
        outcome: 'completed',
        text: state.lastText,
        usage: state.usage,
        steps: state.steps,
        state,
      };
    }
  }
  if (opts.final) {
    await emit({
      type: 'complete',
      text: state.lastText,
      usage: state.usage,
      steps: state.steps,
      stopReason: 'max_steps',
    });
  }
  return {
    outcome: 'max_steps',
    text: state.lastText,
    usage: state.usage,
    steps: state.steps,
    state,
  };
}

export async function executeTool(
  t: AgentTool | undefined,
  call: { toolName: string },
  parsed: ReturnType<AgentTool['inputSchema']['safeParse']> | undefined,
  ctx: Parameters<AgentTool['execute']>[1],
): Promise<ToolResult> {
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

/** Whether a call must wait for a person: the agent's rule for the tool, else the tool's own. */
export async function needsApproval(
  ctx: LoopContext,
  t: AgentTool,
  input: unknown,
): Promise<boolean> {
  const { agent, options } = ctx;
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

/** The result a call that was not approved gives the model. */
export function denial(answer: NonNullable<RunAgentOptions['answer']>): {
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

export function addUsage(a: Usage, b: Usage): Usage {
  return {
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    totalTokens: a.totalTokens + b.totalTokens,
  };
}
