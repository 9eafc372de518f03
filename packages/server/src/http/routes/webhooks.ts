import { createRoute, z } from '@hono/zod-openapi';
import { RunToolsError } from '@runtools/sdk';
import type { Store } from '../../store/store.ts';
import type { Webhook } from '../../store/webhooks.ts';
import { webhookEventTypes } from '../../webhooks/webhook-dispatcher.ts';
import { idParamSchema, idSchema } from '../common-schemas.ts';
import { pageQuerySchema, pageResponseSchema, toPageResponse } from '../pagination.ts';
import { errorResponses, jsonBody, jsonResponse, newRouter } from '../router.ts';

const webhookInputSchema = z
  .object({
    url: z.url({ protocol: /^https?$/, message: 'an http(s) URL' }).max(2048),
    events: z.array(z.enum(webhookEventTypes)).min(1).max(webhookEventTypes.length),
    /** Only runs of this deployment; omitted or null for every deployment. */
    deployment_id: idSchema.nullable().optional(),
  })
  .strict()
  .openapi('WebhookInput');

const webhookSchema = z
  .object({
    id: z.string(),
    url: z.string(),
    events: z.array(z.string()),
    deployment_id: z.string().nullable(),
    /** Set for a webhook given with one run: it receives that run's events only. */
    run_id: z.string().nullable(),
    created_at: z.string(),
  })
  .openapi('Webhook');

const createdWebhookSchema = webhookSchema
  .extend({
    secret: z.string().meta({
      description: 'Standard Webhooks signing secret (`whsec_` + base64); shown this once only.',
    }),
  })
  .openapi('CreatedWebhook');

function toJson(webhook: Webhook): z.infer<typeof webhookSchema> {
  return {
    id: webhook.id,
    url: webhook.url,
    events: webhook.events,
    deployment_id: webhook.deploymentId,
    run_id: webhook.runId,
    created_at: webhook.createdAt,
  };
}

const create = createRoute({
  method: 'post',
  path: '/webhooks',
  summary: 'Subscribe a URL to run events, for one deployment or all of them',
  request: { body: jsonBody(webhookInputSchema) },
  responses: {
    201: jsonResponse(createdWebhookSchema, 'The webhook, with its signing secret.'),
    ...errorResponses(400, 404, 413, 415),
  },
});

const get = createRoute({
  method: 'get',
  path: '/webhooks/{id}',
  request: { params: idParamSchema },
  responses: { 200: jsonResponse(webhookSchema, 'The webhook.'), ...errorResponses(404) },
});

const list = createRoute({
  method: 'get',
  path: '/webhooks',
  request: {
    query: pageQuerySchema.extend({
      deployment_id: idSchema.optional(),
      /** The webhook given with this run (run webhooks are listed only this way). */
      run_id: idSchema.optional(),
    }),
  },
  responses: {
    200: jsonResponse(pageResponseSchema(webhookSchema), 'A page of webhooks.'),
    ...errorResponses(400),
  },
});

const remove = createRoute({
  method: 'delete',
  path: '/webhooks/{id}',
  summary: 'Delete a webhook and its delivery history',
  request: { params: idParamSchema },
  responses: { 204: { description: 'Deleted.' }, ...errorResponses(404) },
});

/** `/v1/webhooks`: subscriptions to run events, signed per Standard Webhooks. */
export function webhookRoutes(store: Store) {
  return newRouter()
    .openapi(create, async (c) => {
      const body = c.req.valid('json');
      const webhook = await store.webhooks.create({
        url: body.url,
        events: body.events,
        deploymentId: body.deployment_id ?? null,
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
      const { deployment_id, run_id, ...page } = c.req.valid('query');
      const result = await store.webhooks.list({
        ...page,
        deploymentId: deployment_id,
        ...(run_id !== undefined ? { runId: run_id } : {}),
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
