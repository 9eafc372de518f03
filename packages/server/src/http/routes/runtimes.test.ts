import assert from 'node:assert/strict';
import { it } from 'node:test';
import { describeEachDatabase } from '../../testing/test-databases.ts';
import { startTestServer } from '../../testing/test-server.ts';

const definition = { slug: 'helper', model: 'claude-sonnet-4-5', systemPrompt: 'Be brief.' };

interface RuntimeJson {
  id: string;
  slug: string;
  version: number;
  definition: Record<string, unknown>;
}

describeEachDatabase('http /v1/runtimes', ({ open }) => {
  it('creates versions from agent definitions, with defaults applied, and gets them', async () => {
    await using server = await startTestServer(await open());
    const v1 = await server.request('POST', '/v1/runtimes', { body: definition });
    assert.equal(v1.status, 201);
    const runtime = v1.body as RuntimeJson;
    assert.equal(runtime.version, 1);
    assert.equal(runtime.definition.maxSteps, 25);
    const v2 = await server.request('POST', '/v1/runtimes', { body: definition });
    assert.equal((v2.body as RuntimeJson).version, 2);
    const got = await server.request('GET', `/v1/runtimes/${runtime.id}`);
    assert.deepEqual(got.body, runtime);
  });

  it('paginates with limit and cursor, newest first, and filters by slug', async () => {
    await using server = await startTestServer(await open());
    const ids: string[] = [];
    for (const slug of ['a', 'b', 'c', 'd', 'e']) {
      const r = await server.request('POST', '/v1/runtimes', { body: { ...definition, slug } });
      ids.unshift((r.body as RuntimeJson).id);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
      const page = await server.request('GET', `/v1/runtimes?limit=2${query}`);
      assert.equal(page.status, 200);
      const body = page.body as { data: RuntimeJson[]; nextCursor: string | null };
      assert.ok(body.data.length <= 2);
      seen.push(...body.data.map((r) => r.id));
      cursor = body.nextCursor;
    } while (cursor !== null);
    assert.deepEqual(seen, ids);
    const bySlug = await server.request('GET', '/v1/runtimes?slug=c');
    assert.deepEqual(
      (bySlug.body as { data: RuntimeJson[] }).data.map((r) => r.slug),
      ['c'],
    );
    for (const bad of ['limit=0', 'limit=101', 'limit=abc', 'cursor=']) {
      const response = await server.request('GET', `/v1/runtimes?${bad}`);
      assert.equal(response.status, 400, bad);
    }
  });

  it('replaces a definition with PUT but not its slug, and deletes', async () => {
    await using server = await startTestServer(await open());
    const { id } = (await server.request('POST', '/v1/runtimes', { body: definition }))
      .body as RuntimeJson;
    const put = await server.request('PUT', `/v1/runtimes/${id}`, {
      body: { ...definition, systemPrompt: 'Be thorough.' },
    });
    assert.equal(put.status, 200);
    assert.equal((put.body as RuntimeJson).definition.systemPrompt, 'Be thorough.');
    const renamed = await server.request('PUT', `/v1/runtimes/${id}`, {
      body: { ...definition, slug: 'other' },
    });
    assert.equal(renamed.status, 400);
    const missing = await server.request('PUT', '/v1/runtimes/rtm_nope', { body: definition });
    assert.equal(missing.status, 404);
    assert.equal((missing.body as { error: { code: string } }).error.code, 'runtime_not_found');
    assert.equal((await server.request('DELETE', `/v1/runtimes/${id}`)).status, 204);
    assert.equal((await server.request('DELETE', `/v1/runtimes/${id}`)).status, 404);
    assert.equal((await server.request('GET', `/v1/runtimes/${id}`)).status, 404);
  });

  it('refuses to delete a runtime a deployment uses (409)', async () => {
    await using server = await startTestServer(await open());
    const { id } = (await server.request('POST', '/v1/runtimes', { body: definition }))
      .body as RuntimeJson;
    await server.request('POST', '/v1/deployments', {
      body: { apiSlug: 'helper', runtimeId: id, template: 'debian-13' },
    });
    const response = await server.request('DELETE', `/v1/runtimes/${id}`);
    assert.equal(response.status, 409);
    assert.equal((response.body as { error: { code: string } }).error.code, 'runtime_in_use');
  });
});
