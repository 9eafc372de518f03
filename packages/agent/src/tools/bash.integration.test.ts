import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { waitFor } from '@runtools/sandbox/testing';
import { useSandbox } from '../testing/sandbox-fixture.ts';
import { BASH_MAX_OUTPUT_CHARS, bashTool } from './bash.ts';

describe('bash tool', () => {
  const f = useSandbox('bash');

  /** Command lines of the processes running in the sandbox. */
  const processes = async () => (await f.sh('ps -eo args=')).split('\n');

  it('keeps the working directory across calls of one run', async () => {
    const ctx = f.context();
    const cd = await f.call(bashTool, { command: 'cd /tmp' }, ctx);
    assert.equal(cd.isError, false);
    assert.equal(ctx.state.cwd, '/tmp');
    assert.match(cd.output, /working directory is now \/tmp/);
    const pwd = await f.call(bashTool, { command: 'pwd' }, ctx);
    assert.equal(pwd.output, '/tmp\n[exit code 0]');
    assert.equal(pwd.metadata?.cwd, '/tmp');
    const other = await f.call(bashTool, { command: 'pwd' });
    assert.equal(other.output.split('\n')[0], f.sandbox.info().cwd, 'another run starts afresh');
  });

  it('keeps the directory a command exited in, and reports its exit code', async () => {
    const ctx = f.context();
    const r = await f.call(bashTool, { command: 'cd /etc && echo here && exit 3' }, ctx);
    assert.equal(r.isError, true);
    assert.equal(r.metadata?.exitCode, 3);
    assert.match(r.output, /^here\n\[exit code 3\]/);
    assert.equal(ctx.state.cwd, '/etc');
  });

  it('returns stdout and stderr interleaved in the order they were written', async () => {
    const r = await f.call(bashTool, { command: 'echo one; echo two >&2; echo three' });
    assert.equal(r.output, 'one\ntwo\nthree\n[exit code 0]');
    assert.equal(r.isError, false);
  });

  it('says when a command printed nothing', async () => {
    const r = await f.call(bashTool, { command: 'true' });
    assert.equal(r.output, '(no output)\n[exit code 0]');
  });

  it('falls back to the sandbox directory when the working directory is gone', async () => {
    const ctx = f.context({ state: { cwd: '/no/such/dir' } });
    const r = await f.call(bashTool, { command: 'pwd' }, ctx);
    assert.match(r.output, /working directory \/no\/such\/dir does not exist any more/);
    assert.equal(ctx.state.cwd, f.sandbox.info().cwd);
  });

  it('cuts long output in the middle with a marker saying how much was cut', async () => {
    const r = await f.call(bashTool, {
      command: `python3 -c "print('START' + 'x' * 50000 + 'END')"`,
    });
    assert.equal(r.metadata?.truncated, true);
    assert.equal(r.metadata?.outputChars, 50009);
    assert.ok(r.output.startsWith('STARTxxx'));
    assert.ok(r.output.endsWith('END\n[exit code 0]'), 'the end of the output is kept');
    assert.match(r.output, /\[… 20009 characters cut from the middle: the output had 50009/);
    assert.ok(r.output.length < BASH_MAX_OUTPUT_CHARS + 400);
  });

  it('kills a command at its timeout, with everything it started, and says so', async () => {
    const t0 = performance.now();
    const r = await f.call(bashTool, { command: 'sleep 41.5 & sleep 41.6', timeoutMs: 300 });
    // Not a speed claim: the sleeps would end by themselves after 41.5 s, so returning before
    // that shows the 300 ms timeout killed them rather than the call waiting them out.
    assert.ok(performance.now() - t0 < 41_500, 'the sleeps were not waited for');
    assert.equal(r.isError, true);
    assert.equal(r.metadata?.timedOut, true);
    assert.match(r.output, /timed out after 300 ms/);
    const left = (await processes()).filter((p) => p.startsWith('sleep 41.'));
    assert.deepEqual(left, []);
  });

  it('kills the command when the run is cancelled', async () => {
    const ac = new AbortController();
    const running = f.call(bashTool, { command: 'sleep 42.5' }, f.context({ signal: ac.signal }));
    await waitFor(async () => (await processes()).includes('sleep 42.5'));
    ac.abort();
    const r = await running;
    assert.equal(r.isError, true);
    assert.equal(r.metadata?.cancelled, true);
    assert.match(r.output, /cancelled/);
    assert.ok(!(await processes()).includes('sleep 42.5'), 'the process is gone');
  });

  it('starts a background command and says how to follow it', async () => {
    const ctx = f.context({ state: { cwd: '/tmp' } });
    const r = await f.call(
      bashTool,
      { command: 'pwd; echo started; sleep 43.5', background: true },
      ctx,
    );
    assert.equal(r.isError, undefined);
    const pid = r.metadata?.pid as number;
    const log = r.metadata?.logFile as string;
    assert.ok(pid > 0);
    assert.ok(r.output.includes(`pid ${pid}`) && r.output.includes(log));
    assert.equal(
      await waitFor(async () => {
        const text = await f.sh(`cat ${log} 2>/dev/null || true`);
        return text.includes('started') && text;
      }),
      '/tmp\nstarted\n',
    );
    assert.ok((await processes()).includes('sleep 43.5'), 'still running after the call');
    await f.call(bashTool, { command: `kill -- -${pid}` });
    await waitFor(async () => !(await processes()).includes('sleep 43.5'));
  });

  it('refuses a timeout over the maximum', () => {
    assert.equal(
      bashTool.inputSchema.safeParse({ command: 'x', timeoutMs: 600_001 }).success,
      false,
    );
  });
});
