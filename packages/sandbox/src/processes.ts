import { constants as osConstants } from 'node:os';
import { ExecError, InvalidOptionsError, ProcessNotFoundError } from './errors.ts';
import { type ExitInfo, SupervisorReplyError } from './supervisor/connection.ts';
import { Rep, Req, SpawnFlags } from './supervisor/protocol.ts';
import type { SupervisorSession } from './supervisor/session.ts';

/**
 * The PATH of a command whose sandbox and template set none (Docker's default): without it a
 * shell still finds programs, but what it starts sees no PATH (Python's `sys.executable` is
 * empty and `python3 -m venv` fails).
 */
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Options of `sandbox.exec()`. */
export interface ExecOptions {
  /** Working directory inside the sandbox (default: the sandbox's cwd). */
  cwd?: string;
  /** Added to the sandbox's environment for this command. */
  env?: Record<string, string>;
  /** Killed (the whole process group) after this long; the result has `timedOut: true`. */
  timeoutMs?: number;
  /** Written to the process's stdin, which is then closed. */
  stdin?: string | Uint8Array;
  onStdout?: (chunk: string) => void;
  onStderr?: (chunk: string) => void;
  /** Aborting kills the process group. */
  signal?: AbortSignal;
  /** Output kept in the result, per stream (default 10 MiB); the rest is dropped and flagged. */
  maxOutputBytes?: number;
  /**
   * Start the command in the background and return its pid at once (like `spawn`); its output
   * is kept for `processes.attach`.
   */
  background?: boolean;
}

/** What `exec(..., { background: true })` returns. */
export interface BackgroundStarted {
  pid: number;
  background: true;
}

export interface ExecResult {
  exitCode: number;
  /** Signal name when the process was killed by one (e.g. `SIGKILL`). */
  signal?: string;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** True when output beyond `maxOutputBytes` was dropped. */
  truncated: boolean;
  pid: number;
  durationMs: number;
}

/** Options of `sandbox.spawn()`: a background process that outlives the call. */
export interface SpawnOptions {
  cwd?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
  /** Keep stdin open for `process.write()`. */
  stdin?: boolean;
  /**
   * Run on a new pseudo-terminal of the sandbox (its own devpts) as the controlling terminal:
   * output (stdout and stderr together, with the terminal's escape sequences) is stdout,
   * `write()` types on it, `resize()` sets its size (default 80×24). For shells and full-screen
   * programs; the terminal is part of the sandbox, so it survives pause and resume.
   */
  pty?: { rows?: number; cols?: number };
}

export interface ProcessInfo {
  pid: number;
  running: boolean;
  exitCode: number | null;
  signal?: string;
  command: string[];
  startedAt: Date;
  stdoutBytes: number;
  stderrBytes: number;
}

export interface AttachOptions {
  onStdout?: (chunk: string) => void;
  onStderr?: (chunk: string) => void;
  /** Stream offsets to replay from (default 0: everything still kept, 1 MiB per stream). */
  stdoutOffset?: number;
  stderrOffset?: number;
}

export interface ProcessExit {
  exitCode: number;
  signal?: string;
  timedOut: boolean;
}

/** The sandbox-side facts the process API needs; the Sandbox supplies them. */
export interface ProcessContext {
  sandboxId: string;
  session: SupervisorSession;
  /** Throws SandboxStateError unless the sandbox can run commands. */
  assertRunning(operation: string): void;
  baseEnv(): Record<string, string>;
  defaultCwd(): string;
}

const DEFAULT_MAX_OUTPUT = 10 * 1024 * 1024;

/** Commands inside one sandbox: foreground `exec`, background `spawn`, list, attach, kill. */
export class SandboxProcesses {
  private readonly ctx: ProcessContext;

  constructor(ctx: ProcessContext) {
    this.ctx = ctx;
  }

  /**
   * Runs `command` (a shell string for `/bin/sh -c`, or an argv array) and waits for it.
   * A non-zero exit is a result, not an error; a command that cannot start is an `ExecError`.
   */
  exec(
    command: string | string[],
    options: ExecOptions & { background: true },
  ): Promise<BackgroundStarted>;
  exec(command: string | string[], options?: ExecOptions): Promise<ExecResult>;
  async exec(
    command: string | string[],
    options: ExecOptions = {},
  ): Promise<ExecResult | BackgroundStarted> {
    this.ctx.assertRunning('exec in');
    const argv = toArgv(command);
    if (options.background) {
      const pid = await this.spawnRaw(argv, options, options.stdin !== undefined);
      if (options.stdin !== undefined) await this.feedStdin(pid, options.stdin);
      return { pid, background: true };
    }
    const started = performance.now();
    const max = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT;
    const out = new OutputCollector(max, options.onStdout);
    const err = new OutputCollector(max, options.onStderr);
    const hasStdin = options.stdin !== undefined;
    let exitResolve!: (e: ExitInfo) => void;
    let exitReject!: (e: Error) => void;
    const exited = new Promise<ExitInfo>((res, rej) => {
      exitResolve = res;
      exitReject = rej;
    });
    exited.catch(() => {}); // awaited below; this only stops an early loss from going unhandled
    const pid = await this.spawnRaw(argv, options, hasStdin, (pid) =>
      this.ctx.session.watch(pid, {
        onStdout: (d) => out.push(d),
        onStderr: (d) => err.push(d),
        onExit: exitResolve,
        onLost: exitReject,
      }),
    );
    if (hasStdin) await this.feedStdin(pid, options.stdin as string | Uint8Array);
    const onAbort = () => void this.kill(pid, 'SIGKILL').catch(() => {});
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.signal?.aborted) onAbort();
    try {
      const exit = await exited;
      return {
        exitCode: exit.exitCode,
        ...(exit.signal ? { signal: signalName(exit.signal) } : {}),
        stdout: out.text(),
        stderr: err.text(),
        timedOut: exit.timedOut,
        truncated: out.truncated || err.truncated,
        pid,
        durationMs: performance.now() - started,
      };
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
      this.ctx.session.unwatch(pid);
      // Free rt-init's copy of the output; the result already holds it.
      void this.ctx.session
        .connection()
        .then((c) => c.request(Req.FORGET, [{ u32: pid }]))
        .catch(() => {});
    }
  }

  /** Starts a background process and returns at once; its output is kept for `attach`. */
  async spawn(command: string | string[], options: SpawnOptions = {}): Promise<number> {
    this.ctx.assertRunning('spawn a process in');
    const pid = await this.spawnRaw(toArgv(command), options, options.stdin === true);
    const { rows, cols } = options.pty ?? {};
    if (rows !== undefined || cols !== undefined) await this.resize(pid, rows ?? 24, cols ?? 80);
    return pid;
  }

  /** Sets the window size of a process's terminal (one spawned with `pty`); it gets SIGWINCH. */
  async resize(pid: number, rows: number, cols: number): Promise<void> {
    this.ctx.assertRunning('resize a terminal in');
    for (const [name, value] of [
      ['rows', rows],
      ['cols', cols],
    ] as const) {
      if (!Number.isInteger(value) || value < 1 || value > 10_000) {
        throw new InvalidOptionsError(`${name} must be an integer from 1 to 10000.`, {
          [name]: value,
        });
      }
    }
    const conn = await this.ctx.session.connection();
    try {
      await conn.request(Req.RESIZE, [{ u32: pid }, { u32: rows }, { u32: cols }]);
    } catch (err) {
      if (err instanceof SupervisorReplyError && err.errno === osConstants.errno.ENOTTY) {
        throw new InvalidOptionsError(`Process ${pid} has no terminal (spawn it with pty).`, {
          pid,
        });
      }
      throw this.mapProcessError(err, pid);
    }
  }

  /** Every process rt-init knows: running ones and recently exited background ones. */
  async list(): Promise<ProcessInfo[]> {
    this.ctx.assertRunning('list processes of');
    const conn = await this.ctx.session.connection();
    const { reader: r } = await conn.request(Req.LIST, []);
    const n = r.u32();
    const procs: ProcessInfo[] = [];
    for (let i = 0; i < n; i++) {
      const pid = r.u32();
      const running = r.u8() === 1;
      const exitCode = r.i32();
      const signal = r.i32();
      const startedAt = new Date(Number(r.u64()));
      const stdoutBytes = Number(r.u64());
      const stderrBytes = Number(r.u64());
      const argc = r.u32();
      const command: string[] = [];
      for (let j = 0; j < argc; j++) command.push(r.str());
      procs.push({
        pid,
        running,
        exitCode: running ? null : exitCode,
        ...(signal && !running ? { signal: signalName(signal) } : {}),
        command,
        startedAt,
        stdoutBytes,
        stderrBytes,
      });
    }
    return procs;
  }

  /**
   * Re-attaches to a process: replays its kept output from the given offsets, then streams live
   * output, and resolves when it exits (at once for an exited process).
   */
  async attach(pid: number, options: AttachOptions = {}): Promise<ProcessExit> {
    this.ctx.assertRunning('attach to a process in');
    const conn = await this.ctx.session.connection();
    const decodeOut = utf8Stream(options.onStdout);
    const decodeErr = utf8Stream(options.onStderr);
    const exited = new Promise<ExitInfo>((resolve, reject) => {
      this.ctx.session.watch(
        pid,
        { onStdout: decodeOut, onStderr: decodeErr, onExit: resolve, onLost: reject },
        BigInt(options.stdoutOffset ?? 0),
        BigInt(options.stderrOffset ?? 0),
      );
    });
    try {
      await conn.request(Req.ATTACH, [
        { u32: pid },
        { u64: BigInt(options.stdoutOffset ?? 0) },
        { u64: BigInt(options.stderrOffset ?? 0) },
      ]);
    } catch (err) {
      this.ctx.session.unwatch(pid);
      throw this.mapProcessError(err, pid);
    }
    const exit = await exited;
    return {
      exitCode: exit.exitCode,
      ...(exit.signal ? { signal: signalName(exit.signal) } : {}),
      timedOut: exit.timedOut,
    };
  }

  /** Sends `signal` (default SIGTERM) to the process and everything it started. */
  async kill(pid: number, signal: NodeJS.Signals | number = 'SIGTERM'): Promise<void> {
    this.ctx.assertRunning('signal a process in');
    const signo = typeof signal === 'number' ? signal : osConstants.signals[signal];
    if (!signo) throw new InvalidOptionsError(`Unknown signal ${String(signal)}.`);
    const conn = await this.ctx.session.connection();
    try {
      await conn.request(Req.SIGNAL, [{ u32: pid }, { u32: signo }]);
    } catch (err) {
      throw this.mapProcessError(err, pid);
    }
  }

  /** Writes to the stdin of a process spawned with `stdin: true`. */
  async write(pid: number, data: string | Uint8Array): Promise<void> {
    this.ctx.assertRunning('write to a process in');
    const conn = await this.ctx.session.connection();
    await conn.send(Req.STDIN, [{ u32: pid }, { bytes: toBytes(data) }]);
  }

  async closeStdin(pid: number): Promise<void> {
    this.ctx.assertRunning('write to a process in');
    const conn = await this.ctx.session.connection();
    await conn.send(Req.STDIN_CLOSE, [{ u32: pid }]);
  }

  private async feedStdin(pid: number, data: string | Uint8Array): Promise<void> {
    const conn = await this.ctx.session.connection();
    if (data.length) await conn.send(Req.STDIN, [{ u32: pid }, { bytes: toBytes(data) }]);
    await conn.send(Req.STDIN_CLOSE, [{ u32: pid }]);
  }

  private async spawnRaw(
    argv: string[],
    options: SpawnOptions | ExecOptions,
    keepStdin: boolean,
    onSpawned?: (pid: number) => void,
  ): Promise<number> {
    const timeoutMs = options.timeoutMs ?? 0;
    if (!Number.isInteger(timeoutMs) || timeoutMs < 0 || timeoutMs > 0xffff_ffff) {
      throw new InvalidOptionsError('timeoutMs must be a non-negative integer.', { timeoutMs });
    }
    const env = { PATH: DEFAULT_PATH, ...this.ctx.baseEnv(), ...options.env };
    const envList = Object.entries(env).map(([k, v]) => {
      if (!k || k.includes('=') || k.includes('\0') || String(v).includes('\0')) {
        throw new InvalidOptionsError(`Invalid environment variable name or value: ${k}`);
      }
      return `${k}=${v}`;
    });
    const cwd = options.cwd ?? this.ctx.defaultCwd();
    const flags =
      (keepStdin ? SpawnFlags.KEEP_STDIN : 0) |
      (onSpawned ? SpawnFlags.ATTACH : 0) |
      ('pty' in options && options.pty ? SpawnFlags.PTY : 0);
    const conn = await this.ctx.session.connection();
    try {
      const { type, reader } = await conn.request(
        Req.SPAWN,
        [
          { u32: timeoutMs },
          { u32: flags },
          { u32: 0 },
          { u32: 0 },
          { str: cwd },
          { strs: argv },
          { strs: envList },
        ],
        { onFinal: (_t, r) => onSpawned?.(r.u32()) },
      );
      if (type !== Rep.SPAWNED) throw new ExecError('rt-init sent an unexpected reply', { type });
      return reader.u32();
    } catch (err) {
      if (err instanceof SupervisorReplyError) {
        throw new ExecError(`Cannot run ${JSON.stringify(argv.join(' '))}: ${err.message}`, {
          sandboxId: this.ctx.sandboxId,
          errno: err.errno,
          cwd,
        });
      }
      throw err;
    }
  }

  private mapProcessError(err: unknown, pid: number): unknown {
    if (err instanceof SupervisorReplyError)
      return new ProcessNotFoundError(this.ctx.sandboxId, pid);
    return err;
  }
}

function toArgv(command: string | string[]): string[] {
  if (typeof command === 'string') {
    if (!command.trim()) throw new InvalidOptionsError('command must not be empty.');
    return ['/bin/sh', '-c', command];
  }
  if (
    !Array.isArray(command) ||
    command.length === 0 ||
    command.some((a) => typeof a !== 'string')
  ) {
    throw new InvalidOptionsError('command must be a non-empty string or array of strings.');
  }
  return command;
}

function toBytes(data: string | Uint8Array): Uint8Array {
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
}

function signalName(signo: number): string {
  const entry = Object.entries(osConstants.signals).find(([, n]) => n === signo);
  return entry ? entry[0] : `SIG${signo}`;
}

function utf8Stream(cb?: (s: string) => void): ((d: Buffer) => void) | undefined {
  if (!cb) return undefined;
  const decoder = new TextDecoder('utf-8');
  return (d) => {
    const s = decoder.decode(d, { stream: true });
    if (s) cb(s);
  };
}

/** Keeps up to `max` bytes of one stream and forwards decoded text to a live callback. */
class OutputCollector {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  truncated = false;
  private readonly max: number;
  private readonly live: ((d: Buffer) => void) | undefined;

  constructor(max: number, onText?: (s: string) => void) {
    this.max = max;
    this.live = utf8Stream(onText);
  }

  push(d: Buffer): void {
    this.live?.(d);
    const room = this.max - this.size;
    if (room <= 0) {
      this.truncated = true;
      return;
    }
    const kept = d.length > room ? d.subarray(0, room) : d;
    if (kept.length < d.length) this.truncated = true;
    this.chunks.push(Buffer.from(kept));
    this.size += kept.length;
  }

  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}
