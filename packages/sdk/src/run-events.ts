/** Token counts of a model call or a whole run. */
export interface Usage {
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
}

interface EventBase {
  /** Position in the run's event log, from 1, without gaps: a reconnecting client sends the last one it saw. */
  seq: number;
  /** ISO 8601 time the event happened. */
  ts: string;
}

/**
 * Everything a run emits, in order. One union shared by the agent loop, the server, the SDK
 * client, the CLI and the dashboard.
 */
export type RunEvent = EventBase &
  (
    | { type: 'thinking'; step: number; delta: string }
    | { type: 'text'; step: number; delta: string }
    | { type: 'tool_call'; step: number; id: string; name: string; input: unknown }
    | {
        type: 'tool_result';
        step: number;
        id: string;
        name: string;
        output: string;
        isError: boolean;
        durationMs: number;
        metadata?: Record<string, unknown>;
      }
    | { type: 'step'; step: number; usage: Usage; finishReason: string }
    | {
        type: 'complete';
        text: string;
        usage: Usage;
        steps: number;
        /** `max_steps` when the run stopped at the agent's step limit rather than a final answer. */
        stopReason?: 'max_steps';
      }
    | { type: 'error'; code: string; message: string }
    /** The run changed status (queued, running, paused, completed, failed, cancelled). */
    | { type: 'status'; status: string; reason?: string }
  );

export type RunEventType = RunEvent['type'];
/** An event before the log assigns its `seq` and `ts`. */
export type RunEventInput = RunEvent extends infer E
  ? E extends RunEvent
    ? Omit<E, 'seq' | 'ts'>
    : never
  : never;
