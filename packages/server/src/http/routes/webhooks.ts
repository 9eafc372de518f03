import type { OpenAPIHono } from '@hono/zod-openapi';
import { RunToolsError } from '@runtools/sdk';
import {
  createdWebhookSchema,
  pageSchema,
  type Webhook as WebhookJson,
  webhookEventTypes,
  webhookInputSchema,
  webhookListQuerySchema,
  webhookPayloadSchema,
  webhookSchema,
} from '@runtools/sdk/api';
import type { Store } from '../../store/store.ts';
import type { Webhook } from '../../store/webhooks.ts';
import { checkWebhookUrl, type WebhookAddresses } from '../../webhooks/webhook-addresses.ts';
import { idParamSchema } from '../common-schemas.ts';
import { toPageResponse } from '../pagination.ts';
import { errorResponses, jsonBody, jsonResponse, newRouter, scopedRoute } from '../router.ts';

function toJson(webhook: Webhook): WebhookJson {
  return {
    id: webhook.id,
    url: webhook.url,
    events: webhook.events,
    deploymentId: webhook.deploymentId,
    runId: webhook.runId,
    createdAt: webhook.createdAt,
  };
}

const create = scopedRoute('admin', {
  method: 'post',
  path: '/webhooks',
  summary: 'Subscribe a URL to run events, for one deployment or all of them',
  request: { body: jsonBody(webhookInputSchema) },
  responses: {
    201: jsonResponse(createdWebhookSchema, 'The webhook, with its signing secret.'),
    ...errorResponses(400, 404, 413, 415),
  },
});

const get = scopedRoute('admin', {
  method: 'get',
  path: '/webhooks/{id}',
  request: { params: idParamSchema },
  responses: { 200: jsonResponse(webhookSchema, 'The webhook.'), ...errorResponses(404) },
});

const list = scopedRoute('admin', {
  method: 'get',
  path: '/webhooks',
  request: { query: webhookListQuerySchema },
  responses: {
    200: jsonResponse(pageSchema(webhookSchema), 'A page of webhooks.'),
    ...errorResponses(400),
  },
});

const remove = scopedRoute('admin', {
  method: 'delete',
  path: '/webhooks/{id}',
  summary: 'Delete a webhook and its delivery history',
  request: { params: idParamSchema },
  responses: { 204: { description: 'Deleted.' }, ...errorResponses(404) },
});

/**
 * Documents what RunTools sends, on the app itself (webhooks have no path prefix): one OpenAPI
 * webhook per event type, each a signed `POST` whose body is a `WebhookPayload`.
 */
export function documentWebhookPayloads(app: Pick<OpenAPIHono, 'openAPIRegistry'>): void {
  for (const type of webhookEventTypes) {
    app.openAPIRegistry.registerWebhook({
      method: 'post',
      path: type,
      summary: `The \`${type}\` event of a run`,
      description:
        'Signed per Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`: ' +
        'verify with `verifyWebhook` or any Standard Webhooks library). Answer 2xx within 10 s; ' +
        'anything else is retried with backoff for about a day, with the same `webhook-id`.',
      request: { body: jsonBody(webhookPayloadSchema) },
      responses: { 200: { description: 'Received (any 2xx).' } },
    });
  }
}

/**
 * `/v1/webhooks`: subscriptions to run events, signed per Standard Webhooks. A URL whose host is
 * or resolves to an address `addresses` forbids is refused (`webhook_url_forbidden`).
 */
export function webhookRoutes(store: Store, addresses: WebhookAddresses) {
  return newRouter()
    .openapi(create, async (c) => {
      const body = c.req.valid('json');
      await checkWebhookUrl(body.url, addresses);
      const webhook = await store.webhooks.create({
        url: body.url,
        events: body.events,
        deploymentId: body.deploymentId ?? null,
      });
      return c.json({ ...toJson(webhook), secret: webhook.secret }, 201);
    })
    .openapi(get, async (c) => {
      const { id } = c.req.valid('param');
      const webhook = await store.webhooks.get(id);
      if (webhook === undefined) throw notFound(id);
      return c.json(toJson(webhook), 200);
    })
    .openapi(list, async (c) => {
      const { runId, ...filter } = c.req.valid('query');
      const result = await store.webhooks.list({
        ...filter,
        ...(runId !== undefined ? { runId } : {}),
      });
      return c.json(toPageResponse(result, toJson), 200);
    })
    .openapi(remove, async (c) => {
      const { id } = c.req.valid('param');
      if (!(await store.webhooks.delete(id))) throw notFound(id);
      return c.body(null, 204);
    });
}

function notFound(id: string): RunToolsError {
  return new RunToolsError('webhook_not_found', `Webhook ${id} does not exist.`, {
    details: { webhookId: id },
  });
}
