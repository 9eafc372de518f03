import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DEFAULT_SUPERVISOR_BINARY } from './host/doctor/prerequisite-check.ts';
import { findRunc } from './host/runc.ts';
import { useTestEngine, waitFor } from './testing/test-engine.ts';

// Each value is written whole (a rename), so a read never sees the file truncated but not yet written.
const COUNTER =
  'i=0; while :; do i=$((i+1)); echo $i > /tmp/counter.new; mv /tmp/counter.new /tmp/counter; sleep 0.05; done';

describe('pause and resume', () => {
  const t = useTestEngine('pause');

  const counter = async (id: string) =>
    Number((await t.engine.get(id).files.read('/tmp/counter')).toString());

  it('keeps a counter loop, files and memory across pause/resume, and frees its processes', async () => {
    const sbx = await t.engine.create({ template: 'debian-13' });
    await sbx.spawn(COUNTER);
    await sbx.files.write('/root/before.txt', 'written before pause');
    await waitFor(async () => (await counter(sbx.id).catch(() => 0)) > 3);
    const paused = await sbx.pause();
    assert.equal(paused.state, 'paused');
    assert.ok((paused.snapshotBytes ?? 0) > 0);
    // Nothing of the sandbox runs on the host while it is paused.
    const runc = execFileSync(findRunc(), ['--root', `${t.dataDir}/runc`, 'list', '-q'], {
      encoding: 'utf8',
    });
    assert.doesNotMatch(runc, new RegExp(sbx.id));
    const upper = execFileSync('cat', [`${t.dataDir}/sandboxes/${sbx.id}/disk/upper/tmp/counter`], {
      encoding: 'utf8',
    });
    const atPause = Number(upper);
    // Stay paused for a while (the span in which the loop must not count), then check the counter
    // moved no more than the time since the resume allows: each tick sleeps 50 ms, so in `ms`
    // it can tick at most ms / 50 + 1 times. A loop that counted while paused would be ahead by
    // the whole pause; one restarted by the resume would be below `atPause`.
    await new Promise((r) => setTimeout(r, 600));
    const resumedAt = performance.now();
    const resumed = await sbx.resume();
    assert.equal(resumed.state, 'running');
    const right = await counter(sbx.id);
    const ticks = Math.floor((performance.now() - resumedAt) / 50) + 1;
    assert.ok(
      right >= atPause && right <= atPause + ticks,
      `counter ${right} continues from ${atPause} (at most ${ticks} ticks since the resume)`,
    );
    await waitFor(async () => (await counter(sbx.id)) > right + 3);
    assert.equal((await sbx.files.read('/root/before.txt')).toString(), 'written before pause');
    await sbx.delete();
  });

  it('keeps a Python REPL variable across pause/resume', async () => {
    const sbx = await t.engine.create({ template: 'debian-13' });
    const pid = await sbx.spawn(['python3', '-q', '-u', '-i'], { stdin: true });
    await sbx.processes.write(pid, 'x = 41\n');
    await sbx.pause();
    await sbx.resume();
    await sbx.processes.write(pid, 'print(x + 1)\n');
    await sbx.processes.closeStdin(pid);
    const out: string[] = [];
    await sbx.processes.attach(pid, { onStdout: (c) => out.push(c) });
    assert.equal(out.join('').trim(), '42');
    await sbx.delete();
  });

  it('delivers all output of a command that runs across a pause', async () => {
    const sbx = await t.engine.create({ template: 'debian-13' });
    // The command prints half its output, then waits for a file written only after the resume:
    // the pause surely falls while it runs, whatever the machine's speed.
    let out = '';
    let halfway!: () => void;
    const printedHalf = new Promise<void>((resolve) => {
      halfway = resolve;
    });
    const run = sbx.exec(
      'for i in $(seq 1 5); do echo $i; done; while [ ! -e /tmp/go ]; do sleep 0.05; done; for i in $(seq 6 10); do echo $i; done',
      {
        onStdout: (c) => {
          out += c;
          if (out.endsWith('5\n')) halfway();
        },
      },
    );
    await printedHalf;
    await sbx.pause();
    await sbx.resume();
    await sbx.files.write('/tmp/go', '');
    const r = await run;
    assert.equal(r.stdout, `${Array.from({ length: 10 }, (_, i) => i + 1).join('\n')}\n`);
    assert.equal(r.exitCode, 0);
    await sbx.delete();
  });

  it('refuses illegal transitions with sandbox_state', async () => {
    const sbx = await t.engine.create({ template: 'debian-13' });
    await assert.rejects(sbx.resume(), { code: 'sandbox_state' });
    await sbx.pause();
    await assert.rejects(sbx.pause(), { code: 'sandbox_state' });
    await assert.rejects(sbx.exec('true'), { code: 'sandbox_state' });
    await assert.rejects(sbx.files.read('/etc/hostname'), { code: 'sandbox_state' });
    await sbx.delete();
    await assert.rejects(sbx.resume(), { code: 'sandbox_state' });
    await assert.rejects(sbx.delete(), { code: 'sandbox_state' });
    await assert.rejects(sbx.exec('true'), { code: 'sandbox_state' });
  });

  it('keeps paused and running sandboxes across an engine restart', async () => {
    const paused = await t.engine.create({ template: 'debian-13', metadata: { role: 'paused' } });
    await paused.spawn(COUNTER);
    await waitFor(async () => (await counter(paused.id).catch(() => 0)) > 2);
    await paused.pause();
    const running = await t.engine.create({ template: 'debian-13', metadata: { role: 'running' } });
    const bg = await running.spawn('echo started; sleep 300');
    await t.engine.close();

    await t.restart();
    assert.equal(t.engine.get(paused.id).state, 'paused');
    assert.equal(t.engine.get(running.id).state, 'running');
    assert.deepEqual(
      t.engine.list({ metadata: { role: 'paused' } }).map((s) => s.id),
      [paused.id],
    );
    const again = t.engine.get(paused.id);
    const before = Number(
      execFileSync('cat', [`${t.dataDir}/sandboxes/${paused.id}/disk/upper/tmp/counter`], {
        encoding: 'utf8',
      }),
    );
    await again.resume();
    await waitFor(async () => (await counter(paused.id)) > before + 2);
    const procs = await t.engine.get(running.id).processes.list();
    assert.ok(procs.find((p) => p.pid === bg)?.running, 'background process still there');
    await t.engine.delete(paused.id);
    await t.engine.delete(running.id);
  });
});

describe('pause and resume with the supervisor binary in a private directory', () => {
  // A checkout in /root, or any 0700 parent: the sandbox's unprivileged root cannot reach it,
  // and restoring a checkpoint opens every mount source from inside the sandbox.
  const privateDir = mkdtempSync(join('/var/tmp', 'rt-test-private-'));
  const binary = join(privateDir, 'rt-init');
  copyFileSync(DEFAULT_SUPERVISOR_BINARY, binary);
  const t = useTestEngine('pause-private', { supervisorBinary: binary });
  after(() => rmSync(privateDir, { recursive: true, force: true }));

  it('resumes a paused sandbox', async () => {
    assert.equal(statSync(privateDir).mode & 0o777, 0o700);
    await using sbx = await t.engine.create({ template: 'debian-13' });
    await sbx.exec('echo kept > /tmp/state');
    await sbx.pause();
    await sbx.resume();
    assert.equal((await sbx.exec('cat /tmp/state')).stdout, 'kept\n');
  });
});
