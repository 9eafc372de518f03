import assert from 'node:assert/strict';
import { it } from 'node:test';
import { describeEachDatabase } from '../testing/test-databases.ts';
import { createStore } from './store.ts';

const definition = { name: 'helper', model: 'claude-sonnet-4-5', system: 'Be brief.', tools: [] };

describeEachDatabase('runtimes', ({ open }) => {
  it('creates version 1, then the next version for the same slug', async () => {
    const store = createStore(await open());
    const v1 = await store.runtimes.create({ slug: 'helper', definition });
    const v2 = await store.runtimes.create({
      slug: 'helper',
      definition: { ...definition, tools: ['bash'] },
    });
    assert.deepEqual([v1.version, v2.version], [1, 2]);
    assert.deepEqual(await store.runtimes.get(v1.id), v1);
    assert.deepEqual(await store.runtimes.getLatest('helper'), v2);
    assert.equal(await store.runtimes.getLatest('nope'), undefined);
    const versions = await Promise.all(
      Array.from({ length: 4 }, () => store.runtimes.create({ slug: 'racy', definition })),
    );
    assert.deepEqual(versions.map((r) => r.version).sort(), [1, 2, 3, 4]);
  });

  it('lists with pagination and by slug, updates and deletes', async () => {
    const store = createStore(await open());
    const a = await store.runtimes.create({ slug: 'a', definition });
    const b = await store.runtimes.create({ slug: 'b', definition });
    const a2 = await store.runtimes.create({ slug: 'a', definition });
    const page = await store.runtimes.list({ limit: 2 });
    assert.deepEqual(
      page.items.map((r) => r.id),
      [a2.id, b.id],
    );
    const rest = await store.runtimes.list({ limit: 2, cursor: page.nextCursor ?? '' });
    assert.deepEqual(
      rest.items.map((r) => r.id),
      [a.id],
    );
    assert.equal(rest.nextCursor, null);
    assert.deepEqual(
      (await store.runtimes.list({ slug: 'a' })).items.map((r) => r.version),
      [2, 1],
    );
    const updated = await store.runtimes.update(a.id, {
      definition: { ...definition, system: 'Hi' },
    });
    assert.equal((updated.definition as { system: string }).system, 'Hi');
    await assert.rejects(store.runtimes.update('rtm_nope', { definition }), {
      code: 'runtime_not_found',
    });
    assert.equal(await store.runtimes.delete(b.id), true);
    assert.equal(await store.runtimes.delete(b.id), false);
  });

  it('refuses to delete a runtime a deployment uses', async () => {
    const store = createStore(await open());
    const runtime = await store.runtimes.create({ slug: 'a', definition });
    await store.deployments.create({
      apiSlug: 'a',
      runtimeId: runtime.id,
      templateSlug: 'nodejs-20',
    });
    await assert.rejects(store.runtimes.delete(runtime.id), { code: 'runtime_in_use' });
    assert.ok(await store.runtimes.get(runtime.id));
  });
});
