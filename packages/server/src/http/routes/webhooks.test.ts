import assert from 'node:assert/strict';
import { it } from 'node:test';
import { describeEachDatabase } from '../../testing/test-databases.ts';
import { startTestServer } from '../../testing/test-server.ts';

describeEachDatabase('http /v1/webhooks', ({ open }) => {
  it('creates a webhook with a whsec_ secret of 24 random bytes, lists, gets, deletes', async () => {
    await using server = await startTestServer(await open());
    const created = await server.request('POST', '/v1/webhooks', {
      body: { url: 'https://example.test/hook', events: ['run.completed', 'run.failed'] },
    });
    assert.equal(created.status, 201);
    const { id, secret } = created.body as { id: string; secret: string };
    assert.match(secret, /^whsec_[A-Za-z0-9+/]+=*$/);
    assert.equal(Buffer.from(secret.slice('whsec_'.length), 'base64').length, 24);
    const got = await server.request('GET', `/v1/webhooks/${id}`);
    assert.equal(got.status, 200);
    assert.equal((got.body as { secret?: string }).secret, undefined);
    assert.deepEqual((got.body as { events: string[] }).events, ['run.completed', 'run.failed']);
    const list = await server.request('GET', '/v1/webhooks');
    assert.deepEqual(
      (list.body as { data: Array<{ id: string }> }).data.map((w) => w.id),
      [id],
    );
    assert.equal((await server.request('DELETE', `/v1/webhooks/${id}`)).status, 204);
    assert.equal((await server.request('GET', `/v1/webhooks/${id}`)).status, 404);
  });

  it('scopes a webhook to a deployment, which must exist', async () => {
    await using server = await startTestServer(await open());
    const runtime = await server.request('POST', '/v1/runtimes', {
      body: { slug: 'a', model: 'claude-sonnet-4-5', systemPrompt: 'Hi.' },
    });
    const deployment = await server.request('POST', '/v1/deployments', {
      body: { apiSlug: 'a', runtimeId: (runtime.body as { id: string }).id, template: 't' },
    });
    const deploymentId = (deployment.body as { id: string }).id;
    const body = { url: 'http://203.0.113.9/h', events: ['run.started'] };
    const scoped = await server.request('POST', '/v1/webhooks', {
      body: { ...body, deploymentId: deploymentId },
    });
    assert.equal(scoped.status, 201);
    await server.request('POST', '/v1/webhooks', { body });
    const list = await server.request('GET', `/v1/webhooks?deploymentId=${deploymentId}`);
    assert.equal((list.body as { data: unknown[] }).data.length, 1);
    const missing = await server.request('POST', '/v1/webhooks', {
      body: { ...body, deploymentId: 'dep_missing' },
    });
    assert.equal(missing.status, 404);
  });

  it('refuses a bad URL or an unknown event, naming the field', async () => {
    await using server = await startTestServer(await open());
    for (const [body, field] of [
      [{ url: 'ftp://example.test', events: ['run.started'] }, 'url'],
      [{ url: 'not a url', events: ['run.started'] }, 'url'],
      [{ url: 'https://example.test', events: ['run.exploded'] }, 'events.0'],
      [{ url: 'https://example.test', events: [] }, 'events'],
    ] as const) {
      const response = await server.request('POST', '/v1/webhooks', { body });
      assert.equal(response.status, 400, JSON.stringify(body));
      const issues = (response.body as { error: { details: { issues: Array<{ field: string }> } } })
        .error.details.issues;
      assert.deepEqual(
        issues.map((i) => i.field),
        [field],
      );
    }
  });
});
