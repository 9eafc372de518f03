import assert from 'node:assert/strict';
import { it } from 'node:test';
import { AddressPolicy, loopbackRanges } from '@runtools/agent';
import { verifyWebhook } from '@runtools/sdk';
import { createStore, type Store } from '../store/store.ts';
import { describeEachDatabase } from '../testing/test-databases.ts';
import { closedPort, startWebhookReceiver } from '../testing/webhook-receiver.ts';
import { WebhookDispatcher, type WebhookDispatcherOptions } from './webhook-dispatcher.ts';

/** The receivers listen on loopback, which deliveries may not reach by default. */
const addresses = { policy: new AddressPolicy({ allow: loopbackRanges }) };

/** A clock that only moves when told: hours of backoff pass in one call. */
function manualClock() {
  let now = Date.now();
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
  };
}

async function waitFor<T>(probe: () => Promise<T | undefined | false>, what: string): Promise<T> {
  // Only turns a condition that never comes into a failure; generous for a loaded machine.
  const deadline = Date.now() + 60_000;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describeEachDatabase('webhook dispatcher', ({ open, openAgain }) => {
  async function setup(options: Partial<WebhookDispatcherOptions> = {}) {
    const store = createStore(await open());
    const runtime = await store.runtimes.create({ slug: 'helper', definition: {} });
    const deployment = await store.deployments.create({
      apiSlug: 'bot',
      runtimeId: runtime.id,
      templateSlug: 'nodejs-20',
    });
    const clock = manualClock();
    const dispatcher = new WebhookDispatcher({
      store,
      addresses,
      clock,
      pollIntervalMs: 10,
      random: () => 0.5,
      ...options,
    });
    return { store, deployment, clock, dispatcher };
  }

  const settled = (store: Store, id: string, attempts: number) =>
    waitFor(async () => {
      const delivery = await store.webhookDeliveries.get(id);
      return delivery !== undefined && delivery.attempts >= attempts && delivery;
    }, `attempt ${attempts} of ${id}`);

  it('signs deliveries so that verifyWebhook accepts them and rejects tampering', async () => {
    const { store, deployment, clock, dispatcher } = await setup();
    await using receiver = await startWebhookReceiver();
    await using _ = dispatcher;
    const hook = await store.webhooks.create({
      url: receiver.url('/hook'),
      events: ['run.completed'],
    });
    dispatcher.start();
    const [delivery] = await dispatcher.enqueue({
      type: 'run.completed',
      runId: 'run_1',
      deploymentId: deployment.id,
      data: { output: { answer: 42 } },
    });
    assert.ok(delivery);
    const done = await settled(store, delivery.id, 1);
    assert.equal(done.status, 'succeeded');
    assert.equal(receiver.received.length, 1);
    const request = receiver.received[0];
    assert.ok(request);
    assert.equal(request.path, '/hook');
    assert.equal(request.headers['content-type'], 'application/json');
    assert.equal(request.headers['webhook-id'], delivery.id);
    assert.equal(request.headers['webhook-timestamp'], String(Math.floor(clock.now() / 1000)));
    const input = { payload: request.body, headers: request.headers, secret: hook.secret };
    assert.deepEqual(verifyWebhook({ ...input, now: clock.now() }), {
      type: 'run.completed',
      timestamp: new Date(clock.now()).toISOString(),
      data: { output: { answer: 42 }, runId: 'run_1', deploymentId: deployment.id },
    });
    const invalid = { name: 'RunToolsError', code: 'webhook_invalid' };
    assert.throws(
      () =>
        verifyWebhook({ ...input, payload: request.body.replace('42', '43'), now: clock.now() }),
      { ...invalid, message: /No webhook-signature entry matches/ },
    );
    const other = await store.webhooks.create({ url: receiver.url(), events: [] });
    assert.throws(() => verifyWebhook({ ...input, secret: other.secret, now: clock.now() }), {
      ...invalid,
      message: /No webhook-signature entry matches/,
    });
    assert.throws(() => verifyWebhook({ ...input, now: clock.now() + 10 * 60_000 }), {
      ...invalid,
      message: /more than the 300 s tolerance/,
    });
    assert.deepEqual(
      (await store.webhookDeliveries.attempts(delivery.id)).map((a) => [a.attempt, a.statusCode]),
      [[1, 204]],
    );
  });

  it('reaches a receiver that was down after backoff retries, recording every attempt', async () => {
    const { store, deployment, clock, dispatcher } = await setup();
    await using _ = dispatcher;
    const port = await closedPort();
    await store.webhooks.create({
      url: `http://127.0.0.1:${port}/hook`,
      events: ['run.failed'],
      deploymentId: deployment.id,
    });
    dispatcher.start();
    const [delivery] = await dispatcher.enqueue({
      type: 'run.failed',
      runId: 'run_1',
      deploymentId: deployment.id,
      data: { error: { code: 'boom', message: 'Boom' } },
    });
    assert.ok(delivery);
    const first = await settled(store, delivery.id, 1);
    assert.equal(first.status, 'pending');
    assert.equal(first.nextAttemptAt, new Date(clock.now() + 5_000).toISOString());
    clock.advance(4_999);
    // A round at this time (the loop's own rounds see the same clock) finds nothing due.
    assert.equal(await dispatcher.deliverDue(), 0);
    assert.equal((await store.webhookDeliveries.get(delivery.id))?.attempts, 1, 'not due yet');
    clock.advance(1);
    const second = await settled(store, delivery.id, 2);
    assert.equal(second.nextAttemptAt, new Date(clock.now() + 30_000).toISOString());
    await using receiver = await startWebhookReceiver(port);
    receiver.status = 503;
    clock.advance(30_000);
    const third = await settled(store, delivery.id, 3);
    assert.equal(third.lastStatusCode, 503);
    assert.equal(third.nextAttemptAt, new Date(clock.now() + 2 * 60_000).toISOString());
    receiver.status = 200;
    clock.advance(2 * 60_000);
    const fourth = await settled(store, delivery.id, 4);
    assert.equal(fourth.status, 'succeeded');
    assert.equal(fourth.nextAttemptAt, null);
    const attempts = await store.webhookDeliveries.attempts(delivery.id);
    assert.deepEqual(
      attempts.map((a) => [a.attempt, a.statusCode]),
      [
        [1, null],
        [2, null],
        [3, 503],
        [4, 200],
      ],
    );
    assert.equal(attempts[0]?.error, 'connection failed');
    assert.equal(attempts[2]?.error, 'HTTP 503');
    assert.equal(attempts[3]?.error, null);
    assert.ok(attempts.every((a) => a.durationMs >= 0));
    // Every attempt carries the same webhook-id and a body the receiver can verify.
    assert.deepEqual(
      receiver.received.map((r) => r.headers['webhook-id']),
      [delivery.id, delivery.id],
    );
  });

  it('gives up when the schedule runs out, and redelivers by hand', async () => {
    const { store, deployment, clock, dispatcher } = await setup({
      retryDelaysMs: [1_000, 60 * 60_000],
    });
    await using _ = dispatcher;
    await using receiver = await startWebhookReceiver();
    receiver.status = 500;
    const hook = await store.webhooks.create({ url: receiver.url(), events: ['run.paused'] });
    dispatcher.start();
    const [delivery] = await dispatcher.enqueue({
      type: 'run.paused',
      runId: 'run_1',
      deploymentId: deployment.id,
      data: {},
    });
    assert.ok(delivery);
    await settled(store, delivery.id, 1);
    clock.advance(1_000);
    await settled(store, delivery.id, 2);
    clock.advance(60 * 60_000);
    const failed = await settled(store, delivery.id, 3);
    assert.equal(failed.status, 'failed');
    assert.equal(failed.nextAttemptAt, null);
    clock.advance(24 * 60 * 60_000);
    assert.equal(await dispatcher.deliverDue(), 0);
    assert.equal(receiver.received.length, 3, 'no attempt after giving up');

    receiver.status = 200;
    assert.equal((await dispatcher.redeliver(delivery.id)).status, 'pending');
    const redelivered = await settled(store, delivery.id, 4);
    assert.equal(redelivered.status, 'succeeded');
    // A delivered message can be sent again too; receivers dedupe on webhook-id.
    await dispatcher.redeliver(delivery.id);
    await settled(store, delivery.id, 5);
    assert.deepEqual(
      (await store.webhookDeliveries.attempts(delivery.id)).map((a) => a.statusCode),
      [500, 500, 500, 200, 200],
    );
    assert.equal(new Set(receiver.received.map((r) => r.headers['webhook-id'])).size, 1);
    for (const request of receiver.received.slice(3)) {
      const input = { payload: request.body, headers: request.headers, secret: hook.secret };
      assert.equal(
        (verifyWebhook({ ...input, now: clock.now() }) as { type: string }).type,
        'run.paused',
      );
    }
    await assert.rejects(dispatcher.redeliver('whd_nope'), { code: 'webhook_delivery_not_found' });
  });

  it('stops retrying a receiver that answers 410 Gone', async () => {
    const { store, deployment, dispatcher } = await setup();
    await using _ = dispatcher;
    await using receiver = await startWebhookReceiver();
    receiver.status = 410;
    await store.webhooks.create({ url: receiver.url(), events: ['run.cancelled'] });
    dispatcher.start();
    const [delivery] = await dispatcher.enqueue({
      type: 'run.cancelled',
      runId: 'run_1',
      deploymentId: deployment.id,
      data: {},
    });
    assert.ok(delivery);
    const gone = await settled(store, delivery.id, 1);
    assert.deepEqual([gone.status, gone.lastStatusCode], ['failed', 410]);
  });

  it('sends each event to the global and that deployment’s subscriptions of its type only', async () => {
    const { store, deployment: a, dispatcher } = await setup();
    await using _ = dispatcher;
    await using receiver = await startWebhookReceiver();
    const runtime = await store.runtimes.create({ slug: 'other', definition: {} });
    const b = await store.deployments.create({
      apiSlug: 'other',
      runtimeId: runtime.id,
      templateSlug: 'nodejs-20',
    });
    await store.webhooks.create({
      url: receiver.url('/global'),
      events: ['run.completed', 'run.failed'],
    });
    await store.webhooks.create({
      url: receiver.url('/a'),
      events: ['run.completed'],
      deploymentId: a.id,
    });
    await store.webhooks.create({
      url: receiver.url('/b'),
      events: ['run.completed', 'run.started'],
      deploymentId: b.id,
    });
    dispatcher.start();
    const send = async (
      type: 'run.completed' | 'run.started' | 'run.resumed',
      deploymentId: string,
    ) => (await dispatcher.enqueue({ type, runId: `run_${type}`, deploymentId, data: {} })).length;
    assert.equal(await send('run.completed', a.id), 2);
    assert.equal(await send('run.started', a.id), 0);
    assert.equal(await send('run.started', b.id), 1);
    assert.equal(await send('run.resumed', b.id), 0);
    await waitFor(async () => receiver.received.length === 3, 'three deliveries');
    // Stopped (its round in flight finished), it sends nothing more: what arrived is all.
    await dispatcher.stop();
    assert.deepEqual(
      receiver.received
        .map((r) => `${r.path} ${(JSON.parse(r.body) as { type: string }).type}`)
        .sort(),
      ['/a run.completed', '/b run.started', '/global run.completed'],
    );
  });

  it('never sends one delivery from two dispatchers at once', async () => {
    const { store, deployment, clock } = await setup();
    const again = createStore(await openAgain(store.database));
    await using receiver = await startWebhookReceiver();
    await store.webhooks.create({ url: receiver.url(), events: ['run.completed'] });
    const options = { addresses, clock, pollIntervalMs: 5, random: () => 0.5, batchSize: 2 };
    await using one = new WebhookDispatcher({ store, ...options });
    await using two = new WebhookDispatcher({ store: again, ...options });
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const deliveries = await one.enqueue({
        type: 'run.completed',
        runId: `run_${i}`,
        deploymentId: deployment.id,
        data: {},
      });
      ids.push(...deliveries.map((d) => d.id));
    }
    one.start();
    two.start();
    await waitFor(async () => receiver.received.length >= 20, 'twenty deliveries');
    // Both stopped (their rounds in flight finished), nothing more is sent: what arrived is all.
    await one.stop();
    await two.stop();
    assert.deepEqual(receiver.received.map((r) => r.headers['webhook-id']).sort(), ids.sort());
  });

  it('spreads retry delays by ±10% jitter', async () => {
    const port = await closedPort();
    for (const [random, delay] of [
      [0, 4_500],
      [0.999_999, 5_500],
    ] as const) {
      const { store, deployment, clock, dispatcher } = await setup({ random: () => random });
      await store.webhooks.create({ url: `http://127.0.0.1:${port}`, events: ['run.started'] });
      const [delivery] = await dispatcher.enqueue({
        type: 'run.started',
        runId: 'run_1',
        deploymentId: deployment.id,
        data: {},
      });
      assert.ok(delivery);
      assert.equal(await dispatcher.deliverDue(), 1);
      const retry = await store.webhookDeliveries.get(delivery.id);
      const actual = Date.parse(retry?.nextAttemptAt ?? '') - clock.now();
      assert.ok(Math.abs(actual - delay) <= 1, `${actual} ms, expected ${delay} ms`);
    }
  });

  it('times out a receiver that does not answer and retries it', async () => {
    const { store, deployment, dispatcher } = await setup({ requestTimeoutMs: 200 });
    await using receiver = await startWebhookReceiver();
    receiver.delayMs = 60_000;
    await store.webhooks.create({ url: receiver.url(), events: ['run.resumed'] });
    const [delivery] = await dispatcher.enqueue({
      type: 'run.resumed',
      runId: 'run_1',
      deploymentId: deployment.id,
      data: {},
    });
    assert.ok(delivery);
    await dispatcher.deliverDue();
    const [attempt] = await store.webhookDeliveries.attempts(delivery.id);
    assert.deepEqual([attempt?.statusCode, attempt?.error], [null, 'timeout']);
    assert.ok((attempt?.durationMs ?? 0) >= 150);
    assert.equal((await store.webhookDeliveries.get(delivery.id))?.status, 'pending');
  });

  it('runs its loop on the injected timers and stops cleanly', async () => {
    const scheduled = new Map<number, { callback: () => void; ms: number }>();
    let next = 0;
    const timers = {
      setTimeout: (callback: () => void, ms: number) => {
        scheduled.set(++next, { callback, ms });
        return next;
      },
      clearTimeout: (handle: unknown) => {
        scheduled.delete(handle as number);
      },
    };
    const { store, deployment, dispatcher } = await setup({ timers, pollIntervalMs: 1_000 });
    await using receiver = await startWebhookReceiver();
    await store.webhooks.create({ url: receiver.url(), events: ['run.completed'] });
    const fire = () => {
      const [first] = scheduled;
      assert.ok(first, 'a timer is scheduled');
      scheduled.delete(first[0]);
      first[1].callback();
    };
    dispatcher.start();
    dispatcher.start();
    assert.deepEqual(
      [...scheduled.values()].map((t) => t.ms),
      [0],
      'one round, due at once',
    );
    fire();
    await waitFor(async () => scheduled.size === 1 && scheduled, 'the next poll');
    assert.deepEqual(
      [...scheduled.values()].map((t) => t.ms),
      [1_000],
    );
    // New work does not wait for the poll: the loop is woken.
    await dispatcher.enqueue({
      type: 'run.completed',
      runId: 'run_1',
      deploymentId: deployment.id,
      data: {},
    });
    assert.deepEqual(
      [...scheduled.values()].map((t) => t.ms),
      [0],
    );
    fire();
    await waitFor(async () => receiver.received.length === 1, 'the delivery');
    await waitFor(async () => scheduled.size === 1 && scheduled, 'the next poll');
    await dispatcher.stop();
    assert.equal(scheduled.size, 0, 'stop clears the pending timer');
  });
});
