import assert from 'node:assert/strict';
import { it } from 'node:test';
import { describeEachDatabase } from '../testing/test-databases.ts';
import { createStore } from './store.ts';

describeEachDatabase('webhooks', ({ open }) => {
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
});
