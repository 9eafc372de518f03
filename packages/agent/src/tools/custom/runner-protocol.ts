/**
 * The messages between the server and a tool runner (a child process per code bundle), over
 * Node's IPC channel (JSON). The server sends calls and cancels and answers the runner's sandbox
 * requests; the runner answers each call once, and sends its `ctx.log` lines on the way.
 */

/** What `ctx.sandbox` asks the server to do in the run's sandbox. */
export type SandboxOperation =
  | {
      op: 'exec';
      command: string | string[];
      cwd?: string;
      env?: Record<string, string>;
      timeoutMs?: number;
    }
  | { op: 'read'; path: string }
  | { op: 'write'; path: string; text: string }
  | { op: 'list'; path: string };

/** Server → runner. */
export type ToRunner =
  | {
      type: 'call';
      callId: string;
      tool: string;
      input: unknown;
      /** The values of the secrets the tool declared, for this call only. */
      secrets: Record<string, string>;
      runId: string;
      metadata: Record<string, unknown>;
    }
  /**
   * Whether a call of `tool` with `input` needs a person's approval: the agent's `approvals`
   * function for the tool, else the tool's own `approval` function, decides.
   */
  | { type: 'approval'; requestId: number; tool: string; input: unknown }
  /** Runs a workflow's code step: the function at `workflow.steps[step].run` of the agent. */
  | { type: 'code'; requestId: number; step: string; context: unknown }
  /** Aborts the call's `ctx.signal` (the run was cancelled, or the call timed out). */
  | { type: 'cancel'; callId: string; reason: 'cancelled' | 'timeout' }
  | {
      type: 'response';
      requestId: number;
      ok: boolean;
      value?: unknown;
      error?: { code: string; message: string };
    };

/** Runner → server. */
export type FromRunner =
  /** The bundle loaded: its tools by name. */
  | { type: 'ready'; tools: string[] }
  /** The bundle could not be loaded (the runner exits after it). */
  | { type: 'failed'; message: string }
  | { type: 'log'; callId: string; message: string }
  | { type: 'request'; callId: string; requestId: number; operation: SandboxOperation }
  | { type: 'result'; callId: string; output: string; isError: boolean }
  /** The answer to an `approval` question: `required` unless the function said no. */
  | { type: 'approval'; requestId: number; required: boolean; error?: string }
  /** A code step's output (JSON), or why it failed. */
  | { type: 'code'; requestId: number; ok: boolean; value?: unknown; error?: string };
