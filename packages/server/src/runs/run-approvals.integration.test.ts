import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TestModelServer } from '@runtools/agent/testing';
import { waitFor as waitUntil } from '@runtools/sandbox/testing';
import type { RunEvent, Run as RunJson } from '@runtools/sdk';
import { RunTools } from '@runtools/sdk/client';
import { type Database, openDatabase } from '../db/database.ts';
import { type ControlPlane, startControlPlane } from '../testing/control-plane.ts';
import { testBootstrapKey } from '../testing/test-server.ts';

const waitFor = <T>(fn: () => Promise<T | undefined | false>, ms = 60_000) =>
  waitUntil(fn, { timeoutMs: ms, intervalMs: 25 });

interface ErrorJson {
  error: { code: string; message: string };
}

describe('approval of tool calls (sqlite, real sandboxes, the scripted model)', () => {
  const dbDir = mkdtempSync(join(tmpdir(), 'runtools-approvals-'));
  let database: Database;
  let model: TestModelServer;
  let cp: ControlPlane;
  let rt: RunTools;

  /** A deployment of the scripted model whose bash calls wait for approval. */
  async function deploy(slug: string, extra: Record<string, unknown> = {}): Promise<void> {
    const runtime = await cp.request('POST', '/v1/runtimes', {
      body: {
        slug,
        model: { provider: 'custom', endpoint: `${model.url}/v1`, model: 'scripted' },
        systemPrompt: 'You run commands.',
        tools: ['bash'],
        approvals: { bash: 'always' },
        ...extra,
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

  const start = async (slug: string, input: string) => {
    const started = await cp.request('POST', `/v1/run/${slug}`, { body: { input, async: true } });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    return (started.body as { runId: string }).runId;
  };
  const waiting = (runId: string) =>
    waitFor(async () => {
      const run = await rt.runs.get(runId);
      assert.ok(run.status !== 'failed', JSON.stringify(run.error));
      return run.status === 'waiting' ? run : undefined;
    });
  const ended = (runId: string) =>
    waitFor(async () => {
      const run = await rt.runs.get(runId);
      return ['completed', 'failed', 'cancelled'].includes(run.status) ? run : undefined;
    });
  const events = (runId: string) => cp.store.events.listSince(runId);
  const kinds = (list: RunEvent[]) =>
    list.map((e) =>
      e.type === 'status'
        ? `status:${e.status}${e.reason ? `/${e.reason}` : ''}`
        : e.type === 'approval_resolved'
          ? `approval_resolved:${e.decision}`
          : e.type,
    );

  before(async () => {
    database = await openDatabase({ kind: 'sqlite', dataDir: dbDir });
    model = await TestModelServer.start();
    cp = await startControlPlane(database);
    rt = new RunTools({ baseUrl: cp.url, apiKey: testBootstrapKey });
    await deploy('careful');
    await deploy('hasty', { approvalTimeoutMs: 1000 });
  });

  after(async () => {
    await cp?.close();
    await model?.close();
    await database?.close();
    rmSync(dbDir, { recursive: true, force: true });
  });

  it('approved: the run waits with its sandbox paused, then goes on in the same sandbox, processes and files kept', async () => {
    model.push(
      {
        toolCalls: [
          {
            name: 'bash',
            input: {
              command: 'echo kept > /root/marker; nohup sleep 600 >/dev/null 2>&1 & echo $!',
            },
          },
        ],
      },
      { toolCalls: [{ name: 'bash', input: { command: 'cat /root/marker; pgrep -x sleep' } }] },
      { text: 'Both ran.' },
    );
    const runId = await start('careful', 'two commands');

    // The first call waits; the run's JSON and the event both say what for.
    const first = await waiting(runId);
    const approval = first.approval;
    assert.ok(approval);
    assert.equal(approval.tool, 'bash');
    assert.match(JSON.stringify(approval.input), /echo kept/);
    assert.ok(Date.parse(approval.expiresAt) > Date.now() + 3600_000, 'a day by default');
    const requested = (await events(runId)).find((e) => e.type === 'approval_requested');
    assert.deepEqual(
      requested?.type === 'approval_requested'
        ? { callId: requested.callId, tool: requested.tool, input: requested.input }
        : undefined,
      { callId: approval.callId, tool: 'bash', input: approval.input },
    );
    const stored = await cp.store.runs.require(runId);
    assert.ok(stored.sandboxId);
    assert.equal(cp.engine.get(stored.sandboxId).state, 'paused', 'no CPU while a person decides');

    const answered = await rt.runs.approve(runId, approval.callId);
    assert.equal(answered.status, 'queued');
    assert.equal(answered.approval, null);

    // The second call waits too: the first one's process is still there after this pause.
    const second = await waiting(runId);
    assert.notEqual(second.approval?.callId, approval.callId);
    assert.equal((await cp.store.runs.require(runId)).sandboxId, stored.sandboxId);
    assert.equal(cp.engine.get(stored.sandboxId).state, 'paused');
    await rt.runs.approve(runId, second.approval?.callId ?? '', { reason: 'looks safe' });

    const done = await ended(runId);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    const log = await events(runId);
    const results = log.flatMap((e) => (e.type === 'tool_result' ? [e] : []));
    const pid = results[0]?.output.split('\n')[0];
    assert.match(pid ?? '', /^\d+$/);
    assert.equal(results[1]?.isError, false);
    assert.match(results[1]?.output ?? '', new RegExp(`^kept\\n${pid}\\n`), 'the same process');
    assert.deepEqual(
      kinds(log).filter((k, i, all) => k !== 'text' || all[i - 1] !== 'text'),
      [
        'status:running',
        'tool_call',
        'approval_requested',
        'status:waiting/approval',
        'approval_resolved:approved',
        'status:queued/approval_approved',
        'status:running/resumed',
        'tool_result',
        'step',
        'tool_call',
        'approval_requested',
        'status:waiting/approval',
        'approval_resolved:approved',
        'status:queued/approval_approved',
        'status:running/resumed',
        'tool_result',
        'step',
        'text',
        'step',
        'complete',
        'status:completed',
      ],
    );
    // Each tool_call once, though the run went through three executions.
    assert.deepEqual(
      log.map((e) => e.seq),
      log.map((_, i) => i + 1),
    );
    await waitFor(async () => cp.engine.list().length === 0);
  });

  it('denied: the model gets the denial with its reason as the call result and goes on; the command never ran', async () => {
    model.push(
      { toolCalls: [{ name: 'bash', input: { command: 'touch /root/should-not-exist' } }] },
      { toolCalls: [{ name: 'bash', input: { command: 'ls /root' } }] },
      { text: 'Understood.' },
    );
    const runId = await start('careful', 'touch it');
    const first = await waiting(runId);
    const denied = await rt.runs.deny(runId, first.approval?.callId ?? '', {
      reason: 'not on production',
    });
    assert.equal(denied.status, 'queued');
    // Answering again the same way is fine (a retry); the other way is too late.
    await rt.runs.deny(runId, first.approval?.callId ?? '', { reason: 'not on production' });
    const late = await cp.request('POST', `/v1/runs/${runId}/approvals/${first.approval?.callId}`, {
      body: { approved: true },
    });
    assert.ok(late.status === 409 || late.status === 404, JSON.stringify(late.body));

    const second = await waiting(runId);
    await rt.runs.approve(runId, second.approval?.callId ?? '');
    const done = await ended(runId);
    assert.equal(done.status, 'completed');
    const results = (await events(runId)).flatMap((e) => (e.type === 'tool_result' ? [e] : []));
    assert.equal(results[0]?.isError, true);
    assert.match(results[0]?.output ?? '', /denied.*not on production/);
    assert.doesNotMatch(
      results[1]?.output ?? '',
      /should-not-exist/,
      'the denied call did not run',
    );
    // The model saw the denial as the call's result.
    assert.match(JSON.stringify(model.requests.at(-2)?.messages), /not on production/);
  });

  it('expired: no answer in approvalTimeoutMs denies the call, and the run goes on', async () => {
    model.push(
      { toolCalls: [{ name: 'bash', input: { command: 'echo unattended' } }] },
      { text: 'Nobody answered.' },
    );
    const runId = await start('hasty', 'wait for nobody');
    const run = await waiting(runId);
    assert.ok(Date.parse(run.approval?.expiresAt ?? '') - Date.now() <= 1000);
    const done = await ended(runId);
    assert.equal(done.status, 'completed');
    const log = await events(runId);
    assert.ok(kinds(log).includes('approval_resolved:expired'), kinds(log).join(','));
    const result = log.find((e) => e.type === 'tool_result');
    assert.equal(result?.type === 'tool_result' && result.isError, true);
    assert.match(result?.type === 'tool_result' ? result.output : '', /no answer in time/);
  });

  it('a synchronous run answers 202 with the approval; a cancel while waiting deletes the kept sandbox', async () => {
    model.push({ toolCalls: [{ name: 'bash', input: { command: 'echo never' } }] });
    const sync = await cp.request('POST', '/v1/run/careful', { body: { input: 'sync' } });
    assert.equal(sync.status, 202, JSON.stringify(sync.body));
    const body = sync.body as { runId: string; status: string; approval?: { tool: string } };
    assert.equal(body.status, 'waiting');
    assert.equal(body.approval?.tool, 'bash');

    const stored = await cp.store.runs.require(body.runId);
    assert.ok(stored.sandboxId);
    const cancelled = await rt.runs.cancel(body.runId);
    assert.equal(cancelled.status, 'cancelled');
    const gone = () => {
      try {
        return cp.engine.get(stored.sandboxId as string).state === 'stopped';
      } catch {
        return true;
      }
    };
    assert.ok(gone(), 'the kept sandbox is deleted');
    const answer = await cp.request(
      'POST',
      `/v1/runs/${body.runId}/approvals/${stored.approval?.callId}`,
      { body: { approved: true } },
    );
    assert.ok([404, 409].includes(answer.status), JSON.stringify(answer.body));
  });

  it('refuses answers that do not fit: an unknown call, a run that waits for nothing, a bad body', async () => {
    model.push({ toolCalls: [{ name: 'bash', input: { command: 'echo x' } }] });
    const runId = await start('careful', 'bad answers');
    await waiting(runId);
    const unknown = await cp.request('POST', `/v1/runs/${runId}/approvals/call_nope`, {
      body: { approved: true },
    });
    assert.equal(unknown.status, 404);
    assert.equal((unknown.body as ErrorJson).error.code, 'approval_not_found');
    // Keys that may not answer it: one without the run scope, one restricted to another deployment.
    const callId = (await rt.runs.get(runId)).approval?.callId ?? '';
    const deployer = await rt.apiKeys.create({ name: 'deployer', scopes: ['deploy'] });
    const other = await rt.apiKeys.create({ name: 'other app', deployments: ['hasty'] });
    const asDeployer = await cp.request('POST', `/v1/runs/${runId}/approvals/${callId}`, {
      body: { approved: true },
      headers: { authorization: `Bearer ${deployer.key}` },
    });
    assert.equal(asDeployer.status, 403);
    const asOther = await cp.request('POST', `/v1/runs/${runId}/approvals/${callId}`, {
      body: { approved: true },
      headers: { authorization: `Bearer ${other.key}` },
    });
    assert.equal(asOther.status, 404, 'a run of another deployment is not there for it');
    assert.equal((await rt.runs.get(runId)).status, 'waiting', 'neither answer was taken');
    for (const body of [{}, { approved: 'yes' }, { approved: true, extra: 1 }]) {
      const bad = await cp.request('POST', `/v1/runs/${runId}/approvals/call_nope`, { body });
      assert.equal(bad.status, 400, JSON.stringify(body));
    }
    const missing = await cp.request('POST', '/v1/runs/run_missing/approvals/call_1', {
      body: { approved: true },
    });
    assert.equal(missing.status, 404);
    // A pause of a waiting run is refused (it already stands still); a cancel works.
    const pause = await cp.request('POST', `/v1/runs/${runId}/pause`);
    assert.equal(pause.status, 409);
    assert.equal((await rt.runs.cancel(runId)).status, 'cancelled');
    const after = (await rt.runs.get(runId)) as RunJson;
    assert.equal(after.approval, null);
  });

  it('refuses an approvals entry that names no tool of the agent (a typo would let calls through)', async () => {
    await deploy('typo', { approvals: { bsh: 'always' } });
    const runId = await start('typo', 'go');
    const done = await ended(runId);
    assert.equal(done.status, 'failed');
    assert.equal(done.error?.code, 'invalid_agent');
    assert.match(done.error?.message ?? '', /bsh/);
    const calls = (await events(runId)).filter((e) => e.type === 'tool_call');
    assert.equal(calls.length, 0);
  });
});
