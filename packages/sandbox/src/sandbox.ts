import type { DriverSandboxSpec, SandboxDriver } from './driver.ts';
import { InvalidOptionsError, SandboxError, SandboxStateError } from './errors.ts';
import { SandboxFiles } from './files.ts';
import { SandboxPorts } from './ports.ts';
import {
  type BackgroundStarted,
  type ExecOptions,
  type ExecResult,
  SandboxProcesses,
  type SpawnOptions,
} from './processes.ts';
import type { SandboxRecord } from './sandbox-record.ts';
import { canTransition, type SandboxState } from './state.ts';
import { SupervisorSession } from './supervisor/session.ts';

/** The public, serialisable view of a sandbox. */
export interface SandboxInfo {
  id: string;
  state: SandboxState;
  template: string;
  templateVersion: string;
  createdAt: string;
  updatedAt: string;
  cwd: string;
  metadata: Record<string, string>;
  timeoutMs?: number;
  onTimeout: 'pause' | 'kill';
  /** When a running sandbox will be paused/stopped by its timeout. */
  expiresAt?: string;
  resources: SandboxRecord['resources'];
  network: SandboxRecord['network'];
  volumes: SandboxRecord['volumes'];
  snapshotBytes?: number;
}

/** What a Sandbox needs from its engine. */
export interface SandboxHost {
  driver: SandboxDriver;
  persist(record: SandboxRecord): Promise<void>;
  forget(id: string): void;
  driverSpec(record: SandboxRecord): DriverSandboxSpec;
  armTimeout(sandbox: Sandbox): void;
  disarmTimeout(id: string): void;
  expiresAt(id: string): Date | undefined;
}

/**
 * One sandbox: run commands, work with files, reach its ports, pause/resume it with its full
 * memory state, delete it. Obtain one from `SandboxEngine.create()` or `.get()`.
 */
export class Sandbox {
  readonly id: string;
  readonly processes: SandboxProcesses;
  readonly files: SandboxFiles;
  readonly ports: SandboxPorts;
  private record: SandboxRecord;
  private readonly host: SandboxHost;
  private readonly session: SupervisorSession;
  private busy: string | null = null;
  private queue: Promise<unknown> = Promise.resolve();

  /** @internal */
  constructor(record: SandboxRecord, host: SandboxHost) {
    this.id = record.id;
    this.record = record;
    this.host = host;
    this.session = new SupervisorSession({
      path: host.driver.socketPath(record.id),
      initPid: () => host.driver.supervisorPid(record.id),
      revive: () => host.driver.revive(record.id),
    });
    const assertRunning = (op: string) => this.assertRunning(op);
    this.processes = new SandboxProcesses({
      sandboxId: this.id,
      session: this.session,
      assertRunning,
      baseEnv: () => this.record.env,
      defaultCwd: () => this.record.cwd,
    });
    this.files = new SandboxFiles({
      sandboxId: this.id,
      session: this.session,
      assertRunning,
      defaultCwd: () => this.record.cwd,
    });
    this.ports = new SandboxPorts({
      sandboxId: this.id,
      endpoint: this.session.endpoint,
      ensureRunning: async () => {
        await this.queue.catch(() => {});
        if (this.record.state === 'paused') await this.resume().catch(() => {});
        this.assertRunning('connect to a port of');
      },
      assertRunning,
      readFile: (path) => this.files.read(path),
    });
  }

  get state(): SandboxState {
    return this.record.state;
  }

  info(): SandboxInfo {
    const r = this.record;
    const expires = this.host.expiresAt(this.id);
    return {
      id: r.id,
      state: r.state,
      template: r.template,
      templateVersion: r.templateVersion,
      createdAt: r.createdAt,
      updatedAt: r.updatedAt,
      cwd: r.cwd,
      metadata: { ...r.metadata },
      ...(r.timeoutMs ? { timeoutMs: r.timeoutMs } : {}),
      onTimeout: r.onTimeout,
      ...(expires ? { expiresAt: expires.toISOString() } : {}),
      resources: { ...r.resources },
      network: { ...r.network },
      volumes: r.volumes.map((v) => ({ ...v })),
      ...(r.snapshotBytes ? { snapshotBytes: r.snapshotBytes } : {}),
    };
  }

  /** @internal the persisted record (engine use). */
  get data(): SandboxRecord {
    return this.record;
  }

  /** Runs a command and waits for it (or starts it in the background); see `SandboxProcesses.exec`. */
  exec(
    command: string | string[],
    options: ExecOptions & { background: true },
  ): Promise<BackgroundStarted>;
  exec(command: string | string[], options?: ExecOptions): Promise<ExecResult>;
  exec(command: string | string[], options?: ExecOptions): Promise<ExecResult | BackgroundStarted> {
    return this.processes.exec(command, options as ExecOptions);
  }

  /** Starts a background process; see `SandboxProcesses.spawn`. */
  spawn(command: string | string[], options?: SpawnOptions): Promise<number> {
    return this.processes.spawn(command, options);
  }

  /**
   * Checkpoints every process (memory, open files, cwd) to disk with CRIU and stops them, so the
   * sandbox costs no memory or CPU until `resume()`. Running commands' output is kept.
   */
  pause(): Promise<SandboxInfo> {
    return this.lifecycle('pause', async () => {
      this.requireState('running', 'pause', 'Only a running sandbox can be paused.');
      this.host.disarmTimeout(this.id);
      await this.ports.cutRelays();
      await this.session.suspend();
      try {
        const { snapshotBytes } = await this.host.driver.checkpoint(this.id);
        await this.update({ state: 'paused', snapshotBytes, pausedAt: new Date().toISOString() });
      } catch (err) {
        await this.session.connect().catch(() => {});
        this.host.armTimeout(this);
        throw err;
      }
      return this.info();
    });
  }

  /** Restores a paused sandbox exactly as it was. */
  resume(): Promise<SandboxInfo> {
    return this.lifecycle('resume', async () => {
      this.requireState('paused', 'resume', 'Only a paused sandbox can be resumed.');
      await this.host.driver.restore(this.id, this.host.driverSpec(this.record));
      await this.session.connect(10_000);
      await this.update({ state: 'running' });
      this.host.armTimeout(this);
      return this.info();
    });
  }

  /** Changes the timeout: the sandbox is paused/stopped `ms` from now (0 removes it). */
  async setTimeout(ms: number): Promise<SandboxInfo> {
    if (!Number.isInteger(ms) || ms < 0) {
      throw new InvalidOptionsError('timeout must be a non-negative integer of milliseconds.');
    }
    await this.update(ms ? { timeoutMs: ms } : { timeoutMs: undefined });
    if (this.record.state === 'running') this.host.armTimeout(this);
    return this.info();
  }

  /** Stops every process and removes the sandbox from the host. Deleting twice is an error. */
  delete(): Promise<void> {
    return this.lifecycle('delete', async () => {
      if (this.record.state === 'stopped') {
        throw new SandboxStateError(this.id, 'stopped', 'delete', 'It was already deleted.');
      }
      this.host.disarmTimeout(this.id);
      await this.ports.closeAll();
      this.session.close(new SandboxStateError(this.id, 'stopped', 'wait for a process in'));
      this.record = { ...this.record, state: 'stopped', updatedAt: new Date().toISOString() };
      await this.host.driver.destroy(this.id);
      this.host.forget(this.id);
    });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.record.state !== 'stopped') await this.delete();
  }

  /**
   * @internal the engine is closing: drop the connection (the sandbox keeps running) and fail
   * whatever still waits on a process, since nobody will deliver its exit any more.
   */
  release(): void {
    this.session.close(
      new SandboxError(
        'engine_closed',
        `The sandbox engine was closed while waiting on sandbox ${this.id}.`,
      ),
    );
  }

  /** @internal after creation, restore or engine restart: opens the supervisor connection. */
  async attach(timeoutMs = 5000): Promise<void> {
    try {
      await this.session.connect(timeoutMs);
    } catch (err) {
      // The socket file may have been deleted from inside the sandbox: ask rt-init to re-create it.
      await this.host.driver.revive(this.id).catch(() => {});
      await this.session.connect(timeoutMs).catch(() => {
        throw err;
      });
    }
  }

  /** @internal the engine changes bookkeeping fields (claim from the pool). */
  async update(patch: Partial<SandboxRecord>): Promise<void> {
    if (patch.state && patch.state !== this.record.state) {
      if (!canTransition(this.record.state, patch.state)) {
        throw new SandboxStateError(this.id, this.record.state, `move to ${patch.state}`);
      }
    }
    this.record = { ...this.record, ...patch, updatedAt: new Date().toISOString() };
    await this.host.persist(this.record);
  }

  private assertRunning(operation: string): void {
    if (this.record.state !== 'running' || (this.busy && this.busy !== 'resume')) {
      const state = this.busy ? `${this.busy.replace(/e?$/, 'ing')}` : this.record.state;
      throw new SandboxStateError(
        this.id,
        state,
        operation,
        this.record.state === 'paused' ? 'Resume it first.' : undefined,
      );
    }
  }

  private requireState(state: SandboxState, operation: string, hint: string): void {
    if (this.record.state !== state) {
      throw new SandboxStateError(this.id, this.record.state, operation, hint);
    }
  }

  /** Lifecycle operations of one sandbox run one at a time, in call order. */
  private lifecycle<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const next = this.queue
      .catch(() => {})
      .then(async () => {
        this.busy = name;
        try {
          return await fn();
        } finally {
          this.busy = null;
        }
      });
    this.queue = next;
    return next;
  }
}
