import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { Sandbox } from './sandbox.ts';
import { useTestEngine, waitFor } from './testing/test-engine.ts';

/** A login shell on a pseudo-terminal of the sandbox, driven as a person at a terminal would. */
describe('PTY sessions', () => {
  const t = useTestEngine('pty');
  let sbx: Sandbox;
  let pid: number;
  let screen = '';
  let exited: Promise<{ exitCode: number }>;

  /** Types `keys`, then waits until the output since now matches `until`. */
  async function type(keys: string, until: RegExp, timeoutMs = 15_000): Promise<string> {
    const from = screen.length;
    await sbx.processes.write(pid, keys);
    await waitFor(() => until.test(screen.slice(from)), { timeoutMs, intervalMs: 20 });
    return screen.slice(from);
  }

  before(async () => {
    sbx = await t.engine.create({ template: 'debian-13' });
    // No profile: Debian's would set its own PS1.
    pid = await sbx.spawn(['/bin/bash', '--noprofile', '--norc', '-i'], {
      pty: { rows: 30, cols: 100 },
      env: { TERM: 'xterm-256color', PS1: 'rt$ ' },
    });
    exited = sbx.processes.attach(pid, { onStdout: (s) => (screen += s) });
    await waitFor(() => screen.includes('rt$ '), { timeoutMs: 15_000, intervalMs: 20 }).catch(
      (error: unknown) => {
        throw new Error(`no prompt; the terminal showed ${JSON.stringify(screen)}`, {
          cause: error,
        });
      },
    );
  });

  it('is a controlling terminal of the size asked for, and resizes', async () => {
    const out = await type('tty; stty size; echo $((6*7))\n', /42\r\n/);
    assert.match(out, /\/dev\/pts\/\d+\r\n/);
    assert.match(out, /30 100\r\n/);
    await sbx.processes.resize(pid, 50, 132);
    assert.match(await type('stty size\n', /\d+ \d+\r\n/), /50 132\r\n/);
  });

  it('delivers Ctrl-C to the foreground job, not the shell', async () => {
    await type('sleep 300\n', /sleep 300\r\n/);
    const out = await type('\x03', /rt\$ $/);
    assert.match(out, /\^C/);
    assert.match(await type('echo still-here\n', /still-here\r\n/), /still-here/);
  });

  it('runs a full-screen program (top) and leaves it with q', async () => {
    const out = await type('top -d 0.3\n', /load average/);
    // top draws with cursor addressing: the terminal is a real one (terminfo, size, raw mode).
    assert.ok(out.includes('\u001b['), 'escape sequences');
    assert.match(await type('q', /rt\$ $/), /rt\$ $/);
  });

  it('keeps the session through pause and resume, and replays it to a new client', async () => {
    await type('export MARK=before-pause\n', /rt\$ $/);
    await sbx.pause();
    await sbx.resume();
    assert.match(await type('echo $MARK\n', /before-pause\r\n/), /before-pause/);
    // A client that reconnects gets the session's output again (rt-init keeps the last MiB), and
    // from then on the live output: it takes over the attachment.
    let replay = '';
    exited = sbx.processes.attach(pid, {
      onStdout: (s) => {
        replay += s;
        screen += s;
      },
    });
    await waitFor(() => replay.includes('before-pause\r\n'), { timeoutMs: 10_000, intervalMs: 20 });
  });

  it('ends with the shell, and refuses to resize a process without a terminal', async () => {
    await sbx.processes.write(pid, 'exit 0\n');
    assert.equal((await exited).exitCode, 0);
    const plain = await sbx.spawn(['sleep', '30']);
    await assert.rejects(sbx.processes.resize(plain, 10, 10), { code: 'invalid_options' });
    await sbx.processes.kill(plain, 'SIGKILL');
  });
});
