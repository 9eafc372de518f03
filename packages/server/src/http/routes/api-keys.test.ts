import assert from 'node:assert/strict';
import { it } from 'node:test';
import { describeEachDatabase } from '../../testing/test-databases.ts';
import { startTestServer } from '../../testing/test-server.ts';

describeEachDatabase('http /v1/api-keys', ({ open }) => {
  it('shows the plaintext key once, lists prefixes only, and revokes on delete', async () => {
    await using server = await startTestServer(await open());
    const created = await server.request('POST', '/v1/api-keys', { body: { name: 'ci' } });
    assert.equal(created.status, 201);
    const { id, key, prefix } = created.body as { id: string; key: string; prefix: string };
    assert.match(key, /^rtk_/);
    assert.ok(key.startsWith(prefix));
    const list = await server.request('GET', '/v1/api-keys');
    const text = JSON.stringify(list.body);
    assert.ok(!text.includes(key), 'the list never holds a plaintext key');
    const [listed] = (list.body as { data: Array<Record<string, unknown>> }).data;
    assert.deepEqual(Object.keys(listed ?? {}).sort(), [
      'createdAt',
      'deployments',
      'id',
      'name',
      'prefix',
      'revokedAt',
      'scopes',
    ]);
    const revoked = await server.request('DELETE', `/v1/api-keys/${id}`);
    assert.equal(revoked.status, 200);
    assert.notEqual((revoked.body as { revokedAt: string | null }).revokedAt, null);
    assert.equal((await server.request('DELETE', `/v1/api-keys/${id}`)).status, 200);
    assert.equal((await server.request('DELETE', '/v1/api-keys/key_nope')).status, 404);
    assert.equal((await server.request('POST', '/v1/api-keys', { body: {} })).status, 400);
  });
});
