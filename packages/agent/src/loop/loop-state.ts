import type { RunApproval, Usage } from '@runtools/sdk';
import type { ModelMessage } from 'ai';

/**
 * Everything needed to continue a run from its last completed step: the conversation so far,
 * the step count, usage, and the tools' per-run state (such as bash's working directory). Plain JSON, so it can be stored and resumed after a restart.
 */
export interface LoopState {
  version: 1;
  messages: ModelMessage[];
  steps: number;
  usage: Usage;
  toolState: Record<string, unknown>;
  /** Text of the last model answer, the run's output when it ends. */
  lastText: string;
  /** A step stopped at a tool call that waits for a person's approval (the run is `waiting`). */
  pending?: PendingStep;
  /** A workflow's progress, for an agent with a workflow (`messages` is then unused). */
  workflow?: WorkflowState;
}

/** Where a workflow is: plain JSON, stored after every completed step. */
export interface WorkflowState {
  /** The step to run next; null once the workflow ended. */
  at: string | null;
  /** The run's input (`{{input}}`). */
  input: string;
  /** Every completed step's output, by step id (`{{steps.ID.output}}`). */
  outputs: Record<string, unknown>;
  /** Steps started so far, loops included (bounded by the workflow's `maxTransitions`). */
  transitions: number;
  /** How many times each step started. */
  attempts: Record<string, number>;
  /** Steps started and not completed: one a restarted server finds here was interrupted. */
  running: string[];
  /** The loops of agent steps that stopped mid-way (a pause, an approval), by step id. */
  suspended: Record<string, LoopState>;
  /** The approvals tool and approval steps wait for, by step id. */
  asked: Record<string, RunApproval>;
  /** Of the parallel step at `at`: its steps that completed. */
  joined: string[];
}

/**
 * A step whose model call is done (its messages are in `messages`) and whose tool calls stopped
 * at one that needs approval: the calls before it have their results; it and the ones after it
 * run when the run continues with the answer.
 */
export interface PendingStep {
  step: number;
  calls: Array<{ toolCallId: string; toolName: string; input: unknown }>;
  /** The index in `calls` of the call waiting for approval. */
  next: number;
  /** The tool-result parts of the calls before it. */
  results: unknown[];
  /** The step's model call: its usage and why it stopped (for its `step` event). */
  usage: Usage;
  finishReason: string;
  approval: RunApproval;
}

export function initialState(input: string): LoopState {
  return {
    version: 1,
    messages: [{ role: 'user', content: input }],
    steps: 0,
    usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 },
    toolState: {},
    lastText: '',
  };
}

/** A deep copy that is guaranteed to survive JSON (what a checkpoint stores). */
export function snapshot(state: LoopState): LoopState {
  return JSON.parse(JSON.stringify(state)) as LoopState;
}
