import assert from 'node:assert/strict';
import { it } from 'node:test';
import { describeEachDatabase } from '../testing/test-databases.ts';
import { startTestServer } from '../testing/test-server.ts';

interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, { requestBody?: { content: Record<string, unknown> } }>>;
  components: { schemas: Record<string, { required?: string[]; properties?: object }> };
}

describeEachDatabase('http openapi document', ({ open }) => {
  it('is generated from the zod schemas and documents every route', async () => {
    await using server = await startTestServer(await open());
    const response = await server.request('GET', '/v1/openapi.json', { key: null });
    assert.equal(response.status, 200);
    const doc = response.body as OpenApiDocument;
    assert.equal(doc.openapi, '3.1.0');
    const documented = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );
    for (const route of [
      'GET /health',
      'POST /v1/runtimes',
      'GET /v1/runtimes',
      'GET /v1/runtimes/{id}',
      'PUT /v1/runtimes/{id}',
      'DELETE /v1/runtimes/{id}',
      'POST /v1/deployments',
      'PATCH /v1/deployments/{id}',
      'POST /v1/api-keys',
      'DELETE /v1/api-keys/{id}',
      'POST /v1/webhooks',
      'GET /v1/webhooks/{id}',
      'GET /v1/runs',
      'GET /v1/runs/{id}',
      'POST /v1/run/{slug}',
      'GET /v1/runs/{id}/events',
      'POST /v1/runs/{id}/cancel',
      'POST /v1/runs/{id}/pause',
      'POST /v1/runs/{id}/resume',
      'GET /v1/run/{slug}/stream',
      'GET /v1/runs/{id}/stream',
    ]) {
      assert.ok(documented.includes(route), `${route} is documented`);
    }
    assert.deepEqual(doc.components.schemas.DeploymentInput?.required?.sort(), [
      'api_slug',
      'runtime_id',
      'template',
    ]);
    assert.ok(doc.components.schemas.Error);
    assert.deepEqual(doc.components.schemas.RunRequest?.required, ['input']);
    const runtimeBody = doc.paths['/v1/runtimes']?.post?.requestBody?.content['application/json'];
    assert.match(JSON.stringify(runtimeBody), /systemPrompt/);
  });
});
