import { seccompProfile } from './seccomp-profile.ts';

/** Where the engine's pieces appear inside every sandbox. */
export const SUPERVISOR_PATH = '/.rt/init';
export const SOCKET_DIR_IN_SANDBOX = '/.rt/run';
export const SOCKET_NAME = 'sup.sock';

export interface IdMap {
  /** Host uid/gid that is root (0) inside the sandbox. */
  hostId: number;
  size: number;
}

export interface BundleSpec {
  id: string;
  rootPath: string;
  hostname: string;
  supervisorBinary: string;
  socketDir: string;
  idMap: IdMap;
  resources: { cpu: number; memoryMiB: number; pids: number };
  /** Path of a network namespace to join; when absent runc makes a new, empty one. */
  netnsPath?: string;
  resolvConf?: string;
  volumes: Array<{ source: string; destination: string; readOnly: boolean }>;
  nofileHardLimit: number;
}

// Only what a normal workload needs (Docker's default set without NET_RAW and MKNOD).
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

const MASKED_PATHS = [
  '/proc/acpi',
  '/proc/asound',
  '/proc/interrupts',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/sys/devices/virtual/powercap',
  '/sys/firmware',
];

const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/** The OCI runtime config (config.json) of one sandbox. */
export function bundleConfig(spec: BundleSpec): Record<string, unknown> {
  const ns: Array<{ type: string; path?: string }> = [
    { type: 'pid' },
    { type: 'ipc' },
    { type: 'uts' },
    { type: 'mount' },
    { type: 'user' },
    spec.netnsPath ? { type: 'network', path: spec.netnsPath } : { type: 'network' },
  ];
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
    // Read-only: CRIU cannot checkpoint a sandbox whose mqueue file system holds a queue ("mqueue
    // isn't empty"), and the seccomp profile refuses mq_open for the same reason.
    {
      destination: '/dev/mqueue',
      type: 'mqueue',
      source: 'mqueue',
      options: ['nosuid', 'noexec', 'nodev', 'ro'],
    },
    // sysfs can only be mounted by the owner of the network namespace; a sandbox that joins a
    // namespace the engine made (egress) gets an empty read-only /sys instead. (A bind of the
    // host's /sys would break CRIU restore: `open_tree /sys: Invalid argument`.)
    spec.netnsPath
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
    {
      destination: SUPERVISOR_PATH,
      type: 'bind',
      source: spec.supervisorBinary,
      options: ['bind', 'ro', 'nosuid', 'nodev'],
    },
    {
      destination: SOCKET_DIR_IN_SANDBOX,
      type: 'bind',
      source: spec.socketDir,
      options: ['rbind', 'rw', 'nosuid', 'nodev', 'noexec'],
    },
  ];
  if (spec.resolvConf) {
    mounts.push({
      destination: '/etc/resolv.conf',
      type: 'bind',
      source: spec.resolvConf,
      options: ['bind', 'ro'],
    });
  }
  for (const v of spec.volumes) {
    mounts.push({
      destination: v.destination,
      type: 'bind',
      source: v.source,
      options: ['rbind', v.readOnly ? 'ro' : 'rw', 'nosuid', 'nodev'],
    });
  }
  const memory = spec.resources.memoryMiB * 1024 * 1024;
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: [SUPERVISOR_PATH, '--socket', `${SOCKET_DIR_IN_SANDBOX}/${SOCKET_NAME}`],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      cwd: '/',
      capabilities: {
        bounding: CAPABILITIES,
        effective: CAPABILITIES,
        permitted: CAPABILITIES,
      },
      rlimits: [
        // Must stay within the host's hard limit: root here lacks CAP_SYS_RESOURCE.
        {
          type: 'RLIMIT_NOFILE',
          hard: spec.nofileHardLimit,
          soft: Math.min(1024, spec.nofileHardLimit),
        },
      ],
      noNewPrivileges: true,
      oomScoreAdj: 500,
    },
    root: { path: spec.rootPath, readonly: false },
    hostname: spec.hostname,
    mounts,
    linux: {
      uidMappings: [{ containerID: 0, hostID: spec.idMap.hostId, size: spec.idMap.size }],
      gidMappings: [{ containerID: 0, hostID: spec.idMap.hostId, size: spec.idMap.size }],
      namespaces: ns,
      cgroupsPath: `/runtools/${spec.id}`,
      resources: {
        devices: [{ allow: false, access: 'rwm' }],
        memory: { limit: memory, swap: memory },
        pids: { limit: spec.resources.pids },
        cpu: { quota: Math.round(spec.resources.cpu * 100_000), period: 100_000 },
      },
      maskedPaths: MASKED_PATHS,
      readonlyPaths: READONLY_PATHS,
      seccomp: seccompProfile(),
    },
  };
}
