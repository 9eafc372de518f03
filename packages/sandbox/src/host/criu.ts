/**
 * Finding a CRIU that works on this host. `runc checkpoint`/`restore` need CRIU >= 4.2 here:
 * Debian 12's 3.17 fails on current kernels (`vdso: Unexpected rt vDSO area bounds`) and Debian
 * 13's 4.1 cannot dump a process holding a TCP/UDP socket on kernels >= 6.16, so
 * `scripts/setup.sh` installs the next Debian release's CRIU in a private root with a wrapper at
 * `/opt/runtools/bin/criu`; distributions that ship CRIU >= 4.2 just `apt install criu`.
 */

import { access, constants } from 'node:fs/promises';
import { delimiter, join, resolve } from 'node:path';
import { commandFailure, runCommand } from './run-command.ts';

/** The wrapper `scripts/setup.sh` writes for CRIU from its private Debian root. */
export const PRIVATE_CRIU_WRAPPER = '/opt/runtools/bin/criu';

/** Tried in order: the system `criu` (looked up on PATH), then the private root's wrapper. */
export const DEFAULT_CRIU_CANDIDATES: readonly string[] = ['criu', PRIVATE_CRIU_WRAPPER];

/**
 * The oldest CRIU that works on the kernels this project runs on: kernels >= 6.16 refuse
 * SO_PASSCRED/SO_PASSSEC on inet sockets and CRIU 4.1 then cannot dump a process holding one.
 */
export const MIN_CRIU_MAJOR = 4;
export const MIN_CRIU_MINOR = 2;

export interface FindCriuOptions {
  /** Executables to try, best first; a name without a slash is looked up on `searchPath`. */
  candidates?: readonly string[];
  /** The PATH used for names without a slash (default: this process's PATH). */
  searchPath?: string;
  /** Time limit of each `criu` call (default 20 s). */
  timeoutMs?: number;
}

/** What trying one CRIU candidate found out. */
export interface CriuProbe {
  /** The candidate as given (`criu`, `/opt/runtools/bin/criu`). */
  candidate: string;
  /** The executable it resolved to, when there is one. */
  path?: string;
  /** An executable exists. */
  found: boolean;
  /** From `criu --version` (e.g. `4.1.1`). */
  version?: string;
  /** The version is >= {@link MIN_CRIU_MAJOR} and `criu check` says "Looks good". */
  works: boolean;
  /** What `criu check` said: "Looks good." (possibly with a warning) or its error. */
  check?: string;
  /** Why it does not work, for people. */
  problem?: string;
}

/** `Version: 4.1.1` (the first line of `criu --version`) -> `4.1.1`. */
export function parseCriuVersion(output: string): string | undefined {
  return /^Version:\s*(\S+)/m.exec(output)?.[1];
}

/** The major number of a version string, or NaN. */
export function majorVersion(version: string): number {
  const match = /^(\d+)/.exec(version);
  return match ? Number(match[1]) : Number.NaN;
}

/** True when `version` is at least MIN_CRIU_MAJOR.MIN_CRIU_MINOR. */
export function isSupportedCriuVersion(version: string): boolean {
  const m = /^(\d+)\.(\d+)/.exec(version);
  if (!m) return false;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  return major > MIN_CRIU_MAJOR || (major === MIN_CRIU_MAJOR && minor >= MIN_CRIU_MINOR);
}

/** Finds `name` on a PATH string like a shell does; a name with a slash is taken as a path. */
export async function resolveExecutable(
  name: string,
  searchPath: string | undefined,
): Promise<string | undefined> {
  const paths = name.includes('/')
    ? [resolve(name)]
    : (searchPath ?? '')
        .split(delimiter)
        .filter((dir) => dir !== '')
        .map((dir) => join(dir, name));
  for (const path of paths) {
    try {
      await access(path, constants.X_OK);
      return path;
    } catch {
      // not here
    }
  }
  return undefined;
}

interface Output {
  ok: boolean;
  text: string;
  error?: string;
}

async function runCriu(path: string, args: string[], timeoutMs: number): Promise<Output> {
  try {
    const r = await runCommand(path, args, { timeoutMs, input: '' });
    const text = `${r.stdout}\n${r.stderr}`;
    if (r.code === 0) return { ok: true, text };
    return {
      ok: false,
      text,
      error: r.timedOut ? `timed out after ${timeoutMs} ms` : commandFailure(path, r),
    };
  } catch (err) {
    return { ok: false, text: '', error: (err as Error).message.split('\n')[0] ?? 'failed' };
  }
}

/**
 * The line of CRIU's output worth showing: "Looks good..." or the first real error. CRIU logs
 * `Can't setup RLIMIT_NOFILE` as an error on every call when root lacks CAP_SYS_RESOURCE; it is
 * harmless and skipped.
 */
function criuSummary(text: string): string | undefined {
  const lines = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.includes('RLIMIT_NOFILE'));
  return (
    lines.find((line) => line.startsWith('Looks good')) ??
    lines.find((line) => /error/i.test(line)) ??
    lines.at(-1)
  );
}

/** Runs one candidate's `criu --version` and, when it is new enough, `criu check`. */
export async function probeCriu(
  candidate: string,
  options: { searchPath?: string; timeoutMs?: number } = {},
): Promise<CriuProbe> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  const path = await resolveExecutable(candidate, options.searchPath);
  if (!path) {
    return {
      candidate,
      found: false,
      works: false,
      problem: candidate.includes('/')
        ? `${candidate} does not exist or is not executable`
        : `no ${candidate} on PATH`,
    };
  }
  const versionRun = await runCriu(path, ['--version'], timeoutMs);
  const version = parseCriuVersion(versionRun.text);
  if (!version) {
    const said = criuSummary(versionRun.text) ?? versionRun.error ?? 'no output';
    return {
      candidate,
      path,
      found: true,
      works: false,
      problem: `criu --version failed: ${said}`,
    };
  }
  if (!isSupportedCriuVersion(version)) {
    return {
      candidate,
      path,
      found: true,
      version,
      works: false,
      problem: `CRIU ${version} is older than ${MIN_CRIU_MAJOR}.${MIN_CRIU_MINOR} (cannot checkpoint inet sockets on kernels >= 6.16)`,
    };
  }
  // "Looks good." or, with only warnings, "Looks good but some kernel features are missing ...".
  const checkRun = await runCriu(path, ['check'], timeoutMs);
  const check = criuSummary(checkRun.text) ?? checkRun.error;
  const works = checkRun.text.includes('Looks good');
  return {
    candidate,
    path,
    found: true,
    version,
    works,
    ...(check === undefined ? {} : { check }),
    ...(works ? {} : { problem: `criu check failed: ${check ?? 'no output'}` }),
  };
}

/**
 * Tries the candidates in order and stops at the first that works; returns every probe made, so
 * a caller can explain why none worked.
 */
export async function probeCriuCandidates(options: FindCriuOptions = {}): Promise<CriuProbe[]> {
  const searchPath = options.searchPath ?? process.env.PATH;
  const probes: CriuProbe[] = [];
  const seen = new Set<string>();
  for (const candidate of options.candidates ?? DEFAULT_CRIU_CANDIDATES) {
    const path = await resolveExecutable(candidate, searchPath);
    if (path && seen.has(path)) continue;
    if (path) seen.add(path);
    const probe = await probeCriu(candidate, {
      ...(searchPath === undefined ? {} : { searchPath }),
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    });
    probes.push(probe);
    if (probe.works) break;
  }
  return probes;
}

/**
 * A CRIU >= 4.2 that passes `criu check`: the system's `criu` when it qualifies, else the wrapper
 * of `scripts/setup.sh`'s private root. `null` when none works (`criu check` needs root).
 */
export async function findCriu(
  options: FindCriuOptions = {},
): Promise<{ path: string; version: string } | null> {
  const probes = await probeCriuCandidates(options);
  const working = probes.find((probe) => probe.works);
  return working?.path && working.version ? { path: working.path, version: working.version } : null;
}
