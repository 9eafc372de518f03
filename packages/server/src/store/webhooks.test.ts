import assert from 'node:assert/strict';
import { it } from 'node:test';
import { describeEachDatabase } from '../testing/test-databases.ts';
import { createStore } from './store.ts';

describeEachDatabase('webhooks', ({ open, openAgain }) => {
  async function setup() {
    const store = createStore(await open());
    const runtime = await store.runtimes.create({ slug: 'helper', definition: {} });
    const dep = await store.deployments.create({
      apiSlug: 'bot',
      runtimeId: runtime.id,
      templateSlug: 'nodejs-20',
    });
    return { store, dep };
  }

  it('creates global and per-deployment webhooks with a whsec_ secret and finds subscribers', async () => {
    const { store, dep } = await setup();
    const global = await store.webhooks.create({
      url: 'https://example.com/all',
      events: ['run.completed', 'run.failed'],
    });
    assert.match(global.secret, /^whsec_[A-Za-z0-9+/]{32}$/);
    assert.equal(global.deploymentId, null);
    const own = await store.webhooks.create({
      url: 'https://example.com/bot',
      events: ['run.completed'],
      deploymentId: dep.id,
    });
    assert.deepEqual(await store.webhooks.get(own.id), own);
    assert.deepEqual(
      (await store.webhooks.subscribers(dep.id, 'run.completed')).map((w) => w.id),
      [global.id, own.id],
    );
    assert.deepEqual(
      (await store.webhooks.subscribers('dep_other', 'run.failed')).map((w) => w.id),
      [global.id],
    );
    assert.deepEqual(
      (await store.webhooks.list({ deploymentId: dep.id })).items.map((w) => w.id),
      [own.id],
    );
    const updated = await store.webhooks.update(own.id, { events: ['run.paused'] });
    assert.deepEqual(updated.events, ['run.paused']);
    await assert.rejects(
      store.webhooks.create({ url: 'https://x', events: [], deploymentId: 'dep_nope' }),
      { code: 'deployment_not_found' },
    );
    assert.equal(await store.webhooks.delete(own.id), true);
    assert.equal(await store.webhooks.get(own.id), undefined);
  });

  it('records every delivery attempt and schedules retries until success', async () => {
    const { store } = await setup();
    const hook = await store.webhooks.create({ url: 'https://x', events: ['run.completed'] });
    const delivery = await store.webhookDeliveries.create({
      webhookId: hook.id,
      runId: 'run_1',
      eventType: 'run.completed',
      payload: '{"type":"run.completed"}',
    });
    assert.deepEqual(
      (await store.webhookDeliveries.due()).map((d) => d.id),
      [delivery.id],
    );
    const later = new Date(Date.now() + 60_000).toISOString();
    const retry = await store.webhookDeliveries.recordAttempt(delivery.id, {
      statusCode: 503,
      error: 'Service Unavailable',
      durationMs: 12,
      nextAttemptAt: later,
    });
    assert.equal(retry.status, 'pending');
    assert.equal(retry.attempts, 1);
    assert.deepEqual(await store.webhookDeliveries.due(), []);
    assert.deepEqual(
      (await store.webhookDeliveries.due(later)).map((d) => d.id),
      [delivery.id],
    );
    const ok = await store.webhookDeliveries.recordAttempt(delivery.id, {
      statusCode: 204,
      durationMs: 5,
      nextAttemptAt: null,
    });
    assert.equal(ok.status, 'succeeded');
    assert.equal(ok.nextAttemptAt, null);
    const attempts = await store.webhookDeliveries.attempts(delivery.id);
    assert.deepEqual(
      attempts.map((a) => [a.attempt, a.statusCode, a.error]),
      [
        [1, 503, 'Service Unavailable'],
        [2, 204, null],
      ],
    );
    const failed = await store.webhookDeliveries.create({
      webhookId: hook.id,
      eventType: 'run.completed',
      payload: '{}',
    });
    const gaveUp = await store.webhookDeliveries.recordAttempt(failed.id, {
      statusCode: null,
      error: 'ECONNREFUSED',
      durationMs: 1,
      nextAttemptAt: null,
    });
    assert.equal(gaveUp.status, 'failed');
    assert.equal((await store.webhookDeliveries.redeliver(failed.id)).status, 'pending');
    assert.equal((await store.webhookDeliveries.list({ webhookId: hook.id })).items.length, 2);
  });

  it('claims a due delivery for one sender only, until its lease passes', async () => {
    const { store } = await setup();
    const again = createStore(await openAgain(store.database));
    const hook = await store.webhooks.create({ url: 'https://x', events: ['run.failed'] });
    const t0 = '2030-01-01T00:00:00.000Z';
    const lease = '2030-01-01T00:00:40.000Z';
    const delivery = await store.webhookDeliveries.create(
      { webhookId: hook.id, runId: null, eventType: 'run.failed', payload: '{}' },
      t0,
    );
    assert.equal(delivery.nextAttemptAt, t0);
    assert.deepEqual(await store.webhookDeliveries.claimDue('2029-12-31T23:59:59.000Z', lease), []);
    const [first, second] = await Promise.all([
      store.webhookDeliveries.claimDue(t0, lease),
      again.webhookDeliveries.claimDue(t0, lease),
    ]);
    assert.equal(first.length + second.length, 1, 'exactly one sender gets it');
    assert.equal([...first, ...second][0]?.nextAttemptAt, lease);
    assert.deepEqual(await store.webhookDeliveries.claimDue(t0, lease), []);
    // The sender died without recording an attempt: the delivery is due again after the lease.
    const reclaimed = await store.webhookDeliveries.claimDue(lease, '2030-01-01T00:01:20.000Z');
    assert.deepEqual(
      reclaimed.map((d) => [d.id, d.status, d.attempts]),
      [[delivery.id, 'pending', 0]],
    );
    const done = await store.webhookDeliveries.recordAttempt(
      delivery.id,
      { statusCode: 200, durationMs: 3, nextAttemptAt: null },
      '2030-01-01T00:00:41.000Z',
    );
    assert.equal(done.status, 'succeeded');
    assert.deepEqual(
      (await store.webhookDeliveries.attempts(delivery.id)).map((a) => a.ts),
      ['2030-01-01T00:00:41.000Z'],
    );
    const redelivered = await store.webhookDeliveries.redeliver(
      delivery.id,
      '2030-01-02T00:00:00.000Z',
    );
    assert.deepEqual(
      [redelivered.status, redelivered.nextAttemptAt],
      ['pending', '2030-01-02T00:00:00.000Z'],
    );
  });
});
