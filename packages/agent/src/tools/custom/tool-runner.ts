import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RunToolsError } from '@runtools/sdk/errors';
import type { FromRunner, SandboxOperation, ToRunner } from './runner-protocol.ts';

/** The runner's entry: the source file when this package runs from source, else the built one. */
const runnerEntry = fileURLToPath(
  new URL(
    import.meta.url.endsWith('.ts') ? './runner-child.ts' : './runner-child.js',
    import.meta.url,
  ),
);

/** How much of the runner's stdout and stderr is kept, to say why it died. */
const outputTail = 4000;

export interface ToolRunnerOptions {
  /** The bundle (an ES module) whose tools it runs; `user` must be able to read it. */
  bundlePath: string;
  /** Who the runner runs as (default: this process's user). */
  user?: { uid: number; gid: number };
  /** How long a cancelled or timed-out call may take to stop before the runner is killed (default 2 s). */
  stopGraceMs?: number;
  /** A runner without calls for this long is stopped; the next call starts it again (default 10 min). */
  idleMs?: number;
  /** How long loading the bundle may take (default 30 s). */
  startTimeoutMs?: number;
}

/** One call of a custom tool, as `ToolRunner.call` takes it. */
export interface RunnerCall {
  tool: string;
  input: unknown;
  /** The values of the secrets the tool declared: sent with this call only. */
  secrets: Record<string, string>;
  runId: string;
  metadata: Record<string, unknown>;
  timeoutMs: number;
  /** The run's signal: aborting it cancels the call (the tool's `ctx.signal` aborts). */
  signal: AbortSignal;
  /** A line of the tool's `ctx.log`. */
  onLog(message: string): void;
  /** Performs one of the tool's sandbox operations; `signal` aborts when the call ends. */
  onRequest(operation: SandboxOperation, signal: AbortSignal): Promise<unknown>;
}

export interface RunnerCallResult {
  output: string;
  isError: boolean;
  /** How the call ended: `failed` is the runner's fault (it could not start or died), not the tool's. */
  outcome: 'returned' | 'timeout' | 'cancelled' | 'failed';
}

interface ActiveCall {
  id: string;
  child: ChildProcess;
  call: RunnerCall;
  /** Aborts the call's sandbox operations once it is answered. */
  ended: AbortController;
  settled: boolean;
  stopping?: 'timeout' | 'cancelled';
  timer?: NodeJS.Timeout;
  grace?: NodeJS.Timeout;
  resolve(result: RunnerCallResult): void;
  onAbort(): void;
}

/**
 * The process that runs one bundle's custom tools: a child of this process, started as an
 * unprivileged user with an empty environment and an IPC channel (see `runner-child.ts`). It is
 * started on the first call, reused by every call and run of the bundle, stopped after `idleMs`
 * without calls, and started again when needed. A call that outlives its `timeoutMs` is an error
 * result at once and is told to stop; one that is cancelled is told to stop and may answer; a
 * call that does not stop within `stopGraceMs` gets its runner killed (and restarted by the next
 * call). A runner that dies fails the calls it was running, never the server.
 */
export class ToolRunner implements AsyncDisposable {
  readonly #options: Required<Omit<ToolRunnerOptions, 'user'>> & Pick<ToolRunnerOptions, 'user'>;
  #child: ChildProcess | undefined;
  #starting: Promise<ChildProcess> | undefined;
  #tools: string[] = [];
  readonly #calls = new Map<string, ActiveCall>();
  /** Code steps waiting for the runner's answer. */
  readonly #codeRuns = new Map<
    number,
    { resolve(value: unknown): void; reject(error: Error): void }
  >();
  /** Approval questions waiting for the runner's answer. */
  readonly #questions = new Map<number, (required: boolean) => void>();
  #nextQuestion = 1;
  #output = '';
  #idle: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: ToolRunnerOptions) {
    this.#options = { stopGraceMs: 2000, idleMs: 10 * 60_000, startTimeoutMs: 30_000, ...options };
  }

  /** The runner process's pid while it runs. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Starts the runner (if it is not running) and resolves with the bundle's tool names. */
  async start(): Promise<string[]> {
    await this.#ensureStarted();
    return [...this.#tools];
  }

  /** Runs one call; never throws: every failure is an error result. */
  async call(call: RunnerCall): Promise<RunnerCallResult> {
    clearTimeout(this.#idle);
    let child: ChildProcess;
    try {
      child = await this.#ensureStarted();
    } catch (error) {
      this.#scheduleIdle();
      return { output: (error as Error).message, isError: true, outcome: 'failed' };
    }
    if (!this.#tools.includes(call.tool)) {
      this.#scheduleIdle();
      return {
        output: `The project's code bundle has no tool "${call.tool}" (it has: ${this.#tools.join(', ') || 'none'}).`,
        isError: true,
        outcome: 'failed',
      };
    }
    if (!child.connected) {
      return {
        output: 'The tool runner stopped before the call.',
        isError: true,
        outcome: 'failed',
      };
    }
    return new Promise<RunnerCallResult>((resolve) => {
      const active: ActiveCall = {
        id: randomUUID(),
        child,
        call,
        ended: new AbortController(),
        settled: false,
        resolve,
        onAbort: () => this.#stop(active, 'cancelled'),
      };
      this.#calls.set(active.id, active);
      active.timer = setTimeout(() => this.#stop(active, 'timeout'), call.timeoutMs);
      call.signal.addEventListener('abort', active.onAbort, { once: true });
      this.#send(child, {
        type: 'call',
        callId: active.id,
        tool: call.tool,
        input: call.input,
        secrets: call.secrets,
        runId: call.runId,
        metadata: call.metadata,
      });
      if (call.signal.aborted) active.onAbort();
    });
  }

  /**
   * Whether a call needs a person's approval, by the bundle's approval function for `tool` (the
   * agent's `approvals` entry, else the custom tool's own). Any failure to decide (the runner
   * cannot start, the function throws or takes over `startTimeoutMs`) is a yes.
   */
  async needsApproval(tool: string, input: unknown): Promise<boolean> {
    clearTimeout(this.#idle);
    try {
      const child = await this.#ensureStarted();
      const requestId = this.#nextQuestion++;
      return await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => {
          this.#questions.delete(requestId);
          resolve(true);
        }, this.#options.startTimeoutMs);
        this.#questions.set(requestId, (required) => {
          clearTimeout(timer);
          this.#questions.delete(requestId);
          resolve(required);
        });
        this.#send(child, { type: 'approval', requestId, tool, input });
      });
    } catch {
      return true;
    } finally {
      this.#scheduleIdle();
    }
  }

  /**
   * Runs a workflow's code step (the function `workflow.steps[stepId].run` of the bundle's
   * agent) with `context`, and resolves with its output; rejects with a `tool_failed` error when
   * it throws, the runner dies, or `signal` aborts.
   */
  async runCode(stepId: string, context: unknown, signal: AbortSignal): Promise<unknown> {
    clearTimeout(this.#idle);
    try {
      const child = await this.#ensureStarted();
      const requestId = this.#nextQuestion++;
      return await new Promise<unknown>((resolve, reject) => {
        const onAbort = () => {
          this.#codeRuns.delete(requestId);
          reject(new RunToolsError('tool_failed', `Code step ${stepId} was cancelled.`));
        };
        signal.addEventListener('abort', onAbort, { once: true });
        this.#codeRuns.set(requestId, {
          resolve: (value) => {
            signal.removeEventListener('abort', onAbort);
            resolve(value);
          },
          reject: (error) => {
            signal.removeEventListener('abort', onAbort);
            reject(error);
          },
        });
        this.#send(child, { type: 'code', requestId, step: stepId, context });
      });
    } finally {
      this.#scheduleIdle();
    }
  }

  /** Stops the runner; calls in flight end as errors. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#idle);
    const child = this.#child ?? (await this.#starting?.catch(() => undefined));
    if (child) await this.#kill(child);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #ensureStarted(): Promise<ChildProcess> {
    if (this.#closed) return Promise.reject(new Error('The tool runner is stopped.'));
    this.#starting ??= this.#spawn().catch((error: unknown) => {
      this.#starting = undefined;
      throw error;
    });
    return this.#starting;
  }

  #spawn(): Promise<ChildProcess> {
    const { bundlePath, user, startTimeoutMs } = this.#options;
    return new Promise<ChildProcess>((resolve, reject) => {
      this.#output = '';
      // An empty environment: nothing of the server's (keys, the database URL) reaches the tool.
      const child = spawn(
        process.execPath,
        ['--unhandled-rejections=warn', runnerEntry, bundlePath],
        {
          env: {},
          cwd: dirname(bundlePath),
          stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
          ...(user ? { uid: user.uid, gid: user.gid } : {}),
        },
      );
      const keep = (chunk: Buffer) => {
        this.#output = (this.#output + chunk.toString()).slice(-outputTail);
      };
      child.stdout?.on('data', keep);
      child.stderr?.on('data', keep);
      let ready = false;
      const fail = (message: string) => {
        clearTimeout(timer);
        if (ready) return;
        ready = true;
        child.kill('SIGKILL');
        reject(new Error(`The tool runner could not start: ${message}${this.#outputNote()}`));
      };
      const timer = setTimeout(
        () => fail(`loading the bundle took longer than ${startTimeoutMs} ms`),
        startTimeoutMs,
      );
      child.on('message', (message: FromRunner) => {
        if (message.type === 'ready') {
          clearTimeout(timer);
          ready = true;
          this.#tools = message.tools;
          this.#child = child;
          resolve(child);
        } else if (message.type === 'failed') {
          fail(`the bundle did not load: ${message.message}`);
        } else this.#onMessage(child, message);
      });
      child.on('error', (error) =>
        fail(
          `${error.message}${user ? ` (it runs as uid ${user.uid}: Node at ${process.execPath} and ${runnerEntry} must be readable by that user)` : ''}`,
        ),
      );
      child.on('exit', (code, signal) => {
        fail(`it exited (${signal ?? `code ${code}`}) before it was ready`);
        this.#exited(child, code, signal);
      });
    });
  }

  #onMessage(child: ChildProcess, message: FromRunner): void {
    if (message.type === 'ready' || message.type === 'failed') return;
    if (message.type === 'approval') {
      this.#questions.get(message.requestId)?.(message.required !== false);
      return;
    }
    if (message.type === 'code') {
      const pending = this.#codeRuns.get(message.requestId);
      this.#codeRuns.delete(message.requestId);
      if (message.ok) pending?.resolve(message.value);
      else
        pending?.reject(new RunToolsError('tool_failed', `The code step failed: ${message.error}`));
      return;
    }
    const active = this.#calls.get(message.callId);
    if (message.type === 'log') {
      if (active && !active.settled) active.call.onLog(message.message);
    } else if (message.type === 'request') {
      if (!active || active.settled) {
        this.#send(child, {
          type: 'response',
          requestId: message.requestId,
          ok: false,
          error: { code: 'cancelled', message: 'The call has ended.' },
        });
        return;
      }
      active.call.onRequest(message.operation, active.ended.signal).then(
        (value) =>
          this.#send(child, { type: 'response', requestId: message.requestId, ok: true, value }),
        (error: unknown) =>
          this.#send(child, {
            type: 'response',
            requestId: message.requestId,
            ok: false,
            error: {
              code: String((error as { code?: unknown })?.code ?? 'sandbox_error'),
              message: (error as Error)?.message ?? String(error),
            },
          }),
      );
    } else if (message.type === 'result') {
      if (!active) return;
      this.#forget(active);
      if (active.stopping === 'cancelled') {
        this.#settle(active, { ...message, outcome: 'cancelled' });
      } else
        this.#settle(active, {
          output: message.output,
          isError: message.isError,
          outcome: 'returned',
        });
    }
  }

  /**
   * A timeout answers at once and tells the tool to stop; a cancel tells it to stop and waits for
   * its answer. Either way, a tool still running `stopGraceMs` later has its runner killed.
   */
  #stop(active: ActiveCall, reason: 'timeout' | 'cancelled'): void {
    if (active.stopping || !this.#calls.has(active.id)) return;
    active.stopping = reason;
    clearTimeout(active.timer);
    this.#send(active.child, { type: 'cancel', callId: active.id, reason });
    const { tool, timeoutMs } = active.call;
    if (reason === 'timeout') {
      this.#settle(active, {
        output: `${tool} timed out after ${timeoutMs} ms (its timeoutMs) and was told to stop.`,
        isError: true,
        outcome: 'timeout',
      });
    }
    const grace = this.#options.stopGraceMs;
    active.grace = setTimeout(() => {
      if (!this.#calls.has(active.id)) return;
      this.#forget(active);
      this.#settle(active, {
        output: `${tool} was cancelled and did not stop within ${grace} ms; its runner was restarted.`,
        isError: true,
        outcome: 'cancelled',
      });
      void this.#kill(active.child);
    }, grace);
  }

  #settle(active: ActiveCall, result: RunnerCallResult): void {
    if (active.settled) return;
    active.settled = true;
    clearTimeout(active.timer);
    active.call.signal.removeEventListener('abort', active.onAbort);
    active.ended.abort();
    active.resolve(result);
  }

  /** The runner no longer runs the call (it answered, or it is being killed). */
  #forget(active: ActiveCall): void {
    clearTimeout(active.timer);
    clearTimeout(active.grace);
    this.#calls.delete(active.id);
    this.#scheduleIdle();
  }

  #exited(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    // A runner that is gone cannot say no.
    for (const answer of [...this.#questions.values()]) answer(true);
    for (const run of [...this.#codeRuns.values()]) {
      run.reject(
        new RunToolsError('tool_failed', 'The tool runner stopped while a code step ran.'),
      );
    }
    this.#codeRuns.clear();
    if (this.#child === child) {
      this.#child = undefined;
      this.#starting = undefined;
    }
    for (const active of [...this.#calls.values()]) {
      if (active.child !== child) continue;
      this.#forget(active);
      this.#settle(active, {
        output: `The tool runner stopped (${signal ?? `exit code ${code}`}) while ${active.call.tool} was running.${this.#outputNote()}`,
        isError: true,
        outcome: 'failed',
      });
    }
  }

  #scheduleIdle(): void {
    clearTimeout(this.#idle);
    if (
      this.#calls.size > 0 ||
      this.#questions.size > 0 ||
      this.#codeRuns.size > 0 ||
      this.#child === undefined
    )
      return;
    const child = this.#child;
    this.#idle = setTimeout(() => void this.#kill(child), this.#options.idleMs);
    this.#idle.unref();
  }

  async #kill(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
  }

  #send(child: ChildProcess, message: ToRunner): void {
    if (!child.connected) return;
    // A runner that died meanwhile: its `exit` fails the calls.
    child.send(message, () => {});
  }

  #outputNote(): string {
    const tail = this.#output.trim();
    return tail ? ` Its last output: ${tail.slice(-1000)}` : '';
  }
}
