/**
 * The seccomp filter every sandbox runs under: an allowlist, modeled on the default profile of
 * Docker and containerd (moby's `profiles/seccomp/default.json`) for a container without
 * CAP_SYS_ADMIN, CAP_SYS_PTRACE and the other capabilities our sandboxes lack.
 *
 * - What a normal program needs is allowed, grouped below by what it is for.
 * - What a container must not do (mount, namespaces, kernel keyring, modules, BPF, perf, clocks,
 *   raw I/O ports, ...) answers EPERM, as it would for an unprivileged user.
 * - Everything else answers ENOSYS, as a kernel without that syscall would. A syscall newer than
 *   this list (or than runc's libseccomp) thus looks absent, and libc and runtimes fall back to
 *   the old way (glibc's `fchmodat2` → `fchmodat`, `clone3` → `clone`); EPERM would look like a
 *   refusal and break them.
 * - io_uring, `memfd_secret` and POSIX message queues answer ENOSYS too: CRIU cannot checkpoint
 *   them, and one process holding one (every Node.js >= 20 opens an io_uring, through libuv)
 *   would make the whole sandbox unpausable. Programs already fall back (libuv to epoll) on
 *   kernels without them.
 *
 * Capabilities and the user namespace already forbid most of what is refused; the filter is the
 * second lock on the same doors and shrinks the kernel surface a sandbox can reach.
 */

const EPERM = 1;
const ENOSYS = 38;

/** Processes, threads and scheduling: fork/exec/wait, signals to one's own, priorities. */
const PROCESSES = [
  'arch_prctl',
  'capget',
  'capset',
  'execve',
  'execveat',
  'exit',
  'exit_group',
  'fork',
  'get_robust_list',
  'get_thread_area',
  'getcpu',
  'getpgid',
  'getpgrp',
  'getpid',
  'getppid',
  'getpriority',
  'getrandom',
  'getrlimit',
  'getrusage',
  'getsid',
  'gettid',
  'ioprio_get',
  'ioprio_set',
  'kill',
  'landlock_add_rule',
  'landlock_create_ruleset',
  'landlock_restrict_self',
  'map_shadow_stack',
  'membarrier',
  'modify_ldt',
  'pidfd_open',
  'pidfd_send_signal',
  'prctl',
  'prlimit64',
  'process_mrelease',
  'restart_syscall',
  'rseq',
  'sched_get_priority_max',
  'sched_get_priority_min',
  'sched_getaffinity',
  'sched_getattr',
  'sched_getparam',
  'sched_getscheduler',
  'sched_rr_get_interval',
  'sched_rr_get_interval_time64',
  'sched_setaffinity',
  'sched_setattr',
  'sched_setparam',
  'sched_setscheduler',
  'sched_yield',
  'seccomp', // adding filters can only narrow what a process may do
  'set_robust_list',
  'set_thread_area',
  'set_tid_address',
  'setpgid',
  'setpriority',
  'setrlimit',
  'setsid',
  'sysinfo',
  'tgkill',
  'times',
  'tkill',
  'ugetrlimit',
  'umask',
  'uname',
  'uretprobe',
  'vfork',
  'wait4',
  'waitid',
  'waitpid',
];

/** Futexes: every threaded program's locks. */
const FUTEXES = [
  'futex',
  'futex_requeue',
  'futex_time64',
  'futex_wait',
  'futex_waitv',
  'futex_wake',
];

/** Users and groups inside the sandbox's user namespace (its root maps to an unprivileged uid). */
const CREDENTIALS = [
  'getegid',
  'getegid32',
  'geteuid',
  'geteuid32',
  'getgid',
  'getgid32',
  'getgroups',
  'getgroups32',
  'getresgid',
  'getresgid32',
  'getresuid',
  'getresuid32',
  'getuid',
  'getuid32',
  'setfsgid',
  'setfsgid32',
  'setfsuid',
  'setfsuid32',
  'setgid',
  'setgid32',
  'setgroups',
  'setgroups32',
  'setregid',
  'setregid32',
  'setresgid',
  'setresgid32',
  'setresuid',
  'setresuid32',
  'setreuid',
  'setreuid32',
  'setuid',
  'setuid32',
];

/** Memory of one's own process (`memfd_secret` is refused: see ABSENT). */
const MEMORY = [
  'brk',
  'cachestat',
  'madvise',
  'memfd_create',
  'mincore',
  'mlock',
  'mlock2',
  'mlockall',
  'mmap',
  'mmap2',
  'mprotect',
  'mremap',
  'mseal',
  'msync',
  'munlock',
  'munlockall',
  'munmap',
  'pkey_alloc',
  'pkey_free',
  'pkey_mprotect',
  'remap_file_pages',
];

/** Files, directories, links, attributes and ioctls on what the process has open. */
const FILES = [
  'access',
  'chdir',
  'chmod',
  'chown',
  'chown32',
  'chroot', // the sandbox has CAP_SYS_CHROOT, as Docker containers do
  'close',
  'close_range',
  'copy_file_range',
  'creat',
  'dup',
  'dup2',
  'dup3',
  'faccessat',
  'faccessat2',
  'fadvise64',
  'fadvise64_64',
  'fallocate',
  'fchdir',
  'fchmod',
  'fchmodat',
  'fchmodat2',
  'fchown',
  'fchown32',
  'fchownat',
  'fcntl',
  'fcntl64',
  'fdatasync',
  'fgetxattr',
  'flistxattr',
  'flock',
  'fremovexattr',
  'fsetxattr',
  'fstat',
  'fstat64',
  'fstatat64',
  'fstatfs',
  'fstatfs64',
  'fsync',
  'ftruncate',
  'ftruncate64',
  'futimesat',
  'getcwd',
  'getdents',
  'getdents64',
  'getxattr',
  'getxattrat',
  'ioctl',
  'lchown',
  'lchown32',
  'lgetxattr',
  'link',
  'linkat',
  'listmount',
  'listxattr',
  'listxattrat',
  'llistxattr',
  '_llseek',
  'lremovexattr',
  'lseek',
  'lsetxattr',
  'lstat',
  'lstat64',
  'mkdir',
  'mkdirat',
  'mknod', // device nodes are still refused by the device cgroup and the missing CAP_MKNOD
  'mknodat',
  'name_to_handle_at',
  'newfstatat',
  'open',
  'openat',
  'openat2',
  'pipe',
  'pipe2',
  'pread64',
  'preadv',
  'preadv2',
  'pwrite64',
  'pwritev',
  'pwritev2',
  'read',
  'readahead',
  'readlink',
  'readlinkat',
  'readv',
  'removexattr',
  'removexattrat',
  'rename',
  'renameat',
  'renameat2',
  'rmdir',
  'sendfile',
  'sendfile64',
  'setxattr',
  'setxattrat',
  'splice',
  'stat',
  'stat64',
  'statfs',
  'statfs64',
  'statmount',
  'statx',
  'symlink',
  'symlinkat',
  'sync',
  'sync_file_range',
  'syncfs',
  'tee',
  'truncate',
  'truncate64',
  'unlink',
  'unlinkat',
  'utime',
  'utimensat',
  'utimensat_time64',
  'utimes',
  'vmsplice',
  'write',
  'writev',
];

/**
 * Waiting for events: epoll, poll/select, eventfd, signalfd, timerfd, inotify, and Linux AIO
 * (databases use it). CRIU checkpoints all of these; not io_uring (see ABSENT).
 */
const EVENTS = [
  '_newselect',
  'epoll_create',
  'epoll_create1',
  'epoll_ctl',
  'epoll_ctl_old',
  'epoll_pwait',
  'epoll_pwait2',
  'epoll_wait',
  'epoll_wait_old',
  'eventfd',
  'eventfd2',
  'inotify_add_watch',
  'inotify_init',
  'inotify_init1',
  'inotify_rm_watch',
  'io_cancel',
  'io_destroy',
  'io_getevents',
  'io_pgetevents',
  'io_pgetevents_time64',
  'io_setup',
  'io_submit',
  'poll',
  'ppoll',
  'ppoll_time64',
  'pselect6',
  'pselect6_time64',
  'select',
  'signalfd',
  'signalfd4',
  'timerfd_create',
  'timerfd_gettime',
  'timerfd_gettime64',
  'timerfd_settime',
  'timerfd_settime64',
];

/** Signals, sleeping, clocks and timers (reading clocks; setting them is refused below). */
const SIGNALS_AND_TIME = [
  'adjtimex', // read-only without CAP_SYS_TIME
  'alarm',
  'clock_adjtime',
  'clock_adjtime64',
  'clock_getres',
  'clock_getres_time64',
  'clock_gettime',
  'clock_gettime64',
  'clock_nanosleep',
  'clock_nanosleep_time64',
  'getitimer',
  'gettimeofday',
  'nanosleep',
  'pause',
  'rt_sigaction',
  'rt_sigpending',
  'rt_sigprocmask',
  'rt_sigqueueinfo',
  'rt_sigreturn',
  'rt_sigsuspend',
  'rt_sigtimedwait',
  'rt_sigtimedwait_time64',
  'rt_tgsigqueueinfo',
  'setitimer',
  'sigaltstack',
  'sigprocmask',
  'sigreturn',
  'time',
  'timer_create',
  'timer_delete',
  'timer_getoverrun',
  'timer_gettime',
  'timer_gettime64',
  'timer_settime',
  'timer_settime64',
];

/**
 * System V IPC, private to the sandbox's IPC namespace (PostgreSQL uses it); CRIU checkpoints
 * the namespace whole. POSIX message queues are not here (see ABSENT).
 */
const IPC = [
  'ipc',
  'msgctl',
  'msgget',
  'msgrcv',
  'msgsnd',
  'semctl',
  'semget',
  'semop',
  'semtimedop',
  'semtimedop_time64',
  'shmat',
  'shmctl',
  'shmdt',
  'shmget',
];

/**
 * Sockets, except creating them, which is filtered by family below. `socketcall` (the 32-bit
 * x86 multiplexer) is left out: its arguments sit behind a pointer the filter cannot read, so
 * it would bypass the family filter.
 */
const NETWORK = [
  'accept',
  'accept4',
  'bind',
  'connect',
  'getpeername',
  'getsockname',
  'getsockopt',
  'listen',
  'recv',
  'recvfrom',
  'recvmmsg',
  'recvmmsg_time64',
  'recvmsg',
  'send',
  'sendmmsg',
  'sendmsg',
  'sendto',
  'setsockopt',
  'shutdown',
  'socketpair',
];

/**
 * Debugging one's own processes (gdb, strace), as Docker allows on kernels >= 4.8, where ptrace
 * can no longer step around seccomp. Reaching processes of other users needs CAP_SYS_PTRACE,
 * which a sandbox lacks. A traced process cannot be checkpointed (CRIU must trace every
 * process itself): pausing then fails with `checkpoint_failed`, naming it.
 */
const DEBUGGING = ['process_vm_readv', 'process_vm_writev', 'ptrace'];

/**
 * Known and refused, with EPERM as for an unprivileged user: what would reach beyond the
 * sandbox, change the machine, or open kernel surface no workload needs.
 */
const REFUSED = [
  // Mounting and namespaces: the sandbox's filesystem view and isolation are the engine's.
  'fsconfig',
  'fsmount',
  'fsopen',
  'fspick',
  'mount',
  'mount_setattr',
  'move_mount',
  'open_tree',
  'pivot_root',
  'setns',
  'umount',
  'umount2',
  'unshare',
  // The kernel keyring is not namespaced: keys belong to the host uid, which all sandboxes share.
  'add_key',
  'keyctl',
  'request_key',
  // Kernel code: modules, kexec, eBPF programs, perf events and their long CVE history.
  'bpf',
  'create_module',
  'delete_module',
  'finit_module',
  'get_kernel_syms',
  'init_module',
  'kexec_file_load',
  'kexec_load',
  'perf_event_open',
  'query_module',
  // userfaultfd stalls kernel page faults at will (a classic exploit primitive); CRIU cannot
  // checkpoint it either.
  'userfaultfd',
  // The whole machine: clocks, reboot, swap, accounting, quotas, hostname, kernel log.
  'acct',
  'clock_settime',
  'clock_settime64',
  'lookup_dcookie',
  'nfsservctl',
  'quotactl',
  'quotactl_fd',
  'reboot',
  'setdomainname',
  'sethostname',
  'settimeofday',
  'stime',
  'swapoff',
  'swapon',
  '_sysctl',
  'syslog',
  'uselib',
  'ustat',
  'vhangup',
  // Hardware: raw I/O ports and virtual-8086 mode.
  'ioperm',
  'iopl',
  'vm86',
  'vm86old',
  // Other processes' internals (Docker grants these only with CAP_SYS_PTRACE).
  'kcmp',
  'pidfd_getfd',
  'process_madvise',
  // Opening files by handle walks around the mount tree (the "shocker" container escape).
  'open_by_handle_at',
  // Watching the whole file system.
  'fanotify_init',
  'fanotify_mark',
  // NUMA placement of memory (Docker grants it only with CAP_SYS_NICE).
  'get_mempolicy',
  'mbind',
  'migrate_pages',
  'move_pages',
  'set_mempolicy',
  'set_mempolicy_home_node',
  // Linux security module attributes (Docker grants these only with CAP_SYS_ADMIN).
  'lsm_get_self_attr',
  'lsm_list_modules',
  'lsm_set_self_attr',
];

/**
 * Refused with ENOSYS, as by a kernel built without them, so that programs take the fallback
 * they have for such kernels:
 * - `clone3`: its flags sit in a struct the filter cannot read; libc falls back to `clone`,
 *   whose namespace flags are filtered below.
 * - io_uring (libuv, so every Node.js >= 20, falls back to epoll), `memfd_secret` memory and
 *   POSIX message queues: CRIU cannot checkpoint any of them (its dump fails with `Unknown
 *   shit 600 (anon_inode:[io_uring])`, `Unknown shit 100600 (/secretmem (deleted))` and `Can't
 *   lookup mount ... path=/QUEUE`), so one process holding one would make the sandbox
 *   unpausable.
 */
const ABSENT = [
  'clone3',
  'io_uring_enter',
  'io_uring_register',
  'io_uring_setup',
  'memfd_secret',
  'mq_getsetattr',
  'mq_notify',
  'mq_open',
  'mq_timedreceive',
  'mq_timedreceive_time64',
  'mq_timedsend',
  'mq_timedsend_time64',
  'mq_unlink',
];

// clone() with a namespace flag (CLONE_NEWNS, _NEWCGROUP, _NEWUTS, _NEWIPC, _NEWUSER, _NEWPID,
// _NEWNET): a sandbox may fork and make threads, but not new namespaces. (CLONE_NEWTIME is not
// possible through clone(), whose low byte is the exit signal; clone3 and unshare are refused.)
const CLONE_NS_FLAGS = [
  0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000,
];
const CLONE_NS_MASK = CLONE_NS_FLAGS.reduce((mask, flag) => mask | flag, 0);

// Socket families refused, as by Docker: AF_ALG (38, the kernel crypto API, a frequent source
// of kernel bugs) and AF_VSOCK (40, which on a VM reaches the hypervisor's host, past the
// sandbox's network namespace). They answer the default, ENOSYS: libseccomp 2.5 refuses an ERRNO
// rule on `socket` beside the ALLOW rules that compare the same argument (EEXIST).
const AF_ALG = 38;
const AF_VSOCK = 40;

// personality(): the plain Linux and 32-bit personalities, UNAME26, and querying (0xffffffff).
// Others (ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC, ...) would weaken the process's own defences;
// they answer the default, ENOSYS, for the same libseccomp reason as above.
const PERSONALITIES = [0x0, 0x8, 0x20000, 0x20008, 0xffffffff];

export interface SeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: 'SCMP_CMP_EQ' | 'SCMP_CMP_NE' | 'SCMP_CMP_LT' | 'SCMP_CMP_GT' | 'SCMP_CMP_MASKED_EQ';
}

export interface SeccompRule {
  names: string[];
  action: 'SCMP_ACT_ALLOW' | 'SCMP_ACT_ERRNO';
  errnoRet?: number;
  args?: SeccompArg[];
}

/** The `linux.seccomp` object of an OCI runtime config. */
export interface SeccompProfile {
  defaultAction: 'SCMP_ACT_ERRNO';
  defaultErrnoRet: number;
  architectures: string[];
  syscalls: SeccompRule[];
}

const allow = (names: string[], args?: SeccompArg[]): SeccompRule => ({
  names,
  action: 'SCMP_ACT_ALLOW',
  ...(args ? { args } : {}),
});
const refuse = (names: string[], errno: number, args?: SeccompArg[]): SeccompRule => ({
  names,
  action: 'SCMP_ACT_ERRNO',
  errnoRet: errno,
  ...(args ? { args } : {}),
});
const arg0 = (op: SeccompArg['op'], value: number, valueTwo?: number): SeccompArg[] => [
  { index: 0, value, op, ...(valueTwo === undefined ? {} : { valueTwo }) },
];

/** The syscalls a sandbox may make without condition. */
export const ALLOWED_SYSCALLS: readonly string[] = [
  ...PROCESSES,
  ...FUTEXES,
  ...CREDENTIALS,
  ...MEMORY,
  ...FILES,
  ...EVENTS,
  ...SIGNALS_AND_TIME,
  ...IPC,
  ...NETWORK,
  ...DEBUGGING,
];

/** Known syscalls a sandbox gets EPERM for. */
export const REFUSED_SYSCALLS: readonly string[] = REFUSED;

/** Syscalls that answer ENOSYS on purpose, so that callers fall back. */
export const ABSENT_SYSCALLS: readonly string[] = ABSENT;

/**
 * The seccomp profile of every sandbox (OCI `linux.seccomp`). runc >= 1.0 honours
 * `defaultErrnoRet`, and ignores names its libseccomp does not know yet; those then fall to the
 * default, ENOSYS, like any syscall newer than the filter.
 */
export function seccompProfile(): SeccompProfile {
  return {
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: ENOSYS,
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
    syscalls: [
      allow([...ALLOWED_SYSCALLS]),
      // socket(): every family but AF_ALG and AF_VSOCK.
      allow(['socket'], arg0('SCMP_CMP_LT', AF_ALG)),
      allow(['socket'], arg0('SCMP_CMP_EQ', AF_ALG + 1)),
      allow(['socket'], arg0('SCMP_CMP_GT', AF_VSOCK)),
      ...PERSONALITIES.map((p) => allow(['personality'], arg0('SCMP_CMP_EQ', p))),
      // clone(): threads and processes, not namespaces.
      allow(['clone'], arg0('SCMP_CMP_MASKED_EQ', CLONE_NS_MASK, 0)),
      ...CLONE_NS_FLAGS.map((flag) =>
        refuse(['clone'], EPERM, arg0('SCMP_CMP_MASKED_EQ', flag, flag)),
      ),
      refuse([...REFUSED], EPERM),
      refuse([...ABSENT], ENOSYS),
    ],
  };
}
