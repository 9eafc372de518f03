import { mkdir, readFile, rm, symlink } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { RuntimeError, SandboxError } from '../../errors.ts';
import { type CommandResult, runCommand } from '../../host/run-command.ts';

export interface RuncContainer {
  id: string;
  pid: number;
  status: 'created' | 'running' | 'paused' | 'stopped' | string;
  bundle: string;
}

/** The runc command line, with the engine's own state root so it never sees other containers. */
export class Runc {
  readonly binary: string;
  readonly stateRoot: string;
  readonly criu: string | undefined;

  constructor(options: { binary?: string; stateRoot: string; criu?: string }) {
    this.binary = options.binary ?? 'runc';
    this.stateRoot = options.stateRoot;
    this.criu = options.criu;
  }

  /** Starts a container detached, with its stdio on /dev/null. */
  async run(id: string, bundle: string): Promise<void> {
    const r = await this.detached(['run', '-d', '--bundle', bundle, id], `${bundle}/runc.log`);
    if (r.code !== 0 && /session key.*quota exceeded/.test(r.stderr)) {
      // runc gives every container a session keyring, charged to the sandboxes' shared host uid.
      throw new SandboxError(
        'sandbox_limit',
        `Cannot start another sandbox: the kernel's key quota of the sandboxes' host uid is used up (one session keyring per running sandbox; kernel.keys.maxkeys is ${await keyQuota()}). Fix: bash scripts/setup.sh (it raises kernel.keys.maxkeys and maxbytes), or sysctl -w kernel.keys.maxkeys=20000 kernel.keys.maxbytes=2000000 and persist it in /etc/sysctl.d/; or delete or pause sandboxes.`,
        { details: { id } },
      );
    }
    if (r.code !== 0) throw new RuntimeError('runc run', r.stderr, { id });
  }

  async pause(id: string): Promise<void> {
    await this.ok('runc pause', ['pause', id]);
  }

  async resume(id: string): Promise<void> {
    await this.ok('runc resume', ['resume', id]);
  }

  async kill(id: string, signal: string): Promise<CommandResult> {
    return this.exec(['kill', id, signal]);
  }

  async checkpoint(
    id: string,
    imagePath: string,
    workPath: string,
    timeoutMs: number,
  ): Promise<CommandResult> {
    return this.exec(
      [
        'checkpoint',
        '--image-path',
        imagePath,
        '--work-path',
        workPath,
        '--tcp-established',
        '--file-locks',
        id,
      ],
      { timeoutMs, env: await this.criuEnv() },
    );
  }

  async restore(
    id: string,
    bundle: string,
    imagePath: string,
    workPath: string,
    timeoutMs: number,
  ): Promise<CommandResult> {
    return this.detached(
      [
        'restore',
        '-d',
        '--image-path',
        imagePath,
        '--work-path',
        workPath,
        '--tcp-established',
        '--file-locks',
        '--bundle',
        bundle,
        id,
      ],
      `${bundle}/runc.log`,
      timeoutMs,
      await this.criuEnv(),
    );
  }

  /** Kills and removes a container; a container that does not exist is not an error. */
  async delete(id: string): Promise<void> {
    const r = await this.exec(['delete', '-f', id]);
    if (r.code !== 0 && !/does not exist|not exist/.test(r.stderr)) {
      throw new RuntimeError('runc delete', r.stderr, { id });
    }
  }

  async state(id: string): Promise<RuncContainer | null> {
    const r = await this.exec(['state', id]);
    if (r.code !== 0) return null;
    return JSON.parse(r.stdout) as RuncContainer;
  }

  async list(): Promise<RuncContainer[]> {
    const r = await this.exec(['list', '--format', 'json']);
    if (r.code !== 0) throw new RuntimeError('runc list', r.stderr);
    return (JSON.parse(r.stdout || 'null') as RuncContainer[] | null) ?? [];
  }

  /**
   * The environment for checkpoint and restore: runc >= 1.2 ignores `--criu` and runs the `criu`
   * it finds on PATH, so the chosen CRIU's directory goes first on PATH (under the name `criu`,
   * through a symlink in the state root when the file is named otherwise). runc 1.1 looks its
   * default `criu` up on PATH the same way.
   */
  private async criuEnv(): Promise<NodeJS.ProcessEnv> {
    if (!this.criu)
      throw new RuntimeError('checkpoint', 'no CRIU >= 4 found (run: bash scripts/setup.sh)');
    let dir = dirname(this.criu);
    if (basename(this.criu) !== 'criu' || !isAbsolute(this.criu)) {
      dir = join(this.stateRoot, '.criu-bin');
      await mkdir(dir, { recursive: true });
      await rm(join(dir, 'criu'), { force: true });
      await symlink(resolve(this.criu), join(dir, 'criu'));
    }
    return {
      ...process.env,
      PATH: `${dir}:${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`,
    };
  }

  private exec(args: string[], options: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}) {
    return runCommand(this.binary, ['--root', this.stateRoot, ...args], {
      timeoutMs: options.timeoutMs ?? 30_000,
      ...(options.env ? { env: options.env } : {}),
    });
  }

  /**
   * `run -d` / `restore -d` hand runc's stdio to the container, which must be /dev/null (CRIU
   * cannot dump a container holding a host pipe, and `run` would not return while we read it),
   * so runc's own errors go to a log file that is read back on failure.
   */
  private async detached(
    args: string[],
    logFile: string,
    timeoutMs = 30_000,
    env?: NodeJS.ProcessEnv,
  ): Promise<CommandResult> {
    await rm(logFile, { force: true });
    const r = await runCommand(this.binary, ['--root', this.stateRoot, '--log', logFile, ...args], {
      timeoutMs,
      devNull: true,
      ...(env ? { env } : {}),
    });
    if (r.code !== 0) {
      const log = await readFile(logFile, 'utf8').catch(() => '');
      r.stderr = `${
        log
          .split('\n')
          .filter((l) => /error|fail/i.test(l))
          .slice(-10)
          .join('\n') || log.slice(-2000)
      }${r.stderr}`;
    }
    return r;
  }

  private async ok(what: string, args: string[]): Promise<void> {
    const r = await this.exec(args);
    if (r.code !== 0)
      throw new RuntimeError(what, r.stderr || r.stdout || `exit ${r.code}`, { args });
  }
}

async function keyQuota(): Promise<string> {
  return (await readFile('/proc/sys/kernel/keys/maxkeys', 'utf8').catch(() => '?')).trim();
}
