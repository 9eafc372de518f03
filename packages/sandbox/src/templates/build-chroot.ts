import { spawn } from 'node:child_process';
import { copyFile, lchown, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from '../host/run-command.ts';

/**
 * Steps inside a build root get a clean environment: the caller's variables (an
 * `npm_config_prefix` set by `npm run`, `PIP_*` settings of the host) would otherwise steer npm
 * and pip inside the root (npm then installs into /usr and collides with Debian's node).
 */
export const CLEAN_ENV = [
  'HOME=/root',
  'LANG=C.UTF-8',
  'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  'DEBIAN_FRONTEND=noninteractive',
  'DEBCONF_NONINTERACTIVE_SEEN=true',
];

/** What apt and dpkg do in every build root: as mmdebstrap's minbase, without docs or recommends. */
export const APT_OPTIONS = [
  '-o',
  'Acquire::Retries=3',
  '-o',
  'Acquire::Check-Valid-Until=false',
  '-o',
  'APT::Install-Recommends=false',
  '-o',
  'Dpkg::Use-Pty=false',
];
export const DPKG_EXCLUDES = ['/usr/share/man/*', '/usr/share/doc/*', '/usr/share/locale/*'].map(
  (p) => `path-exclude=${p}`,
);

const MOUNTS = ['proc', 'sys', 'dev'] as const;
const POLICY_RC_D = 'usr/sbin/policy-rc.d';
/** Where dpkg puts it: /usr/sbin since trixie, /sbin before (one file with merged /usr). */
const START_STOP_DAEMON = ['usr/sbin/start-stop-daemon', 'sbin/start-stop-daemon'];

/**
 * Runs `fn` with `root` prepared the way mmdebstrap prepares a chroot in root mode: /proc, /sys
 * and /dev mounted, and what `prepareBuildRoot` adds. For the OS base only (Debian's own
 * packages, run as host root); a template's own steps run in a build container instead.
 * Everything is undone afterwards, also when `fn` throws or the build is aborted; a mount that
 * cannot be removed is an error, since the tree is chowned and deleted next.
 */
export async function withBuildChroot<T>(root: string, fn: () => Promise<T>): Promise<T> {
  const moved: string[] = [];
  try {
    for (const m of MOUNTS) {
      const target = join(root, m);
      const r =
        m === 'proc'
          ? await runCommand('mount', ['-t', 'proc', 'proc', target])
          : await runCommand('mount', ['--bind', `/${m}`, target]);
      // Not --rbind: a plain bind has nothing below it whose unmount could reach the host's.
      if (r.code !== 0) throw new Error(`mount ${target}: ${r.stderr.trim()}`);
    }
    moved.push(...(await prepareBuildRoot(root, 0)));
    return await fn();
  } finally {
    for (const path of moved) await rename(`${path}.REAL`, path).catch(() => {});
    await rm(join(root, POLICY_RC_D), { force: true });
    await unmountBelow(root);
  }
}

/**
 * Prepares a root nothing has run in yet for package installs: the host's resolv.conf, and
 * services kept from starting (`policy-rc.d` exiting 101, a no-op `start-stop-daemon`): a
 * postinst that starts PostgreSQL or Redis would otherwise start it during the build. `owner`
 * is the host uid of the root's root (0, or `idBase` for a root shifted to the sandbox range).
 * Returns the start-stop-daemon paths moved aside. Undo it with `UNDO_BUILD_ROOT` inside the
 * build container: once build steps have run, the host no longer writes through the root's
 * paths (a step may have made them symlinks to host directories).
 */
export async function prepareBuildRoot(root: string, owner: number): Promise<string[]> {
  const moved: string[] = [];
  // Replaced, not written through: a symlink there must not lead to a host file.
  const resolv = join(root, 'etc/resolv.conf');
  await rm(resolv, { force: true });
  const copied = await copyFile('/etc/resolv.conf', resolv).then(
    () => true,
    () => false,
  );
  if (copied && owner) await lchown(resolv, owner, owner);
  await writeFile(join(root, POLICY_RC_D), '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  for (const rel of START_STOP_DAEMON) {
    const path = join(root, rel);
    const st = await stat(path).catch(() => null);
    // With merged /usr both paths are one file: move it once, or the dummy replaces it.
    if (!st?.isFile() || moved.length) continue;
    await rename(path, `${path}.REAL`);
    moved.push(path);
    await writeFile(path, '#!/bin/sh\necho "start-stop-daemon: disabled during the build" >&2\n', {
      mode: 0o755,
    });
  }
  return moved;
}

/** Undoes `prepareBuildRoot` (run inside the root), and drops apt's lists and downloads as mmdebstrap's cleanup does. */
export const UNDO_BUILD_ROOT = [
  `rm -f /${POLICY_RC_D}`,
  ...START_STOP_DAEMON.map((rel) => `if [ -f /${rel}.REAL ]; then mv -f /${rel}.REAL /${rel}; fi`),
  'find /var/lib/apt/lists -mindepth 1 -maxdepth 1 ! -name partial ! -name lock -exec rm -rf {} +',
  'rm -f /var/cache/apt/*.bin /var/cache/apt/archives/*.deb',
].join('\n');

/** Unmounts everything at or below `root`, deepest first; throws if something stays mounted. */
export async function unmountBelow(root: string): Promise<void> {
  for (let round = 0; round < 5; round++) {
    const mounts = await mountsBelow(root);
    if (!mounts.length) return;
    for (const m of mounts) await runCommand('umount', ['--lazy', m]);
  }
  const left = await mountsBelow(root);
  if (left.length) throw new Error(`could not unmount ${left.join(', ')}`);
}

async function mountsBelow(root: string): Promise<string[]> {
  const prefix = root.endsWith('/') ? root : `${root}/`;
  return (await readFile('/proc/self/mountinfo', 'utf8'))
    .split('\n')
    .map((l) =>
      (l.split(' ')[4] ?? '').replace(/\\([0-7]{3})/g, (_, o: string) =>
        String.fromCharCode(Number.parseInt(o, 8)),
      ),
    )
    .filter((p) => p === root || p.startsWith(prefix))
    .sort((a, b) => b.length - a.length);
}

/**
 * Runs `command` (a /bin/sh script) inside `root` with the clean environment, streaming its
 * output line by line. It runs in its own process group, so an abort or a timeout kills apt,
 * dpkg and maintainer scripts too, not only the shell.
 */
export function runInChroot(
  root: string,
  command: string,
  options: { onLine: (line: string) => void; signal?: AbortSignal; timeoutMs?: number },
): Promise<number | null> {
  options.signal?.throwIfAborted();
  return new Promise((resolve, reject) => {
    const child = spawn(
      'chroot',
      [root, '/usr/bin/env', '-i', ...CLEAN_ENV, '/bin/sh', '-c', command],
      {
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const kill = () => {
      if (child.pid) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {}
      }
    };
    const timer = setTimeout(kill, options.timeoutMs ?? 30 * 60_000);
    options.signal?.addEventListener('abort', kill, { once: true });
    let partial = '';
    const push = (chunk: string) => {
      const parts = (partial + chunk).split(/\r?\n|\r/);
      partial = parts.pop() ?? '';
      for (const p of parts) if (p.trim()) options.onLine(p);
    };
    child.stdout.setEncoding('utf8').on('data', push);
    child.stderr.setEncoding('utf8').on('data', push);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', kill);
      if (partial.trim()) options.onLine(partial);
      // The group may outlive the shell (a daemon a postinst forked despite policy-rc.d).
      kill();
      if (options.signal?.aborted) reject(options.signal.reason);
      else resolve(code);
    });
  });
}
