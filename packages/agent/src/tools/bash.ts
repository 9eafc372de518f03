import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { AgentTool, ToolContext, ToolResult } from './tool.ts';
import { failureFromError } from './tool-failure.ts';
import { workingDirectory } from './working-directory.ts';

export const BASH_DEFAULT_TIMEOUT_MS = 120_000;
export const BASH_MAX_TIMEOUT_MS = 600_000;
/** Output past this many characters is cut in the middle: the start and the end are kept. */
export const BASH_MAX_OUTPUT_CHARS = 30_000;
/** Where background commands write their output inside the sandbox. */
export const BACKGROUND_LOG_DIR = '/tmp/runtools-bg';

const inputSchema = z.object({
  command: z
    .string()
    .min(1)
    .describe(
      'The command to run with `bash -c` inside the sandbox, e.g. `npm test` or `cd src && ls -la`. ' +
        'Quote paths that contain spaces. Chain dependent commands with `&&`. stdin is empty, so ' +
        'interactive commands must be given their input (e.g. `yes | apt-get install …`, `git commit -m …`).',
    ),
  timeoutMs: z
    .number()
    .int()
    .min(1)
    .max(BASH_MAX_TIMEOUT_MS)
    .optional()
    .describe(
      `Kill the command, and everything it started, after this many milliseconds. Default ${BASH_DEFAULT_TIMEOUT_MS} (2 minutes), maximum ${BASH_MAX_TIMEOUT_MS} (10 minutes). ` +
        'For a background command there is no limit unless you give one.',
    ),
  background: z
    .boolean()
    .optional()
    .describe(
      'Start the command in the background and return at once with its pid and the file its ' +
        'output goes to. Use it for servers, watchers and long builds; check on it later with ' +
        'bash (`tail` the log, `ps -p PID`). A `cd` in a background command does not persist.',
    ),
});

export type BashInput = z.infer<typeof inputSchema>;

/**
 * Runs the model's command in the working directory and reports the directory it ended in on
 * fd 87 (the exec's stderr, which carries nothing else: the command's own stderr is merged into
 * stdout, so both come back interleaved as they were written). The EXIT trap also fires when the
 * command calls `exit`. The command itself runs with fd 87 closed, so nothing it starts holds it.
 * $1 = command, $2 = working directory, $3 = fallback directory.
 */
const FOREGROUND_SCRIPT = `exec 87>&2 2>&1 </dev/null
trap 'printf "%s" "$PWD" >&87' EXIT
__rt_c=$1
cd -- "$2" 2>/dev/null || { printf '[working directory %s does not exist any more; running in %s]\\n' "$2" "$3"; cd -- "$3" || cd /; }
shift 3
eval "unset __rt_c; $__rt_c" 87>&-`;

/** $1 = command, $2 = working directory, $3 = fallback directory, $4 = log file. */
const BACKGROUND_SCRIPT = `mkdir -p -- "$(dirname -- "$4")" && exec >"$4" 2>&1 </dev/null
__rt_c=$1
cd -- "$2" 2>/dev/null || cd -- "$3" || cd /
shift 4
eval "unset __rt_c; $__rt_c"`;

/**
 * `bash`: runs a shell command inside the sandbox, like a terminal the agent keeps open: the
 * working directory persists between calls of one run (in `ctx.state.cwd`), output is returned
 * with the exit code, long output is cut in the middle, and a timeout or the run's abort signal
 * kills the command's whole process group.
 */
export const bashTool: AgentTool<BashInput> = {
  name: 'bash',
  description:
    'Run a bash command in the sandbox and return its output (stdout and stderr together) and ' +
    'exit code. The working directory persists between calls: after `cd /app`, later commands ' +
    'and relative paths of the other tools start in /app. Shell variables, functions and ' +
    `\`export\`s do not persist. Output over ${BASH_MAX_OUTPUT_CHARS} characters is cut in the ` +
    'middle (the start and the end are kept); redirect large output to a file and search it. ' +
    'Prefer grep, glob and read_file over `grep`/`find`/`cat` for searching and reading files.',
  inputSchema,
  async execute(input, ctx) {
    try {
      return input.background ? await runInBackground(input, ctx) : await runForeground(input, ctx);
    } catch (err) {
      return failureFromError(err, { command: input.command });
    }
  },
};

async function runForeground(input: BashInput, ctx: ToolContext): Promise<ToolResult> {
  const timeoutMs = Math.min(input.timeoutMs ?? BASH_DEFAULT_TIMEOUT_MS, BASH_MAX_TIMEOUT_MS);
  const cwd = workingDirectory(ctx);
  if (ctx.signal.aborted) {
    return { output: 'Cancelled before the command started.', isError: true, metadata: { cwd } };
  }
  const output = new OutputWindow(BASH_MAX_OUTPUT_CHARS);
  const r = await ctx.sandbox.exec(
    ['bash', '-c', FOREGROUND_SCRIPT, 'bash', input.command, cwd, ctx.sandbox.info().cwd],
    {
      timeoutMs,
      signal: ctx.signal,
      onStdout: (s) => output.push(s),
      // The result's own copy is not used (the window above keeps the start and the end);
      // stderr carries only the final directory.
      maxOutputBytes: 64 * 1024,
    },
  );
  const endedIn = r.stderr.startsWith('/') && !r.stderr.includes('\n') ? r.stderr : undefined;
  if (endedIn) ctx.state.cwd = endedIn;
  const cancelled = ctx.signal.aborted && !r.timedOut;
  const printed = output.text().replace(/\n$/, '');
  const lines = [printed || '(no output)'];
  if (r.timedOut) {
    lines.push(
      `[timed out after ${timeoutMs} ms: the command and every process it started were killed. ` +
        'Give a longer timeoutMs (at most 600000), or run it with background: true.]',
    );
  } else if (cancelled) {
    lines.push('[cancelled: the run was aborted and the command was killed]');
  } else if (r.signal) {
    lines.push(`[killed by ${r.signal}; exit code ${r.exitCode}]`);
  } else {
    lines.push(`[exit code ${r.exitCode}]`);
  }
  if (endedIn && endedIn !== cwd) lines.push(`[working directory is now ${endedIn}]`);
  return {
    output: lines.join('\n'),
    value: printed,
    isError: r.exitCode !== 0 || r.timedOut || cancelled,
    metadata: {
      exitCode: r.exitCode,
      ...(r.signal ? { signal: r.signal } : {}),
      timedOut: r.timedOut,
      cancelled,
      cwd: endedIn ?? cwd,
      truncated: output.truncated,
      outputChars: output.total,
      durationMs: Math.round(r.durationMs),
      pid: r.pid,
    },
  };
}

async function runInBackground(input: BashInput, ctx: ToolContext): Promise<ToolResult> {
  const cwd = workingDirectory(ctx);
  const log = `${BACKGROUND_LOG_DIR}/${randomUUID().slice(0, 8)}.log`;
  const pid = await ctx.sandbox.spawn(
    ['bash', '-c', BACKGROUND_SCRIPT, 'bash', input.command, cwd, ctx.sandbox.info().cwd, log],
    input.timeoutMs ? { timeoutMs: input.timeoutMs } : {},
  );
  const limit = input.timeoutMs ? ` It will be killed after ${input.timeoutMs} ms.` : '';
  return {
    output:
      `Started in the background in ${cwd}: pid ${pid}.${limit}\n` +
      `Its output (stdout and stderr) goes to ${log}. Read it with \`tail -n 50 ${log}\` or ` +
      `read_file; see whether it still runs with \`ps -p ${pid}\`; stop it and its children ` +
      `with \`kill -- -${pid}\`.`,
    metadata: { pid, background: true, logFile: log, cwd },
  };
}

/**
 * Keeps the first and the last `limit / 2` characters of a stream and counts the rest, so a
 * command that prints gigabytes costs no more memory than one that prints a page.
 */
class OutputWindow {
  total = 0;
  private head = '';
  private tail = '';
  private readonly half: number;

  constructor(limit: number) {
    this.half = Math.floor(limit / 2);
  }

  get truncated(): boolean {
    return this.total > this.half * 2;
  }

  push(s: string): void {
    this.total += s.length;
    if (this.head.length < this.half) {
      const take = this.half - this.head.length;
      this.head += s.slice(0, take);
      s = s.slice(take);
    }
    if (!s) return;
    this.tail += s;
    if (this.tail.length > this.half * 4) this.tail = this.tail.slice(-this.half);
  }

  text(): string {
    const tail = this.tail.slice(-this.half);
    if (!this.truncated) return this.head + tail;
    const cut = this.total - this.head.length - tail.length;
    return (
      `${this.head}\n\n[… ${cut} characters cut from the middle: the output had ${this.total} ` +
      `characters; showing the first ${this.head.length} and the last ${tail.length}. Redirect ` +
      `the output to a file and use grep or read_file to see the rest …]\n\n${tail}`
    );
  }
}
