/**
 * `doctor`: checks the host prerequisites of the sandbox engine (what `scripts/setup.sh`
 * installs, and the kernel features it cannot install). Each check runs the tool's real version
 * command where the tool has one, and a cheap real probe that it works where there is one.
 */

import { spawn } from 'node:child_process';
import {
  access,
  constants,
  mkdir,
  mkdtemp,
  open,
  readFile,
  rm,
  rmdir,
  writeFile,
} from 'node:fs/promises';
import { connect } from 'node:net';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { encodeFrame, FrameDecoder, FrameReader, Rep, Req } from '../supervisor/protocol.ts';
import { majorVersion, probeCriuCandidates, resolveExecutable } from './criu.ts';
import { NATIVE_BUILD_FIX, SUPERVISOR_BINARY } from './native-build.ts';
import { commandFailure, firstLine, runCommand } from './run-command.ts';
import {
  changelogFor,
  findRunc,
  inspectRunc,
  parseRuncVersion,
  RUNC_ESCAPE_FIXES,
  type RuncInfo,
} from './runc.ts';

export type PrerequisiteCheck = {
  name: string;
  /** The tool or feature is there. */
  found: boolean;
  version?: string;
  /** Its version is good enough and its probe passed. */
  works: boolean;
  /** What was found and what the probe said, for people. */
  detail: string;
  /** The exact command that fixes a missing or failing prerequisite. */
  fix?: string;
  /** Sandboxes work without it (e.g. buildah, only for Dockerfile templates). */
  optional?: boolean;
};

/** Installs every prerequisite that can be installed; run from the repository root as root. */
export const SETUP_FIX = 'bash scripts/setup.sh';
export const MIN_NODE_MAJOR = 24;
/** The supervisor built by `native/build.sh` (same place from src/ and dist/). */
export const DEFAULT_SUPERVISOR_BINARY = SUPERVISOR_BINARY;

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

// ---------------------------------------------------------------------------------------------
// Running things

interface RunResult {
  ok: boolean;
  stdout: string;
  stderr: string;
  /** The first line of the failure, with the command's own error output when it has some. */
  error: string;
}

async function run(file: string, args: readonly string[], timeoutMs = 10_000): Promise<RunResult> {
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

function isRoot(): boolean {
  return process.getuid?.() === 0;
}

const NEEDS_ROOT = 'probe skipped: needs root';
const ROOT_FIX = 'run as root (sudo), with CAP_SYS_ADMIN';

interface ToolSpec {
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
async function checkTool(spec: ToolSpec, searchPath: string): Promise<PrerequisiteCheck> {
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

async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'rt-doctor-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function uniqueName(): string {
  return `rt-doctor-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

// ---------------------------------------------------------------------------------------------
// The checks

async function checkNode(): Promise<PrerequisiteCheck> {
  const result = await run(process.execPath, ['--version']);
  const version = result.stdout.trim().replace(/^v/, '') || process.versions.node;
  const works = majorVersion(version) >= MIN_NODE_MAJOR;
  return {
    name: 'node',
    found: true,
    version,
    works,
    detail: works
      ? process.execPath
      : `${process.execPath} is Node ${version}; RunTools needs >= ${MIN_NODE_MAJOR}`,
    ...(works
      ? {}
      : {
          fix: 'npm ci (installs node@24 into node_modules), then run it through npm: npm run doctor',
        }),
  };
}

function checkRunc(searchPath: string, binary: string): Promise<PrerequisiteCheck> {
  return checkTool(
    {
      name: 'runc',
      binary,
      versionArgs: ['--version'],
      parseVersion: parseRuncVersion,
      probe: async (path) => {
        const result = await run(path, ['features']);
        if (!result.ok) return { works: false, detail: `runc features failed: ${result.error}` };
        let oci: string;
        try {
          oci = (JSON.parse(result.stdout) as { ociVersionMax?: string }).ociVersionMax ?? '?';
        } catch {
          return { works: false, detail: 'runc features printed no JSON' };
        }
        // A runc that lacks an escape fix runs sandboxes, but a hostile image or process could
        // reach the host through it: that is a failed check, with setup's private runc as the fix.
        let info: RuncInfo;
        try {
          info = await inspectRunc(path, changelogFor(path));
        } catch (err) {
          return { works: false, detail: `cannot tell its version: ${(err as Error).message}` };
        }
        const all = RUNC_ESCAPE_FIXES.length;
        if (info.missing.length === 0) {
          return {
            works: true,
            detail: `runc features: OCI ${oci}; has all ${all} known escape fixes (${RUNC_ESCAPE_FIXES.map((f) => f.cve).join(', ')})`,
          };
        }
        return {
          works: false,
          detail: `lacks container-escape fixes: ${info.missing.map((f) => `${f.cve} (${f.summary})`).join('; ')}`,
        };
      },
    },
    searchPath,
  );
}

async function checkCriu(
  searchPath: string,
  candidates: readonly string[] | undefined,
): Promise<PrerequisiteCheck> {
  const probes = await probeCriuCandidates({
    searchPath,
    ...(candidates === undefined ? {} : { candidates }),
  });
  const working = probes.find((probe) => probe.works);
  if (working?.path) {
    const skipped = probes
      .filter((probe) => probe !== working && probe.found)
      .map((probe) => `${probe.path}: ${probe.problem}`);
    return {
      name: 'criu',
      found: true,
      ...(working.version === undefined ? {} : { version: working.version }),
      works: true,
      detail: [
        `${working.path}; criu check: "${working.check}"`,
        ...skipped.map((s) => `skipped ${s}`),
      ].join('; '),
    };
  }
  const found = probes.filter((probe) => probe.found);
  const shown = found.at(-1) ?? probes.at(-1);
  const tried = probes.map((probe) => probe.path ?? probe.candidate).join(', ');
  return {
    name: 'criu',
    found: found.length > 0,
    ...(shown?.version === undefined ? {} : { version: shown.version }),
    works: false,
    detail:
      found.length > 0
        ? `no working CRIU >= 4.2 (tried ${tried}): ${found.map((p) => `${p.path}: ${p.problem}`).join('; ')}${isRoot() ? '' : ' (criu check needs root)'}`
        : `no CRIU found (tried ${tried || 'nothing'})`,
    fix: SETUP_FIX,
  };
}

function checkMmdebstrap(searchPath: string): Promise<PrerequisiteCheck> {
  // No cheap probe: building even a minimal root takes ~10 s and network.
  return checkTool(
    {
      name: 'mmdebstrap',
      binary: 'mmdebstrap',
      versionArgs: ['--version'],
      parseVersion: (out) => /^mmdebstrap (\S+)/m.exec(out)?.[1],
    },
    searchPath,
  );
}

function checkBuildah(searchPath: string): Promise<PrerequisiteCheck> {
  return checkTool(
    {
      name: 'buildah',
      binary: 'buildah',
      optional: true,
      versionArgs: ['--version'],
      parseVersion: (out) => /^buildah version (\S+)/m.exec(out)?.[1],
      probe: (path) =>
        withTempDir(async (dir) => {
          // Daemonless image storage in a throwaway directory, as template builds use it.
          const args = ['--root', join(dir, 'root'), '--runroot', join(dir, 'run')];
          const result = await run(path, [...args, '--storage-driver', 'vfs', 'images', '--quiet']);
          return result.ok
            ? { works: true, detail: 'buildah images (vfs storage) works' }
            : { works: false, detail: `buildah images failed: ${result.error}` };
        }),
    },
    searchPath,
  );
}

async function checkUidmap(searchPath: string): Promise<PrerequisiteCheck> {
  const base = { name: 'uidmap', optional: true };
  const [uid, gid] = await Promise.all([
    resolveExecutable('newuidmap', searchPath),
    resolveExecutable('newgidmap', searchPath),
  ]);
  if (!uid || !gid) {
    const missing = [uid ? '' : 'newuidmap', gid ? '' : 'newgidmap'].filter((s) => s).join(' and ');
    return {
      ...base,
      found: false,
      works: false,
      detail: `${missing} not on PATH`,
      fix: SETUP_FIX,
    };
  }
  // newuidmap has no version option; the Debian package has the version.
  // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's format syntax, not JS
  const dpkg = await run('dpkg-query', ['-W', '-f=${Version}', 'uidmap']);
  const version = dpkg.ok ? dpkg.stdout.trim() : undefined;
  // They only work as setuid root (for rootless user namespaces, e.g. rootless buildah).
  const notSetuid: string[] = [];
  for (const path of [uid, gid]) {
    const handle = await open(path, 'r');
    try {
      const st = await handle.stat();
      if (st.uid !== 0 || (st.mode & 0o4000) === 0) notSetuid.push(path);
    } finally {
      await handle.close();
    }
  }
  const works = notSetuid.length === 0;
  return {
    ...base,
    found: true,
    ...(version ? { version } : {}),
    works,
    detail: works ? `${uid}, ${gid} (setuid root)` : `not setuid root: ${notSetuid.join(', ')}`,
    ...(works ? {} : { fix: 'apt-get install --reinstall uidmap' }),
  };
}

function checkIptables(searchPath: string): Promise<PrerequisiteCheck> {
  return checkTool(
    {
      name: 'iptables',
      binary: 'iptables',
      versionArgs: ['--version'],
      parseVersion: (out) => /^iptables v(\S+)/m.exec(out)?.[1],
      // CRIU's network lock for a container with its own network namespace runs
      // iptables-restore and ip6tables-restore from PATH inside it: do the same in a throwaway
      // namespace.
      probe: async () => {
        if (!isRoot()) return { works: false, detail: NEEDS_ROOT, fix: ROOT_FIX };
        const unshare = await resolveExecutable('unshare', searchPath);
        if (!unshare) return { works: false, detail: 'unshare (util-linux) is not on PATH' };
        return withTempDir(async (dir) => {
          const rules = join(dir, 'rules');
          await writeFile(rules, '*filter\n:RTDOCTOR - [0:0]\n-A RTDOCTOR -j DROP\nCOMMIT\n');
          const done: string[] = [];
          for (const [restore, list] of [
            ['iptables-restore', 'iptables'],
            ['ip6tables-restore', 'ip6tables'],
          ] as const) {
            const restorePath = await resolveExecutable(restore, searchPath);
            const listPath = await resolveExecutable(list, searchPath);
            if (!restorePath || !listPath)
              return { works: false, detail: `${restore} or ${list} is not on PATH` };
            // (No -w: `-w FILE` would take FILE as the wait time and read the rules from stdin.)
            const script = '"$1" "$2" && "$3" -S RTDOCTOR';
            const result = await run(unshare, [
              '--net',
              'sh',
              '-c',
              script,
              'sh',
              restorePath,
              rules,
              listPath,
            ]);
            if (!result.stdout.includes('-A RTDOCTOR -j DROP')) {
              return {
                works: false,
                detail: `${restore} in a new netns failed: ${result.error || 'rules not loaded'}`,
              };
            }
            done.push(restore);
          }
          return { works: true, detail: `${done.join(' and ')} work in a new network namespace` };
        });
      },
    },
    searchPath,
  );
}

function checkIproute2(searchPath: string): Promise<PrerequisiteCheck> {
  return checkTool(
    {
      name: 'iproute2',
      binary: 'ip',
      versionArgs: ['-V'],
      parseVersion: (out) => /iproute2-([\w.]+)/.exec(out)?.[1],
      probe: async (path) => {
        if (!isRoot()) return { works: false, detail: NEEDS_ROOT, fix: ROOT_FIX };
        const ns = uniqueName();
        const added = await run(path, ['netns', 'add', ns]);
        if (!added.ok) return { works: false, detail: `ip netns add failed: ${added.error}` };
        try {
          const exec = await run(path, ['netns', 'exec', ns, path, 'link', 'show', 'lo']);
          return exec.ok
            ? { works: true, detail: 'ip netns add/exec/del works' }
            : { works: false, detail: `ip netns exec failed: ${exec.error}` };
        } finally {
          await run(path, ['netns', 'del', ns]);
        }
      },
    },
    searchPath,
  );
}

function checkRipgrep(searchPath: string): Promise<PrerequisiteCheck> {
  return checkTool(
    {
      name: 'ripgrep',
      binary: 'rg',
      optional: true,
      versionArgs: ['--version'],
      parseVersion: (out) => /^ripgrep (\S+)/m.exec(out)?.[1],
      probe: async (path) => {
        // Searches this very file for a string it contains: ripgrep probe.
        const result = await run(path, [
          '--quiet',
          '--fixed-strings',
          'ripgrep probe',
          import.meta.filename,
        ]);
        return result.ok
          ? { works: true, detail: 'rg finds a string in a file' }
          : { works: false, detail: `rg search failed: ${result.error || 'no match'}` };
      },
    },
    searchPath,
  );
}

async function checkOverlayfs(searchPath: string): Promise<PrerequisiteCheck> {
  const base = { name: 'overlayfs', version: release() };
  const filesystems = await readFile('/proc/filesystems', 'utf8').catch(() => '');
  if (!/\boverlay$/m.test(filesystems)) {
    return {
      ...base,
      found: false,
      works: false,
      detail: 'overlay is not in /proc/filesystems',
      fix: 'modprobe overlay (or use a kernel with CONFIG_OVERLAY_FS)',
    };
  }
  if (!isRoot()) return { ...base, found: true, works: false, detail: NEEDS_ROOT, fix: ROOT_FIX };
  const unshare = await resolveExecutable('unshare', searchPath);
  if (!unshare) {
    return { ...base, found: true, works: false, detail: 'unshare is not on PATH', fix: SETUP_FIX };
  }
  // Mount an overlay in a private mount namespace (gone when the command exits) and read a
  // lower-layer file through it.
  return withTempDir(async (dir) => {
    for (const sub of ['lower', 'upper', 'work', 'merged']) await mkdir(join(dir, sub));
    await writeFile(join(dir, 'lower', 'probe'), 'overlay-ok\n');
    const options = `lowerdir=${dir}/lower,upperdir=${dir}/upper,workdir=${dir}/work`;
    const script = 'mount -t overlay overlay -o "$1" "$2" && cat "$2/probe"';
    const result = await run(unshare, [
      '--mount',
      'sh',
      '-c',
      script,
      'sh',
      options,
      `${dir}/merged`,
    ]);
    const works = result.ok && result.stdout.includes('overlay-ok');
    return {
      ...base,
      found: true,
      works,
      detail: works
        ? `an overlay mount in ${tmpdir()} works`
        : `mounting an overlay in ${tmpdir()} failed: ${result.error}`,
      ...(works
        ? {}
        : { fix: 'modprobe overlay; sandboxes need overlayfs on their data directory' }),
    };
  });
}

async function checkUserNamespaces(searchPath: string): Promise<PrerequisiteCheck> {
  const fix = 'sysctl -w user.max_user_namespaces=65536 (and persist it in /etc/sysctl.d/)';
  const raw = await readFile('/proc/sys/user/max_user_namespaces', 'utf8').catch(() => '');
  const max = Number.parseInt(raw, 10);
  if (!(max > 0)) {
    return {
      name: 'user namespaces',
      found: false,
      works: false,
      detail: raw
        ? `/proc/sys/user/max_user_namespaces is ${raw.trim()}`
        : 'the kernel has no user namespaces',
      fix,
    };
  }
  const unshare = await resolveExecutable('unshare', searchPath);
  const result = unshare
    ? await run(unshare, ['--user', '--map-root-user', 'id', '-u'])
    : { ok: false, stdout: '', stderr: '', error: 'unshare is not on PATH' };
  const works = result.ok && result.stdout.trim() === '0';
  return {
    name: 'user namespaces',
    found: true,
    works,
    detail: `max_user_namespaces ${max}; ${works ? 'unshare --user --map-root-user works' : `unshare --user failed: ${result.error}`}`,
    ...(works ? {} : { fix }),
  };
}

/** `fstype superoptions mountpoint` of every cgroup mount in /proc/self/mountinfo. */
function cgroupMounts(
  mountinfo: string,
): { type: string; options: string[]; mountPoint: string }[] {
  const mounts = [];
  for (const line of mountinfo.split('\n')) {
    const fields = line.split(' ');
    const dash = fields.indexOf('-', 6);
    const type = fields[dash + 1];
    if (dash < 0 || (type !== 'cgroup' && type !== 'cgroup2')) continue;
    mounts.push({
      type,
      options: (fields[dash + 3] ?? '').split(','),
      mountPoint: (fields[4] ?? '').replace(/\\040/g, ' '),
    });
  }
  return mounts;
}

async function checkCgroups(): Promise<PrerequisiteCheck> {
  const fix =
    'mount the cgroup v1 controllers memory, pids, cpu, freezer (or boot with systemd.unified_cgroup_hierarchy=1 for v2)';
  const mounts = cgroupMounts(await readFile('/proc/self/mountinfo', 'utf8').catch(() => ''));
  const v2Root = mounts.find((m) => m.type === 'cgroup2' && m.mountPoint === '/sys/fs/cgroup');
  let version: string;
  let probeDirs: string[];
  let found: string;
  if (v2Root) {
    const controllers = (
      await readFile('/sys/fs/cgroup/cgroup.controllers', 'utf8').catch(() => '')
    ).split(/\s+/);
    const missing = ['memory', 'pids', 'cpu'].filter((c) => !controllers.includes(c));
    if (missing.length > 0) {
      return {
        name: 'cgroups',
        found: false,
        version: 'v2',
        works: false,
        detail: `cgroup v2 without the ${missing.join(', ')} controller(s)`,
        fix: 'enable the memory, pids and cpu controllers (kernel config / boot parameters)',
      };
    }
    version = 'v2';
    probeDirs = ['/sys/fs/cgroup'];
    found = `cgroup v2 at /sys/fs/cgroup (${controllers.filter((c) => c).join(' ')})`;
  } else {
    const wanted = ['memory', 'pids', 'cpu', 'freezer'];
    const at = new Map<string, string>();
    // The system's hierarchy, not another mount of it: a CRIU restore in progress mounts every
    // controller again in a temporary "cgroup yard", gone a moment later.
    const system = (path: string) => path.startsWith('/sys/fs/cgroup/');
    for (const m of mounts) {
      for (const c of wanted) {
        if (m.type !== 'cgroup' || !m.options.includes(c)) continue;
        const seen = at.get(c);
        if (seen === undefined || (!system(seen) && system(m.mountPoint))) at.set(c, m.mountPoint);
      }
    }
    const missing = wanted.filter((c) => !at.has(c));
    if (missing.length > 0) {
      return {
        name: 'cgroups',
        found: false,
        works: false,
        detail:
          mounts.length === 0
            ? 'no cgroup file system is mounted'
            : `cgroup v1 controllers not mounted: ${missing.join(', ')}`,
        fix,
      };
    }
    version = mounts.some((m) => m.type === 'cgroup2') ? 'v1 (hybrid)' : 'v1';
    probeDirs = [...new Set(at.values())];
    found = `cgroup v1: ${wanted.map((c) => `${c} at ${at.get(c)}`).join(', ')}`;
  }
  if (!isRoot()) {
    return {
      name: 'cgroups',
      found: true,
      version,
      works: false,
      detail: `${found}; ${NEEDS_ROOT}`,
      fix: ROOT_FIX,
    };
  }
  // Create and remove a child group in each hierarchy, as runc does for every container.
  const name = uniqueName();
  for (const dir of probeDirs) {
    try {
      await mkdir(join(dir, name));
      await rmdir(join(dir, name));
    } catch (err) {
      return {
        name: 'cgroups',
        found: true,
        version,
        works: false,
        detail: `${found}; cannot create a cgroup in ${dir}: ${(err as Error).message}`,
        fix,
      };
    }
  }
  return {
    name: 'cgroups',
    found: true,
    version,
    works: true,
    detail: `${found}; creating a cgroup works`,
  };
}

async function checkRoot(): Promise<PrerequisiteCheck> {
  const status = await readFile('/proc/self/status', 'utf8').catch(() => '');
  const capEff = /^CapEff:\s*([0-9a-f]+)/m.exec(status)?.[1];
  const caps = capEff ? BigInt(`0x${capEff}`) : 0n;
  const has = (bit: bigint) => (caps & (1n << bit)) !== 0n;
  const uid = process.getuid?.();
  const root = uid === 0;
  const sysAdmin = has(21n);
  const works = root && sysAdmin;
  return {
    name: 'root',
    found: root,
    works,
    detail: `uid ${uid ?? '?'}, CapEff ${capEff ?? '?'}: CAP_SYS_ADMIN ${sysAdmin ? 'yes' : 'no'}, CAP_SYS_RESOURCE ${has(24n) ? 'yes' : 'no (CRIU logs a harmless RLIMIT_NOFILE error)'}`,
    ...(works ? {} : { fix: ROOT_FIX }),
  };
}

// ---------------------------------------------------------------------------------------------
// The supervisor (rt-init, see packages/sandbox/native/PROTOCOL.md)

/** True when an ELF file has no PT_INTERP program header (static, or static-pie). */
async function isStaticElf(path: string): Promise<boolean | undefined> {
  const handle = await open(path, 'r');
  try {
    const header = Buffer.alloc(64);
    await handle.read(header, 0, 64, 0);
    if (header.readUInt32BE(0) !== 0x7f454c46) return undefined; // "\x7fELF"
    const is64 = header[4] === 2;
    const le = header[5] === 1;
    const u16 = (b: Buffer, o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
    const u32 = (b: Buffer, o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
    const phoff = is64
      ? Number(le ? header.readBigUInt64LE(0x20) : header.readBigUInt64BE(0x20))
      : u32(header, 0x1c);
    const phentsize = u16(header, is64 ? 0x36 : 0x2a);
    const phnum = u16(header, is64 ? 0x38 : 0x2c);
    const table = Buffer.alloc(phentsize * phnum);
    await handle.read(table, 0, table.length, phoff);
    for (let i = 0; i < phnum; i++) {
      if (u32(table, i * phentsize) === 3) return false; // PT_INTERP
    }
    return true;
  } finally {
    await handle.close();
  }
}

/** Sends PING and waits for OK with the same req id (see native/PROTOCOL.md). */
function pingOnce(socketPath: string, timeoutMs: number): Promise<void> {
  return new Promise((resolvePing, reject) => {
    const req = 0x7264_6f63; // "rdoc"
    const socket = connect(socketPath);
    const decoder = new FrameDecoder();
    let answered = false;
    const timer = setTimeout(() => socket.destroy(new Error('no reply to PING')), timeoutMs);
    socket.once('connect', () => socket.write(encodeFrame(Req.PING, [{ u32: req }])));
    socket.on('data', (chunk: Buffer) => {
      let frames: ReturnType<FrameDecoder['push']>;
      try {
        frames = decoder.push(chunk, 1);
      } catch (err) {
        socket.destroy(err as Error);
        return;
      }
      const [frame] = frames;
      if (frame === undefined) return;
      answered = frame.type === Rep.OK && new FrameReader(frame.payload).u32() === req;
      socket.destroy(
        answered ? undefined : new Error(`unexpected reply type 0x${frame.type.toString(16)}`),
      );
    });
    socket.once('error', reject);
    socket.once('close', () => {
      clearTimeout(timer);
      if (answered) resolvePing();
      else reject(new Error('rt-init closed the connection without answering PING'));
    });
  });
}

/** Starts rt-init on a socket in a temporary directory and checks that it answers PING. */
async function pingSupervisor(
  binary: string,
  timeoutMs = 3000,
): Promise<{ ok: boolean; detail: string }> {
  return withTempDir(async (dir) => {
    const socketPath = join(dir, 'sup.sock');
    const child = spawn(binary, ['--socket', socketPath], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (data: string) => {
      stderr += data;
    });
    let exited: string | undefined;
    const exit = new Promise<void>((resolveExit) => {
      child.once('error', (err) => {
        exited = err.message;
        resolveExit();
      });
      child.once('exit', (code, signal) => {
        exited = `exited (${signal ?? code})`;
        resolveExit();
      });
    });
    const started = performance.now();
    try {
      let lastError = '';
      while (performance.now() - started < timeoutMs) {
        if (exited) return { ok: false, detail: `rt-init ${exited}: ${firstLine(stderr)}` };
        try {
          await pingOnce(socketPath, timeoutMs);
          return {
            ok: true,
            detail: `answers PING in ${Math.round(performance.now() - started)} ms`,
          };
        } catch (err) {
          lastError = (err as Error).message;
          if (!/ENOENT|ECONNREFUSED/.test(lastError)) break;
          await sleep(20);
        }
      }
      return { ok: false, detail: `no answer to PING on ${socketPath}: ${lastError || 'timeout'}` };
    } finally {
      if (!exited) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exit;
        clearTimeout(killer);
      }
    }
  });
}

async function checkSupervisor(binary: string): Promise<PrerequisiteCheck> {
  const fix = NATIVE_BUILD_FIX;
  try {
    await access(binary, constants.X_OK);
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    const detail = `${binary} ${missing ? 'is not built' : 'is not executable'}`;
    return { name: 'supervisor', found: false, works: false, detail, fix };
  }
  // rt-init has no version option (see PROTOCOL.md); it must be static: it is bind-mounted into
  // every template, whatever libc (if any) the template has.
  const isStatic = await isStaticElf(binary).catch(() => undefined);
  if (isStatic !== true) {
    return {
      name: 'supervisor',
      found: true,
      works: false,
      detail: `${binary} is ${isStatic === false ? 'dynamically linked; it must be static' : 'not an ELF executable'}`,
      fix,
    };
  }
  const ping = await pingSupervisor(binary);
  return {
    name: 'supervisor',
    found: true,
    works: ping.ok,
    detail: `${binary} (static); ${ping.detail}`,
    ...(ping.ok ? {} : { fix }),
  };
}
