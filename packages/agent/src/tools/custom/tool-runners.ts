import { createHash, randomUUID } from 'node:crypto';
import { chmod, mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RunToolsError } from '@runtools/sdk/errors';
import { ToolRunner, type ToolRunnerOptions } from './tool-runner.ts';

/** nobody/nogroup: the user tool runners run as when the server runs as root. */
export const TOOL_RUNNER_USER = { uid: 65534, gid: 65534 } as const;

export interface ToolRunnersOptions {
  /**
   * Where bundles are written for their runners: made 0711 (a runner can read the file it is
   * given, but not list the others), each bundle 0444.
   */
  dir: string;
  /**
   * Who runners run as: by default nobody (65534) when this process is root, else this process's
   * own user (which cannot switch to another).
   */
  user?: { uid: number; gid: number };
  stopGraceMs?: ToolRunnerOptions['stopGraceMs'];
  idleMs?: ToolRunnerOptions['idleMs'];
}

/**
 * The tool runners of a server: one per code bundle (by its SHA-256), made on first use,
 * shared by every run of every runtime with that bundle, all stopped by `close()`.
 */
export class ToolRunners implements AsyncDisposable {
  readonly dir: string;
  /** Who the runners run as (undefined: this process's user). */
  readonly user: { uid: number; gid: number } | undefined;
  readonly #options: ToolRunnersOptions;
  readonly #runners = new Map<string, Promise<ToolRunner>>();
  #closed = false;

  constructor(options: ToolRunnersOptions) {
    this.#options = options;
    this.dir = options.dir;
    this.user = options.user ?? (process.getuid?.() === 0 ? { ...TOOL_RUNNER_USER } : undefined);
  }

  /**
   * The runner of the bundle `sha256`; `load` gives the bundle's bytes when this server has not
   * written it to `dir` yet (bytes whose hash is not `sha256` are refused).
   */
  runner(sha256: string, load: () => Promise<Uint8Array>): Promise<ToolRunner> {
    if (this.#closed)
      return Promise.reject(new RunToolsError('engine_closed', 'The tool runners are stopped.'));
    let runner = this.#runners.get(sha256);
    if (runner === undefined) {
      runner = this.#prepare(sha256, load);
      this.#runners.set(sha256, runner);
      runner.catch(() => this.#runners.delete(sha256));
    }
    return runner;
  }

  /** Stops every runner. */
  async close(): Promise<void> {
    this.#closed = true;
    const runners = [...this.#runners.values()];
    this.#runners.clear();
    await Promise.all(
      runners.map(async (r) => {
        await (await r.catch(() => undefined))?.close();
      }),
    );
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #prepare(sha256: string, load: () => Promise<Uint8Array>): Promise<ToolRunner> {
    if (!/^[0-9a-f]{64}$/.test(sha256)) {
      throw new RunToolsError('invalid_input', `${sha256} is not a bundle's SHA-256.`);
    }
    await mkdir(this.dir, { recursive: true, mode: 0o711 });
    await chmod(this.dir, 0o711);
    const path = join(this.dir, `${sha256}.mjs`);
    if (!(await stat(path).catch(() => undefined))?.isFile()) {
      const bytes = await load();
      const actual = createHash('sha256').update(bytes).digest('hex');
      if (actual !== sha256) {
        throw new RunToolsError(
          'bundle_hash_mismatch',
          `The bundle stored as ${sha256} has the SHA-256 ${actual}.`,
          { details: { sha256, actual } },
        );
      }
      // Written whole, then renamed: a runner never loads half a bundle.
      const partial = `${path}.${randomUUID().slice(0, 8)}.partial`;
      try {
        await writeFile(partial, bytes, { mode: 0o444 });
        await chmod(partial, 0o444);
        await rename(partial, path);
      } finally {
        await rm(partial, { force: true });
      }
    }
    return new ToolRunner({
      bundlePath: path,
      ...(this.user ? { user: this.user } : {}),
      ...(this.#options.stopGraceMs !== undefined
        ? { stopGraceMs: this.#options.stopGraceMs }
        : {}),
      ...(this.#options.idleMs !== undefined ? { idleMs: this.#options.idleMs } : {}),
    });
  }
}
