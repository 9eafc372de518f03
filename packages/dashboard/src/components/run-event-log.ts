import type { ApprovalDecision, RunEvent, RunStatus, Usage } from '@runtools/sdk/api';

/**
 * A run's events folded into what the run page shows: a reasoning or answer text is one block
 * however many deltas it streamed in, a tool call holds its result, and the final answer takes
 * the place of the text it repeats. Each block counts the events it stands for, so the page can
 * prove it shows every event once.
 */
export type RunBlock =
  | { kind: 'reasoning'; key: string; events: number; step: number; text: string }
  | { kind: 'text'; key: string; events: number; step: number; text: string }
  | {
      kind: 'tool';
      key: string;
      events: number;
      step: number;
      id: string;
      name: string;
      input: unknown;
      /** What a custom tool logged while it ran (`tool_log` events). */
      logs?: string[];
      /** The call waits for a person's approval, or was answered (its approval block counts those events). */
      approval?: 'waiting' | ApprovalDecision;
      result?: { output: string; isError: boolean; durationMs: number };
    }
  | { kind: 'step'; key: string; events: number; step: number; usage: Usage; finishReason: string }
  | {
      kind: 'answer';
      key: string;
      events: number;
      text: string;
      usage: Usage;
      steps: number;
      stopReason?: 'max_steps';
    }
  | {
      kind: 'approval';
      key: string;
      events: number;
      step: number;
      callId: string;
      tool: string;
      input: unknown;
      expiresAt: string;
      /** Set once answered (or expired): the `approval_resolved` event. */
      decision?: ApprovalDecision;
      reason?: string;
    }
  | { kind: 'error'; key: string; events: number; code: string; message: string }
  | {
      kind: 'workflow';
      key: string;
      events: number;
      /** One line: a workflow step started, completed or failed. */
      text: string;
      state: 'started' | 'completed' | 'failed';
    }
  | { kind: 'status'; key: string; events: number; status: RunStatus; reason?: string; ts: string };

/** Where one workflow step stands, from its `workflow_step_*` events. */
export interface WorkflowStepProgress {
  state: 'running' | 'completed' | 'failed' | 'interrupted';
  attempt: number;
  /** Its output, once completed (`workflow_step_completed`). */
  output?: unknown;
  completed: boolean;
  error?: { code: string; message: string };
}

export interface RunLog {
  blocks: RunBlock[];
  /** The seq of the last event applied (events at or below it are replays, skipped). */
  lastSeq: number;
  /** How many events were applied: every seq from 1 to `lastSeq` once. */
  count: number;
  /** The status of the last `status` event; null before the first. */
  status: RunStatus | null;
  /** Model calls finished (`step` events) and their tokens. */
  steps: number;
  usage: Usage;
  /** The workflow's steps by id, for a run of an agent with a workflow (empty otherwise). */
  workflow: Readonly<Record<string, WorkflowStepProgress>>;
}

export const emptyRunLog: RunLog = {
  blocks: [],
  lastSeq: 0,
  count: 0,
  status: null,
  steps: 0,
  usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 },
  workflow: {},
};

/**
 * `log` with `events` applied in order. An event whose seq is not above the last one applied is
 * a replay (a reconnect or a reload resent it) and is skipped: the log stays each event once.
 * Returns `log` itself when nothing was new.
 */
export function appendEvents(log: RunLog, events: readonly RunEvent[]): RunLog {
  let blocks: RunBlock[] | undefined;
  let { lastSeq, count, status, steps, usage, workflow } = log;
  for (const event of events) {
    if (event.seq <= lastSeq) continue;
    blocks ??= log.blocks.slice();
    lastSeq = event.seq;
    count += 1;
    apply(blocks, event);
    if (event.type === 'status') status = event.status;
    if (event.type.startsWith('workflow_step_')) workflow = stepProgress(workflow, event);
    if (event.type === 'step') {
      steps += 1;
      usage = {
        inputTokens: usage.inputTokens + event.usage.inputTokens,
        outputTokens: usage.outputTokens + event.usage.outputTokens,
        totalTokens: usage.totalTokens + event.usage.totalTokens,
      };
    }
  }
  return blocks === undefined ? log : { blocks, lastSeq, count, status, steps, usage, workflow };
}

function stepProgress(
  workflow: Readonly<Record<string, WorkflowStepProgress>>,
  event: RunEvent,
): Readonly<Record<string, WorkflowStepProgress>> {
  switch (event.type) {
    case 'workflow_step_started':
      return {
        ...workflow,
        [event.stepId]: { state: 'running', attempt: event.attempt, completed: false },
      };
    case 'workflow_step_completed':
      return {
        ...workflow,
        [event.stepId]: {
          attempt: workflow[event.stepId]?.attempt ?? 1,
          state: 'completed',
          output: event.output,
          completed: true,
        },
      };
    case 'workflow_step_failed':
      return {
        ...workflow,
        [event.stepId]: {
          attempt: workflow[event.stepId]?.attempt ?? 1,
          completed: false,
          state: event.retrying ? 'interrupted' : 'failed',
          error: { code: event.code, message: event.message },
        },
      };
    default:
      return workflow;
  }
}

/** Notes on a tool call's block where its approval stands. */
function markCall(
  blocks: RunBlock[],
  callId: string,
  approval: 'waiting' | ApprovalDecision,
): void {
  for (let i = blocks.length - 1; i >= 0; i--) {
    const block = blocks[i];
    if (block?.kind === 'tool' && block.id === callId) {
      blocks[i] = { ...block, approval };
      return;
    }
  }
}

function apply(blocks: RunBlock[], event: RunEvent): void {
  const key = String(event.seq);
  const last = blocks.at(-1);
  switch (event.type) {
    case 'thinking':
    case 'text': {
      const kind = event.type === 'thinking' ? 'reasoning' : 'text';
      if (last !== undefined && last.kind === kind && last.step === event.step) {
        blocks[blocks.length - 1] = {
          ...last,
          text: last.text + event.delta,
          events: last.events + 1,
        };
      } else {
        blocks.push({ kind, key, events: 1, step: event.step, text: event.delta });
      }
      return;
    }
    case 'tool_call':
      blocks.push({
        kind: 'tool',
        key,
        events: 1,
        step: event.step,
        id: event.id,
        name: event.name,
        input: event.input,
      });
      return;
    case 'tool_log': {
      for (let i = blocks.length - 1; i >= 0; i--) {
        const block = blocks[i];
        if (block?.kind === 'tool' && block.id === event.id) {
          blocks[i] = {
            ...block,
            logs: [...(block.logs ?? []), event.message],
            events: block.events + 1,
          };
          return;
        }
      }
      return;
    }
    case 'tool_result': {
      const result = {
        output: event.output,
        isError: event.isError,
        durationMs: event.durationMs,
      };
      for (let i = blocks.length - 1; i >= 0; i--) {
        const block = blocks[i];
        if (block?.kind === 'tool' && block.id === event.id && block.result === undefined) {
          blocks[i] = { ...block, result, events: block.events + 1 };
          return;
        }
      }
      // A result whose call is not in this log (it should be): shown on its own.
      blocks.push({
        kind: 'tool',
        key,
        events: 1,
        step: event.step,
        id: event.id,
        name: event.name,
        input: undefined,
        result,
      });
      return;
    }
    case 'approval_requested':
      markCall(blocks, event.callId, 'waiting');
      blocks.push({
        kind: 'approval',
        key,
        events: 1,
        step: event.step,
        callId: event.callId,
        tool: event.tool,
        input: event.input,
        expiresAt: event.expiresAt,
      });
      return;
    case 'approval_resolved': {
      markCall(blocks, event.callId, event.decision);
      for (let i = blocks.length - 1; i >= 0; i--) {
        const block = blocks[i];
        if (block?.kind === 'approval' && block.callId === event.callId) {
          blocks[i] = {
            ...block,
            events: block.events + 1,
            decision: event.decision,
            ...(event.reason === undefined ? {} : { reason: event.reason }),
          };
          return;
        }
      }
      // An answer whose request is not in this log (it should be): shown on its own.
      blocks.push({
        kind: 'approval',
        key,
        events: 1,
        step: event.step,
        callId: event.callId,
        tool: event.tool,
        input: undefined,
        expiresAt: event.ts,
        decision: event.decision,
        ...(event.reason === undefined ? {} : { reason: event.reason }),
      });
      return;
    }
    case 'step':
      blocks.push({
        kind: 'step',
        key,
        events: 1,
        step: event.step,
        usage: event.usage,
        finishReason: event.finishReason,
      });
      return;
    case 'complete': {
      // The final step's text (after the last tool call) is what the answer repeats: the answer
      // takes its place and its count.
      let folded = 0;
      for (let i = blocks.length - 1; i >= 0; i--) {
        const block = blocks[i];
        if (block === undefined || block.kind === 'tool') break;
        if (block.kind === 'text') {
          folded += block.events;
          blocks.splice(i, 1);
        }
      }
      blocks.push({
        kind: 'answer',
        key,
        events: 1 + folded,
        text: event.text,
        usage: event.usage,
        steps: event.steps,
        ...(event.stopReason === undefined ? {} : { stopReason: event.stopReason }),
      });
      return;
    }
    case 'error':
      blocks.push({ kind: 'error', key, events: 1, code: event.code, message: event.message });
      return;
    case 'workflow_step_started':
      blocks.push({
        kind: 'workflow',
        key,
        events: 1,
        state: 'started',
        text: `Workflow step ${event.stepId} started (${event.kind}${event.attempt > 1 ? `, attempt ${event.attempt}` : ''})`,
      });
      return;
    case 'workflow_step_completed':
      blocks.push({
        kind: 'workflow',
        key,
        events: 1,
        state: 'completed',
        text: `Workflow step ${event.stepId} completed${event.next ? ` → ${event.next}` : ''}`,
      });
      return;
    case 'workflow_step_failed':
      blocks.push({
        kind: 'workflow',
        key,
        events: 1,
        state: 'failed',
        text: `Workflow step ${event.stepId} ${event.retrying ? 'was interrupted and runs again' : 'failed'}: ${event.code}`,
      });
      return;
    case 'status':
      blocks.push({
        kind: 'status',
        key,
        events: 1,
        status: event.status,
        ...(event.reason === undefined ? {} : { reason: event.reason }),
        ts: event.ts,
      });
      return;
  }
}
