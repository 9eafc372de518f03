import assert from 'node:assert/strict';
import { it } from 'node:test';
import { describeEachDatabase } from '../testing/test-databases.ts';
import { startTestServer, testBootstrapKey } from '../testing/test-server.ts';

describeEachDatabase('http auth', ({ open }) => {
  it('answers /health and the OpenAPI document without a key', async () => {
    await using server = await startTestServer(await open());
    const health = await server.request('GET', '/health', { key: null });
    assert.equal(health.status, 200);
    assert.deepEqual(health.body, { status: 'ok' });
    assert.equal((await server.request('GET', '/v1/openapi.json', { key: null })).status, 200);
  });

  it('refuses a request without a key, with a bad key or a malformed header (401)', async () => {
    await using server = await startTestServer(await open());
    const attempts: Array<Record<string, string>> = [
      {},
      { authorization: 'Bearer rtk_notarealkey000000000000' },
      { authorization: 'Bearer nope' },
      { authorization: 'Basic dXNlcjpwYXNz' },
      { authorization: 'Bearer' },
    ];
    for (const headers of attempts) {
      const response = await server.request('GET', '/v1/runtimes', { key: null, headers });
      assert.equal(response.status, 401, JSON.stringify(headers));
      assert.equal(
        (response.body as { error: { code: string } }).error.code,
        'unauthorized',
        JSON.stringify(headers),
      );
    }
    // Unknown routes under /v1 do not reveal themselves before authentication.
    assert.equal((await server.request('GET', '/v1/nope', { key: null })).status, 401);
  });

  it('accepts the bootstrap key and a created key, and refuses a key once revoked', async () => {
    await using server = await startTestServer(await open());
    assert.equal((await server.request('GET', '/v1/runtimes')).status, 200);
    const created = await server.request('POST', '/v1/api-keys', { body: { name: 'ci' } });
    assert.equal(created.status, 201);
    const { id, key } = created.body as { id: string; key: string };
    assert.equal((await server.request('GET', '/v1/runtimes', { key })).status, 200);
    const revoked = await server.request('DELETE', `/v1/api-keys/${id}`, { key });
    assert.equal(revoked.status, 200);
    const after = await server.request('GET', '/v1/runtimes', { key });
    assert.equal(after.status, 401);
    assert.equal((after.body as { error: { code: string } }).error.code, 'unauthorized');
  });

  it('accepts no bootstrap key when none is configured', async () => {
    await using server = await startTestServer(await open(), { bootstrapKey: undefined });
    const response = await server.request('GET', '/v1/runtimes', { key: testBootstrapKey });
    assert.equal(response.status, 401);
  });
});
