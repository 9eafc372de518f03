import type { Usage } from '@runtools/sdk';
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
