import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { Sandbox } from './sandbox.ts';
import { useTestEngine, waitFor } from './testing/test-engine.ts';

describe('processes in a sandbox', () => {
  const t = useTestEngine('proc');
  let sbx: Sandbox;

  before(async () => {
    sbx = await t.engine.create({ template: 'debian-13', env: { GREETING: 'hi' } });
  });

  it('runs a command and returns its output and exit code', async () => {
    const r = await sbx.exec('echo "$GREETING"; echo oops >&2; exit 3');
    assert.equal(r.stdout, 'hi\n');
    assert.equal(r.stderr, 'oops\n');
    assert.equal(r.exitCode, 3);
    assert.equal(r.timedOut, false);
  });

  it('runs an argv array without a shell, in the given cwd and env', async () => {
    const r = await sbx.exec(['/bin/sh', '-c', 'pwd; echo $X'], { cwd: '/tmp', env: { X: 'y' } });
    assert.equal(r.stdout, '/tmp\ny\n');
  });

  it('gives commands a PATH when the sandbox sets none, and keeps one it sets', async () => {
    const sbx = await t.engine.create({ template: 'debian-13' });
    const r = await sbx.exec('echo $PATH; python3 -c "import sys; print(sys.executable)"');
    assert.equal(r.exitCode, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), [
      '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      '/usr/bin/python3',
    ]);
    const own = await sbx.exec('echo $PATH', { env: { PATH: '/opt/x/bin:/usr/bin:/bin' } });
    assert.equal(own.stdout, '/opt/x/bin:/usr/bin:/bin\n');
    await sbx.delete();
  });

  it('reports a command that cannot start as an exec_failed error', async () => {
    await assert.rejects(sbx.exec(['no-such-binary']), { code: 'exec_failed' });
    await assert.rejects(sbx.exec('true', { cwd: '/no/such/dir' }), { code: 'exec_failed' });
  });

  it('feeds stdin', async () => {
    const r = await sbx.exec('tr a-z A-Z', { stdin: 'hello' });
    assert.equal(r.stdout, 'HELLO');
  });

  it('streams output as it comes', async () => {
    // The command prints its second line only once the host has received the first: output
    // that were delivered only at the end could never let it finish.
    const gate = `/tmp/stream-gate-${process.pid}`;
    const seen: string[] = [];
    let opened: Promise<void> | undefined;
    await sbx.exec(`echo 1; while [ ! -e ${gate} ]; do sleep 0.02; done; rm ${gate}; echo 2`, {
      onStdout: (c) => {
        seen.push(c);
        opened ??= sbx.files.write(gate, '');
      },
    });
    await opened;
    assert.deepEqual(seen, ['1\n', '2\n']);
  });

  it('kills a command and its children on timeout', async () => {
    const t0 = performance.now();
    const r = await sbx.exec('sleep 300 & sleep 300', { timeoutMs: 300 });
    assert.equal(r.timedOut, true);
    assert.equal(r.signal, 'SIGKILL');
    // Not a speed claim: the sleeps would take 300 s, so returning well before that means the
    // 300 ms timeout killed them rather than the command ending on its own.
    assert.ok(performance.now() - t0 < 150_000, 'the command was not waited for');
    const ps = await sbx.exec('ps -eo comm= | grep -c "^sleep$" || true');
    assert.equal(ps.stdout.trim(), '0');
  });

  it('kills a command when the abort signal fires', async () => {
    // Abort once the command is known to run (its first output arrived), not after a delay
    // that a slow machine may spend before the command even starts.
    const ac = new AbortController();
    const r = await sbx.exec('echo started; exec sleep 300', {
      signal: ac.signal,
      onStdout: () => ac.abort(),
    });
    assert.equal(r.signal, 'SIGKILL');
    assert.equal(r.stdout, 'started\n');
  });

  it('handles large output', async () => {
    const r = await sbx.exec('head -c 5000000 /dev/zero | tr "\\0" a');
    assert.equal(r.stdout.length, 5_000_000);
  });

  it('truncates output past maxOutputBytes and says so', async () => {
    const r = await sbx.exec('head -c 10000 /dev/zero', { maxOutputBytes: 100 });
    assert.equal(r.stdout.length, 100);
    assert.equal(r.truncated, true);
  });

  it('runs background processes that can be listed, re-attached and killed', async () => {
    const pid = await sbx.spawn('for i in $(seq 1 5); do echo line$i; sleep 0.05; done; sleep 300');
    await waitFor(async () =>
      (await sbx.processes.list()).find((p) => p.pid === pid && p.stdoutBytes >= 30),
    );
    const procs = await sbx.processes.list();
    const p = procs.find((x) => x.pid === pid);
    assert.ok(p?.running);
    assert.deepEqual(p?.command.slice(0, 2), ['/bin/sh', '-c']);
    // Re-attach: the output produced so far is replayed, from any offset.
    const replay: string[] = [];
    const attached = sbx.processes.attach(pid, {
      onStdout: (c) => replay.push(c),
      stdoutOffset: 6,
    });
    await waitFor(() => replay.join('').includes('line5'));
    assert.ok(replay.join('').startsWith('line2'), replay.join(''));
    await sbx.processes.kill(pid, 'SIGTERM');
    const exit = await attached;
    assert.equal(exit.signal, 'SIGTERM');
    const after = (await sbx.processes.list()).find((x) => x.pid === pid);
    assert.equal(after?.running, false);
  });

  it('starts a command in the background with exec({ background: true })', async () => {
    const started = await sbx.exec('echo bg; sleep 0.1', { background: true });
    assert.equal(started.background, true);
    const out: string[] = [];
    const exit = await sbx.processes.attach(started.pid, { onStdout: (c) => out.push(c) });
    assert.equal(exit.exitCode, 0);
    assert.equal(out.join(''), 'bg\n');
  });

  it('writes to a background process stdin', async () => {
    const pid = await sbx.spawn('read line; echo "got $line"', { stdin: true });
    await sbx.processes.write(pid, 'abc\n');
    const out: string[] = [];
    const exit = await sbx.processes.attach(pid, { onStdout: (c) => out.push(c) });
    assert.equal(exit.exitCode, 0);
    assert.equal(out.join(''), 'got abc\n');
  });

  it('signals what a finished command left running in the background (its process group)', async () => {
    const pid = await sbx.processes.spawn(['sh', '-c', 'sleep 300 & echo $! > /tmp/left-pid']);
    await waitFor(
      async () => (await sbx.processes.list()).find((p) => p.pid === pid)?.running === false,
    );
    const left = (await sbx.exec('cat /tmp/left-pid')).stdout.trim();
    assert.equal((await sbx.exec(`kill -0 ${left} && echo alive`)).stdout, 'alive\n');
    await sbx.processes.kill(pid, 'SIGKILL');
    await waitFor(
      async () => (await sbx.exec(`kill -0 ${left} 2>/dev/null || echo gone`)).stdout === 'gone\n',
    );
    // Nothing left in the group: the process is gone for good.
    await assert.rejects(sbx.processes.kill(pid), { code: 'process_not_found' });
  });

  it('rejects signalling an unknown process with process_not_found', async () => {
    await assert.rejects(sbx.processes.kill(999_999), { code: 'process_not_found' });
  });

  it('rejects bad input with invalid_options', async () => {
    await assert.rejects(sbx.exec(''), { code: 'invalid_options' });
    await assert.rejects(sbx.exec([]), { code: 'invalid_options' });
    await assert.rejects(sbx.exec('true', { timeoutMs: -1 }), { code: 'invalid_options' });
    await assert.rejects(sbx.exec('true', { env: { 'A=B': 'x' } }), { code: 'invalid_options' });
  });

  it('runs many commands concurrently', async () => {
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => sbx.exec(`echo ${i}`)));
    assert.deepEqual(
      results.map((r) => r.stdout),
      Array.from({ length: 50 }, (_, i) => `${i}\n`),
    );
  });
});
