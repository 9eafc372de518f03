import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TestModelServer } from '@runtools/agent/testing';
import { waitFor as waitUntil } from '@runtools/sandbox/testing';
import type { Run, RunEvent } from '@runtools/sdk';
import { RunTools } from '@runtools/sdk/client';
import { type Database, openDatabase } from '../db/database.ts';
import { type ControlPlane, startControlPlane } from '../testing/control-plane.ts';
import { testBootstrapKey } from '../testing/test-server.ts';

const waitFor = <T>(fn: () => Promise<T | undefined | false>, ms = 60_000) =>
  waitUntil(fn, { timeoutMs: ms, intervalMs: 25 });

/** The workflow events of a log, as `kind:step` (and `approval_*`) in order. */
function flow(events: RunEvent[]): string[] {
  return events.flatMap((e) => {
    if (e.type === 'workflow_step_started') return [`start:${e.stepId}`];
    if (e.type === 'workflow_step_completed') return [`done:${e.stepId}`];
    if (e.type === 'workflow_step_failed') return [`fail:${e.stepId}:${e.code}`];
    if (e.type === 'approval_requested') return [`ask:${e.tool}`];
    if (e.type === 'approval_resolved') return [`answer:${e.decision}`];
    return [];
  });
}

const outputOf = (events: RunEvent[], stepId: string) =>
  events.flatMap((e) =>
    e.type === 'workflow_step_completed' && e.stepId === stepId ? [e.output] : [],
  )[0];

describe('workflows (sqlite, real sandboxes, the scripted model)', () => {
  const dbDir = mkdtempSync(join(tmpdir(), 'runtools-workflows-'));
  let database: Database;
  let model: TestModelServer;
  let cp: ControlPlane;
  let rt: RunTools;

  async function deploy(slug: string, workflow: unknown): Promise<void> {
    const runtime = await cp.request('POST', '/v1/runtimes', {
      body: {
        slug,
        model: { provider: 'custom', endpoint: `${model.url}/v1`, model: 'scripted' },
        systemPrompt: 'You work step by step.',
        tools: ['bash'],
        workflow,
      },
    });
    assert.equal(runtime.status, 201, JSON.stringify(runtime.body));
    const deployment = await cp.request('POST', '/v1/deployments', {
      body: {
        apiSlug: slug,
        runtimeId: (runtime.body as { id: string }).id,
        template: 'debian-13',
      },
    });
    assert.equal(deployment.status, 201, JSON.stringify(deployment.body));
  }

  const start = async (slug: string, input: string) =>
    (await rt.run(slug, input, { wait: false })).runId;
  const ended = (runId: string) =>
    waitFor(async () => {
      const run = await rt.runs.get(runId);
      return ['completed', 'failed', 'cancelled'].includes(run.status) ? run : undefined;
    });
  const waiting = (runId: string): Promise<Run> =>
    waitFor(async () => {
      const run = await rt.runs.get(runId);
      assert.ok(!['completed', 'failed', 'cancelled'].includes(run.status), run.status);
      return run.status === 'waiting' ? run : undefined;
    });
  const events = (runId: string) => cp.store.events.listSince(runId);

  before(async () => {
    database = await openDatabase({ kind: 'sqlite', dataDir: dbDir });
    model = await TestModelServer.start();
    cp = await startControlPlane(database);
    rt = new RunTools({ baseUrl: cp.url, apiKey: testBootstrapKey });
    await deploy('triage', {
      start: 'triage',
      steps: {
        triage: {
          kind: 'agent',
          prompt: 'Classify this request: {{input}}',
          output: {
            type: 'object',
            properties: { category: { type: 'string', enum: ['bug', 'question'] } },
            required: ['category'],
          },
          next: 'route',
        },
        route: {
          kind: 'branch',
          on: 'steps.triage.output.category',
          cases: { bug: 'reproduce', question: 'answer' },
        },
        reproduce: {
          kind: 'tool',
          tool: 'bash',
          input: { command: 'echo reproducing a {{steps.triage.output.category}}' },
          next: 'report',
        },
        report: { kind: 'agent', prompt: 'Report on: {{steps.reproduce.output}}' },
        answer: { kind: 'agent', prompt: 'Answer the question: {{input}}' },
      },
    });
    await deploy('fanout', {
      start: 'both',
      steps: {
        both: { kind: 'parallel', steps: ['left', 'right', 'apart'], next: 'join' },
        left: {
          kind: 'tool',
          tool: 'bash',
          input: { command: 'date +%s%N; sleep 1; echo left > /root/left; date +%s%N' },
        },
        right: {
          kind: 'tool',
          tool: 'bash',
          input: { command: 'date +%s%N; sleep 1; date +%s%N' },
        },
        apart: {
          kind: 'tool',
          tool: 'bash',
          input: { command: 'sleep 1.5; cat /root/left 2>&1 || true' },
          sandbox: 'own',
        },
        join: { kind: 'tool', tool: 'bash', input: { command: 'cat /root/left' } },
      },
    });
    await deploy('gated', {
      start: 'prepare',
      steps: {
        prepare: {
          kind: 'tool',
          tool: 'bash',
          input: { command: 'echo built-before-the-gate > /root/artifact' },
          next: 'gate',
        },
        gate: {
          kind: 'approval',
          message: 'Ship {{steps.prepare.output}}?',
          next: 'ship',
          denied: 'shelve',
        },
        ship: { kind: 'tool', tool: 'bash', input: { command: 'cat /root/artifact' } },
        shelve: { kind: 'tool', tool: 'bash', input: { command: 'echo shelved' } },
      },
    });
  });

  after(async () => {
    await cp?.close();
    await model?.close();
    await database?.close();
    rmSync(dbDir, { recursive: true, force: true });
  });

  it("triage → branch → two paths: each path taken by the model's structured answer", async () => {
    model.push({ text: '{"category":"bug"}' }, { text: 'Reproduced it.' });
    const bug = await ended(await start('triage', 'The app crashes on save'));
    assert.equal(bug.status, 'completed', JSON.stringify(bug.error));
    const bugEvents = await events(bug.id);
    assert.deepEqual(flow(bugEvents), [
      'start:triage',
      'done:triage',
      'start:route',
      'done:route',
      'start:reproduce',
      'done:reproduce',
      'start:report',
      'done:report',
    ]);
    assert.deepEqual(outputOf(bugEvents, 'triage'), { category: 'bug' });
    assert.deepEqual(outputOf(bugEvents, 'route'), { value: 'bug', next: 'reproduce' });
    assert.match(String(outputOf(bugEvents, 'reproduce')), /^reproducing a bug/);
    assert.equal((bug.output as { text: string }).text, 'Reproduced it.');
    // The prompts were filled in from the input and the earlier outputs.
    assert.match(JSON.stringify(model.requests.at(-2)?.messages), /The app crashes on save/);
    assert.match(JSON.stringify(model.requests.at(-1)?.messages), /Report on: reproducing a bug/);
    // The events inside a step say which step they belong to.
    const toolCall = bugEvents.find((e) => e.type === 'tool_call');
    assert.equal(toolCall?.type === 'tool_call' && toolCall.workflowStep, 'reproduce');

    // The other path; an answer that is not the schema's is asked again, once.
    model.push(
      { text: 'It is a question.' },
      { text: '{"category":"question"}' },
      { text: 'Yes.' },
    );
    const question = await ended(await start('triage', 'Can I export to CSV?'));
    assert.equal(question.status, 'completed', JSON.stringify(question.error));
    assert.deepEqual(flow(await events(question.id)), [
      'start:triage',
      'done:triage',
      'start:route',
      'done:route',
      'start:answer',
      'done:answer',
    ]);
    assert.match(
      JSON.stringify(model.requests.at(-2)?.messages),
      /does not match the required JSON schema/,
    );
  });

  it('a parallel step runs its steps at once (one in a sandbox of its own), then joins', async () => {
    const started = Date.now();
    const run = await ended(await start('fanout', 'go'));
    const took = Date.now() - started;
    assert.equal(run.status, 'completed', JSON.stringify(run.error));
    const log = await events(run.id);
    const both = outputOf(log, 'both') as Record<string, string>;
    const [leftStart, leftEnd] = both.left?.split('\n').map(Number) ?? [];
    const [rightStart, rightEnd] = both.right?.split('\n').map(Number) ?? [];
    assert.ok(leftStart && leftEnd && rightStart && rightEnd, JSON.stringify(both));
    assert.ok(rightStart < leftEnd && leftStart < rightEnd, 'the two ran at the same time');
    assert.ok(took < 3500, `three steps of 1–1.5 s took ${took} ms in all`);
    // Its own sandbox does not see the shared one's files; the step after the join does.
    assert.match(both.apart ?? '', /No such file/);
    assert.equal(String(outputOf(log, 'join')).trim(), 'left');
    assert.deepEqual(
      flow(log)
        .filter((f) => f.startsWith('done:'))
        .at(-2),
      'done:both',
    );
    await waitFor(async () => cp.engine.list().length === 0);
  });

  it('an approval step waits with the sandbox paused, and goes on after the answer', async () => {
    const runId = await start('gated', 'ship it');
    const run = await waiting(runId);
    assert.equal(run.approval?.tool, 'gate');
    assert.deepEqual(run.approval?.input, { message: 'Ship ?' });
    const stored = await cp.store.runs.require(runId);
    assert.equal(cp.engine.get(stored.sandboxId ?? '').state, 'paused');
    await rt.runs.approve(runId, run.approval?.callId ?? '');
    const done = await ended(runId);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    const log = await events(runId);
    assert.deepEqual(flow(log), [
      'start:prepare',
      'done:prepare',
      'start:gate',
      'ask:gate',
      'answer:approved',
      'done:gate',
      'start:ship',
      'done:ship',
    ]);
    assert.equal(String(outputOf(log, 'ship')).trim(), 'built-before-the-gate');

    // Denied: the workflow takes the gate's `denied` way.
    const other = await start('gated', 'not today');
    const asked = await waiting(other);
    await rt.runs.deny(other, asked.approval?.callId ?? '', { reason: 'freeze' });
    const shelved = await ended(other);
    assert.equal(shelved.status, 'completed');
    const otherLog = await events(other);
    assert.deepEqual(outputOf(otherLog, 'gate'), {
      approved: false,
      decision: 'denied',
      reason: 'freeze',
    });
    assert.equal(String(outputOf(otherLog, 'shelve')).trim(), 'shelved');
  });

  it('pauses, resumes and cancels mid-workflow', async () => {
    // Paused inside the report step's model call (held): the step continues on resume.
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const asked = model.requests.length;
    model.push(
      { text: '{"category":"bug"}' },
      { hold: held, text: 'never sent' },
      { text: 'Reported after the pause.' },
    );
    const runId = await start('triage', 'Pause me');
    await waitFor(async () => model.requests.length >= asked + 2);
    const paused = await rt.runs.pause(runId);
    assert.equal(paused.status, 'paused');
    release();
    const log = await events(runId);
    assert.deepEqual(flow(log).slice(-2), ['done:reproduce', 'start:report']);
    await rt.runs.resume(runId);
    const done = await ended(runId);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.equal((done.output as { text: string }).text, 'Reported after the pause.');
    const after = flow(await events(runId));
    // Each step started once: the report step went on where it stopped.
    assert.deepEqual(after, [
      'start:triage',
      'done:triage',
      'start:route',
      'done:route',
      'start:reproduce',
      'done:reproduce',
      'start:report',
      'done:report',
    ]);

    // Cancelled while it waits at a gate: no step after it runs.
    const gated = await start('gated', 'cancel me');
    await waiting(gated);
    assert.equal((await rt.runs.cancel(gated)).status, 'cancelled');
    assert.deepEqual(flow(await events(gated)), [
      'start:prepare',
      'done:prepare',
      'start:gate',
      'ask:gate',
    ]);
  });

  it('refuses an invalid workflow when the runtime is created, naming the step', async () => {
    const bad = await cp.request('POST', '/v1/runtimes', {
      body: {
        slug: 'broken-flow',
        model: 'auto',
        tools: ['bash'],
        workflow: {
          start: 'a',
          steps: {
            a: { kind: 'agent', prompt: 'x', next: 'b' },
            b: { kind: 'branch', on: 'steps.a.output', cases: { x: 'a' }, default: 'a' },
            c: { kind: 'agent', prompt: 'never' },
          },
        },
      },
    });
    assert.equal(bad.status, 400);
    const text = JSON.stringify(bad.body);
    assert.match(text, /step \\"c\\" is unreachable/);
    assert.match(text, /form a cycle with no way out/);
  });
});
