import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { seccompProfile } from '../drivers/oci/seccomp-profile.ts';
import { removeTree } from '../host/remove-tree.ts';
import { runCommand } from '../host/run-command.ts';
import { findRunc } from '../host/runc.ts';
import { CLEAN_ENV } from './build-chroot.ts';
import type { BuildNetwork } from './build-network.ts';

/**
 * Runs one build step of a spec template inside its root, isolated as a sandbox is: runc with a
 * user namespace (root inside is the sandbox's host uid `idBase`, so the root must already be
 * owned by that range), its own pid, mount, ipc and uts namespaces, the sandboxes' seccomp
 * profile and capabilities, no new privileges, and either the build's egress network or no
 * network at all. Nothing of the host is mounted in but a resolv.conf.
 */
export interface BuildContainerOptions {
  /** Root filesystem, owners already shifted by `idBase`. */
  root: string;
  idBase: number;
  /** Absent: a namespace of its own with only loopback (no network). */
  network?: BuildNetwork;
  onLine: (line: string) => void;
  signal?: AbortSignal;
  timeoutMs?: number;
}

/** runc's state for build containers, apart from the engine's (its `runc list` never sees them). */
const RUN_DIR = '/run/runtools-build';
const RUNC_ROOT = join(RUN_DIR, 'runc');
const ID_RANGE = 65536;
// Docker's default set without NET_RAW and MKNOD, as sandboxes have; dpkg needs SETFCAP.
const CAPABILITIES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_SETFCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_AUDIT_WRITE',
];

/**
 * Runs `command` (a /bin/sh script) as root inside `options.root`, streaming stdout and stderr
 * line by line. Returns its exit code (null when it was killed by the timeout). An abort kills
 * the whole container and rejects with the signal's reason.
 */
export async function runInBuildContainer(
  command: string,
  options: BuildContainerOptions,
): Promise<number | null> {
  options.signal?.throwIfAborted();
  await mkdir(RUNC_ROOT, { recursive: true, mode: 0o700 });
  // The way to the root must be open to the sandbox's root, which runc turns into before it
  // mounts it; the templates dir may not be (a 0700 temp dir in tests). So the root is
  // bind-mounted at `<bundle>/rootfs`, in a mount namespace of this run's own (nothing to clean
  // up on the host, whatever happens to this process).
  await chmod(RUN_DIR, 0o711);
  const bundle = await mkdtemp(join(RUN_DIR, 'bundle-'));
  await chmod(bundle, 0o711);
  await mkdir(join(bundle, 'rootfs'));
  const id = `rt-build-${randomBytes(6).toString('hex')}`;
  const runc = findRunc();
  try {
    await writeFile(join(bundle, 'config.json'), JSON.stringify(config(id, command, options)));
    return await new Promise<number | null>((resolve, reject) => {
      const mountAndRun =
        'mount --bind -- "$1" "$2/rootfs" && exec "$3" --root "$4" run --bundle "$2" "$5"';
      const child = spawn(
        'unshare',
        [
          '--mount',
          '--propagation',
          'private',
          '--',
          'sh',
          '-c',
          mountAndRun,
          'sh',
          options.root,
          bundle,
          runc,
          RUNC_ROOT,
          id,
        ],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
          cwd: bundle,
        },
      );
      let killed = false;
      const kill = () => {
        killed = true;
        // runc itself would leave the container running: delete --force kills all of it.
        void runCommand(runc, ['--root', RUNC_ROOT, 'delete', '--force', id]);
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
        if (options.signal?.aborted) reject(options.signal.reason);
        else resolve(killed ? null : code);
      });
    });
  } finally {
    await runCommand(runc, ['--root', RUNC_ROOT, 'delete', '--force', id]);
    // Unmounts first, never deletes across a mount (the bind lives only in the run's namespace).
    await removeTree(bundle);
  }
}

function config(id: string, command: string, options: BuildContainerOptions) {
  const net = options.network;
  const mounts: Array<Record<string, unknown>> = [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    {
      destination: '/dev',
      type: 'tmpfs',
      source: 'tmpfs',
      options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
    },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    {
      destination: '/dev/shm',
      type: 'tmpfs',
      source: 'shm',
      options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'],
    },
    // sysfs belongs to the network namespace's owner: in a namespace the host made, an empty
    // read-only /sys (as egress sandboxes have).
    net
      ? {
          destination: '/sys',
          type: 'tmpfs',
          source: 'tmpfs',
          options: ['ro', 'nosuid', 'noexec', 'nodev', 'size=4k'],
        }
      : {
          destination: '/sys',
          type: 'sysfs',
          source: 'sysfs',
          options: ['nosuid', 'noexec', 'nodev', 'ro'],
        },
    ...(net
      ? [
          {
            destination: '/etc/resolv.conf',
            type: 'bind',
            source: net.resolvConf,
            options: ['bind', 'ro', 'nosuid', 'nodev', 'noexec'],
          },
        ]
      : []),
  ];
  const map = [{ containerID: 0, hostID: options.idBase, size: ID_RANGE }];
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: ['/bin/sh', '-c', command],
      // The host's environment (an `npm_config_prefix` of `npm run`) would steer npm inside.
      env: CLEAN_ENV,
      cwd: '/',
      capabilities: { bounding: CAPABILITIES, effective: CAPABILITIES, permitted: CAPABILITIES },
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: false },
    hostname: 'runtools-build',
    mounts,
    linux: {
      uidMappings: map,
      gidMappings: map,
      namespaces: [
        { type: 'pid' },
        { type: 'ipc' },
        { type: 'uts' },
        { type: 'mount' },
        { type: 'user' },
        net ? { type: 'network', path: net.netnsPath } : { type: 'network' },
      ],
      cgroupsPath: `/runtools-build/${id}`,
      resources: {
        devices: [{ allow: false, access: 'rwm' }],
        pids: { limit: 32768 },
      },
      maskedPaths: [
        '/proc/acpi',
        '/proc/kcore',
        '/proc/keys',
        '/proc/latency_stats',
        '/proc/sched_debug',
        '/proc/scsi',
        '/proc/timer_list',
        '/proc/timer_stats',
      ],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
      seccomp: seccompProfile(),
    },
  };
}
