import assert from 'node:assert/strict';
import { it } from 'node:test';
import SwaggerParser from '@apidevtools/swagger-parser';
import { describeEachDatabase } from '../testing/test-databases.ts';
import { startTestServer } from '../testing/test-server.ts';

interface SchemaObject {
  required?: string[];
  properties?: Record<string, SchemaObject & { enum?: string[]; const?: string; $ref?: string }>;
  oneOf?: Array<{ $ref?: string }>;
  items?: { $ref?: string };
  $ref?: string;
}

interface OpenApiDocument {
  openapi: string;
  paths: Record<
    string,
    Record<
      string,
      {
        requestBody?: { content: Record<string, { schema?: SchemaObject }> };
        responses?: Record<string, { content?: Record<string, { schema?: SchemaObject }> }>;
      }
    >
  >;
  webhooks?: Record<string, { post?: { requestBody?: { content: Record<string, unknown> } } }>;
  components: { schemas: Record<string, SchemaObject> };
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
      'PUT /v1/bundles/{sha256}',
      'GET /v1/bundles/{sha256}',
    ]) {
      assert.ok(documented.includes(route), `${route} is documented`);
    }
    assert.deepEqual(doc.components.schemas.DeploymentInput?.required?.sort(), [
      'apiSlug',
      'runtimeId',
      'template',
    ]);
    assert.ok(doc.components.schemas.Error);
    assert.deepEqual(doc.components.schemas.RunRequest?.required, ['input']);
    const runtimeBody = doc.paths['/v1/runtimes']?.post?.requestBody?.content['application/json'];
    assert.equal(runtimeBody?.schema?.$ref, '#/components/schemas/RuntimeInput');
    assert.ok(doc.components.schemas.RuntimeInput?.properties?.systemPrompt);
  });

  it('is a valid OpenAPI 3.1 document that types every run event and webhook payload', async () => {
    await using server = await startTestServer(await open());
    const doc = (await server.request('GET', '/v1/openapi.json', { key: null }))
      .body as OpenApiDocument;
    // The parser resolves references in place: validate a copy.
    await SwaggerParser.validate(structuredClone(doc) as never);
    const { schemas } = doc.components;
    const eventRefs = schemas.RunEvent?.oneOf?.map((s) => s.$ref?.split('/').at(-1)) ?? [];
    assert.deepEqual(eventRefs.sort(), [
      'ApprovalRequestedEvent',
      'ApprovalResolvedEvent',
      'CompleteEvent',
      'ErrorEvent',
      'StatusEvent',
      'StepEvent',
      'TextEvent',
      'ThinkingEvent',
      'ToolCallEvent',
      'ToolLogEvent',
      'ToolResultEvent',
      'WorkflowStepCompletedEvent',
      'WorkflowStepFailedEvent',
      'WorkflowStepStartedEvent',
    ]);
    for (const name of eventRefs) {
      const event = schemas[name as string];
      assert.ok(event?.required?.includes('seq') && event.required.includes('ts'), name);
      assert.ok(event?.properties?.type, `${name} names its type`);
    }
    assert.deepEqual(schemas.StatusEvent?.properties?.status?.enum?.sort(), [
      'cancelled',
      'completed',
      'failed',
      'paused',
      'queued',
      'running',
      'waiting',
    ]);
    // Where events travel, they are RunEvents, not untyped records.
    const stream = doc.paths['/v1/runs/{id}/events']?.get?.responses?.['200']?.content;
    assert.equal(stream?.['text/event-stream']?.schema?.$ref, '#/components/schemas/RunEvent');
    assert.equal(
      schemas.RunWithEvents?.properties?.events?.items?.$ref,
      '#/components/schemas/RunEvent',
    );
    assert.equal(
      schemas.RunResult?.properties?.events?.items?.$ref,
      '#/components/schemas/RunEvent',
    );
    // Every webhook event type, each with the payload's schema.
    assert.deepEqual(Object.keys(doc.webhooks ?? {}).sort(), [
      'run.cancelled',
      'run.completed',
      'run.failed',
      'run.paused',
      'run.resumed',
      'run.started',
      'run.waiting',
    ]);
    assert.match(JSON.stringify(doc.webhooks?.['run.completed']), /WebhookPayload/);
    assert.ok(schemas.WebhookPayload?.properties?.data);
    // One casing: every property and parameter name in the document is camelCase.
    assert.deepEqual(
      [...fieldNames(doc)].filter((name) => !/^[a-z][A-Za-z0-9]*$/.test(name)),
      [],
    );
  });
});

/** Every property name of every schema, and every parameter name, anywhere in the document. */
function fieldNames(node: unknown, names = new Set<string>()): Set<string> {
  if (Array.isArray(node)) {
    for (const item of node) fieldNames(item, names);
  } else if (typeof node === 'object' && node !== null) {
    const object = node as Record<string, unknown>;
    if (typeof object.properties === 'object' && object.properties !== null) {
      for (const name of Object.keys(object.properties)) names.add(name);
    }
    if (typeof object.in === 'string' && typeof object.name === 'string') names.add(object.name);
    for (const value of Object.values(object)) fieldNames(value, names);
  }
  return names;
}
