import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveExecutable } from '../criu.ts';
import { commandFailure, firstLine, runCommand } from '../run-command.ts';
import { type PrerequisiteCheck, SETUP_FIX } from './prerequisite-check.ts';

export interface RunResult {
  ok: boolean;
  stdout: string;
  stderr: string;
  /** The first line of the failure, with the command's own error output when it has some. */
  error: string;
}

export async function run(
  file: string,
  args: readonly string[],
  timeoutMs = 10_000,
): Promise<RunResult> {
  try {
    // Empty input: a tool waiting for input must see EOF.
    const r = await runCommand(file, args, { timeoutMs, input: '' });
    if (r.code === 0) return { ok: true, stdout: r.stdout, stderr: r.stderr, error: '' };
    const error = r.timedOut ? `${file} timed out after ${timeoutMs} ms` : commandFailure(file, r);
    return { ok: false, stdout: r.stdout, stderr: r.stderr, error };
  } catch (err) {
    return {
      ok: false,
      stdout: '',
      stderr: '',
      error: firstLine((err as Error).message) || 'failed',
    };
  }
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

export const NEEDS_ROOT = 'probe skipped: needs root';

export const ROOT_FIX = 'run as root (sudo), with CAP_SYS_ADMIN';

export interface ToolSpec {
  name: string;
  binary: string;
  versionArgs: readonly string[];
  /** Extracts the version from the version command's stdout + stderr. */
  parseVersion: (output: string) => string | undefined;
  /** A cheap real use of the tool; `detail` says what it showed. */
  probe?: (path: string) => Promise<{ works: boolean; detail: string; fix?: string }>;
  fix?: string;
  optional?: boolean;
}

/** Finds the binary on PATH, runs its version command, then its probe. */
export async function checkTool(spec: ToolSpec, searchPath: string): Promise<PrerequisiteCheck> {
  const base = {
    name: spec.name,
    ...(spec.optional ? { optional: true } : {}),
  };
  const fix = spec.fix ?? SETUP_FIX;
  const path = await resolveExecutable(spec.binary, searchPath);
  if (!path) {
    return { ...base, found: false, works: false, detail: `${spec.binary} is not on PATH`, fix };
  }
  const versionRun = await run(path, spec.versionArgs);
  const version = spec.parseVersion(`${versionRun.stdout}\n${versionRun.stderr}`);
  if (!version) {
    return {
      ...base,
      found: true,
      works: false,
      detail: `${path} ${spec.versionArgs.join(' ')} failed: ${versionRun.error || 'no version in its output'}`,
      fix,
    };
  }
  if (!spec.probe) return { ...base, found: true, version, works: true, detail: path };
  const probe = await spec.probe(path);
  return {
    ...base,
    found: true,
    version,
    works: probe.works,
    detail: `${path}; ${probe.detail}`,
    ...(probe.works ? {} : { fix: probe.fix ?? fix }),
  };
}

export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'rt-doctor-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function uniqueName(): string {
  return `rt-doctor-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}
