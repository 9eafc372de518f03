import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loopbackRanges } from '@runtools/agent';
import { TestModelServer } from '@runtools/agent/testing';
import { RunTools } from '@runtools/sdk';
import { type RunningServer, silentLogger, startServer } from '@runtools/server';

/** The repository's Node 24 (the system `node` may be older) and the CLI's entry point. */
export const nodeBinary = process.execPath;
export const cliEntry = resolve(import.meta.dirname, '../bin/runtools.ts');

const templatesDir = process.env.RUNTOOLS_TEMPLATES_DIR ?? '/var/lib/runtools/templates';

export interface CliServer extends AsyncDisposable {
  readonly url: string;
  readonly apiKey: string;
  /** The scripted model the deployed agents call: `model.push(...)` their next answers. */
  readonly model: TestModelServer;
  readonly server: RunningServer;
  /** An SDK client of the server, to check what the CLI did. */
  readonly rt: RunTools;
  /** What the CLI needs to find the server: RUNTOOLS_SERVER and RUNTOOLS_API_KEY. */
  readonly env: Record<string, string>;
  /** Creates a runtime on the scripted model (with `bash`) and its deployment on debian-13. */
  /** A deployment of the scripted model with bash (and `extra` fields of its definition). */
  deployScriptedAgent(slug: string, extra?: Record<string, unknown>): Promise<string>;
}

/**
 * A real RunTools server on loopback (SQLite, a sandbox engine with the host's templates, a run
 * worker) and a scripted model, for tests that run the CLI as a child process against them.
 * Disposing of it stops both and removes their directories.
 */
export async function startCliServer(
  options: Pick<Parameters<typeof startServer>[0], 'integrationBaseUrls' | 'integrationAllow'> = {},
): Promise<CliServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'runtools-cli-test-'));
  // Sandboxes need a directory their mapped users can traverse, outside a tmpfs /tmp.
  const engineDataDir = mkdtempSync('/var/tmp/rt-cli-test-');
  const apiKey = `rt_test_${Math.random().toString(36).slice(2)}${Date.now()}`;
  const model = await TestModelServer.start();
  let server: RunningServer;
  try {
    server = await startServer({
      dataDir,
      engineDataDir,
      templatesDir,
      port: 0,
      apiKey,
      rateLimit: false,
      logger: silentLogger,
      // The test model server is on loopback.
      modelEndpointAllow: loopbackRanges,
      ...options,
    });
  } catch (error) {
    await model.close();
    throw error;
  }
  const rt = new RunTools({ baseUrl: server.url, apiKey });
  return {
    url: server.url,
    apiKey,
    model,
    server,
    rt,
    env: { RUNTOOLS_SERVER: server.url, RUNTOOLS_API_KEY: apiKey },
    async deployScriptedAgent(slug, extra = {}) {
      const runtime = await rt.runtimes.create({
        slug,
        model: { provider: 'custom', endpoint: model.baseURL, model: 'scripted' },
        systemPrompt: 'You are a test agent.',
        tools: ['bash'],
        ...extra,
      });
      const deployment = await rt.deployments.create({
        apiSlug: slug,
        runtimeId: runtime.id,
        template: 'debian-13',
      });
      return deployment.id;
    },
    async [Symbol.asyncDispose]() {
      const running = async () =>
        (await server.store.runs.list({ status: ['running'], limit: 100 })).items;
      for (const run of await running()) server.worker.cancel(run.id);
      for (let i = 0; i < 200 && (await running()).length > 0; i += 1) {
        await new Promise((r) => setTimeout(r, 50));
      }
      // The engine's close leaves sandboxes running: delete them while it is open.
      for (const sandbox of server.engine.list()) {
        await server.engine.delete(sandbox.id).catch(() => {});
      }
      await server.stop();
      await model.close();
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(engineDataDir, { recursive: true, force: true });
    },
  };
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Written to the CLI's stdin, which is then closed. */
  stdin?: string;
}

/** The environment a CLI child gets: this one, without colour forcing, plus `env`. */
function childEnv(env: CliOptions['env']): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { ...process.env };
  delete base.FORCE_COLOR;
  delete base.NODE_TEST_CONTEXT;
  delete base.RUNTOOLS_SERVER;
  delete base.RUNTOOLS_URL;
  delete base.RUNTOOLS_API_KEY;
  return { ...base, ...env };
}

/** A running `runtools ARGS…` child process, its output collected as it comes. */
export class CliProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<CliResult>;

  constructor(args: string[], options: CliOptions = {}) {
    this.child = spawn(nodeBinary, [cliEntry, ...args], {
      cwd: options.cwd,
      env: childEnv(options.env),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      this.stdout += chunk;
    });
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk;
    });
    if (options.stdin !== undefined) this.child.stdin?.end(options.stdin);
    else this.child.stdin?.end();
    this.exited = new Promise((resolveExit) => {
      this.child.on('close', (code, signal) =>
        resolveExit({ code, signal, stdout: this.stdout, stderr: this.stderr }),
      );
    });
  }

  /** Waits until stdout or stderr matches `pattern` (or fails after `timeoutMs`). */
  async waitForOutput(pattern: RegExp, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.stdout) && !pattern.test(this.stderr)) {
      if (this.child.exitCode !== null || Date.now() > deadline) {
        throw new Error(
          `no ${pattern} in the CLI's output (exit ${this.child.exitCode}):\n--- stdout\n${this.stdout}\n--- stderr\n${this.stderr}`,
        );
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  [Symbol.dispose](): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

/** Runs `runtools ARGS…` to its end (killed after `timeoutMs`). */
export async function runCli(
  args: string[],
  options: CliOptions & { timeoutMs?: number } = {},
): Promise<CliResult> {
  using cli = new CliProcess(args, options);
  const timer = setTimeout(() => cli.child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
  try {
    return await cli.exited;
  } finally {
    clearTimeout(timer);
  }
}

/** True when `text` holds an ANSI escape sequence (colour, cursor movement). */
export function hasEscapeCodes(text: string): boolean {
  return text.includes('\u001b[');
}
