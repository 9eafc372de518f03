import { SupervisorError } from '../errors.ts';
import { type ExitInfo, type OutputChunk, SupervisorConnection } from './connection.ts';
import type { SupervisorEndpoint } from './endpoint.ts';
import { Req } from './protocol.ts';

/** Receives one process's output and exit, de-duplicated by stream offset. */
export interface ProcessWatcher {
  onStdout?(data: Buffer): void;
  onStderr?(data: Buffer): void;
  onExit(exit: ExitInfo): void;
  /** The sandbox went away (deleted or crashed) before the process exited. */
  onLost(error: Error): void;
}

interface WatchState {
  watcher: ProcessWatcher;
  out: bigint;
  err: bigint;
}

/**
 * The engine's link to one sandbox's rt-init. It survives pause/resume: `suspend()` closes the
 * connection before a checkpoint and `connect()` re-opens it afterwards and re-attaches every
 * watched process from the last offset it saw, so no output is lost or repeated.
 */
export class SupervisorSession {
  readonly endpoint: SupervisorEndpoint;
  private conn: SupervisorConnection | null = null;
  private connecting: Promise<SupervisorConnection> | null = null;
  private readonly watches = new Map<number, WatchState>();
  private suspended = false;

  constructor(endpoint: SupervisorEndpoint) {
    this.endpoint = endpoint;
  }

  /** The open connection; opens it on first use. */
  async connection(): Promise<SupervisorConnection> {
    if (this.conn?.isOpen) return this.conn;
    if (this.suspended) throw new SupervisorError('sandbox is paused: rt-init is not reachable');
    this.connecting ??= this.open().finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  /** Opens the connection (waiting up to `timeoutMs` for rt-init) and re-attaches watchers. */
  async connect(timeoutMs = 5000): Promise<void> {
    this.suspended = false;
    if (this.conn?.isOpen) return;
    this.connecting ??= this.open(timeoutMs).finally(() => {
      this.connecting = null;
    });
    await this.connecting;
  }

  /**
   * Closes the connection for a checkpoint, and resolves once rt-init has closed its end too (see
   * `SupervisorConnection.closeGracefully`); watchers stay registered for `connect()`.
   */
  async suspend(): Promise<void> {
    this.suspended = true;
    const c = this.conn;
    this.conn = null;
    await c?.closeGracefully();
  }

  /** Ends the session for good: every watcher is told its process is lost. */
  close(error: Error): void {
    this.suspended = true;
    const c = this.conn;
    this.conn = null;
    c?.close();
    for (const [pid, w] of this.watches) {
      this.watches.delete(pid);
      w.watcher.onLost(error);
    }
  }

  /** Starts delivering `pid`'s events to `watcher`, from the given stream offsets. */
  watch(pid: number, watcher: ProcessWatcher, out = 0n, err = 0n): void {
    this.watches.set(pid, { watcher, out, err });
  }

  unwatch(pid: number): void {
    this.watches.delete(pid);
  }

  isWatched(pid: number): boolean {
    return this.watches.has(pid);
  }

  private async open(timeoutMs = 5000): Promise<SupervisorConnection> {
    const conn = await SupervisorConnection.open(
      this.endpoint,
      {
        onOutput: (chunk) => this.deliver(chunk),
        onExit: (exit) => {
          const w = this.watches.get(exit.pid);
          if (!w) return;
          this.watches.delete(exit.pid);
          w.watcher.onExit(exit);
        },
        onClose: () => {
          if (this.conn !== conn) return;
          this.conn = null;
          // Not closed by us (pause/delete): rt-init went away or the socket broke. Reconnect
          // so running commands carry on; if that fails, they are lost and must say so.
          if (!this.suspended && this.watches.size) this.recover();
        },
      },
      timeoutMs,
    );
    this.conn = conn;
    await Promise.all(
      [...this.watches].map(([pid, w]) =>
        conn.request(Req.ATTACH, [{ u32: pid }, { u64: w.out }, { u64: w.err }]).catch((err) => {
          // The process record is gone (rt-init keeps 256 exited ones): nothing more will come.
          this.watches.delete(pid);
          w.watcher.onLost(err as Error);
        }),
      ),
    );
    return conn;
  }

  private recover(): void {
    this.connection().catch((err: Error) => {
      if (this.suspended) return;
      for (const [pid, w] of this.watches) {
        this.watches.delete(pid);
        w.watcher.onLost(
          new SupervisorError(`lost the connection to the sandbox supervisor: ${err.message}`),
        );
      }
    });
  }

  private deliver(chunk: OutputChunk): void {
    const w = this.watches.get(chunk.pid);
    if (!w) return;
    const seen = chunk.stream === 1 ? w.out : w.err;
    const end = chunk.offset + BigInt(chunk.data.length);
    if (end <= seen) return;
    const data =
      chunk.offset < seen ? chunk.data.subarray(Number(seen - chunk.offset)) : chunk.data;
    if (chunk.stream === 1) {
      w.out = end;
      w.watcher.onStdout?.(data);
    } else {
      w.err = end;
      w.watcher.onStderr?.(data);
    }
  }
}
