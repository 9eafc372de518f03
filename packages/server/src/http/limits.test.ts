import assert from 'node:assert/strict';
import { it } from 'node:test';
import { apiScopes } from '@runtools/sdk/api';
import { describeEachDatabase } from '../testing/test-databases.ts';
import { startTestServer, testBootstrapKey } from '../testing/test-server.ts';

describeEachDatabase('http limits', ({ open }) => {
  it('refuses a body over the limit with 413, declared or streamed', async () => {
    await using server = await startTestServer(await open(), { bodyLimitBytes: 1024 });
    const big = JSON.stringify({ name: 'x'.repeat(2048) });
    const declared = await server.request('POST', '/v1/api-keys', { raw: big });
    assert.equal(declared.status, 413);
    assert.equal((declared.body as { error: { code: string } }).error.code, 'payload_too_large');
    // Chunked, so no Content-Length: the limit is enforced while reading.
    const chunks = new Blob([big]).stream();
    const streamed = await fetch(`${server.url}/v1/api-keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${testBootstrapKey}`, 'content-type': 'application/json' },
      body: chunks,
      duplex: 'half',
    } as RequestInit);
    assert.equal(streamed.status, 413);
    const small = await server.request('POST', '/v1/api-keys', { body: { name: 'ok' } });
    assert.equal(small.status, 201);
  });

  it('rate-limits per key with 429 and Retry-After, and refills over time', async () => {
    let now = 0;
    await using server = await startTestServer(await open(), {
      rateLimit: { burst: 3, perSecond: 1, now: () => now },
    });
    const other = await server.store.apiKeys.create({ name: 'other', scopes: apiScopes });
    for (let i = 0; i < 3; i++) assert.equal((await server.request('GET', '/v1/runs')).status, 200);
    const limited = await server.request('GET', '/v1/runs');
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get('retry-after'), '1');
    assert.equal((limited.body as { error: { code: string } }).error.code, 'rate_limited');
    // Another key has its own bucket.
    assert.equal((await server.request('GET', '/v1/runs', { key: other.key })).status, 200);
    now += 1000;
    assert.equal((await server.request('GET', '/v1/runs')).status, 200);
    assert.equal((await server.request('GET', '/v1/runs')).status, 429);
  });

  it('refuses new runs with 503 server_shutting_down while the server drains', async () => {
    let accepting = true;
    await using server = await startTestServer(await open(), { acceptingRuns: () => accepting });
    const before = await server.request('POST', '/v1/run/nowhere', { body: { input: 'x' } });
    assert.equal(before.status, 404, 'runs are taken (this deployment just does not exist)');
    accepting = false;
    const draining = await server.request('POST', '/v1/run/nowhere', { body: { input: 'x' } });
    assert.equal(draining.status, 503);
    const body = draining.body as { error: { code: string } };
    assert.equal(body.error.code, 'server_shutting_down');
    assert.equal((await server.request('GET', '/v1/runs')).status, 200, 'the rest still answers');
  });
});
