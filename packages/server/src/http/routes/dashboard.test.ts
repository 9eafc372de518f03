import assert from 'node:assert/strict';
import { it } from 'node:test';
import { describeEachDatabase } from '../../testing/test-databases.ts';
import { startTestServer } from '../../testing/test-server.ts';

describeEachDatabase('dashboard placeholder', ({ open }) => {
  it('serves the page at / and /dashboard without a key; its script parses', async () => {
    await using server = await startTestServer(await open());
    for (const path of ['/', '/dashboard']) {
      const response = await fetch(`${server.url}${path}`);
      assert.equal(response.status, 200);
      assert.match(response.headers.get('content-type') ?? '', /text\/html/);
      const page = await response.text();
      assert.match(page, /<title>RunTools<\/title>/);
      assert.match(page, /\/v1\/openapi\.json/);
      const script = /<script>([\s\S]*)<\/script>/.exec(page)?.[1] ?? '';
      assert.ok(script.includes("api('/v1/deployments"));
      // Only parsed, not run: a syntax error in the inline script would throw here.
      assert.doesNotThrow(() => new Function(script));
    }
    // The API behind it still wants a key.
    assert.equal((await server.request('GET', '/v1/deployments', { key: null })).status, 401);
  });
});
