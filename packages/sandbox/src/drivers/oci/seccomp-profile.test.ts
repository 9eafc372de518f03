import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import {
  ABSENT_SYSCALLS,
  ALLOWED_SYSCALLS,
  REFUSED_SYSCALLS,
  type SeccompRule,
  seccompProfile,
} from './seccomp-profile.ts';

const ENOSYS = 38;
const EPERM = 1;

/** The rules that name `syscall`. */
const rulesFor = (syscall: string): SeccompRule[] =>
  seccompProfile().syscalls.filter((rule) => rule.names.includes(syscall));

/** The x86_64 syscall names this host's libseccomp knows (what runc can put in a filter). */
function libseccompNames(): string[] | undefined {
  const script = [
    'import ctypes',
    "lib = ctypes.CDLL('libseccomp.so.2')",
    'lib.seccomp_syscall_resolve_num_arch.restype = ctypes.c_char_p',
    'for n in range(1024):',
    '    name = lib.seccomp_syscall_resolve_num_arch(0xC000003E, n)',
    '    if name: print(name.decode())',
  ].join('\n');
  try {
    return execFileSync('python3', ['-c', script], { encoding: 'utf8' }).trim().split('\n');
  } catch {
    return undefined; // no python3 or no libseccomp here: the check below is skipped
  }
}

describe('seccomp profile', () => {
  it('is an allowlist whose default answer is ENOSYS', () => {
    const profile = seccompProfile();
    assert.equal(profile.defaultAction, 'SCMP_ACT_ERRNO');
    assert.equal(profile.defaultErrnoRet, ENOSYS);
    for (const name of ['read', 'write', 'openat', 'epoll_wait', 'futex', 'execve', 'pipe2']) {
      assert.deepEqual(
        rulesFor(name).map((r) => r.action),
        ['SCMP_ACT_ALLOW'],
        name,
      );
    }
  });

  it('refuses io_uring, memfd_secret, POSIX message queues and clone3 with ENOSYS', () => {
    for (const name of [
      'io_uring_setup',
      'io_uring_enter',
      'io_uring_register',
      'memfd_secret',
      'mq_open',
      'clone3',
    ]) {
      const rules = rulesFor(name);
      assert.equal(rules.length, 1, name);
      assert.equal(rules[0]?.action, 'SCMP_ACT_ERRNO', name);
      assert.equal(rules[0]?.errnoRet, ENOSYS, name);
    }
  });

  it('refuses dangerous known syscalls with EPERM', () => {
    for (const name of [
      'keyctl',
      'add_key',
      'bpf',
      'mount',
      'umount2',
      'fsopen',
      'open_tree',
      'pivot_root',
      'unshare',
      'setns',
      'kexec_load',
      'init_module',
      'finit_module',
      'perf_event_open',
      'userfaultfd',
      'open_by_handle_at',
      'clock_settime',
      'reboot',
    ]) {
      const rules = rulesFor(name);
      assert.equal(rules.length, 1, name);
      assert.equal(rules[0]?.errnoRet, EPERM, name);
    }
  });

  it('lets clone make threads and processes but not namespaces', () => {
    const rules = rulesFor('clone');
    const allowed = rules.filter((r) => r.action === 'SCMP_ACT_ALLOW');
    assert.equal(allowed.length, 1);
    // (flags & every CLONE_NEW* bit) == 0
    assert.deepEqual(allowed[0]?.args, [
      { index: 0, value: 0x7e020000, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' },
    ]);
    const refused = rules.filter((r) => r.action === 'SCMP_ACT_ERRNO');
    const flags = refused.map((r) => r.args?.[0]?.value ?? 0);
    assert.equal(
      flags.reduce((a, b) => a | b, 0),
      0x7e020000,
    );
    for (const r of refused) assert.equal(r.errnoRet, EPERM);
  });

  it('lets socket create every family but AF_ALG and AF_VSOCK', () => {
    const allowedFamily = (family: number) =>
      rulesFor('socket').some((rule) =>
        (rule.args ?? []).every((a) =>
          a.op === 'SCMP_CMP_LT'
            ? family < a.value
            : a.op === 'SCMP_CMP_GT'
              ? family > a.value
              : a.op === 'SCMP_CMP_EQ'
                ? family === a.value
                : false,
        ),
      );
    for (const family of [1, 2, 10, 16, 17, 39, 41, 44])
      assert.ok(allowedFamily(family), `${family}`);
    for (const family of [38, 40]) assert.ok(!allowedFamily(family), `${family}`);
    assert.ok(!ALLOWED_SYSCALLS.includes('socketcall'), 'socketcall would bypass the family rule');
  });

  it('names every syscall once, in one list', () => {
    const all = [...ALLOWED_SYSCALLS, ...REFUSED_SYSCALLS, ...ABSENT_SYSCALLS];
    const seen = new Set<string>();
    const twice = all.filter((name) => seen.has(name) || !seen.add(name));
    assert.deepEqual(twice, []);
  });

  it("decides on every syscall this host's libseccomp knows, except the obsolete ones", (t) => {
    const known = libseccompNames();
    if (!known) {
      t.skip('no python3 or libseccomp on this host');
      return;
    }
    const named = new Set(seccompProfile().syscalls.flatMap((r) => r.names));
    const undecided = known.filter((name) => !named.has(name));
    // Removed from the kernel or never implemented on x86_64 (ENOSYS either way), and sysfs(2),
    // an obsolete way to list file system types that nothing needs.
    assert.deepEqual(undecided.sort(), [
      'afs_syscall',
      'getpmsg',
      'putpmsg',
      'security',
      'sysfs',
      'tuxcall',
      'vserver',
    ]);
  });
});
