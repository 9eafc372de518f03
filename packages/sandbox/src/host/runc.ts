/**
 * Which runc the engine runs, and which known container-escape fixes it has. A sandbox is only
 * as strong as runc's own setup code: the CVEs below let a hostile image or a process in the
 * container reach the host through runc itself. Debian 12's runc (1.1.5 with a backport of the
 * 2024 fix) lacks the 2025 and 2026 fixes; `scripts/setup.sh` installs the next Debian release's
 * runc (1.3.x) beside it at `/opt/runtools/bin/runc` when the mirror carries one that has them.
 */

import { accessSync, constants } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { commandFailure, runCommand } from './run-command.ts';

/** Where `scripts/setup.sh` puts runc from its private Debian root (preferred when present). */
export const PRIVATE_RUNC = '/opt/runtools/bin/runc';

/** One known runc escape and the upstream releases that fix it, per release line. */
export interface RuncEscapeFix {
  cve: string;
  summary: string;
  /** The first fixed release of each line (`major.minor` -> `major.minor.patch`). */
  fixedIn: Record<string, string>;
  /** Lines newer than every key of `fixedIn` have the fix from their first release. */
  fixedFromLine: string;
}

/**
 * The escapes `runtools doctor` checks for, from runc's security advisories. Lines that are out of
 * support (1.0, 1.1 for the 2025 fixes) appear with no fixed release: only a distribution
 * backport, named in its changelog, counts for them.
 */
export const RUNC_ESCAPE_FIXES: readonly RuncEscapeFix[] = [
  {
    cve: 'CVE-2024-21626',
    summary: 'a leaked host fd lets a process or image working directory reach the host filesystem',
    fixedIn: { '1.1': '1.1.12' },
    fixedFromLine: '1.2',
  },
  {
    cve: 'CVE-2025-31133',
    summary:
      'masked paths: /dev/null swapped for a symlink makes runc bind-mount host files writable',
    fixedIn: { '1.2': '1.2.8', '1.3': '1.3.3' },
    fixedFromLine: '1.4',
  },
  {
    cve: 'CVE-2025-52565',
    summary: '/dev/console bind mount raced with a symlink exposes host paths',
    fixedIn: { '1.2': '1.2.8', '1.3': '1.3.3' },
    fixedFromLine: '1.4',
  },
  {
    cve: 'CVE-2025-52881',
    summary: 'redirected /proc writes let a container write host sysctls (e.g. core_pattern)',
    fixedIn: { '1.2': '1.2.8', '1.3': '1.3.3' },
    fixedFromLine: '1.4',
  },
  {
    cve: 'CVE-2026-41579',
    summary: 'an image whose /dev is a symlink makes runc delete or create files on the host',
    fixedIn: { '1.3': '1.3.6', '1.4': '1.4.3' },
    fixedFromLine: '1.5',
  },
];

function parts(version: string): number[] | null {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : null;
}

function compare(a: number[], b: number[]): number {
  for (let i = 0; i < 3; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * True when the upstream release `version` (e.g. `1.3.6+ds1`, `1.2.8`) has `fix`. Pre-releases
 * of a fixed line's first release (`1.4.0-rc.2`) count as that release's line start, as upstream
 * shipped the 2025 fixes in release candidates too; a version that does not parse has nothing.
 */
export function upstreamHasFix(version: string, fix: RuncEscapeFix): boolean {
  const v = parts(version);
  if (!v) return false;
  const line = `${v[0]}.${v[1]}`;
  const first = fix.fixedIn[line];
  if (first) return compare(v, parts(first) ?? [0, 0, 0]) >= 0;
  const from = parts(`${fix.fixedFromLine}.0`) ?? [0, 0, 0];
  return compare([v[0] ?? 0, v[1] ?? 0, 0], from) >= 0;
}

/**
 * The fixes `version` lacks. `changelog` is the distribution's changelog of the package (Debian:
 * `/usr/share/doc/runc/changelog.Debian.gz`): a CVE named there was backported, so it counts.
 */
export function missingEscapeFixes(version: string, changelog = ''): RuncEscapeFix[] {
  return RUNC_ESCAPE_FIXES.filter(
    (fix) => !upstreamHasFix(version, fix) && !changelog.includes(fix.cve),
  );
}

/** `runc version 1.3.6+ds1` (first line of `runc --version`) -> `1.3.6+ds1`. */
export function parseRuncVersion(output: string): string | undefined {
  return /^runc version (\S+)/m.exec(output)?.[1];
}

/**
 * The runc to run: `RUNTOOLS_RUNC` when set, else the private one `scripts/setup.sh` installs
 * (it is there only because the system's lacks fixes), else `runc` from PATH.
 */
export function findRunc(env: NodeJS.ProcessEnv = process.env): string {
  if (env.RUNTOOLS_RUNC) return env.RUNTOOLS_RUNC;
  try {
    accessSync(PRIVATE_RUNC, constants.X_OK);
    return PRIVATE_RUNC;
  } catch {
    return 'runc';
  }
}

export interface RuncInfo {
  version: string;
  /** The changelog text that was read for backports ('' when there is none). */
  changelog: string;
  missing: RuncEscapeFix[];
}

/**
 * Asks `runc --version` and reads the Debian changelog next to it: for `/usr/sbin/runc` the
 * system's, for the private runc the one in its root (`changelogPath`).
 */
export async function inspectRunc(binary: string, changelogPath: string): Promise<RuncInfo> {
  const r = await runCommand(binary, ['--version'], { timeoutMs: 20_000 });
  if (r.code !== 0) throw new Error(`${binary} --version failed: ${commandFailure(binary, r)}`);
  const version = parseRuncVersion(r.stdout);
  if (!version) throw new Error(`${binary} --version printed no version`);
  let changelog = '';
  try {
    changelog = gunzipSync(await readFile(changelogPath)).toString('utf8');
  } catch {
    // no changelog (not a Debian package, or docs excluded): upstream versions only
  }
  return { version, changelog, missing: missingEscapeFixes(version, changelog) };
}

/** The changelog that belongs to a runc binary (the private root's, or the system's). */
export function changelogFor(binary: string): string {
  return binary === PRIVATE_RUNC
    ? '/opt/runtools/runc-root/usr/share/doc/runc/changelog.Debian.gz'
    : '/usr/share/doc/runc/changelog.Debian.gz';
}
