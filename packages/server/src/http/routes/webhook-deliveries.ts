import { createRoute, z } from '@hono/zod-openapi';
import { RunToolsError } from '@runtools/sdk';
import type { Store } from '../../store/store.ts';
import type { DeliveryAttempt, WebhookDelivery } from '../../store/webhook-deliveries.ts';
import { idSchema } from '../common-schemas.ts';
import { pageQuerySchema, pageResponseSchema, toPageResponse } from '../pagination.ts';
import { errorResponses, jsonResponse, newRouter } from '../router.ts';

const attemptSchema = z
  .object({
    attempt: z.number().int(),
    /** The receiver's HTTP status, or null when there was no answer (see `error`). */
    status_code: z.number().int().nullable(),
    error: z.string().nullable(),
    duration_ms: z.number().int(),
    ts: z.string(),
  })
  .openapi('WebhookDeliveryAttempt');

const deliverySchema = z
  .object({
    id: z.string().meta({ description: 'Sent as the `webhook-id` header; the same on retries.' }),
    webhook_id: z.string(),
    run_id: z.string().nullable(),
    event_type: z.string(),
    /** The JSON body sent (and signed). */
    payload: z.unknown(),
    /** `pending` until an attempt succeeds or retries are exhausted (`failed`). */
    status: z.enum(['pending', 'succeeded', 'failed']),
    attempts: z.number().int(),
    last_status_code: z.number().int().nullable(),
    last_error: z.string().nullable(),
    next_attempt_at: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi('WebhookDelivery');

const deliveryWithAttemptsSchema = deliverySchema
  .extend({ attempt_log: z.array(attemptSchema) })
  .openapi('WebhookDeliveryWithAttempts');

function toJson(delivery: WebhookDelivery): z.infer<typeof deliverySchema> {
  let payload: unknown = delivery.payload;
  try {
    payload = JSON.parse(delivery.payload);
  } catch {
    // Stored as sent; a body that is not JSON is shown as the text it was.
  }
  return {
    id: delivery.id,
    webhook_id: delivery.webhookId,
    run_id: delivery.runId,
    event_type: delivery.eventType,
    payload,
    status: delivery.status,
    attempts: delivery.attempts,
    last_status_code: delivery.lastStatusCode,
    last_error: delivery.lastError,
    next_attempt_at: delivery.nextAttemptAt,
    created_at: delivery.createdAt,
    updated_at: delivery.updatedAt,
  };
}

function attemptToJson(attempt: DeliveryAttempt): z.infer<typeof attemptSchema> {
  return {
    attempt: attempt.attempt,
    status_code: attempt.statusCode,
    error: attempt.error,
    duration_ms: attempt.durationMs,
    ts: attempt.ts,
  };
}

const params = z.object({
  id: idSchema.openapi({ param: { name: 'id', in: 'path' } }),
  delivery_id: idSchema.openapi({ param: { name: 'delivery_id', in: 'path' } }),
});

const list = createRoute({
  method: 'get',
  path: '/webhooks/{id}/deliveries',
  summary: 'The deliveries of a webhook, newest first',
  request: { params: params.pick({ id: true }), query: pageQuerySchema },
  responses: {
    200: jsonResponse(pageResponseSchema(deliverySchema), 'A page of deliveries.'),
    ...errorResponses(400, 404),
  },
});

const get = createRoute({
  method: 'get',
  path: '/webhooks/{id}/deliveries/{delivery_id}',
  summary: 'One delivery with every attempt made (status code or error, duration)',
  request: { params },
  responses: {
    200: jsonResponse(deliveryWithAttemptsSchema, 'The delivery and its attempts.'),
    ...errorResponses(404),
  },
});

const redeliver = createRoute({
  method: 'post',
  path: '/webhooks/{id}/deliveries/{delivery_id}/redeliver',
  summary: 'Send a delivery again now (same id and body), whatever its status',
  request: { params },
  responses: {
    202: jsonResponse(deliverySchema, 'Due now; the dispatcher sends it within a second.'),
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
      const { id, delivery_id } = c.req.valid('param');
      const delivery = await requireDelivery(id, delivery_id);
      const attempts = await store.webhookDeliveries.attempts(delivery.id);
      return c.json({ ...toJson(delivery), attempt_log: attempts.map(attemptToJson) }, 200);
    })
    .openapi(redeliver, async (c) => {
      const { id, delivery_id } = c.req.valid('param');
      await requireDelivery(id, delivery_id);
      const due = await store.webhookDeliveries.redeliver(delivery_id);
      return c.json(toJson(due), 202);
    });
}
