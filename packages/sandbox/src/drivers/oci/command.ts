import { spawn } from 'node:child_process';

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a host command with stdin/stdout/stderr not inherited. Containers started by it must
 * get /dev/null as stdio (a host file as their stdio makes CRIU dumps fail), so callers that
 * start a container pass `detached: true`.
 */
export function run(
  file: string,
  args: readonly string[],
  options: {
    timeoutMs?: number;
    devNull?: boolean;
    env?: NodeJS.ProcessEnv;
    input?: string;
    /** Receives stdout and stderr line by line as they come (build logs). */
    onLine?: (line: string) => void;
    signal?: AbortSignal;
  } = {},
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      signal: options.signal,
      stdio: options.devNull
        ? 'ignore'
        : [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      env: options.env ?? process.env,
      timeout: options.timeoutMs,
      killSignal: 'SIGKILL',
    });
    let stdout = '';
    let stderr = '';
    const lines = options.onLine ? lineSplitter(options.onLine) : undefined;
    // With a line callback the output can be long (a build log): keep only its tail.
    const keep = (acc: string, d: string) => (lines ? (acc + d).slice(-64 * 1024) : acc + d);
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      stdout = keep(stdout, d);
      lines?.push(d);
    });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      stderr = keep(stderr, d);
      lines?.push(d);
    });
    child.once('error', reject);
    child.stdin?.end(options.input);
    child.once('close', (code, signal) => {
      lines?.flush();
      if (signal === 'SIGKILL' && options.timeoutMs) {
        stderr += `\n(killed after ${options.timeoutMs} ms)`;
      }
      resolve({ code, stdout, stderr });
    });
  });
}

function lineSplitter(onLine: (line: string) => void) {
  let partial = '';
  return {
    push(chunk: string) {
      const parts = (partial + chunk).split(/\r?\n|\r/);
      partial = parts.pop() ?? '';
      for (const p of parts) if (p.trim()) onLine(p);
    },
    flush() {
      if (partial.trim()) onLine(partial);
      partial = '';
    },
  };
}
