import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, afterEach, before, it } from 'node:test';
import { loopbackRanges, ModelAccess } from '@runtools/agent';
import { TestModelServer } from '@runtools/agent/testing';
import { SandboxEngine } from '@runtools/sandbox';
import { waitFor as waitUntil } from '@runtools/sandbox/testing';
import type { RunEvent } from '@runtools/sdk';
import { createStore, type Store } from '../store/store.ts';
import { describeEachDatabase } from '../testing/test-databases.ts';
import { RunWorker } from './run-worker.ts';

const TEMPLATES_DIR = process.env.RUNTOOLS_TEMPLATES_DIR ?? '/var/lib/runtools/templates';

const waitFor = <T>(fn: () => Promise<T | undefined | false>, ms = 60_000) =>
  waitUntil(fn, { timeoutMs: ms, intervalMs: 25 });

describeEachDatabase('run worker', (dbs) => {
  const dataDir = mkdtempSync('/var/tmp/rt-test-worker-');
  let engine: SandboxEngine;
  let model: TestModelServer;
  let store: Store;
  let deploymentId: string;
  /** Every worker a test starts: stopped after the test even when it failed midway. */
  const workers: RunWorker[] = [];
  const newWorker = (
    options: Omit<ConstructorParameters<typeof RunWorker>[0], 'store' | 'engine'>,
  ) => {
    // The test model server is on loopback, which model endpoints may not reach by default.
    const modelAccess = new ModelAccess({ endpointAllow: loopbackRanges });
    const worker = new RunWorker({ store, engine, modelAccess, ...options });
    workers.push(worker);
    return worker;
  };

  before(async () => {
    engine = await SandboxEngine.open({ dataDir, templatesDir: TEMPLATES_DIR });
    model = await TestModelServer.start();
    store = createStore(await dbs.open());
    const runtime = await store.runtimes.create({
      slug: 'writer',
      definition: {
        slug: 'writer',
        model: { provider: 'custom', endpoint: `${model.url}/v1`, model: 'scripted' },
        systemPrompt: 'You write files.',
        tools: ['bash', 'edit_file'],
      },
    });
    deploymentId = (
      await store.deployments.create({
        apiSlug: 'writer',
        runtimeId: runtime.id,
        templateSlug: 'debian-13',
      })
    ).id;
  });
  afterEach(async () => {
    for (const worker of workers.splice(0)) await worker.stop();
    model.clearScript();
  });
  after(async () => {
    await model?.close();
    for (const s of engine.list()) await engine.delete(s.id).catch(() => {});
    await engine?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('claims a queued run, executes it in a sandbox and stores every event before fanning it out', async () => {
    model.push(
      { toolCalls: [{ name: 'bash', input: { command: 'echo from-the-sandbox' } }] },
      { text: 'All done.' },
    );
    const live: RunEvent[] = [];
    const worker = newWorker({ workerId: 'w1', onEvent: (_id, e) => live.push(e) });
    const run = await store.runs.create({ deploymentId, input: 'say hi' });
    worker.start();
    const done = await waitFor(async () => {
      const r = await store.runs.get(run.id);
      return r && ['completed', 'failed'].includes(r.status) ? r : undefined;
    });
    await worker.stop();
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.equal((done.output as { text: string }).text, 'All done.');
    const stored = await store.events.listSince(run.id);
    assert.deepEqual(
      stored.map((e) => e.seq),
      stored.map((_, i) => i + 1),
    );
    assert.deepEqual(live, stored, 'subscribers saw exactly what was stored, in order');
    const types = stored
      .map((e) => e.type)
      .filter((t, i, a) => !(t === 'text' && a[i - 1] === 'text'));
    assert.deepEqual(types, [
      'status',
      'tool_call',
      'tool_result',
      'step',
      'text',
      'step',
      'complete',
      'status',
    ]);
    const result = stored.find((e) => e.type === 'tool_result');
    assert.match(result?.type === 'tool_result' ? result.output : '', /from-the-sandbox/);
    assert.equal(engine.list().length, 0, 'the run sandbox is deleted afterwards');
  });

  it('cancels a running run: the tool process dies and the run is cancelled', async () => {
    model.push({ toolCalls: [{ name: 'bash', input: { command: 'sleep 60' } }] });
    const worker = newWorker({ workerId: 'w2', pollMs: 20 });
    const run = await store.runs.create({ deploymentId, input: 'sleep' });
    worker.start();
    await waitFor(async () =>
      (await store.events.listSince(run.id)).some((e) => e.type === 'tool_call'),
    );
    assert.equal(worker.cancel(run.id), true);
    const r = await waitFor(async () => {
      const x = await store.runs.get(run.id);
      return x?.status === 'cancelled' ? x : undefined;
    });
    await worker.stop();
    assert.equal(r.status, 'cancelled');
  });

  it('pauses after the tool call in flight: it finishes, its step is checkpointed, resume continues', async () => {
    // The tool runs until the test creates /tmp/go in the run's sandbox, after asking for the
    // pause: the pause surely comes while the tool call is in flight.
    model.push(
      {
        toolCalls: [
          {
            name: 'bash',
            input: { command: 'while [ ! -e /tmp/go ]; do sleep 0.05; done; echo tool-finished' },
          },
        ],
      },
      { text: 'Done after resume.' },
    );
    const worker = newWorker({ workerId: 'w3', pollMs: 20 });
    const run = await store.runs.create({ deploymentId, input: 'sleep then answer' });
    worker.start();
    await waitFor(async () =>
      (await store.events.listSince(run.id)).some((e) => e.type === 'tool_call'),
    );
    assert.equal(worker.pause(run.id), true);
    const [sandbox] = engine.list();
    assert.ok(sandbox, 'the run has a sandbox');
    // Written aside and renamed into place: the tool sees /tmp/go only once the rename is done,
    // and rt-init answers the rename before it can report the tool's exit, so the worker cannot
    // delete the sandbox while this test's own request is still in flight.
    const files = engine.get(sandbox.id).files;
    await files.write('/tmp/go.part', '');
    await files.rename('/tmp/go.part', '/tmp/go');
    // The worker sets the run's status, then appends its status event: wait for the event, the
    // later of the two, before reading the log.
    const before = await waitFor(async () => {
      const events = await store.events.listSince(run.id);
      const last = events.at(-1);
      return last?.type === 'status' && last.status !== 'running' ? events : undefined;
    });
    const paused = await store.runs.require(run.id);
    assert.equal(paused.status, 'paused');
    assert.equal((paused.checkpoint as { steps: number }).steps, 1);
    assert.deepEqual(
      before.map((e) => (e.type === 'status' ? `status:${e.status}` : e.type)),
      ['status:running', 'tool_call', 'tool_result', 'step', 'status:paused'],
      'the tool call finished; no error event',
    );
    const result = before.find((e) => e.type === 'tool_result');
    assert.ok(result?.type === 'tool_result' && !result.isError);
    assert.match(result.output, /tool-finished/);

    await store.runs.transition(run.id, 'queued', { from: ['paused'] });
    worker.wake();
    const done = await waitFor(async () => {
      const x = await store.runs.get(run.id);
      return x && ['completed', 'failed'].includes(x.status) ? x : undefined;
    });
    await worker.stop();
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.equal((done.output as { text: string }).text, 'Done after resume.');
    assert.equal((done.output as { steps: number }).steps, 2);
  });

  it("passes the project's settings to runs: web_search uses the configured provider", async () => {
    const searches: string[] = [];
    const searx = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      searches.push(url.searchParams.get('q') ?? '');
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          results: [{ url: 'https://example.org/found', title: 'Found it', content: 'A snippet.' }],
        }),
      );
    });
    await new Promise<void>((r) => searx.listen(0, '127.0.0.1', r));
    const { port } = searx.address() as AddressInfo;
    try {
      const runtime = await store.runtimes.create({
        slug: 'searcher',
        definition: {
          slug: 'searcher',
          model: { provider: 'custom', endpoint: `${model.url}/v1`, model: 'scripted' },
          systemPrompt: 'You search.',
          tools: ['web_search'],
        },
      });
      const deployment = await store.deployments.create({
        apiSlug: 'searcher',
        runtimeId: runtime.id,
        templateSlug: 'debian-13',
      });
      model.push(
        { toolCalls: [{ name: 'web_search', input: { query: 'runtools agents' } }] },
        { text: 'Searched.' },
      );
      const worker = newWorker({
        workerId: 'w-search',
        pollMs: 50,
        projectConfig: () => ({
          webSearch: { provider: 'searxng', url: `http://127.0.0.1:${port}` },
        }),
      });
      const run = await store.runs.create({ deploymentId: deployment.id, input: 'search' });
      worker.start();
      const done = await waitFor(async () => {
        const x = await store.runs.get(run.id);
        return x && ['completed', 'failed'].includes(x.status) ? x : undefined;
      });
      await worker.stop();
      assert.equal(done.status, 'completed', JSON.stringify(done.error));
      assert.deepEqual(searches, ['runtools agents']);
      const result = (await store.events.listSince(run.id)).find((e) => e.type === 'tool_result');
      assert.match(result?.type === 'tool_result' ? result.output : '', /example\.org\/found/);
    } finally {
      searx.close();
    }
  });
});
