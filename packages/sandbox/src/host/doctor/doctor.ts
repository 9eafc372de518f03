import { findRunc } from '../runc.ts';
import {
  DEFAULT_SUPERVISOR_BINARY,
  MIN_NODE_MAJOR,
  type PrerequisiteCheck,
  SETUP_FIX,
} from './prerequisite-check.ts';

export { DEFAULT_SUPERVISOR_BINARY, MIN_NODE_MAJOR, type PrerequisiteCheck, SETUP_FIX };

import { checkBuildah, checkMmdebstrap } from './checks/build-tools.ts';
import { checkCgroups } from './checks/cgroups.ts';
import { checkCriu } from './checks/criu.ts';
import { checkIproute2 } from './checks/iproute2.ts';
import { checkIptables } from './checks/iptables.ts';
import { checkNode } from './checks/node.ts';
import { checkOverlayfs } from './checks/overlayfs.ts';
import { checkRipgrep } from './checks/ripgrep.ts';
import { checkRoot } from './checks/root.ts';
import { checkRunc } from './checks/runc.ts';
import { checkSupervisor } from './checks/supervisor.ts';
import { checkUidmap } from './checks/uidmap.ts';
import { checkUserNamespaces } from './checks/user-namespaces.ts';

export interface DoctorOptions {
  /** CRIU executables to try (default: the system `criu`, then `/opt/runtools/bin/criu`). */
  criuCandidates?: readonly string[];
  /**
   * The runc to check (default: the one the engine runs, {@link findRunc}; with `searchPath`,
   * `runc` on that path).
   */
  runc?: string;
  /** PATH used to find the tools (default: this process's PATH). */
  searchPath?: string;
  /** The supervisor binary (default: {@link DEFAULT_SUPERVISOR_BINARY}). */
  supervisorBinary?: string;
}

/** The checks that failed and are not optional: sandboxes cannot work until they are fixed. */
export function failedRequired(checks: readonly PrerequisiteCheck[]): PrerequisiteCheck[] {
  return checks.filter((check) => !check.optional && !(check.found && check.works));
}

/** Checks every prerequisite, concurrently; the result is in a fixed order. */
export async function doctor(options: DoctorOptions = {}): Promise<PrerequisiteCheck[]> {
  const searchPath = options.searchPath ?? process.env.PATH ?? '';
  return Promise.all([
    checkNode(),
    checkRunc(searchPath, options.runc ?? (options.searchPath === undefined ? findRunc() : 'runc')),
    checkCriu(searchPath, options.criuCandidates),
    checkMmdebstrap(searchPath),
    checkBuildah(searchPath),
    checkUidmap(searchPath),
    checkIptables(searchPath),
    checkIproute2(searchPath),
    checkRipgrep(searchPath),
    checkOverlayfs(searchPath),
    checkUserNamespaces(searchPath),
    checkCgroups(),
    checkRoot(),
    checkSupervisor(options.supervisorBinary ?? DEFAULT_SUPERVISOR_BINARY),
  ]);
}

/** A plain aligned table (no colours), with a fix line under each failing check and a summary. */
export function formatDoctorReport(checks: readonly PrerequisiteCheck[]): string {
  const rows: string[][] = [['CHECK', 'STATUS', 'VERSION', 'DETAIL']];
  for (const check of checks) {
    const good = check.found && check.works;
    const status = good ? 'ok' : check.found ? 'FAILED' : 'MISSING';
    rows.push([
      check.name,
      check.optional && !good ? `${status.toLowerCase()} (optional)` : status,
      check.version ?? '-',
      check.detail,
    ]);
    if (!good && check.fix) rows.push(['', '', '', `fix: ${check.fix}`]);
  }
  const widths = [0, 1, 2].map((col) => Math.max(...rows.map((row) => (row[col] ?? '').length)));
  const lines = rows.map((row) =>
    row
      .map((cell, col) => (col < 3 ? cell.padEnd(widths[col] ?? 0) : cell))
      .join('  ')
      .trimEnd(),
  );
  const failed = failedRequired(checks);
  const optionalFailed = checks.filter((c) => c.optional && !(c.found && c.works));
  const fixes = [...new Set(failed.map((c) => c.fix).filter((fix) => fix !== undefined))];
  const required = checks.filter((c) => !c.optional).length;
  let summary =
    failed.length === 0
      ? `doctor: all ${required} required checks passed`
      : `doctor: ${failed.length} required check(s) failed: ${failed.map((c) => c.name).join(', ')}`;
  if (optionalFailed.length > 0) {
    summary += `; optional not working: ${optionalFailed.map((c) => c.name).join(', ')}`;
  }
  if (fixes.length > 0) summary += `\nto fix: ${fixes.join('; ')}`;
  return `${lines.join('\n')}\n\n${summary}`;
}
