import { z } from '@hono/zod-openapi';
import { RunToolsError } from '@runtools/sdk';
import {
  idSchema,
  pageQuerySchema,
  pageSchema,
  type WebhookDelivery as WebhookDeliveryJson,
  type webhookDeliveryAttemptSchema,
  webhookDeliverySchema,
  webhookDeliveryWithAttemptsSchema,
} from '@runtools/sdk/api';
import type { Store } from '../../store/store.ts';
import type { DeliveryAttempt, WebhookDelivery } from '../../store/webhook-deliveries.ts';
import { toPageResponse } from '../pagination.ts';
import { errorResponses, jsonResponse, newRouter, scopedRoute } from '../router.ts';

function toJson(delivery: WebhookDelivery): WebhookDeliveryJson {
  let payload: unknown = delivery.payload;
  try {
    payload = JSON.parse(delivery.payload);
  } catch {
    // Stored as sent; a body that is not JSON is shown as the text it was.
  }
  return {
    id: delivery.id,
    webhookId: delivery.webhookId,
    runId: delivery.runId,
    eventType: delivery.eventType,
    payload,
    status: delivery.status,
    attempts: delivery.attempts,
    lastStatusCode: delivery.lastStatusCode,
    lastError: delivery.lastError,
    nextAttemptAt: delivery.nextAttemptAt,
    createdAt: delivery.createdAt,
    updatedAt: delivery.updatedAt,
  };
}

function attemptToJson(attempt: DeliveryAttempt): z.infer<typeof webhookDeliveryAttemptSchema> {
  return {
    attempt: attempt.attempt,
    statusCode: attempt.statusCode,
    error: attempt.error,
    durationMs: attempt.durationMs,
    ts: attempt.ts,
  };
}

const params = z.object({
  id: idSchema.meta({ param: { name: 'id', in: 'path' } }),
  deliveryId: idSchema.meta({ param: { name: 'deliveryId', in: 'path' } }),
});

const list = scopedRoute('admin', {
  method: 'get',
  path: '/webhooks/{id}/deliveries',
  summary: 'The deliveries of a webhook, newest first',
  request: { params: params.pick({ id: true }), query: pageQuerySchema },
  responses: {
    200: jsonResponse(pageSchema(webhookDeliverySchema), 'A page of deliveries.'),
    ...errorResponses(400, 404),
  },
});

const get = scopedRoute('admin', {
  method: 'get',
  path: '/webhooks/{id}/deliveries/{deliveryId}',
  summary: 'One delivery with every attempt made (status code or error, duration)',
  request: { params },
  responses: {
    200: jsonResponse(webhookDeliveryWithAttemptsSchema, 'The delivery and its attempts.'),
    ...errorResponses(404),
  },
});

const redeliver = scopedRoute('admin', {
  method: 'post',
  path: '/webhooks/{id}/deliveries/{deliveryId}/redeliver',
  summary: 'Send a delivery again now (same id and body), whatever its status',
  request: { params },
  responses: {
    202: jsonResponse(webhookDeliverySchema, 'Due now; the dispatcher sends it within a second.'),
    ...errorResponses(404),
  },
});

/**
 * `/v1/webhooks/{id}/deliveries`: every delivery and attempt, and manual redelivery (the
 * dispatcher, which polls the database, sends it).
 */
export function webhookDeliveryRoutes(store: Store) {
  const requireDelivery = async (webhookId: string, deliveryId: string) => {
    const delivery = await store.webhookDeliveries.get(deliveryId);
    if (delivery === undefined || delivery.webhookId !== webhookId) {
      throw new RunToolsError(
        'webhook_delivery_not_found',
        `Webhook ${webhookId} has no delivery ${deliveryId}.`,
        { details: { webhookId, deliveryId } },
      );
    }
    return delivery;
  };
  return newRouter()
    .openapi(list, async (c) => {
      const { id } = c.req.valid('param');
      if ((await store.webhooks.get(id)) === undefined) {
        throw new RunToolsError('webhook_not_found', `Webhook ${id} does not exist.`, {
          details: { webhookId: id },
        });
      }
      const page = await store.webhookDeliveries.list({ ...c.req.valid('query'), webhookId: id });
      return c.json(toPageResponse(page, toJson), 200);
    })
    .openapi(get, async (c) => {
      const { id, deliveryId } = c.req.valid('param');
      const delivery = await requireDelivery(id, deliveryId);
      const attempts = await store.webhookDeliveries.attempts(delivery.id);
      return c.json({ ...toJson(delivery), attemptLog: attempts.map(attemptToJson) }, 200);
    })
    .openapi(redeliver, async (c) => {
      const { id, deliveryId } = c.req.valid('param');
      await requireDelivery(id, deliveryId);
      const due = await store.webhookDeliveries.redeliver(deliveryId);
      return c.json(toJson(due), 202);
    });
}
