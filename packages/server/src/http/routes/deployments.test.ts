import assert from 'node:assert/strict';
import { it } from 'node:test';
import { describeEachDatabase } from '../../testing/test-databases.ts';
import { startTestServer, type TestServer } from '../../testing/test-server.ts';

interface DeploymentJson {
  id: string;
  apiSlug: string;
  runtimeId: string;
  agent: { slug: string; version: number; model: string; tools: string[] } | null;
  template: string;
}

async function createRuntime(server: TestServer): Promise<string> {
  const response = await server.request('POST', '/v1/runtimes', {
    body: { slug: 'helper', model: 'claude-sonnet-4-5', systemPrompt: 'Be brief.' },
  });
  return (response.body as { id: string }).id;
}

describeEachDatabase('http /v1/deployments', ({ open }) => {
  it('creates, gets, lists, updates and deletes deployments', async () => {
    await using server = await startTestServer(await open());
    const runtimeId = await createRuntime(server);
    const created = await server.request('POST', '/v1/deployments', {
      body: { apiSlug: 'helper', runtimeId: runtimeId, template: 'debian-13' },
    });
    assert.equal(created.status, 201);
    const deployment = created.body as DeploymentJson;
    assert.deepEqual(
      [deployment.apiSlug, deployment.runtimeId, deployment.template],
      ['helper', runtimeId, 'debian-13'],
    );
    assert.deepEqual(deployment.agent, {
      slug: 'helper',
      version: 1,
      model: 'claude-sonnet-4-5',
      tools: [],
    });
    assert.deepEqual((await server.request('GET', `/v1/deployments/${deployment.id}`)).body, {
      ...deployment,
    });
    const list = await server.request('GET', '/v1/deployments?limit=1');
    assert.deepEqual(list.body, { data: [deployment], nextCursor: null });
    const patched = await server.request('PATCH', `/v1/deployments/${deployment.id}`, {
      body: { template: 'nodejs-20' },
    });
    assert.equal(patched.status, 200);
    assert.equal((patched.body as DeploymentJson).template, 'nodejs-20');
    assert.equal((patched.body as DeploymentJson).apiSlug, 'helper');
    assert.equal((await server.request('DELETE', `/v1/deployments/${deployment.id}`)).status, 204);
    const gone = await server.request('GET', `/v1/deployments/${deployment.id}`);
    assert.equal(gone.status, 404);
    assert.deepEqual(gone.body, {
      error: {
        code: 'deployment_not_found',
        message: `Deployment ${deployment.id} does not exist.`,
        details: { deploymentId: deployment.id },
      },
    });
  });

  it("shows the agent's model by name and tools, never a custom endpoint or its key", async () => {
    await using server = await startTestServer(await open());
    const runtime = await server.request('POST', '/v1/runtimes', {
      body: {
        slug: 'local',
        name: 'Local helper',
        model: {
          provider: 'custom',
          endpoint: 'http://10.0.0.5:8000/v1',
          model: 'llama-3',
          apiKey: 'sk-secret-value-1234',
        },
        systemPrompt: 'Be brief.',
        tools: ['bash', 'read_file'],
      },
    });
    const runtimeId = (runtime.body as { id: string }).id;
    await server.request('POST', '/v1/deployments', {
      body: { apiSlug: 'local', runtimeId, template: 'debian-13' },
    });
    const { body } = await server.request('GET', '/v1/deployments');
    const [listed] = (body as { data: DeploymentJson[] }).data;
    assert.deepEqual(listed?.agent, {
      slug: 'local',
      version: 1,
      name: 'Local helper',
      model: 'custom/llama-3',
      tools: ['bash', 'read_file'],
    });
    assert.ok(!JSON.stringify(body).includes('10.0.0.5'), 'no endpoint');
    assert.ok(!JSON.stringify(body).includes('sk-'), 'no key, not even masked');
  });

  it('answers 409 for a duplicate apiSlug, on create and on update', async () => {
    await using server = await startTestServer(await open());
    const runtimeId = await createRuntime(server);
    const body = { apiSlug: 'helper', runtimeId: runtimeId, template: 'debian-13' };
    assert.equal((await server.request('POST', '/v1/deployments', { body })).status, 201);
    const duplicate = await server.request('POST', '/v1/deployments', { body });
    assert.equal(duplicate.status, 409);
    assert.equal(
      (duplicate.body as { error: { code: string } }).error.code,
      'deployment_slug_taken',
    );
    const other = await server.request('POST', '/v1/deployments', {
      body: { ...body, apiSlug: 'other' },
    });
    const renamed = await server.request(
      'PATCH',
      `/v1/deployments/${(other.body as DeploymentJson).id}`,
      { body: { apiSlug: 'helper' } },
    );
    assert.equal(renamed.status, 409);
  });

  it('validates the body, naming the field, and answers 404 for an unknown runtime', async () => {
    await using server = await startTestServer(await open());
    const bad = await server.request('POST', '/v1/deployments', {
      body: { apiSlug: 'Has Spaces', runtimeId: 'rtm_x', template: 'debian-13' },
    });
    assert.equal(bad.status, 400);
    const issues = (bad.body as { error: { details: { issues: Array<{ field: string }> } } }).error
      .details.issues;
    assert.deepEqual(
      issues.map((i) => i.field),
      ['apiSlug'],
    );
    const unknown = await server.request('POST', '/v1/deployments', {
      body: { apiSlug: 'ok', runtimeId: 'rtm_missing', template: 'debian-13' },
    });
    assert.equal(unknown.status, 404);
    assert.equal((unknown.body as { error: { code: string } }).error.code, 'runtime_not_found');
  });
});
