import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Sandbox } from './sandbox.ts';
import { useTestEngine, waitFor } from './testing/test-engine.ts';

/** Host pids of processes in the sandbox whose command line contains `needle`. */
function hostPidsOf(needle: string): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(needle);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe('sandbox isolation and limits', () => {
  const t = useTestEngine('iso');
  let sbx: Sandbox;
  const secret = `/var/tmp/rt-host-secret-${process.pid}`;

  before(async () => {
    writeFileSync(secret, 'host-only');
    sbx = await t.engine.create({
      template: 'debian-13',
      resources: { memoryMiB: 128, pids: 64, cpu: 1 },
    });
  });
  after(async () => {
    rmSync(secret, { force: true });
  });

  it('cannot see host processes', async () => {
    const r = await sbx.exec(
      'ls /proc | grep -E "^[0-9]+$" | wc -l; cat /proc/1/cmdline | tr "\\0" " "',
    );
    const [count, init] = r.stdout.trim().split('\n');
    assert.ok(Number(count) < 10, `sandbox sees ${count} processes`);
    assert.match(init ?? '', /^\/\.rt\/init/);
    const mine = await sbx.exec(
      `test -e /proc/${process.pid}/cmdline && cat /proc/${process.pid}/cmdline || echo none`,
    );
    assert.doesNotMatch(mine.stdout, /node/);
  });

  it('cannot read host files', async () => {
    const r = await sbx.exec(`cat ${secret} 2>&1; ls /work 2>&1; ls /var/lib/runtools 2>&1`);
    assert.doesNotMatch(r.stdout, /host-only/);
    assert.match(r.stdout, /No such file/);
  });

  it('runs as an unprivileged uid on the host', async () => {
    const pid = await sbx.spawn(['sleep', '1234.5']);
    const [hostPid] = await waitFor(() => {
      const p = hostPidsOf('1234.5');
      return p.length ? p : undefined;
    });
    const uidLine = readFileSync(`/proc/${hostPid}/status`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Uid:'));
    const uids = uidLine?.split(/\s+/).slice(1).map(Number) ?? [];
    assert.ok(uids.length && uids.every((u) => u >= 100000), `host uids ${uids}`);
    const inside = await sbx.exec('id -u');
    assert.equal(inside.stdout.trim(), '0', 'root inside the sandbox');
    await sbx.processes.kill(pid, 'SIGKILL').catch((error: { code?: string }) => {
      // Every process of the bomb is already gone (it can die out by itself): nothing to kill.
      if (error.code !== 'process_not_found') throw error;
    });
  });

  it('cannot mount, create namespaces, or load kernel modules', async () => {
    const mount = await sbx.exec('mkdir -p /mnt/x && mount -t tmpfs none /mnt/x');
    assert.notEqual(mount.exitCode, 0);
    const unshare = await sbx.exec('unshare -U true');
    assert.notEqual(unshare.exitCode, 0);
    // init_module (175) and finit_module (313) on x86_64, straight through syscall(2).
    const mod = await sbx.exec(
      `perl -e 'my $s = ""; my $r = syscall(313, 0, $s, 0); print "$r $!\\n"; $r = syscall(175, 0, 0, $s); print "$r $!\\n"'`,
    );
    assert.match(mod.stdout, /^-1 Operation not permitted\n-1 Operation not permitted\n$/);
    const status = (await sbx.exec('grep -E "^(CapEff|NoNewPrivs|Seccomp):" /proc/self/status'))
      .stdout;
    assert.match(status, /NoNewPrivs:\s+1/);
    assert.match(status, /Seccomp:\s+2/);
    const capEff = BigInt(`0x${/CapEff:\s+([0-9a-f]+)/.exec(status)?.[1]}`);
    const CAP_SYS_ADMIN = 1n << 21n;
    const CAP_SYS_MODULE = 1n << 16n;
    assert.equal(capEff & (CAP_SYS_ADMIN | CAP_SYS_MODULE), 0n);
  });

  it('has no network but its own loopback (network none)', async () => {
    const r = await sbx.exec('ls /sys/class/net; cat /proc/net/route | wc -l');
    assert.equal(r.stdout, 'lo\n1\n');
    const out = await sbx.exec(
      // The connect fails at once (no route); `timeout` only turns a hang into a failure.
      'timeout 60 bash -c "echo > /dev/tcp/10.203.0.1/80" 2>&1; echo rc=$?',
    );
    assert.match(out.stdout, /unreachable|rc=1/);
  });

  it('contains a fork bomb (pids limit) and stays usable', async () => {
    // Started in the background: the bomb's processes outlive any foreground command, and only
    // die out by chance, so the test ends them as a user would, by killing the process group.
    const pid = await sbx.processes.spawn(['bash', '-c', ':(){ :|:& };:']);
    const cg = `/sys/fs/cgroup/pids/runtools/${sbx.id}`;
    assert.equal(readFileSync(`${cg}/pids.max`, 'utf8').trim(), '64');
    const refused = () =>
      Number(/max (\d+)/.exec(readFileSync(`${cg}/pids.events`, 'utf8'))?.[1] ?? 0);
    await waitFor(async () => refused() > 0, { intervalMs: 100 });
    assert.ok(Number(readFileSync(`${cg}/pids.current`, 'utf8')) <= 64, 'never above the limit');
    // rt-init needs no new process to signal one: the sandbox stays controllable.
    await sbx.processes.kill(pid, 'SIGKILL').catch((error: { code?: string }) => {
      // Every process of the bomb is already gone (it can die out by itself): nothing to kill.
      if (error.code !== 'process_not_found') throw error;
    });
    await waitFor(async () => (await sbx.exec('echo ok').catch(() => null))?.stdout === 'ok\n', {
      intervalMs: 200,
    });
  });

  it('contains a memory hog (memory limit) and stays usable', async () => {
    const r = await sbx.exec([
      'python3',
      '-c',
      'x = bytearray(512 * 1024 * 1024); print("survived")',
    ]);
    assert.notEqual(r.stdout, 'survived\n');
    assert.equal(r.signal, 'SIGKILL');
    assert.equal((await sbx.exec('echo alive')).stdout, 'alive\n');
    const limit = readFileSync(
      `/sys/fs/cgroup/memory/runtools/${sbx.id}/memory.limit_in_bytes`,
      'utf8',
    );
    assert.equal(Number(limit), 128 * 1024 * 1024);
  });
});
