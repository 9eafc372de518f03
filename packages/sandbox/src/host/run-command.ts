import { spawn } from 'node:child_process';

export interface RunCommandOptions {
  /** Killed (SIGKILL, or SIGTERM first with `graceful`) after this long: `timedOut`. */
  timeoutMs?: number;
  /** Aborting stops the command like a timeout: `aborted`. */
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
  /** Written to stdin, which is then closed; without it stdin is /dev/null. */
  input?: string;
  /**
   * No pipes at all: stdin, stdout and stderr are /dev/null. A container started by the command
   * (runc run -d) inherits them, and CRIU cannot dump a container whose stdio is a host pipe.
   */
  devNull?: boolean;
  /** Each non-empty output line (stdout and stderr) as it comes, e.g. a build log. */
  onLine?: (line: string) => void;
  /** stderr into stdout, in order; `stderr` is then empty. */
  merge?: boolean;
  /**
   * Its own process group: whatever it leaves running there (a RUN step's background process,
   * a child buildah could not stop) is killed when it exits or is stopped.
   */
  processGroup?: boolean;
  /** On timeout or abort, SIGTERM first (buildah then removes its container), SIGKILL 10 s later. */
  graceful?: boolean;
  /** An earlier timeout that applies while `unless()` is false. */
  deadline?: { ms: number; unless: () => boolean };
}

export interface CommandResult {
  /** The exit code; null when a signal ended it. */
  code: number | null;
  /** All of stdout; with `onLine`, its last 64 KiB (a build log can be long). */
  stdout: string;
  stderr: string;
  timedOut: boolean;
  aborted: boolean;
}

const KEEP_BYTES = 64 * 1024;

/**
 * Runs a host command (never through a shell) and resolves with its exit code and output, also
 * when it fails; rejects only when it cannot start (ENOENT). The one way the engine runs host
 * commands: runc, CRIU, iptables, mkfs, buildah, the doctor's probes.
 */
export function runCommand(
  file: string,
  args: readonly string[],
  options: RunCommandOptions = {},
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) {
      resolve({ code: null, stdout: '', stderr: '', timedOut: false, aborted: true });
      return;
    }
    const stdin = options.input === undefined ? 'ignore' : 'pipe';
    const child = options.merge
      ? spawn('/bin/sh', ['-c', 'exec "$@" 2>&1', 'sh', file, ...args], {
          detached: options.processGroup === true,
          stdio: [stdin, 'pipe', 'ignore'],
          env: options.env ?? process.env,
        })
      : spawn(file, args, {
          detached: options.processGroup === true,
          stdio: options.devNull ? 'ignore' : [stdin, 'pipe', 'pipe'],
          env: options.env ?? process.env,
        });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let aborted = false;
    let exited = false;
    const lines = options.onLine ? lineSplitter(options.onLine) : undefined;
    const keep = (acc: string, d: string) => (lines ? (acc + d).slice(-KEEP_BYTES) : acc + d);
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      stdout = keep(stdout, d);
      lines?.push(d);
    });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      stderr = keep(stderr, d);
      lines?.push(d);
    });
    child.stdin?.on('error', () => {}); // a command that exits without reading its input
    child.stdin?.end(options.input);
    const kill = (signal: NodeJS.Signals) => {
      try {
        if (options.processGroup && child.pid) process.kill(-child.pid, signal);
        else child.kill(signal);
      } catch {
        // already gone
      }
    };
    let hardKill: NodeJS.Timeout | undefined;
    const stop = () => {
      if (exited) return;
      if (options.graceful && child.pid) {
        try {
          process.kill(child.pid, 'SIGTERM');
        } catch {
          // already gone
        }
        hardKill ??= setTimeout(() => kill('SIGKILL'), 10_000);
      } else {
        kill('SIGKILL');
      }
    };
    const timer = options.timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          stop();
        }, options.timeoutMs)
      : undefined;
    const deadline = options.deadline
      ? setTimeout(() => {
          if (options.deadline?.unless()) return;
          timedOut = true;
          stop();
        }, options.deadline.ms)
      : undefined;
    const onAbort = () => {
      aborted = true;
      stop();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    let streamsTimer: NodeJS.Timeout | undefined;
    child.once('exit', () => {
      exited = true;
      if (!options.processGroup) return;
      // Leftovers of the group would keep our pipes open.
      kill('SIGKILL');
      streamsTimer = setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
      }, 5000);
    });
    const cleanup = () => {
      clearTimeout(timer);
      clearTimeout(deadline);
      clearTimeout(hardKill);
      clearTimeout(streamsTimer);
      options.signal?.removeEventListener('abort', onAbort);
    };
    child.once('error', (err) => {
      cleanup();
      reject(err);
    });
    child.once('close', (code) => {
      cleanup();
      lines?.flush();
      if (timedOut) stderr += `\n(killed after ${options.timeoutMs ?? options.deadline?.ms} ms)`;
      resolve({ code, stdout, stderr, timedOut, aborted });
    });
  });
}

/**
 * What went wrong, in one line for a message: the timeout, else the command's first line of
 * error output, else its exit code.
 */
export function commandFailure(file: string, result: CommandResult): string {
  if (result.timedOut) return `${file} timed out`;
  const said = firstLine(result.stderr) || firstLine(result.stdout);
  return said || `${file} exited with ${result.code ?? 'a signal'}`;
}

export function firstLine(text: string): string {
  return (
    text
      .split('\n')
      .map((line) => line.trim())
      .find((line) => line !== '') ?? ''
  );
}

function lineSplitter(onLine: (line: string) => void) {
  let partial = '';
  return {
    push(chunk: string) {
      const parts = (partial + chunk).split(/\r?\n|\r/);
      partial = parts.pop() ?? '';
      for (const p of parts) if (p.trim()) onLine(p.trimEnd());
    },
    flush() {
      if (partial.trim()) onLine(partial.trimEnd());
      partial = '';
    },
  };
}
