import assert from 'node:assert/strict';
import { it } from 'node:test';
import { apiScopes } from '@runtools/sdk/api';
import { describeEachDatabase } from '../testing/test-databases.ts';
import { createStore } from './store.ts';

describeEachDatabase('api keys', ({ open }) => {
  it('returns the plaintext once and stores only its hash', async () => {
    const database = await open();
    const store = createStore(database);
    const { apiKey, key } = await store.apiKeys.create({ name: 'ci', scopes: apiScopes });
    assert.match(key, /^rtk_[A-Za-z0-9_-]{43}$/);
    assert.equal(apiKey.prefix, key.slice(0, 12));
    const row = await database.db
      .selectFrom('api_keys')
      .selectAll()
      .where('id', '=', apiKey.id)
      .executeTakeFirstOrThrow();
    assert.ok(!JSON.stringify(row).includes(key.slice(12)));
    assert.equal(row.hash.length, 64);
    assert.deepEqual(await store.apiKeys.get(apiKey.id), apiKey);
  });

  it('verifies the right key and rejects wrong, unknown and malformed ones', async () => {
    const store = createStore(await open());
    const { apiKey, key } = await store.apiKeys.create({ name: 'ci', scopes: apiScopes });
    assert.deepEqual(await store.apiKeys.verify(key), apiKey);
    const flipped = `${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`;
    assert.equal(await store.apiKeys.verify(flipped), undefined);
    assert.equal(await store.apiKeys.verify(`rtk_${'x'.repeat(43)}`), undefined);
    assert.equal(await store.apiKeys.verify(''), undefined);
    assert.equal(await store.apiKeys.verify('Bearer nonsense'), undefined);
  });

  it('stops verifying a revoked key, and revoking twice keeps the first time', async () => {
    const store = createStore(await open());
    const { apiKey, key } = await store.apiKeys.create({ name: 'ci', scopes: apiScopes });
    const revoked = await store.apiKeys.revoke(apiKey.id);
    assert.ok(revoked.revokedAt);
    assert.equal(await store.apiKeys.verify(key), undefined);
    assert.equal((await store.apiKeys.revoke(apiKey.id)).revokedAt, revoked.revokedAt);
    await assert.rejects(store.apiKeys.revoke('key_nope'), { code: 'api_key_not_found' });
  });

  it('lists with pagination, renames and deletes', async () => {
    const store = createStore(await open());
    const ids: string[] = [];
    for (let i = 0; i < 5; i++)
      ids.push((await store.apiKeys.create({ name: `k${i}`, scopes: apiScopes })).apiKey.id);
    const page1 = await store.apiKeys.list({ limit: 2 });
    assert.deepEqual(
      page1.items.map((k) => k.id),
      [ids[4], ids[3]],
    );
    const page2 = await store.apiKeys.list({ limit: 10, cursor: page1.nextCursor ?? '' });
    assert.deepEqual(
      page2.items.map((k) => k.id),
      [ids[2], ids[1], ids[0]],
    );
    assert.equal(page2.nextCursor, null);
    assert.equal(
      (await store.apiKeys.update(ids[0] as string, { name: 'renamed' })).name,
      'renamed',
    );
    assert.equal(await store.apiKeys.delete(ids[0] as string), true);
    assert.equal(await store.apiKeys.delete(ids[0] as string), false);
    assert.equal(await store.apiKeys.get(ids[0] as string), undefined);
  });
});
