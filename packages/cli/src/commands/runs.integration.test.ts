import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { waitFor as waitUntil } from '@runtools/sandbox/testing';
import type { Run, RunEvent } from '@runtools/sdk';
import {
  CliProcess,
  type CliServer,
  hasEscapeCodes,
  runCli,
  startCliServer,
} from '../testing/remote-cli-fixture.ts';

const waitFor = <T>(fn: () => Promise<T | undefined | false>, ms = 60_000) =>
  waitUntil(fn, { timeoutMs: ms, intervalMs: 50 });

describe('runtools logs and runs (the CLI as a child process, a real server)', () => {
  let cp: CliServer;
  let finishedRunId: string;

  const startRun = async (input: string) =>
    (await cp.rt.run('logger', input, { wait: false })).runId;
  const waitForStatus = (runId: string, status: string) =>
    waitFor(async () => {
      const run = await cp.rt.runs.get(runId);
      return run.status === status ? run : undefined;
    });

  before(async () => {
    cp = await startCliServer();
    await cp.deployScriptedAgent('logger');
    await cp.deployScriptedAgent('other');
    cp.model.push(
      { toolCalls: [{ name: 'bash', input: { command: 'echo logged-output' } }] },
      { text: 'Logged answer.' },
    );
    const result = await cp.rt.run('logger', 'make some logs');
    assert.equal(result.status, 'completed');
    finishedRunId = result.runId;
  });
  after(async () => {
    await cp?.[Symbol.asyncDispose]();
  });

  it('logs replays a finished run as run would have drawn it', async () => {
    const result = await runCli(['logs', finishedRunId], { env: cp.env });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /▸ bash command="echo logged-output"/);
    assert.match(result.stdout, /⎿ logged-output/);
    assert.match(result.stdout, /Logged answer\./);
    assert.match(result.stdout, /✔ completed/);
    assert.equal(hasEscapeCodes(result.stdout), false);
  });

  it('logs --json prints the stored events, one per line; --after skips the first ones', async () => {
    const events = await cp.rt.runs.events(finishedRunId);
    const all = await runCli(['logs', finishedRunId, '--json'], { env: cp.env });
    assert.equal(all.code, 0, all.stderr);
    const printed = all.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as RunEvent);
    assert.deepEqual(printed, events);
    const tail = await runCli(['logs', finishedRunId, '--json', '--after', '3'], { env: cp.env });
    assert.deepEqual(
      tail.stdout
        .trimEnd()
        .split('\n')
        .map((line) => (JSON.parse(line) as RunEvent).seq),
      events.slice(3).map((e) => e.seq),
    );
  });

  it('logs --follow streams a live run until it ends, then exits 0', async () => {
    // The last answer is held until the check below: the run cannot end before it.
    let release = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    cp.model.push(
      { toolCalls: [{ name: 'bash', input: { command: 'echo followed' } }] },
      { text: 'Followed to the end.', hold: released },
    );
    const runId = await startRun('follow me');
    using cli = new CliProcess(['logs', runId, '--follow'], { env: cp.env });
    await cli.waitForOutput(/▸ bash/);
    // The run is still going when the command has already printed its first events.
    assert.notEqual((await cp.rt.runs.get(runId)).status, 'completed');
    release();
    const result = await cli.exited;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /⎿ followed/);
    assert.match(result.stdout, /Followed to the end\.\n[\s\S]*✔ completed\n$/);
  });

  it('logs of an unknown run is a not-found error (exit 1)', async () => {
    const result = await runCli(['logs', 'run_doesnotexist'], { env: cp.env });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /run_not_found/);
  });

  it('runs list shows id, deployment slug, status and creation time; filters by status and deployment', async () => {
    cp.model.push({ text: 'Other answer.' });
    const other = await cp.rt.run('other', 'other run');
    const result = await runCli(['runs', 'list'], { env: cp.env });
    assert.equal(result.code, 0, result.stderr);
    const [header, ...rows] = result.stdout.trimEnd().split('\n');
    assert.match(header ?? '', /^ID\s+DEPLOYMENT\s+STATUS\s+CREATED$/);
    const finished = rows.find((row) => row.startsWith(finishedRunId));
    assert.match(finished ?? '', /\slogger\s+completed\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/);
    assert.ok(rows.some((row) => row.startsWith(other.runId) && /\sother\s/.test(row)));

    const json = await runCli(['runs', 'list', '--json', '--deployment', 'other'], {
      env: cp.env,
    });
    const runs = JSON.parse(json.stdout) as Run[];
    assert.deepEqual(
      runs.map((r) => r.id),
      [other.runId],
    );
    const failed = await runCli(['runs', 'list', '--json', '--status', 'failed'], {
      env: cp.env,
    });
    assert.deepEqual(JSON.parse(failed.stdout), []);
    const limited = await runCli(['runs', 'list', '--json', '-n', '1'], { env: cp.env });
    assert.equal((JSON.parse(limited.stdout) as Run[]).length, 1);
  });

  it('runs list refuses a status that does not exist (usage, exit 2)', async () => {
    const result = await runCli(['runs', 'list', '--status', 'sleeping'], { env: cp.env });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /Allowed choices are queued, running, paused/);
  });

  it('runs get shows the run with its output and an events summary; --json adds the events', async () => {
    const result = await runCli(['runs', 'get', finishedRunId], { env: cp.env });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`^id\\s+${finishedRunId}$`, 'm'));
    assert.match(result.stdout, /^deployment\s+logger \(dep_\w+\)$/m);
    assert.match(result.stdout, /^status\s+completed$/m);
    assert.match(result.stdout, /^input\s+make some logs$/m);
    assert.match(result.stdout, /^output\s+Logged answer\.$/m);
    assert.match(result.stdout, /^events\s+\d+ events: 2 steps, 1 tool call \(bash ×1\)/m);
    const json = await runCli(['runs', 'get', finishedRunId, '--json'], { env: cp.env });
    const run = JSON.parse(json.stdout) as Run & { events: RunEvent[] };
    assert.equal(run.id, finishedRunId);
    assert.deepEqual(run.events, await cp.rt.runs.events(finishedRunId));
  });

  it('runs pause, resume and cancel control a live run', async () => {
    cp.model.push(
      { toolCalls: [{ name: 'bash', input: { command: 'echo step-one' } }] },
      // Never answered: the run waits in this model call until the pause abandons it (it is
      // asked again on resume, and gets the next turn), so it cannot finish before the pause.
      { text: 'Not this one.', hold: new Promise(() => {}) },
      { text: 'Resumed and finished.' },
    );
    const runId = await startRun('pause me');
    await waitFor(async () => (await cp.rt.runs.events(runId)).some((e) => e.type === 'step'));
    const paused = await runCli(['runs', 'pause', runId], { env: cp.env });
    assert.equal(paused.code, 0, paused.stderr);
    assert.match(paused.stdout, new RegExp(`^${runId}: `));
    await waitForStatus(runId, 'paused');
    const resumed = await runCli(['runs', 'resume', runId, '--json'], { env: cp.env });
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal((JSON.parse(resumed.stdout) as Run).id, runId);
    const done = await waitForStatus(runId, 'completed');
    assert.deepEqual(done.output, { ...(done.output as object), text: 'Resumed and finished.' });

    cp.model.push({ toolCalls: [{ name: 'bash', input: { command: 'sleep 60' } }] });
    const doomed = await startRun('cancel me');
    await waitForStatus(doomed, 'running');
    const cancelled = await runCli(['runs', 'cancel', doomed], { env: cp.env });
    assert.equal(cancelled.code, 0, cancelled.stderr);
    await waitForStatus(doomed, 'cancelled');
    // A run that has ended cannot be cancelled: the API's error, exit 1.
    const again = await runCli(['runs', 'cancel', finishedRunId], { env: cp.env });
    assert.equal(again.code, 1);
    assert.match(again.stderr, /run_state/);
  });
});
