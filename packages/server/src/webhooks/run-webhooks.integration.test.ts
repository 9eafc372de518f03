import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AddressPolicy, loopbackRanges } from '@runtools/agent';
import { TestModelServer } from '@runtools/agent/testing';
import { waitFor as waitUntil } from '@runtools/sandbox/testing';
import { verifyWebhook } from '@runtools/sdk';
import { type Database, openDatabase } from '../db/database.ts';
import { createStore } from '../store/store.ts';
import {
  type ControlPlane,
  deployScriptedAgent,
  startControlPlane,
} from '../testing/control-plane.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../testing/webhook-receiver.ts';
import { WebhookDispatcher } from './webhook-dispatcher.ts';

interface Body {
  type: string;
  timestamp: string;
  data: { runId: string; deploymentId: string; status: string; output?: { text: string } };
}

const waitFor = <T>(fn: () => Promise<T | undefined | false>, ms = 60_000) =>
  waitUntil(fn, { timeoutMs: ms, intervalMs: 25 });

describe('run webhooks: status changes reach a real receiver, signed (sqlite, real sandboxes)', () => {
  const dbDir = mkdtempSync(join(tmpdir(), 'runtools-run-webhooks-'));
  let database: Database;
  let model: TestModelServer;
  let receiver: WebhookReceiver;
  let dispatcher: WebhookDispatcher;
  let cp: ControlPlane;
  let deploymentId: string;

  /** The verified bodies received at `path` for `runId`, in arrival order. */
  const receivedFor = (path: string, secret: string, runId: string): Body[] =>
    receiver.received
      .filter((r) => r.path === path)
      .map((r) => verifyWebhook({ payload: r.body, headers: r.headers, secret }) as Body)
      .filter((b) => b.data.runId === runId);

  const startAsync = async (input: string) => {
    const response = await cp.request('POST', '/v1/run/hooked', { body: { input, async: true } });
    assert.equal(response.status, 202, JSON.stringify(response.body));
    return (response.body as { runId: string }).runId;
  };

  before(async () => {
    database = await openDatabase({ kind: 'sqlite', dataDir: dbDir });
    model = await TestModelServer.start();
    receiver = await startWebhookReceiver();
    dispatcher = new WebhookDispatcher({
      store: createStore(database),
      pollIntervalMs: 50,
      // The receiver listens on loopback, which deliveries may not reach by default.
      addresses: { policy: new AddressPolicy({ allow: loopbackRanges }) },
    });
    dispatcher.start();
    cp = await startControlPlane(database, { webhooks: dispatcher });
    deploymentId = await deployScriptedAgent(cp, model.url, 'hooked', 'You answer.');
  });
  after(async () => {
    await cp?.close();
    await dispatcher?.stop();
    await receiver?.close();
    await model?.close();
    await database?.close();
    rmSync(dbDir, { recursive: true, force: true });
  });

  it('a global webhook gets run.started then run.completed, signed, with the output', async () => {
    const created = await cp.request('POST', '/v1/webhooks', {
      body: { url: receiver.url('/lifecycle'), events: ['run.started', 'run.completed'] },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const { secret } = created.body as { secret: string };
    model.push({ text: 'Webhooked.', delayMs: 300 });
    const runId = await startAsync('hello');
    const bodies = await waitFor(async () => {
      const got = receivedFor('/lifecycle', secret, runId);
      return got.length >= 2 && got;
    });
    assert.deepEqual(
      bodies.map((b) => b.type),
      ['run.started', 'run.completed'],
    );
    const [started, completed] = bodies;
    assert.deepEqual(started?.data, { status: 'running', runId, deploymentId });
    assert.equal(completed?.data.status, 'completed');
    assert.equal(completed?.data.runId, runId);
    assert.equal(completed?.data.deploymentId, deploymentId);
    assert.equal(completed?.data.output?.text, 'Webhooked.');
    assert.deepEqual(completed?.data.output, (await cp.store.runs.require(runId)).output);
    // Each delivery has its own webhook-id (the receivers' idempotency key).
    const ids = receiver.received
      .filter((r) => r.path === '/lifecycle')
      .map((r) => r.headers['webhook-id']);
    assert.equal(new Set(ids).size, ids.length);

    // Every delivery and attempt is visible through the API, and can be sent again.
    const webhookId = (created.body as { id: string }).id;
    const page = await cp.request('GET', `/v1/webhooks/${webhookId}/deliveries`);
    assert.equal(page.status, 200);
    const deliveries = (page.body as { data: Array<{ id: string; eventType: string }> }).data;
    assert.deepEqual(deliveries.map((d) => d.eventType).sort(), ['run.completed', 'run.started']);
    const completedDelivery = deliveries.find((d) => d.eventType === 'run.completed');
    const one = await cp.request(
      'GET',
      `/v1/webhooks/${webhookId}/deliveries/${completedDelivery?.id}`,
    );
    assert.equal(one.status, 200);
    const detail = one.body as {
      status: string;
      payload: { type: string };
      attemptLog: Array<{ attempt: number; statusCode: number }>;
    };
    assert.equal(detail.status, 'succeeded');
    assert.equal(detail.payload.type, 'run.completed');
    assert.deepEqual(
      detail.attemptLog.map((a) => [a.attempt, a.statusCode]),
      [[1, 204]],
    );
    const again = await cp.request(
      'POST',
      `/v1/webhooks/${webhookId}/deliveries/${completedDelivery?.id}/redeliver`,
    );
    assert.equal(again.status, 202, JSON.stringify(again.body));
    const resent = await waitFor(async () => {
      const got = receiver.received.filter(
        (r) => r.path === '/lifecycle' && r.headers['webhook-id'] === completedDelivery?.id,
      );
      return got.length >= 2 && got;
    });
    assert.equal(resent[0]?.body, resent[1]?.body, 'the same body (and id) again');
    assert.equal(
      (await cp.request('GET', `/v1/webhooks/${webhookId}/deliveries/del_nope`)).status,
      404,
    );
    assert.equal((await cp.request('GET', '/v1/webhooks/whk_nope/deliveries')).status, 404);
  });

  it('a cancelled run delivers run.cancelled to a subscriber of it', async () => {
    const hook = await cp.store.webhooks.create({
      url: receiver.url('/cancelled'),
      events: ['run.cancelled'],
      deploymentId,
    });
    model.push({ toolCalls: [{ name: 'bash', input: { command: 'sleep 60' } }] });
    const runId = await startAsync('wait');
    await waitFor(async () =>
      (await cp.store.events.listSince(runId)).some((e) => e.type === 'tool_call'),
    );
    const cancelled = await cp.request('POST', `/v1/runs/${runId}/cancel`);
    assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
    const [body] = await waitFor(async () => {
      const got = receivedFor('/cancelled', hook.secret, runId);
      return got.length >= 1 && got;
    });
    assert.equal(body?.type, 'run.cancelled');
    assert.deepEqual(body?.data, { status: 'cancelled', runId, deploymentId });
    // Only what it subscribed to.
    assert.equal(receivedFor('/cancelled', hook.secret, runId).length, 1);
  });

  it('a webhook given with POST /v1/run gets the events of that run only, signed with the secret it returned', async () => {
    model.push({ text: 'First.' }, { text: 'Second.' });
    const response = await cp.request('POST', '/v1/run/hooked', {
      body: { input: 'with a hook', webhook: receiver.url('/per-run') },
    });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    const { runId, webhook } = response.body as {
      runId: string;
      webhook: { id: string; secret: string };
    };
    assert.match(webhook.secret, /^whsec_/);
    const bodies = await waitFor(async () => {
      const got = receivedFor('/per-run', webhook.secret, runId);
      return got.length >= 2 && got;
    });
    assert.deepEqual(
      bodies.map((b) => b.type),
      ['run.started', 'run.completed'],
    );
    // Another run of the same deployment does not reach it.
    const other = await cp.request('POST', '/v1/run/hooked', { body: { input: 'no hook' } });
    assert.equal(other.status, 200);
    // Deliveries are written when the run's status changes: once those writes are done, the
    // hook's deliveries say whether the other run reached it (not whether it was sent yet).
    await cp.webhooksIdle();
    const perRun = await cp.request('GET', `/v1/webhooks/${webhook.id}/deliveries`);
    assert.equal(
      (perRun.body as { data: unknown[] }).data.length,
      2,
      'only the two deliveries of its own run',
    );
    assert.equal(receiver.received.filter((r) => r.path === '/per-run').length, 2);
    // It is the run's own: listed by run, not among the standing webhooks.
    const listed = await cp.request('GET', `/v1/webhooks/${webhook.id}`);
    assert.equal((listed.body as { runId: string }).runId, runId);
    const byRun = await cp.request('GET', `/v1/webhooks?runId=${runId}`);
    assert.deepEqual(
      (byRun.body as { data: Array<{ id: string }> }).data.map((w) => w.id),
      [webhook.id],
    );
    const standing = await cp.request('GET', '/v1/webhooks?limit=100');
    assert.ok(
      !(standing.body as { data: Array<{ id: string }> }).data.some((w) => w.id === webhook.id),
    );

    // `{ url, events }` picks events; a bad URL or event is a 400, and so is an unknown field.
    for (const bad of [
      { input: 'x', webhook: 'ftp://example.com/' },
      { input: 'x', webhook: { url: receiver.url('/x'), events: ['run.exploded'] } },
      { input: 'x', webhok: receiver.url('/x') },
    ]) {
      const rejected = await cp.request('POST', '/v1/run/hooked', { body: bad });
      assert.equal(rejected.status, 400, JSON.stringify(bad));
    }
  });
});
