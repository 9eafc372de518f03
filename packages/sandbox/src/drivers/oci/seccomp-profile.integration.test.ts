import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { Sandbox } from '../../sandbox.ts';
import { useTestEngine, waitFor } from '../../testing/test-engine.ts';

/**
 * Perl's `syscall` makes a raw syscall, as an attacker would; each line prints "NAME RESULT
 * ERRNO" (errno is reset first, so a success prints no message).
 */
function rawSyscalls(calls: Array<[name: string, nr: number, ...args: number[]]>): string {
  const lines = calls.map(
    ([name, nr, ...args]) =>
      `$! = 0; $r = syscall(${[nr, ...args].join(', ')}); print "${name} $r $!\\n";`,
  );
  return lines.join(' ');
}

describe('the seccomp profile inside a sandbox', () => {
  const t = useTestEngine('seccomp');
  let sbx: Sandbox;
  before(async () => {
    sbx = await t.engine.create({ template: 'debian-13' });
  });

  const run = async (calls: Parameters<typeof rawSyscalls>[0]) => {
    const r = await sbx.exec(['perl', '-e', rawSyscalls(calls)]);
    assert.equal(r.exitCode, 0, r.stderr);
    return Object.fromEntries(
      r.stdout
        .trim()
        .split('\n')
        .map((line) => {
          const [name, result, ...message] = line.split(' ');
          return [name, `${result} ${message.join(' ')}`.trim()];
        }),
    );
  };

  it('answers ENOSYS to io_uring, to syscalls it does not know and to unknown numbers', async () => {
    const r = await run([
      ['io_uring_setup', 425, 8, 0],
      ['io_uring_enter', 426, 0, 0, 0, 0],
      ['io_uring_register', 427, 0, 0, 0],
      ['memfd_secret', 447, 0],
      ['mq_open', 240, 0, 0, 0, 0],
      // sysfs(2) works on this host's kernel and is in no list of the profile: it answers the
      // default action, so ENOSYS here shows runc honours `defaultErrnoRet`.
      ['sysfs', 139, 3],
      ['nr_1000', 1000],
      ['nr_600', 600],
    ]);
    for (const name of [
      'io_uring_setup',
      'io_uring_enter',
      'io_uring_register',
      'memfd_secret',
      'mq_open',
      'sysfs',
      'nr_1000',
      'nr_600',
    ]) {
      assert.equal(r[name], '-1 Function not implemented', name);
    }
  });

  it('answers EPERM to the keyring, namespaces, mounts, BPF, perf and modules', async () => {
    const CLONE_NEWUSER = 0x10000000;
    const SIGCHLD = 17;
    const r = await run([
      ['keyctl', 250, 0, 0, 0, 0],
      ['add_key', 248, 0, 0, 0, 0, 0],
      ['unshare', 272, CLONE_NEWUSER],
      ['setns', 308, 0, 0],
      ['mount', 165, 0, 0, 0, 0, 0],
      ['umount2', 166, 0, 0],
      ['bpf', 321, 0, 0, 0],
      ['perf_event_open', 298, 0, 0, 0, 0, 0],
      ['userfaultfd', 323, 0],
      ['init_module', 175, 0, 0, 0],
      ['clone_newuser', 56, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0],
    ]);
    for (const [name, result] of Object.entries(r)) {
      assert.equal(result, '-1 Operation not permitted', name);
    }
    assert.equal(Object.keys(r).length, 11);
  });

  it('still lets a process fork, make sockets and read the clock', async () => {
    const AF_INET = 2;
    const AF_VSOCK = 40;
    const SOCK_STREAM = 1;
    const r = await sbx.exec([
      'perl',
      '-e',
      `$! = 0; $s = syscall(41, ${AF_INET}, ${SOCK_STREAM}, 0); print "inet $s\\n";` +
        `$! = 0; $v = syscall(41, ${AF_VSOCK}, ${SOCK_STREAM}, 0); print "vsock $v $!\\n";` +
        'my $pid = fork(); if ($pid == 0) { exit 7 } waitpid($pid, 0); print "child ", $? >> 8, "\\n";',
    ]);
    assert.match(r.stdout, /^inet \d+$/m);
    assert.match(r.stdout, /^vsock -1 Function not implemented$/m);
    assert.match(r.stdout, /^child 7$/m);
  });

  it('makes Node.js use epoll instead of io_uring, and leaves it pausable', async () => {
    await using node = await t.engine.create({ template: 'nodejs-20' });
    const pid = await node.spawn([
      'node',
      '-e',
      'require("fs").readFileSync("/etc/hostname"); require("http").createServer((q, s) => s.end("up")).listen(3000)',
    ]);
    const fds = await waitFor(async () => {
      // Listening on 3000 (0BB8) means libuv's loop is set up.
      const r = await node.exec(
        `cat /proc/net/tcp* | awk '$2 ~ /:0BB8$/ && $4 == "0A"' | grep -q . && ls -l /proc/${pid}/fd | grep -o 'anon_inode:.*'`,
      );
      return r.exitCode === 0 ? r.stdout : undefined;
    });
    assert.match(fds, /anon_inode:\[eventpoll\]/);
    assert.doesNotMatch(fds, /io_uring/);
    await node.pause();
    await node.resume();
    const socket = await node.ports.connect(3000);
    socket.write('GET / HTTP/1.0\r\n\r\n');
    const reply = await new Promise<string>((resolve, reject) => {
      let text = '';
      socket.on('data', (chunk) => {
        text += chunk;
      });
      socket.once('end', () => resolve(text));
      socket.once('error', reject);
    });
    assert.match(reply, /\r\n\r\nup$/);
  });
});
