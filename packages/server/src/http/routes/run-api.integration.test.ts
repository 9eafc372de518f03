import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TestModelServer } from '@runtools/agent/testing';
import { waitFor as waitUntil } from '@runtools/sandbox/testing';
import type { RunEvent } from '@runtools/sdk';
import WebSocket from 'ws';
import { type Database, openDatabase } from '../../db/database.ts';
import {
  type ControlPlane,
  deployScriptedAgent,
  startControlPlane,
} from '../../testing/control-plane.ts';
import { requestJson, testBootstrapKey } from '../../testing/test-server.ts';
import { createApp } from '../create-app.ts';
import { silentLogger } from '../logger.ts';
import { serve } from '../serve.ts';

/** The status a `status` event carries; undefined for any other event. */
function statusOf(event: RunEvent | undefined): string | undefined {
  return event?.type === 'status' ? event.status : undefined;
}

interface RunJson {
  id: string;
  status: string;
  output: { text: string } | null;
}
interface ErrorJson {
  error: { code: string; message: string; details?: Record<string, unknown> };
}
interface SseEvent {
  id: string;
  event: string;
  data: RunEvent;
}

const waitFor = <T>(fn: () => Promise<T | undefined | false>, ms = 60_000) =>
  waitUntil(fn, { timeoutMs: ms, intervalMs: 25 });

/** A promise the test opens when it is ready: held model answers wait for it. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

/** Reads an SSE response; stops (aborting the request) after `max` events, or at its end. */
async function readSse(url: string, headers: Record<string, string>, max = Infinity) {
  const controller = new AbortController();
  const response = await fetch(url, {
    headers: { authorization: `Bearer ${testBootstrapKey}`, ...headers },
    signal: controller.signal,
  });
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /text\/event-stream/);
  const events: SseEvent[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end = buffer.indexOf('\n\n');
      while (end !== -1) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const field = (name: string) =>
          frame
            .split('\n')
            .find((line) => line.startsWith(`${name}:`))
            ?.slice(name.length + 1)
            .trim() ?? '';
        if (field('data') !== '') {
          events.push({ id: field('id'), event: field('event'), data: JSON.parse(field('data')) });
        }
        if (events.length >= max) {
          controller.abort();
          return events;
        }
        end = buffer.indexOf('\n\n');
      }
    }
  } finally {
    reader.releaseLock();
  }
  return events;
}

interface WsResult {
  messages: Array<Record<string, unknown>>;
  code: number;
}

/** Opens a WebSocket, sends `first` (if any), collects JSON messages until close or `stopAfter`. */
function openWs(
  url: string,
  options: { first?: unknown; headers?: Record<string, string>; stopAfter?: number } = {},
): Promise<WsResult> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: options.headers ?? {} });
    const messages: Array<Record<string, unknown>> = [];
    ws.on('open', () => {
      if (options.first !== undefined) ws.send(JSON.stringify(options.first));
    });
    ws.on('message', (data) => {
      messages.push(JSON.parse(String(data)));
      if (options.stopAfter !== undefined && messages.length >= options.stopAfter) ws.terminate();
    });
    ws.on('close', (code) => resolve({ messages, code }));
    ws.on('unexpected-response', (_req, res) => {
      reject(Object.assign(new Error(`handshake ${res.statusCode}`), { status: res.statusCode }));
      ws.terminate();
    });
    ws.on('error', (error) => {
      if (ws.readyState !== WebSocket.CLOSED) reject(error);
    });
  });
}

function seqs(events: Array<{ seq?: unknown }>): number[] {
  return events.map((e) => Number(e.seq));
}

function oneToN(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1);
}

describe('run API: POST /v1/run, SSE, WebSocket, run controls (sqlite, real sandboxes)', () => {
  const dbDir = mkdtempSync(join(tmpdir(), 'runtools-run-api-'));
  let database: Database;
  let model: TestModelServer;
  let cp: ControlPlane;
  let wsUrl: string;

  const startAsync = async (input: string) => {
    const response = await cp.request('POST', '/v1/run/writer', { body: { input, async: true } });
    assert.equal(response.status, 202);
    return (response.body as { runId: string }).runId;
  };
  const waitForEvent = (runId: string, test: (e: RunEvent) => boolean) =>
    waitFor(async () => (await cp.store.events.listSince(runId)).find(test));
  const waitForStatus = (runId: string, status: string) =>
    waitFor(async () => {
      const run = await cp.store.runs.get(runId);
      return run?.status === status ? run : undefined;
    });

  before(async () => {
    database = await openDatabase({ kind: 'sqlite', dataDir: dbDir });
    model = await TestModelServer.start();
    cp = await startControlPlane(database, { app: { runWaitMs: 30_000 } });
    wsUrl = cp.url.replace(/^http/, 'ws');
    await deployScriptedAgent(cp, model.url, 'writer', 'You write files.');
  });
  after(async () => {
    await cp?.close();
    await model?.close();
    await database?.close();
    rmSync(dbDir, { recursive: true, force: true });
  });

  it('seed flow: POST /v1/run/{slug} waits and answers 200 with the output (and the events)', async () => {
    model.push(
      { toolCalls: [{ name: 'bash', input: { command: 'echo from-the-sandbox' } }] },
      { text: 'All done.' },
    );
    const response = await cp.request('POST', '/v1/run/writer?include=events', {
      body: { input: 'say hi', metadata: { from: 'test' } },
    });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    const body = response.body as {
      runId: string;
      status: string;
      output: { text: string };
      events: RunEvent[];
    };
    assert.equal(body.status, 'completed');
    assert.equal(body.output.text, 'All done.');
    assert.deepEqual(seqs(body.events), oneToN(body.events.length));
    assert.deepEqual(body.events, await cp.store.events.listSince(body.runId));
    const result = body.events.find((e) => e.type === 'tool_result');
    assert.match(result?.type === 'tool_result' ? result.output : '', /from-the-sandbox/);
    assert.deepEqual(body.events.at(-1), {
      ...body.events.at(-1),
      type: 'status',
      status: 'completed',
    });
    const plain = await cp.request('GET', `/v1/runs/${body.runId}`);
    assert.deepEqual((plain.body as { metadata: unknown }).metadata, { from: 'test' });
    await waitFor(async () => cp.engine.list().length === 0);
  });

  it('async: 202 at once, then SSE replays after Last-Event-ID exactly (no gaps, no dupes)', async () => {
    model.push(
      { toolCalls: [{ name: 'bash', input: { command: 'echo one' } }], delayMs: 50 },
      { toolCalls: [{ name: 'bash', input: { command: 'echo two' } }], delayMs: 50 },
      { text: 'Finished.', delayMs: 50 },
    );
    const response = await cp.request('POST', '/v1/run/writer', {
      body: { input: 'go', async: true },
    });
    assert.equal(response.status, 202);
    const { runId, status } = response.body as { runId: string; status: string };
    assert.equal(status, 'queued');
    const url = `${cp.url}/v1/runs/${runId}/events`;
    const first = await readSse(url, {}, 3);
    assert.deepEqual(seqs(first.map((e) => e.data)), [1, 2, 3]);
    for (const e of first) {
      assert.equal(e.id, String(e.data.seq));
      assert.equal(e.event, e.data.type);
    }
    // The browser's EventSource reconnects to the same URL with Last-Event-ID: the header wins.
    const rest = await readSse(`${url}?after=0`, { 'last-event-id': '3' });
    const all = [...first, ...rest].map((e) => e.data);
    assert.deepEqual(seqs(all), oneToN(all.length));
    assert.deepEqual(all.at(-1)?.type === 'status' && all.at(-1), {
      ...all.at(-1),
      status: 'completed',
    });
    assert.deepEqual(all, await cp.store.events.listSince(runId));
    // A finished run's stream replays and ends; ?after= works without the header.
    const tail = await readSse(`${url}?after=${all.length - 2}`, {});
    assert.deepEqual(seqs(tail.map((e) => e.data)), [all.length - 1, all.length]);
    await waitFor(async () => cp.hub.subscriberCount(runId) === 0);
  });

  it('WS /v1/run/{slug}/stream: first message starts the run, events in order, close at the end', async () => {
    model.push(
      { toolCalls: [{ name: 'bash', input: { command: 'echo ws' } }] },
      { text: 'Streamed.' },
    );
    const { messages, code } = await openWs(`${wsUrl}/v1/run/writer/stream`, {
      headers: { authorization: `Bearer ${testBootstrapKey}` },
      first: { input: 'stream it' },
    });
    assert.equal(code, 1000);
    const [hello, ...events] = messages;
    assert.equal(hello?.type, 'run');
    assert.equal(hello?.status, 'queued');
    const runId = String(hello?.runId);
    assert.deepEqual(seqs(events), oneToN(events.length));
    assert.deepEqual(events, await cp.store.events.listSince(runId));
    assert.equal(statusOf(events.at(-1)), 'completed');
    assert.ok(events.some((e) => e.type === 'text'));
  });

  it('WS reconnect to /v1/runs/{id}/stream?after=SEQ gets exactly the missed events, then live ones', async () => {
    // The last answer waits until the client has reconnected: the run is surely still running.
    const reconnected = gate();
    model.push(
      { toolCalls: [{ name: 'bash', input: { command: 'echo a' } }], delayMs: 60 },
      { toolCalls: [{ name: 'bash', input: { command: 'echo b' } }], delayMs: 60 },
      { text: 'Reconnected.', delayMs: 60, hold: reconnected.opened },
    );
    // ?token= is the browsers' way to authenticate.
    const firstPart = await openWs(`${wsUrl}/v1/run/writer/stream?token=${testBootstrapKey}`, {
      first: { input: 'reconnect' },
      stopAfter: 3,
    });
    const [hello, ...seen] = firstPart.messages;
    const runId = String(hello?.runId);
    assert.deepEqual(seqs(seen), [1, 2]);
    const last = Number(seen.at(-1)?.seq);
    assert.equal((await cp.store.runs.require(runId)).status, 'running', 'reconnects mid-run');
    const resting = openWs(
      `${wsUrl}/v1/runs/${runId}/stream?after=${last}&token=${testBootstrapKey}`,
    );
    await waitFor(async () => cp.hub.subscriberCount(runId) > 0);
    reconnected.open();
    const rest = await resting;
    assert.equal(rest.code, 1000);
    const all = [...seen, ...rest.messages];
    assert.deepEqual(seqs(all), oneToN(all.length));
    assert.deepEqual(all, await cp.store.events.listSince(runId));
    assert.equal(statusOf(all.at(-1)), 'completed');
  });

  it('cancels a run mid-tool-call (sleep 60): cancelled, idempotent, then 409 for pause/resume', async () => {
    model.push({ toolCalls: [{ name: 'bash', input: { command: 'sleep 60' } }] });
    const runId = await startAsync('sleep');
    await waitForEvent(runId, (e) => e.type === 'tool_call');
    // The cancel answers `cancelled` only once the worker stopped the run (it waits up to 15 s,
    // the product's own deadline, and answers `running` after it): the 60 s sleep was cut.
    const cancelled = await cp.request('POST', `/v1/runs/${runId}/cancel`);
    assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
    assert.equal((cancelled.body as RunJson).status, 'cancelled');
    const again = await cp.request('POST', `/v1/runs/${runId}/cancel`);
    assert.equal(again.status, 200);
    assert.equal((again.body as RunJson).status, 'cancelled');
    for (const action of ['pause', 'resume']) {
      const refused = await cp.request('POST', `/v1/runs/${runId}/${action}`);
      assert.equal(refused.status, 409);
      assert.equal((refused.body as ErrorJson).error.code, 'run_state');
      assert.equal((refused.body as ErrorJson).error.details?.status, 'cancelled');
    }
    const events = await cp.store.events.listSince(runId);
    assert.deepEqual(events.at(-1), { ...events.at(-1), type: 'status', status: 'cancelled' });
    await waitFor(async () => cp.engine.list().length === 0);
  });

  it('cancels a queued run without a worker: a store transition plus its status event', async () => {
    await cp.worker.stop();
    try {
      const runId = await startAsync('never runs');
      const cancelled = await cp.request('POST', `/v1/runs/${runId}/cancel`);
      assert.equal(cancelled.status, 200);
      assert.equal((cancelled.body as RunJson).status, 'cancelled');
      const events = await cp.store.events.listSince(runId);
      assert.deepEqual(
        events.map((e) => [e.seq, e.type, e.type === 'status' && e.status]),
        [[1, 'status', 'cancelled']],
      );
      const sse = await readSse(`${cp.url}/v1/runs/${runId}/events`, {});
      assert.deepEqual(seqs(sse.map((e) => e.data)), [1]);
    } finally {
      cp.worker.start();
    }
  });

  it('pauses after a step and resumes to completion; both idempotent', async () => {
    model.push(
      { toolCalls: [{ name: 'bash', input: { command: 'echo step-one' } }] },
      // Held until the run is paused: it cannot complete first. The pause abandons this call.
      { text: 'Too slow.', hold: new Promise(() => {}) },
      { text: 'Resumed and done.' },
    );
    const runId = await startAsync('pause me');
    await waitForEvent(runId, (e) => e.type === 'step');
    const paused = await cp.request('POST', `/v1/runs/${runId}/pause`);
    assert.equal(paused.status, 200, JSON.stringify(paused.body));
    assert.equal((paused.body as RunJson).status, 'paused');
    const pausedAgain = await cp.request('POST', `/v1/runs/${runId}/pause`);
    assert.equal(pausedAgain.status, 200);
    assert.equal((pausedAgain.body as RunJson).status, 'paused');
    assert.ok((await cp.store.runs.require(runId)).checkpoint, 'the checkpoint is kept');
    const resumed = await cp.request('POST', `/v1/runs/${runId}/resume`);
    assert.equal(resumed.status, 200);
    assert.ok(['queued', 'running'].includes((resumed.body as RunJson).status));
    const resumedAgain = await cp.request('POST', `/v1/runs/${runId}/resume`);
    assert.equal(resumedAgain.status, 200);
    // The worker sets the run's status, then appends its status event: wait for the event.
    await waitForEvent(runId, (e) => e.type === 'status' && e.status === 'completed');
    const done = await cp.store.runs.require(runId);
    assert.ok((done.output as { text: string }).text.length > 0);
    const events = await cp.store.events.listSince(runId);
    assert.deepEqual(seqs(events), oneToN(events.length));
    const statuses = events.flatMap((e) => (e.type === 'status' ? [e.status] : []));
    assert.deepEqual(statuses, ['running', 'paused', 'queued', 'running', 'completed']);
    const pauseDone = await cp.request('POST', `/v1/runs/${runId}/pause`);
    assert.equal(pauseDone.status, 409);
    assert.equal((pauseDone.body as ErrorJson).error.code, 'run_state');
  });

  it('answers 202 with the run id when the server-side wait limit passes', async () => {
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
    // The answer is held until the 202 came: the run cannot finish within the wait limit.
    const answered = gate();
    model.push({ text: 'Slow answer.', hold: answered.opened });
    const response = await requestJson(server.url, 'POST', '/v1/run/writer', {
      body: { input: 'slow' },
    });
    answered.open();
    assert.equal(response.status, 202);
    const { runId, status } = response.body as { runId: string; status: string };
    assert.ok(['queued', 'running'].includes(status));
    await waitForStatus(runId, 'completed');
  });

  it('answers 404, 400, 401, 409 and 426 in the one error shape', async () => {
    const missing = await cp.request('POST', '/v1/run/nope', { body: { input: 'x' } });
    assert.equal(missing.status, 404);
    assert.equal((missing.body as ErrorJson).error.code, 'deployment_not_found');
    const noInput = await cp.request('POST', '/v1/run/writer', { body: { async: true } });
    assert.equal(noInput.status, 400);
    assert.equal((noInput.body as ErrorJson).error.code, 'invalid_input');
    assert.deepEqual(
      (
        noInput.body as { error: { details: { issues: Array<{ field: string }> } } }
      ).error.details.issues.map((i) => i.field),
      ['input'],
    );
    const badAsync = await cp.request('POST', '/v1/run/writer', {
      body: { input: 'x', async: 'yes' },
    });
    assert.equal(badAsync.status, 400);
    const malformed = await cp.request('POST', '/v1/run/writer', { raw: '{"input":' });
    assert.equal(malformed.status, 400);
    assert.equal((malformed.body as ErrorJson).error.code, 'invalid_json');
    const unauthorized = await cp.request('POST', '/v1/run/writer', {
      body: { input: 'x' },
      key: null,
    });
    assert.equal(unauthorized.status, 401);
    for (const action of ['cancel', 'pause', 'resume']) {
      const unknown = await cp.request('POST', `/v1/runs/run_nope/${action}`);
      assert.equal(unknown.status, 404);
      assert.equal((unknown.body as ErrorJson).error.code, 'run_not_found');
    }
    const completed = (await cp.store.runs.list({ status: 'completed', limit: 1 })).items[0];
    assert.ok(completed);
    const cancelDone = await cp.request('POST', `/v1/runs/${completed.id}/cancel`);
    assert.equal(cancelDone.status, 409);
    assert.deepEqual(cancelDone.body, {
      error: {
        code: 'run_state',
        message: `Run ${completed.id} is completed; it cannot be cancelled.`,
        details: { runId: completed.id, status: 'completed' },
      },
    });
    assert.equal((await cp.request('GET', '/v1/runs/run_nope/events')).status, 404);
    const badId = await cp.request('GET', `/v1/runs/${completed.id}/events`, {
      headers: { 'last-event-id': 'abc' },
    });
    assert.equal(badId.status, 400);
    assert.equal((await cp.request('GET', `/v1/runs/${completed.id}/events?after=-1`)).status, 400);
    const notUpgraded = await cp.request('GET', '/v1/run/writer/stream');
    assert.equal(notUpgraded.status, 426);
    assert.equal((notUpgraded.body as ErrorJson).error.code, 'upgrade_required');
    await assert.rejects(openWs(`${wsUrl}/v1/run/nope/stream?token=${testBootstrapKey}`), {
      status: 404,
    });
    await assert.rejects(openWs(`${wsUrl}/v1/run/writer/stream`), { status: 401 });
    await assert.rejects(openWs(`${wsUrl}/v1/run/writer/stream?token=wrong`), { status: 401 });
    await assert.rejects(openWs(`${wsUrl}/v1/runs/run_nope/stream?token=${testBootstrapKey}`), {
      status: 404,
    });
    const badFirst = await openWs(`${wsUrl}/v1/run/writer/stream?token=${testBootstrapKey}`, {
      first: { metadata: {} },
    });
    assert.equal(badFirst.code, 1008);
    assert.equal((badFirst.messages[0] as unknown as ErrorJson).error.code, 'invalid_input');
  });
});
