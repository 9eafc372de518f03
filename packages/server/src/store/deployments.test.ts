import assert from 'node:assert/strict';
import { it } from 'node:test';
import { describeEachDatabase } from '../testing/test-databases.ts';
import { createStore } from './store.ts';

describeEachDatabase('deployments', ({ open }) => {
  it('creates, reads by id and by api slug, updates and deletes', async () => {
    const store = createStore(await open());
    const runtime = await store.runtimes.create({ slug: 'helper', definition: {} });
    const other = await store.runtimes.create({ slug: 'helper', definition: { v: 2 } });
    const dep = await store.deployments.create({
      apiSlug: 'support-bot',
      runtimeId: runtime.id,
      templateSlug: 'nodejs-20',
    });
    assert.deepEqual(await store.deployments.get(dep.id), dep);
    assert.deepEqual(await store.deployments.getBySlug('support-bot'), dep);
    const moved = await store.deployments.update(dep.id, { runtimeId: other.id });
    assert.equal(moved.runtimeId, other.id);
    assert.equal(moved.apiSlug, 'support-bot');
    await assert.rejects(store.deployments.update('dep_nope', { templateSlug: 'x' }), {
      code: 'deployment_not_found',
    });
    assert.equal(await store.deployments.delete(dep.id), true);
    assert.equal(await store.deployments.getBySlug('support-bot'), undefined);
  });

  it('keeps api slugs unique and refuses an unknown runtime', async () => {
    const store = createStore(await open());
    const runtime = await store.runtimes.create({ slug: 'helper', definition: {} });
    const input = { apiSlug: 'bot', runtimeId: runtime.id, templateSlug: 'nodejs-20' };
    const first = await store.deployments.create(input);
    await assert.rejects(store.deployments.create(input), { code: 'deployment_slug_taken' });
    const second = await store.deployments.create({ ...input, apiSlug: 'bot-2' });
    await assert.rejects(store.deployments.update(second.id, { apiSlug: 'bot' }), {
      code: 'deployment_slug_taken',
    });
    await assert.rejects(
      store.deployments.create({ ...input, apiSlug: 'x', runtimeId: 'rtm_nope' }),
      {
        code: 'runtime_not_found',
      },
    );
    const page = await store.deployments.list({ limit: 1 });
    assert.deepEqual(
      page.items.map((d) => d.id),
      [second.id],
    );
    const next = await store.deployments.list({ limit: 1, cursor: page.nextCursor ?? '' });
    assert.deepEqual(
      next.items.map((d) => d.id),
      [first.id],
    );
    assert.equal(next.nextCursor, null);
  });
});
