import type { Sandbox } from '@runtools/sandbox';
import type { RunApproval, RunEventInput, WorkflowDefinition, WorkflowStep } from '@runtools/sdk';
import { RunToolsError } from '@runtools/sdk/errors';
import type { ModelMessage } from 'ai';
import { z } from 'zod';
import { initialState, type LoopState, snapshot, type WorkflowState } from '../loop/loop-state.ts';
import type { RunAgentResult } from '../loop/run-agent.ts';
import { toolSetOf } from '../loop/run-agent.ts';
import {
  addUsage,
  denial,
  executeTool,
  type LoopContext,
  needsApproval,
  think,
} from '../loop/think.ts';
import { asText, renderText, renderValue, workflowValue } from './workflow-values.ts';

type Step = WorkflowStep;
type LeafStep = Extract<Step, { kind: 'agent' | 'tool' | 'code' | 'approval' | 'branch' }>;

/** How a step ended: done (with its output and the step after it), or the run stops here. */
type StepOutcome =
  | { kind: 'done'; output: unknown; next: string | undefined }
  | { kind: 'waiting'; approval: RunApproval }
  | { kind: 'stopped' }
  | { kind: 'failed'; code: string; message: string };

/** How many times a model answer that does not match a step's output schema is asked again. */
const outputRetries = 2;

/**
 * Runs an agent's workflow from `top.workflow` (or its start): one step after another, each
 * stored (`onCheckpoint`) before the next starts, with `workflow_step_started`,
 * `workflow_step_completed` and `workflow_step_failed` events around the steps' own. A pause stops
 * it between steps, or inside an agent step at the loop's next safe point (that step continues
 * on resume); an approval, of a tool call or an approval step, ends it `waiting` until the
 * answer; a step found running when the run resumes after a crash is marked interrupted and runs
 * again.
 */
export async function runWorkflow(
  ctx: LoopContext,
  top: LoopState,
  def: WorkflowDefinition,
): Promise<RunAgentResult> {
  const { emit, options } = ctx;
  top.workflow ??= {
    at: def.start,
    input: firstUserText(top),
    outputs: {},
    transitions: 0,
    attempts: {},
    running: [],
    suspended: {},
    asked: {},
    joined: [],
  };
  const wf: WorkflowState = top.workflow;
  const save = async () => {
    await options.onCheckpoint?.(snapshot(top));
  };
  const result = (
    outcome: RunAgentResult['outcome'],
    extra: Partial<RunAgentResult> = {},
  ): RunAgentResult => ({
    outcome,
    text: top.lastText,
    usage: top.usage,
    steps: top.steps,
    state: snapshot(top),
    ...extra,
  });
  const fail = async (code: string, message: string): Promise<RunAgentResult> => {
    await emit({ type: 'error', code, message });
    const outcome = ctx.timeout.aborted ? 'timeout' : ctx.signal.aborted ? 'cancelled' : 'failed';
    return result(outcome, { error: { code, message } });
  };

  // Steps a server left mid-way (not stopped by a pause or an approval): said so, then run again.
  for (const id of wf.running) {
    if (wf.suspended[id] !== undefined || wf.asked[id] !== undefined) continue;
    await emit({
      type: 'workflow_step_failed',
      stepId: id,
      code: 'interrupted',
      message: 'The server stopped while this step ran; it runs again.',
      retrying: true,
    });
  }
  wf.running = wf.running.filter((id) => wf.suspended[id] ?? wf.asked[id]);

  /** A step's start: counted, announced and stored; nothing when it resumes where it stopped. */
  const begin = async (id: string, step: Step): Promise<StepOutcome | undefined> => {
    if (wf.running.includes(id)) return undefined;
    if (++wf.transitions > def.maxTransitions) {
      return {
        kind: 'failed',
        code: 'workflow_too_long',
        message: `The workflow took more than its maxTransitions (${def.maxTransitions}) steps; a loop may never end.`,
      };
    }
    const attempt = (wf.attempts[id] ?? 0) + 1;
    wf.attempts[id] = attempt;
    wf.running.push(id);
    await emit({ type: 'workflow_step_started', stepId: id, kind: step.kind, attempt });
    await save();
    return undefined;
  };

  /** A step's end: its output kept, announced and stored before anything after it runs. */
  const complete = async (id: string, output: unknown, next: string | undefined) => {
    wf.outputs[id] = output;
    wf.running = wf.running.filter((s) => s !== id);
    delete wf.suspended[id];
    delete wf.asked[id];
    await emit({
      type: 'workflow_step_completed',
      stepId: id,
      output,
      ...(next === undefined ? {} : { next }),
    });
  };

  const approvalFor = (id: string, tool: string, input: unknown): RunApproval => {
    const now = Date.now();
    return {
      callId: `wf_${id}_${wf.attempts[id] ?? 1}`,
      tool,
      input,
      step: top.steps,
      requestedAt: new Date(now).toISOString(),
      expiresAt: new Date(now + ctx.agent.approvalTimeoutMs).toISOString(),
    };
  };
  /** The answer to the approval step `id` waits for, when the run was resumed with it. */
  const answerFor = (id: string) => {
    const asked = wf.asked[id];
    const answer = options.answer;
    return asked && answer?.callId === asked.callId ? answer : undefined;
  };

  async function runLeaf(id: string, step: LeafStep, sandbox: Sandbox): Promise<StepOutcome> {
    try {
      switch (step.kind) {
        case 'agent':
          return await agentStep(id, step, sandbox);
        case 'tool':
          return await toolStep(id, step, sandbox);
        case 'code':
          return await codeStep(id, step);
        case 'approval':
          return await approvalStep(id, step);
        case 'branch': {
          const value = workflowValue(wf, step.on);
          const key = asText(value);
          const next = Object.hasOwn(step.cases, key) ? step.cases[key] : step.default;
          if (next === undefined) {
            return {
              kind: 'failed',
              code: 'workflow_branch_unmatched',
              message: `Step "${id}": ${step.on} is ${JSON.stringify(value)}, which none of its cases (${Object.keys(step.cases).join(', ')}) matches, and it has no default.`,
            };
          }
          return { kind: 'done', output: { value, next }, next };
        }
      }
    } catch (error) {
      if (RunToolsError.isInstance(error)) {
        return { kind: 'failed', code: error.code, message: error.message };
      }
      return { kind: 'failed', code: 'internal_error', message: (error as Error).message };
    }
  }

  async function agentStep(
    id: string,
    step: Extract<Step, { kind: 'agent' }>,
    sandbox: Sandbox,
  ): Promise<StepOutcome> {
    const schema = step.output === undefined ? undefined : outputSchema(step.output);
    let loop =
      wf.suspended[id] ??
      initialState(
        renderText(wf, step.prompt) +
          (schema
            ? `\n\nAnswer with only a JSON value (no prose, no code fence) that matches this JSON schema:\n${JSON.stringify(schema.json)}`
            : ''),
      );
    const toolSet = step.tools
      ? toolSetOf(
          step.tools.map((name) => {
            const t = ctx.tools[name];
            if (t === undefined) {
              throw new RunToolsError(
                'invalid_agent',
                `Step "${id}" names the tool ${name}, which the agent does not have (its tools: ${Object.keys(ctx.tools).join(', ')}).`,
              );
            }
            return t;
          }),
        )
      : ctx.toolSet;
    const stepCtx = sandbox === ctx.sandbox ? ctx : { ...ctx, sandbox };
    for (let retry = 0; ; retry++) {
      const r = await think(stepCtx, loop, {
        final: false,
        workflowStep: id,
        toolSet,
        ...(options.answer ? { answer: options.answer } : {}),
      });
      if (r.outcome === 'waiting' && r.approval) {
        wf.suspended[id] = r.state;
        return { kind: 'waiting', approval: r.approval };
      }
      if (r.outcome === 'stopped') {
        wf.suspended[id] = r.state;
        return { kind: 'stopped' };
      }
      if (r.outcome !== 'completed' && r.outcome !== 'max_steps') {
        return {
          kind: 'failed',
          code: r.error?.code ?? r.outcome,
          message: r.error?.message ?? r.outcome,
        };
      }
      const added = r.usage;
      const steps = r.steps;
      if (schema === undefined) {
        account(added, steps, r.text);
        return { kind: 'done', output: r.text, next: step.next };
      }
      const parsed = parseOutput(r.text, schema.zod);
      if (parsed.ok) {
        account(added, steps, r.text);
        return { kind: 'done', output: parsed.value, next: step.next };
      }
      if (retry >= outputRetries) {
        account(added, steps, r.text);
        return {
          kind: 'failed',
          code: 'workflow_output_invalid',
          message: `Step "${id}": the model's answer is not JSON matching the step's output schema (${parsed.issues}).`,
        };
      }
      // Asked again, in the same conversation, with what was wrong.
      loop = r.state;
      loop.messages.push({
        role: 'user',
        content: `That answer does not match the required JSON schema: ${parsed.issues}. Answer again with only the JSON value.`,
      } satisfies ModelMessage);
    }
  }

  /** A finished agent step's model calls, counted in the run's totals. */
  function account(usage: LoopState['usage'], steps: number, text: string): void {
    top.usage = addUsage(top.usage, usage);
    top.steps += steps;
    if (text) top.lastText = text;
  }

  async function toolStep(
    id: string,
    step: Extract<Step, { kind: 'tool' }>,
    sandbox: Sandbox,
  ): Promise<StepOutcome> {
    const t = ctx.tools[step.tool];
    if (t === undefined) {
      return {
        kind: 'failed',
        code: 'invalid_agent',
        message: `Step "${id}" calls the tool ${step.tool}, which the agent does not have (its tools: ${Object.keys(ctx.tools).join(', ')}).`,
      };
    }
    const callId = `wf_${id}_${wf.attempts[id] ?? 1}`;
    const tag = { workflowStep: id };
    let input: unknown;
    let parsed: ReturnType<typeof t.inputSchema.safeParse> | undefined;
    const asked = wf.asked[id];
    const answer = answerFor(id);
    if (asked !== undefined) {
      if (answer === undefined) return { kind: 'waiting', approval: asked };
      input = asked.input;
      parsed = t.inputSchema.safeParse(input);
    } else {
      input = renderValue(wf, step.input);
      parsed = t.inputSchema.safeParse(input);
      const shown = parsed.success ? parsed.data : input;
      await emit({
        type: 'tool_call',
        step: top.steps,
        id: callId,
        name: t.name,
        input: shown,
        ...tag,
      });
      if (parsed.success && (await needsApproval(ctx, t, parsed.data))) {
        const approval = { ...approvalFor(id, t.name, parsed.data), callId };
        wf.asked[id] = approval;
        await emit({
          type: 'approval_requested',
          step: top.steps,
          callId,
          tool: t.name,
          input: parsed.data,
          expiresAt: approval.expiresAt,
          ...tag,
        });
        return { kind: 'waiting', approval };
      }
    }
    const started = performance.now();
    const r =
      answer !== undefined && answer.decision !== 'approved'
        ? denial(answer)
        : await executeTool(t, { toolName: t.name }, parsed, {
            sandbox,
            signal: ctx.signal,
            state: top.toolState,
            call: { id: callId, step: top.steps },
            log: (message) => {
              void emit({
                type: 'tool_log',
                step: top.steps,
                id: callId,
                name: t.name,
                message,
                ...tag,
              });
            },
          });
    await emit({
      type: 'tool_result',
      step: top.steps,
      id: callId,
      name: t.name,
      output: r.output,
      isError: r.isError === true,
      durationMs: Math.round((performance.now() - started) * 10) / 10,
      ...(r.metadata ? { metadata: r.metadata } : {}),
      ...tag,
    });
    if (r.isError) {
      return {
        kind: 'failed',
        code:
          answer !== undefined && answer.decision !== 'approved'
            ? 'approval_denied'
            : 'tool_failed',
        message: `Step "${id}": ${t.name} ended with an error: ${r.output.slice(0, 500)}`,
      };
    }
    return { kind: 'done', output: r.value ?? r.output, next: step.next };
  }

  async function codeStep(id: string, step: Extract<Step, { kind: 'code' }>): Promise<StepOutcome> {
    const context = {
      input: wf.input,
      steps: Object.fromEntries(Object.entries(wf.outputs).map(([k, v]) => [k, { output: v }])),
    };
    let output: unknown;
    if (typeof step.run === 'function') {
      output = await step.run(context);
    } else if (options.runCode) {
      output = await options.runCode(id, context, ctx.signal);
    } else {
      return {
        kind: 'failed',
        code: 'unknown_tool',
        message: `Step "${id}" is code in the agent's bundle, which runs in a tool runner of the RunTools server: deploy the agent (runtools dev, runtools deploy).`,
      };
    }
    return { kind: 'done', output: output === undefined ? null : output, next: step.next };
  }

  async function approvalStep(
    id: string,
    step: Extract<Step, { kind: 'approval' }>,
  ): Promise<StepOutcome> {
    const asked = wf.asked[id];
    const answer = answerFor(id);
    if (asked === undefined) {
      const approval = approvalFor(id, id, { message: renderText(wf, step.message) });
      wf.asked[id] = approval;
      await emit({
        type: 'approval_requested',
        step: approval.step,
        callId: approval.callId,
        tool: approval.tool,
        input: approval.input,
        expiresAt: approval.expiresAt,
        workflowStep: id,
      });
      return { kind: 'waiting', approval };
    }
    if (answer === undefined) return { kind: 'waiting', approval: asked };
    const approved = answer.decision === 'approved';
    const output = {
      approved,
      decision: answer.decision,
      ...(answer.reason === undefined ? {} : { reason: answer.reason }),
    };
    if (!approved && step.denied === undefined) {
      await complete(id, output, undefined);
      return {
        kind: 'failed',
        code: 'approval_denied',
        message: `Step "${id}" was ${answer.decision === 'expired' ? 'not answered in time' : 'denied'}${answer.reason ? `: ${answer.reason}` : ''}.`,
      };
    }
    return { kind: 'done', output, next: approved ? step.next : step.denied };
  }

  /** The sandbox a step runs in: the run's, or (`sandbox: 'own'`) one of its own. */
  async function sandboxOf(
    id: string,
    step: Step,
  ): Promise<{ sandbox: Sandbox; release(): Promise<void> }> {
    const own = 'sandbox' in step && step.sandbox === 'own' && options.stepSandbox !== undefined;
    if (!own) return { sandbox: ctx.sandbox, release: async () => {} };
    return (options.stepSandbox as NonNullable<typeof options.stepSandbox>)(id);
  }

  /** Runs a leaf step from its start (or where it stopped) to its end, and says how it ended. */
  async function runStep(id: string, step: LeafStep): Promise<StepOutcome> {
    const refused = await begin(id, step);
    if (refused) return refused;
    const { sandbox, release } = await sandboxOf(id, step);
    let outcome: StepOutcome;
    try {
      outcome = await runLeaf(id, step, sandbox);
    } finally {
      await release().catch(() => {});
    }
    if (outcome.kind === 'done') {
      await complete(id, outcome.output, outcome.next);
    } else if (outcome.kind === 'failed') {
      await emit({
        type: 'workflow_step_failed',
        stepId: id,
        code: outcome.code,
        message: outcome.message,
      });
    }
    return outcome;
  }

  while (wf.at !== null) {
    if (ctx.signal.aborted) {
      return fail(
        ctx.timeout.aborted ? 'timeout' : 'cancelled',
        ctx.timeout.aborted
          ? `The run exceeded its time limit of ${ctx.agent.timeoutMs} ms.`
          : 'The run was cancelled.',
      );
    }
    const id = wf.at;
    const step = def.steps[id] as Step;
    if (!wf.running.includes(id) && ctx.stopSignal?.aborted) return result('stopped');
    let outcome: StepOutcome;
    if (step.kind === 'parallel') {
      outcome = await runParallel(id, step);
    } else {
      outcome = await runStep(id, step);
    }
    if (outcome.kind === 'failed') return fail(outcome.code, outcome.message);
    if (outcome.kind === 'waiting') return result('waiting', { approval: outcome.approval });
    if (outcome.kind === 'stopped') return result('stopped');
    wf.at = outcome.next ?? null;
    await save();
  }
  await emit({ type: 'complete', text: top.lastText, usage: top.usage, steps: top.steps });
  return result('completed');

  /** A parallel step: its steps at once (those not done yet), then one output of them all. */
  async function runParallel(
    id: string,
    step: Extract<Step, { kind: 'parallel' }>,
  ): Promise<StepOutcome> {
    const refused = await begin(id, step);
    if (refused) return refused;
    const children = step.steps.filter((child) => !wf.joined.includes(child));
    const outcomes = await Promise.all(
      children.map(async (child) => {
        const outcome = await runStep(child, def.steps[child] as LeafStep);
        if (outcome.kind === 'done') {
          wf.joined.push(child);
          await save();
        }
        return outcome;
      }),
    );
    const failed = outcomes.find((o) => o.kind === 'failed');
    if (failed) {
      await emit({
        type: 'workflow_step_failed',
        stepId: id,
        code: failed.code,
        message: failed.message,
      });
      return failed;
    }
    const waiting = outcomes.find((o) => o.kind === 'waiting');
    if (waiting) return waiting;
    if (outcomes.some((o) => o.kind === 'stopped')) return { kind: 'stopped' };
    const output = Object.fromEntries(step.steps.map((child) => [child, wf.outputs[child]]));
    wf.joined = [];
    await complete(id, output, step.next);
    return { kind: 'done', output, next: step.next };
  }
}

/** The first user message's text: the run's input. */
function firstUserText(state: LoopState): string {
  const first = state.messages.find((m) => m.role === 'user');
  return typeof first?.content === 'string' ? first.content : JSON.stringify(first?.content ?? '');
}

/** A step's output schema as JSON schema (to show the model) and zod (to check the answer). */
function outputSchema(output: unknown): { json: unknown; zod: z.ZodType } {
  const isZod = typeof (output as { safeParse?: unknown })?.safeParse === 'function';
  if (isZod) {
    const { $schema: _, ...json } = z.toJSONSchema(output as z.ZodType) as Record<string, unknown>;
    return { json, zod: output as z.ZodType };
  }
  return { json: output, zod: z.fromJSONSchema(output as Parameters<typeof z.fromJSONSchema>[0]) };
}

/** The model's answer as JSON checked against the schema, or what is wrong with it. */
function parseOutput(
  text: string,
  schema: z.ZodType,
): { ok: true; value: unknown } | { ok: false; issues: string } {
  const body = text
    .trim()
    .replace(/^```(?:json)?\s*/i, '')
    .replace(/\s*```$/, '');
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { ok: false, issues: 'it is not JSON' };
  }
  const parsed = schema.safeParse(json);
  if (parsed.success) return { ok: true, value: parsed.data };
  return {
    ok: false,
    issues: parsed.error.issues
      .map((i) => `${i.path.join('.') || '(value)'}: ${i.message}`)
      .join('; '),
  };
}

export type { RunEventInput };
