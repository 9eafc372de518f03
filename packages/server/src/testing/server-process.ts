import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';

const MAIN = resolve(import.meta.dirname, '../main.ts');

export interface ServerProcess {
  readonly child: ChildProcess;
  /** `http://127.0.0.1:PORT`, from the server's ready log line. */
  readonly url: string;
  /** Every log line so far (JSON lines on stderr, anything on stdout). */
  readonly log: string[];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts `main.ts` as a child process with `env` (on loopback, an ephemeral port unless `PORT` is
 * given) and resolves once it logs that it is ready; rejects with its log if it exits first.
 */
export async function startServerProcess(env: NodeJS.ProcessEnv): Promise<ServerProcess> {
  const child = spawn(process.execPath, [MAIN], {
    env: { PORT: '0', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.once('exit', (code, signal) => r({ code, signal })),
  );
  const url = await new Promise<string>((resolveUrl, reject) => {
    let buffer = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      for (let nl = buffer.indexOf('\n'); nl !== -1; nl = buffer.indexOf('\n')) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        log.push(line);
        try {
          const entry = JSON.parse(line) as { msg?: string; url?: string };
          if (entry.msg === 'runtools server ready' && entry.url) resolveUrl(entry.url);
        } catch {
          // not a log line
        }
      }
    });
    child.stdout?.on('data', (c: Buffer) => log.push(c.toString()));
    void exited.then(({ code, signal }) =>
      reject(new Error(`main.ts exited (${code ?? signal}) before ready:\n${log.join('\n')}`)),
    );
  });
  return { child, url, log, exited };
}
