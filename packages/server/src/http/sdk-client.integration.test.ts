import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TestModelServer } from '@runtools/agent/testing';
import { waitFor } from '@runtools/sandbox/testing';
import {
  type Deployment,
  type RunEvent,
  RunTools,
  RunToolsApiError,
  RunToolsError,
  type Runtime,
} from '@runtools/sdk';
import { type Database, openDatabase } from '../db/database.ts';
import { type ControlPlane, startControlPlane } from '../testing/control-plane.ts';
import { testBootstrapKey } from '../testing/test-server.ts';
import { createApp } from './create-app.ts';
import { silentLogger } from './logger.ts';
import { serve } from './serve.ts';

function oneToN(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1);
}

function seqs(events: RunEvent[]): number[] {
  return events.map((e) => e.seq);
}

/** Asserts that `promise` rejects with a `RunToolsApiError` of this status and code. */
async function rejectsWith(
  promise: Promise<unknown>,
  status: number,
  code: string,
): Promise<RunToolsApiError> {
  const error = await promise.then(
    () => assert.fail(`expected ${status} ${code}`),
    (e: unknown) => e,
  );
  assert.ok(error instanceof RunToolsApiError, String(error));
  assert.ok(error instanceof RunToolsError);
  assert.equal(error.status, status);
  assert.equal(error.code, code);
  return error;
}

/**
 * A fetch that, while armed, cuts the next run event stream after `frames` SSE frames have been
 * delivered (the body errors as a reset connection would), and records each stream's `after`.
 */
function droppingFetch(frames: number) {
  const state = { armed: false, drops: 0, afters: [] as number[] };
  const wrapped: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    const url = new URL(String(input));
    if (!url.pathname.endsWith('/events')) return response;
    state.afters.push(Number(url.searchParams.get('after')));
    if (!state.armed || response.body === null) return response;
    state.armed = false;
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let seen = 0;
    const body = new ReadableStream<Uint8Array>(
      {
        async pull(controller) {
          if (seen >= frames) {
            state.drops++;
            await reader.cancel();
            controller.error(new TypeError('terminated: connection reset (test)'));
            return;
          }
          const { done, value } = await reader.read();
          if (done) return controller.close();
          seen += decoder.decode(value, { stream: true }).split('\n\n').length - 1;
          controller.enqueue(value);
        },
        cancel: (reason) => reader.cancel(reason),
      },
      { highWaterMark: 0 },
    );
    return new Response(body, { status: response.status, headers: response.headers });
  };
  return { fetch: wrapped, state };
}

describe('SDK client against the real control plane (sqlite, real sandboxes)', () => {
  const dbDir = mkdtempSync(join(tmpdir(), 'runtools-sdk-client-'));
  let database: Database;
  let model: TestModelServer;
  let cp: ControlPlane;
  let rt: RunTools;
  let runtime: Runtime;
  let deployment: Deployment;

  before(async () => {
    database = await openDatabase({ kind: 'sqlite', dataDir: dbDir });
    model = await TestModelServer.start();
    cp = await startControlPlane(database, { app: { runWaitMs: 30_000 } });
    rt = new RunTools({ apiKey: testBootstrapKey, baseUrl: cp.url });
  });
  after(async () => {
    await cp?.close();
    await model?.close();
    await database?.close();
    rmSync(dbDir, { recursive: true, force: true });
  });

  it('creates a runtime and a deployment, then rt.run() waits for the output', async () => {
    runtime = await rt.runtimes.create({
      slug: 'writer',
      model: { provider: 'custom', endpoint: `${model.url}/v1`, model: 'scripted' },
      systemPrompt: 'You write files.',
      tools: ['bash'],
    });
    assert.equal(runtime.slug, 'writer');
    assert.equal(runtime.version, 1);
    deployment = await rt.deployments.create({
      apiSlug: 'writer',
      runtimeId: runtime.id,
      template: 'debian-13',
    });
    assert.equal(deployment.runtimeId, runtime.id);

    model.push(
      { toolCalls: [{ name: 'bash', input: { command: 'echo from-the-sandbox' } }] },
      { text: 'All done.' },
    );
    const result = await rt.run('writer', 'say hi', { metadata: { from: 'sdk' } });
    assert.equal(result.status, 'completed');
    assert.deepEqual(result.output, { ...(result.output as object), text: 'All done.' });
    assert.equal(result.error, null);
    const run = await rt.runs.get(result.runId);
    assert.deepEqual(run.metadata, { from: 'sdk' });
    assert.equal(run.deploymentId, deployment.id);
    const events = await rt.runs.events(result.runId);
    assert.deepEqual(seqs(events), oneToN(run.lastSeq));
    const toolResult = events.find((e) => e.type === 'tool_result');
    assert.match(toolResult?.type === 'tool_result' ? toolResult.output : '', /from-the-sandbox/);
    assert.deepEqual(
      (await rt.runs.events(result.runId, { after: run.lastSeq - 1 })).map((e) => e.seq),
      [run.lastSeq],
    );
    const listed = await rt.runs.list({ deploymentId: deployment.id, status: 'completed' });
    assert.ok(listed.data.some((r) => r.id === result.runId));
  });

  it('manages runtimes, deployments, webhooks and API keys', async () => {
    assert.deepEqual(await rt.runtimes.get(runtime.id), runtime);
    const versions = await rt.runtimes.list({ slug: 'writer' });
    assert.deepEqual(
      versions.data.map((r) => r.id),
      [runtime.id],
    );
    const spare = await rt.runtimes.create({
      slug: 'spare',
      model: 'scripted-model',
      systemPrompt: 'Spare.',
    });
    const updated = await rt.runtimes.update(spare.id, {
      slug: 'spare',
      model: 'scripted-model',
      systemPrompt: 'Spare, updated.',
    });
    assert.equal(updated.definition.systemPrompt, 'Spare, updated.');
    const spareDeployment = await rt.deployments.create({
      apiSlug: 'spare',
      runtimeId: spare.id,
      template: 'debian-13',
    });
    const moved = await rt.deployments.update(spareDeployment.id, { apiSlug: 'spare-two' });
    assert.equal(moved.apiSlug, 'spare-two');
    assert.deepEqual(await rt.deployments.get(spareDeployment.id), moved);
    const page = await rt.deployments.list({ limit: 1 });
    assert.equal(page.data.length, 1);
    assert.ok(page.nextCursor);
    const next = await rt.deployments.list({ limit: 1, cursor: page.nextCursor });
    assert.notEqual(next.data[0]?.id, page.data[0]?.id);
    await rt.deployments.delete(spareDeployment.id);
    await rejectsWith(rt.deployments.get(spareDeployment.id), 404, 'deployment_not_found');
    await rt.runtimes.delete(spare.id);
    await rejectsWith(rt.runtimes.get(spare.id), 404, 'runtime_not_found');

    const webhook = await rt.webhooks.create({
      url: 'http://127.0.0.1:9/hook',
      events: ['run.completed'],
      deploymentId: deployment.id,
    });
    assert.match(webhook.secret, /^whsec_/);
    const { secret: _secret, ...stored } = webhook;
    assert.deepEqual(await rt.webhooks.get(webhook.id), stored);
    const hooks = await rt.webhooks.list({ deploymentId: deployment.id });
    assert.deepEqual(
      hooks.data.map((w) => w.id),
      [webhook.id],
    );
    assert.deepEqual((await rt.webhooks.deliveries(webhook.id)).data, []);
    await rejectsWith(
      rt.webhooks.redeliver(webhook.id, 'del_nope'),
      404,
      'webhook_delivery_not_found',
    );
    await rt.webhooks.delete(webhook.id);
    await rejectsWith(rt.webhooks.get(webhook.id), 404, 'webhook_not_found');

    const created = await rt.apiKeys.create({ name: 'sdk test' });
    assert.ok(created.key.startsWith(created.prefix));
    const withKey = new RunTools({ apiKey: created.key, baseUrl: cp.url });
    assert.ok((await withKey.apiKeys.list()).data.some((k) => k.id === created.id));
    const revoked = await rt.apiKeys.revoke(created.id);
    assert.ok(revoked.revokedAt);
    await rejectsWith(withKey.runtimes.list(), 401, 'unauthorized');
  });

  it('rt.stream() starts the run and yields every event in order, ending at its status', async () => {
    model.push(
      { toolCalls: [{ name: 'bash', input: { command: 'echo streamed' } }] },
      { text: 'Streamed.' },
    );
    let runId = '';
    const events: RunEvent[] = [];
    for await (const event of rt.stream('writer', 'stream it', {
      onRun: (id) => {
        runId = id;
      },
    })) {
      events.push(event);
    }
    assert.ok(runId.length > 0);
    assert.deepEqual(seqs(events), oneToN(events.length));
    assert.deepEqual(events, await rt.runs.events(runId));
    assert.ok(events.some((e) => e.type === 'text'));
    const last = events.at(-1);
    assert.equal(last?.type === 'status' && last.status, 'completed');
    const complete = events.find((e) => e.type === 'complete');
    assert.equal(complete?.type === 'complete' && complete.text, 'Streamed.');
  });

  it('resumes a dropped stream from the last seq it saw: nothing lost, nothing twice', async () => {
    const dropping = droppingFetch(3);
    const client = new RunTools({
      apiKey: testBootstrapKey,
      baseUrl: cp.url,
      fetch: dropping.fetch,
    });
    model.push(
      { toolCalls: [{ name: 'bash', input: { command: 'echo one' } }], delayMs: 60 },
      { toolCalls: [{ name: 'bash', input: { command: 'echo two' } }], delayMs: 60 },
      { text: 'Survived the drop.', delayMs: 60 },
    );
    dropping.state.armed = true;
    let runId = '';
    const events: RunEvent[] = [];
    for await (const event of client.stream('writer', 'drop me', {
      retryDelayMs: 20,
      onRun: (id) => {
        runId = id;
      },
    })) {
      events.push(event);
    }
    assert.equal(dropping.state.drops, 1, 'the first stream was cut');
    assert.equal(dropping.state.afters.length, 2, 'one reconnect');
    const [first, resumedAfter] = dropping.state.afters;
    assert.equal(first, 0);
    assert.ok(resumedAfter !== undefined && resumedAfter >= 3, `resumed after ${resumedAfter}`);
    assert.ok(resumedAfter < events.length, 'the drop was mid-run: live events came after');
    assert.deepEqual(seqs(events), oneToN(events.length));
    assert.deepEqual(events, await rt.runs.events(runId));
    const last = events.at(-1);
    assert.equal(last?.type === 'status' && last.status, 'completed');
  });

  it('rt.runs.cancel() stops a running run; its stream ends with cancelled', async () => {
    model.push({ toolCalls: [{ name: 'bash', input: { command: 'sleep 60' } }] });
    const started = await rt.run('writer', 'sleep', { wait: false });
    assert.equal(started.status, 'queued');
    assert.equal(started.output, null);
    const events: RunEvent[] = [];
    let sawToolCall: () => void = () => {};
    const toolCall = new Promise<void>((resolve) => {
      sawToolCall = resolve;
    });
    const streamed = (async () => {
      for await (const event of rt.runs.stream(started.runId)) {
        events.push(event);
        if (event.type === 'tool_call') sawToolCall();
      }
    })();
    await toolCall;
    // The cancel answers `cancelled` only once the worker stopped the run (it waits up to 15 s,
    // the product's own deadline, and answers `running` after it): the 60 s sleep was cut.
    const cancelled = await rt.runs.cancel(started.runId);
    assert.equal(cancelled.status, 'cancelled');
    await streamed;
    assert.deepEqual(seqs(events), oneToN(events.length));
    const last = events.at(-1);
    assert.equal(last?.type === 'status' && last.status, 'cancelled');
    assert.equal((await rt.runs.cancel(started.runId)).status, 'cancelled', 'idempotent');
    const refused = await rejectsWith(rt.runs.pause(started.runId), 409, 'run_state');
    assert.equal(refused.details.status, 'cancelled');
    await rejectsWith(rt.runs.resume(started.runId), 409, 'run_state');
  });

  it('rt.run() follows a run past the server-side wait limit (202) to its end', async () => {
    const app = createApp({
      store: cp.store,
      worker: cp.worker,
      hub: cp.hub,
      runWaitMs: 100,
      bootstrapKey: testBootstrapKey,
      rateLimit: false,
      logger: silentLogger,
    });
    await using server = await serve({ app, port: 0 });
    const statuses: number[] = [];
    // The answer is held until the server answered the POST: the run cannot end within the
    // 100 ms wait limit, however late a loaded machine fires that timer.
    let answered = () => {};
    const released = new Promise<void>((resolve) => {
      answered = resolve;
    });
    const client = new RunTools({
      apiKey: testBootstrapKey,
      baseUrl: server.url,
      fetch: async (input, init) => {
        const response = await fetch(input, init);
        if (init?.method === 'POST') {
          statuses.push(response.status);
          answered();
        }
        return response;
      },
    });
    model.push({ text: 'Slow answer.', hold: released });
    const result = await client.run('writer', 'slow');
    assert.deepEqual(statuses, [202], 'the server stopped waiting');
    assert.equal(result.status, 'completed');
    assert.deepEqual(result.output, { ...(result.output as object), text: 'Slow answer.' });
  });

  it('rt.run() returns a run that ended between the 202 and following it', async () => {
    const app = createApp({
      store: cp.store,
      worker: cp.worker,
      hub: cp.hub,
      runWaitMs: 100,
      bootstrapKey: testBootstrapKey,
      rateLimit: false,
      logger: silentLogger,
    });
    await using server = await serve({ app, port: 0 });
    let answered = () => {};
    const released = new Promise<void>((resolve) => {
      answered = resolve;
    });
    const client = new RunTools({
      apiKey: testBootstrapKey,
      baseUrl: server.url,
      // The 202 reaches the client only once the run has ended: nothing comes after its last seq.
      fetch: async (input, init) => {
        const response = await fetch(input, init);
        if (init?.method !== 'POST') return response;
        assert.equal(response.status, 202);
        answered();
        const { runId } = (await response.clone().json()) as { runId: string };
        await waitFor(async () => (await cp.store.runs.get(runId))?.status === 'completed');
        return response;
      },
    });
    model.push({ text: 'Ended meanwhile.', hold: released });
    const result = await client.run('writer', 'slow');
    assert.equal(result.status, 'completed');
    assert.deepEqual(result.output, { ...(result.output as object), text: 'Ended meanwhile.' });
  });

  it('turns every error into a typed error with the API code', async () => {
    const wrongKey = new RunTools({ apiKey: 'wrong-key', baseUrl: cp.url });
    const unauthorized = await rejectsWith(wrongKey.runtimes.list(), 401, 'unauthorized');
    assert.match(unauthorized.message, /unknown or revoked/);
    await rejectsWith(wrongKey.run('writer', 'x'), 401, 'unauthorized');
    const streamRefused = (async () => {
      for await (const _ of wrongKey.runs.stream('run_nope')) {
        // nothing arrives
      }
    })();
    await rejectsWith(streamRefused, 401, 'unauthorized');

    const missing = await rejectsWith(rt.run('nope', 'x'), 404, 'deployment_not_found');
    assert.equal(missing.name, 'RunToolsApiError');
    await rejectsWith(rt.runs.get('run_nope'), 404, 'run_not_found');
    await rejectsWith(rt.runs.cancel('run_nope'), 404, 'run_not_found');
    await rejectsWith(rt.deployments.get('dep_nope'), 404, 'deployment_not_found');

    const completed = (await rt.runs.list({ status: 'completed', limit: 1 })).data[0];
    assert.ok(completed);
    const conflict = await rejectsWith(rt.runs.cancel(completed.id), 409, 'run_state');
    assert.deepEqual(conflict.details, { runId: completed.id, status: 'completed' });
    await rejectsWith(
      rt.deployments.create({ apiSlug: 'writer', runtimeId: runtime.id, template: 'debian-13' }),
      409,
      'deployment_slug_taken',
    );
    const invalid = await rejectsWith(rt.run('writer', undefined), 400, 'invalid_input');
    assert.ok(Array.isArray(invalid.details.issues));

    const closedPort = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const address = probe.address();
        probe.close(() => resolve(typeof address === 'object' && address ? address.port : 1));
      });
    });
    const offline = new RunTools({ apiKey: 'k', baseUrl: `http://127.0.0.1:${closedPort}` });
    const network = await offline.runtimes.list().then(
      () => assert.fail('expected network_error'),
      (e: unknown) => e,
    );
    assert.ok(RunToolsError.isInstance(network));
    assert.ok(!(network instanceof RunToolsApiError));
    assert.equal(network.code, 'network_error');
    const streamOffline = (async () => {
      for await (const _ of offline.runs.stream('run_x', { maxRetries: 1, retryDelayMs: 10 })) {
        // nothing arrives
      }
    })();
    await assert.rejects(streamOffline, { code: 'network_error' });
    await waitForNoSandboxes(cp);
  });
});

async function waitForNoSandboxes(cp: ControlPlane): Promise<void> {
  await waitFor(() => cp.engine.list().length === 0, { intervalMs: 25 }).catch(() =>
    assert.fail('sandboxes left behind'),
  );
}
