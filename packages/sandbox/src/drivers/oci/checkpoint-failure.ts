/**
 * Why a checkpoint failed, for people: which process CRIU could not dump and why, read from
 * CRIU's dump log (`checkpoint.work/dump.log`), and the causes seen before calling CRIU at all
 * (a process under a debugger, or stopped).
 */
import { readFile } from 'node:fs/promises';

/** What CRIU's dump log says about a failed dump. */
export interface DumpFailure {
  /** Host pid of the process CRIU could not dump, when the log names one. */
  hostPid?: number;
  /** Its command name, as CRIU logged it. */
  comm?: string;
  /**
   * Why, in words a user acts on: what the process does (`is being traced ...`), or a whole
   * sentence when `sandboxWide`; empty when the log holds no error at all.
   */
  reason: string;
  /** The reason is about the sandbox as a whole, not one process. */
  sandboxWide?: boolean;
  /**
   * True when no retry or setting can help: CRIU cannot checkpoint what this process holds at
   * all (io_uring, secret memory, a mount it cannot see), or not while it stays that way.
   */
  permanent: boolean;
  /** CRIU's own error lines (timestamps and source locations removed), last ones last. */
  errors: string[];
}

/** CRIU's default `--ghost-limit` is 1 MiB; RunTools raises it (see oci-driver's CRIU config). */
export const GHOST_LIMIT_BYTES = 256 * 1024 * 1024;

interface Cause {
  match: RegExp;
  /** Host pid named by the matched line (capture group), when it names one. */
  pidGroup?: number;
  /** The cause is the sandbox's, not one process's: the reason is a whole sentence. */
  sandboxWide?: boolean;
  explain: (m: RegExpExecArray) => string;
}

// Most specific first: a dump log usually holds the cause and then the generic
// "... (pid: N) failed with -1" and "Dumping FAILED." lines.
const CAUSES: Cause[] = [
  {
    match: /Unknown shit \d+ \(anon_inode:\[io_uring\]\)/,
    explain: () =>
      'holds an io_uring instance, which CRIU cannot checkpoint at all. Sandboxes made by this RunTools version refuse io_uring (programs such as Node.js fall back to epoll); recreate this sandbox, which was made before',
  },
  {
    match: /Unknown shit \d+ \(\/secretmem/,
    explain: () =>
      'holds memfd_secret memory, which CRIU cannot read, so it cannot checkpoint it at all; end that process',
  },
  {
    match: /Unable to interrupt task: (\d+) \(Operation not permitted\)/,
    pidGroup: 1,
    explain: () =>
      'is being traced (ptrace: a debugger or strace), and CRIU must trace every process itself to checkpoint it. Detach the tracer and pause again',
  },
  {
    match: /Can't dump ghost file (\S+) of (\d+) size, increase limit/,
    explain: (m) =>
      `keeps a deleted file open (${m[1]}, ${mib(Number(m[2]))}), larger than the ${mib(GHOST_LIMIT_BYTES)} CRIU copies into a checkpoint. Close it, or keep the data in a file that is not deleted, and pause again`,
  },
  {
    match: /Can't lookup mount=\d+ for fd=(\d+) path=(\S+)/,
    explain: (m) =>
      `has ${m[2]} open (fd ${m[1]}) on a file system CRIU cannot checkpoint (a POSIX message queue or a mount made outside the sandbox). Close it and pause again`,
  },
  {
    match: /mqueue isn't empty/,
    sandboxWide: true,
    explain: () =>
      'The sandbox has POSIX message queues in /dev/mqueue, which CRIU cannot checkpoint at all (sandboxes made by this RunTools version cannot create them); remove them and pause again',
  },
  {
    match:
      /Unix socket \d+ not found|External socket is used|Can't dump half of stream unix connection/,
    explain: () =>
      'has a unix socket connected to something outside the sandbox, which CRIU cannot checkpoint. Close that connection and pause again',
  },
];

/** "(pid: N)" as CRIU's generic failure lines print it, and the other ways it names a pid. */
const FAILED_PID = [
  /\(pid: (\d+)\) failed/,
  /Can't open (\d+)'s mapfile link/,
  /Unable to interrupt task: (\d+)/,
  /zombie (\d+) \(comm/,
];

function mib(bytes: number): string {
  return `${Math.round((bytes / 1024 / 1024) * 10) / 10} MiB`;
}

/** `(00.123456) Error (criu/files-reg.c:1031): Can't dump …` → `Can't dump …`. */
function errorText(line: string): string {
  return line.replace(/^\(\s*[\d.]+\)\s*/, '').replace(/^(Error|Warn)\s*\([^)]*\):\s*/, '');
}

/**
 * Reads a CRIU dump log and says which process failed and why. Lines CRIU logs on every run
 * without harm (`Can't setup RLIMIT_NOFILE`) are ignored.
 */
export function parseDumpLog(log: string): DumpFailure {
  const lines = log.split('\n');
  const problems = lines.filter(
    (l) => /\) (Error|Warn) {0,2}\(/.test(l) && !/RLIMIT_NOFILE/.test(l),
  );
  const errors = problems.filter((l) => /\) Error/.test(l)).map(errorText);
  let hostPid: number | undefined;
  let reason = '';
  let permanent = false;
  let sandboxWide = false;
  for (const cause of CAUSES) {
    const line = problems.find((l) => cause.match.test(l));
    const m = line ? cause.match.exec(line) : null;
    if (!m) continue;
    reason = cause.explain(m);
    permanent = true;
    sandboxWide = cause.sandboxWide === true;
    if (cause.pidGroup) hostPid = Number(m[cause.pidGroup]);
    break;
  }
  if (hostPid === undefined && !sandboxWide) {
    for (const re of FAILED_PID) {
      const line = problems.find((l) => re.test(l));
      const m = line ? re.exec(line) : null;
      if (m) {
        hostPid = Number(m[1]);
        break;
      }
    }
  }
  if (!reason) {
    // Not a cause we know: CRIU's first real complaint says the most.
    const first = errors.find((e) => !/failed with -1$|^Dumping FAILED/.test(e));
    reason = first ? `could not be checkpointed: ${first}` : '';
  }
  let comm: string | undefined;
  if (hostPid !== undefined) {
    const pid = hostPid;
    const named = [
      new RegExp(`SEIZE ${pid} \\(comm ([^)]*)\\)`),
      new RegExp(`\\(pid: ${pid} comm: ([^)]*)\\)`),
      new RegExp(`zombie ${pid} \\(comm ([^)]*)\\)`),
    ];
    for (const re of named) {
      const m = lines.map((l) => re.exec(l)).find((x) => x);
      if (m?.[1]) {
        comm = m[1];
        break;
      }
    }
  }
  return {
    ...(hostPid === undefined ? {} : { hostPid }),
    ...(comm === undefined ? {} : { comm }),
    reason,
    ...(sandboxWide ? { sandboxWide } : {}),
    permanent,
    errors: errors.slice(-8),
  };
}

/** A process of a sandbox as the sandbox sees it. */
export interface SandboxProcess {
  hostPid: number;
  /** Its pid inside the sandbox's pid namespace (what the processes API shows). */
  pid?: number;
  comm?: string;
}

/** Name and in-sandbox pid of a host pid, from /proc (the sandbox still runs after a failure). */
export async function describeProcess(hostPid: number, comm?: string): Promise<SandboxProcess> {
  const status = await readFile(`/proc/${hostPid}/status`, 'utf8').catch(() => '');
  const name = /^Name:\s*(.*)$/m.exec(status)?.[1];
  // NSpid lists the pid in each pid namespace from the host's down: one entry is a process
  // outside any sandbox (a tracer on the host, say), the last of several is the sandbox's.
  const nspids = /^NSpid:\s*(.*)$/m.exec(status)?.[1]?.trim().split(/\s+/) ?? [];
  return {
    hostPid,
    ...(nspids.length > 1 ? { pid: Number(nspids.at(-1)) } : {}),
    ...((name ?? comm) ? { comm: name ?? comm } : {}),
  };
}

/** How a message names a process: `process 7 (sleep)`. */
export function processName(p: SandboxProcess): string {
  const pid = p.pid ?? p.hostPid;
  const where = p.pid === undefined ? ' (host pid)' : '';
  return `process ${pid}${where}${p.comm ? ` (${p.comm})` : ''}`;
}

/**
 * Why CRIU could not dump a task, seen before calling it: the task is traced, or it is stopped
 * (SIGSTOP, Ctrl-Z). Either way CRIU's seize waits out its 10 s timeout, with the sandbox frozen
 * all along, and fails (measured here, CRIU 4.2.1 with the cgroup v1 freezer).
 */
export interface BlockedTask {
  task: SandboxProcess;
  /** `traced`: by `tracer`; `stopped`: by a stop signal. */
  why: 'traced' | 'stopped';
  tracer?: SandboxProcess;
}

/**
 * The first task listed in a cgroup's `tasks` file that is traced or stopped, or undefined
 * (reading /proc costs well under a millisecond for a few tasks).
 */
export async function findBlockedTask(tasksFile: string): Promise<BlockedTask | undefined> {
  const tasks = await readFile(tasksFile, 'utf8').catch(() => '');
  for (const tid of tasks.split('\n').filter(Boolean)) {
    const status = await readFile(`/proc/${tid}/status`, 'utf8').catch(() => '');
    const tgid = Number(/^Tgid:\s*(\d+)/m.exec(status)?.[1] ?? tid);
    const tracer = Number(/^TracerPid:\s*(\d+)/m.exec(status)?.[1] ?? 0);
    if (tracer > 0) {
      return {
        task: await describeProcess(tgid),
        why: 'traced',
        tracer: await describeProcess(tracer),
      };
    }
    if (/^State:\s*T/m.test(status)) return { task: await describeProcess(tgid), why: 'stopped' };
  }
  return undefined;
}

/** What to tell a user about a blocked task (see `DumpFailure.reason`). */
export function blockedReason(blocked: BlockedTask): string {
  return blocked.why === 'traced'
    ? `is being traced by ${blocked.tracer ? processName(blocked.tracer) : 'another process'} (ptrace: a debugger or strace), and CRIU must trace every process itself to checkpoint it. Detach the tracer and pause again`
    : 'is stopped (SIGSTOP or Ctrl-Z), and CRIU cannot checkpoint a stopped process (it waits for it until its timeout). Continue it (SIGCONT) and pause again';
}

/**
 * The message of a failed pause: the process, why, and that nothing was lost. For example
 * "process 7 (sleep) is being traced (ptrace: a debugger or strace), and CRIU must trace every
 * process itself to checkpoint it. Detach the tracer and pause again. The sandbox keeps running."
 */
export function failureMessage(failure: DumpFailure, process?: SandboxProcess): string {
  const last = failure.errors.at(-1);
  const what = failure.sandboxWide
    ? `${failure.reason}.`
    : failure.reason
      ? `${process ? processName(process) : 'A process'} ${failure.reason}.`
      : `CRIU could not checkpoint it${last ? `: ${last}` : ''}.`;
  return `${what} The sandbox keeps running.`;
}
