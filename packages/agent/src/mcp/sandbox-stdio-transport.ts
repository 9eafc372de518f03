import { ReadBuffer, serializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { Sandbox } from '@runtools/sandbox';

export interface SandboxStdioOptions {
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd?: string | undefined;
}

/**
 * MCP's stdio transport, with the server process inside a sandbox: it is spawned there (stdin
 * kept open), its stdout is read as newline-delimited JSON-RPC through rt-init, and what the
 * client sends is written to its stdin. The server sees the sandbox (the agent's workspace) and
 * nothing of the host. A line that is not JSON-RPC is reported to `onerror` and skipped; the
 * process ending closes the transport.
 */
export class SandboxStdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  readonly #sandbox: Sandbox;
  readonly #options: SandboxStdioOptions;
  readonly #buffer = new ReadBuffer();
  #pid: number | undefined;
  #closed = false;
  /** The last lines the server wrote to stderr, for an error that names why it failed. */
  stderr = '';

  constructor(sandbox: Sandbox, options: SandboxStdioOptions) {
    this.#sandbox = sandbox;
    this.#options = options;
  }

  async start(): Promise<void> {
    const { command, args, env, cwd } = this.#options;
    const pid = await this.#sandbox.spawn([command, ...args], {
      stdin: true,
      env,
      ...(cwd ? { cwd } : {}),
    });
    this.#pid = pid;
    void this.#sandbox.processes
      .attach(pid, {
        onStdout: (chunk) => this.#read(chunk),
        onStderr: (chunk) => {
          this.stderr = (this.stderr + chunk).slice(-2000);
        },
      })
      .then(
        () => this.#ended(),
        (error: unknown) => {
          this.onerror?.(error as Error);
          this.#ended();
        },
      );
  }

  async send(message: JSONRPCMessage): Promise<void> {
    if (this.#pid === undefined || this.#closed) throw new Error('The MCP server is not running.');
    await this.#sandbox.processes.write(this.#pid, serializeMessage(message));
  }

  async close(): Promise<void> {
    if (this.#pid !== undefined && !this.#closed) {
      await this.#sandbox.processes.kill(this.#pid, 'SIGKILL').catch(() => {});
    }
    this.#ended();
  }

  #read(chunk: string): void {
    try {
      this.#buffer.append(Buffer.from(chunk, 'utf8'));
    } catch (error) {
      // A line longer than the buffer's limit: dropped, and said.
      this.onerror?.(error as Error);
      return;
    }
    for (;;) {
      let message: JSONRPCMessage | null;
      try {
        message = this.#buffer.readMessage();
      } catch (error) {
        // Not JSON-RPC (a log line on stdout, garbage): skip the line, say so.
        this.onerror?.(error as Error);
        continue;
      }
      if (message === null) return;
      this.onmessage?.(message);
    }
  }

  #ended(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#buffer.clear();
    this.onclose?.();
  }
}
