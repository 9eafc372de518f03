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
  options: { timeoutMs?: number; devNull?: boolean; env?: NodeJS.ProcessEnv; input?: string } = {},
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      stdio: options.devNull
        ? 'ignore'
        : [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      env: options.env ?? process.env,
      timeout: options.timeoutMs,
      killSignal: 'SIGKILL',
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.once('error', reject);
    child.stdin?.end(options.input);
    child.once('close', (code, signal) => {
      if (signal === 'SIGKILL' && options.timeoutMs) {
        stderr += `\n(killed after ${options.timeoutMs} ms)`;
      }
      resolve({ code, stdout, stderr });
    });
  });
}
