import { z } from 'zod';
import { failureSchema, idSchema, timestampSchema } from './common.ts';
import { pageQuerySchema } from './pagination.ts';
import { runApprovalSchema } from './run-approvals.ts';
import { runStatuses } from './run-status.ts';

/** The run lifecycle events a webhook can subscribe to. */
export const webhookEventTypes = [
  'run.started',
  'run.completed',
  'run.failed',
  'run.paused',
  'run.waiting',
  'run.resumed',
  'run.cancelled',
] as const;

export type WebhookEventType = (typeof webhookEventTypes)[number];

/** The body of `POST /v1/webhooks`. */
export const webhookInputSchema = z
  .object({
    /**
     * Where deliveries are POSTed. Its host must be (and resolve to) a public address unless the
     * server's operator allows the range (`RUNTOOLS_WEBHOOK_ALLOW`): else `webhook_url_forbidden`.
     */
    url: z.url({ protocol: /^https?$/, message: 'an http(s) URL' }).max(2048),
    events: z.array(z.enum(webhookEventTypes)).min(1).max(webhookEventTypes.length),
    /** Only runs of this deployment; omitted or null for every deployment. */
    deploymentId: idSchema.nullable().optional(),
  })
  .strict()
  .meta({ id: 'WebhookInput' });

export type WebhookInput = z.input<typeof webhookInputSchema>;

export const webhookSchema = z
  .object({
    id: z.string(),
    url: z.string(),
    events: z.array(z.enum(webhookEventTypes)),
    deploymentId: z.string().nullable(),
    /** Set for a webhook given with one run: it receives that run's events only. */
    runId: z.string().nullable(),
    createdAt: timestampSchema,
  })
  .meta({ id: 'Webhook' });

export type Webhook = z.infer<typeof webhookSchema>;

/** A new webhook, with its signing secret: shown this once only. */
export const createdWebhookSchema = webhookSchema
  .extend({
    secret: z.string().meta({
      description: 'Standard Webhooks signing secret (`whsec_` + base64); shown this once only.',
    }),
  })
  .meta({ id: 'CreatedWebhook' });

export type CreatedWebhook = z.infer<typeof createdWebhookSchema>;

/**
 * The JSON body RunTools sends (and signs, Standard Webhooks) for a run event. `data.output` is
 * set for `run.completed`, `data.error` for `run.failed`, `data.approval` for `run.waiting`.
 */
export const webhookPayloadSchema = z
  .object({
    type: z.enum(webhookEventTypes),
    /** When the event was queued (the same on every retry). */
    timestamp: timestampSchema,
    data: z.object({
      runId: z.string(),
      deploymentId: z.string(),
      status: z.enum(runStatuses),
      output: z.unknown().optional(),
      error: failureSchema.optional(),
      /** The tool call a `run.waiting` run asks a person about. */
      approval: runApprovalSchema.optional(),
    }),
  })
  .meta({ id: 'WebhookPayload' });

export type WebhookPayload = z.infer<typeof webhookPayloadSchema>;

export const webhookDeliveryAttemptSchema = z
  .object({
    attempt: z.number().int(),
    /** The receiver's HTTP status, or null when there was no answer (see `error`). */
    statusCode: z.number().int().nullable(),
    error: z.string().nullable(),
    durationMs: z.number().int(),
    ts: timestampSchema,
  })
  .meta({ id: 'WebhookDeliveryAttempt' });

export const webhookDeliveryStatuses = ['pending', 'succeeded', 'failed'] as const;

/** One event sent to a webhook, retried until the receiver answers 2xx (or for about a day). */
export const webhookDeliverySchema = z
  .object({
    id: z.string().meta({ description: 'Sent as the `webhook-id` header; the same on retries.' }),
    webhookId: z.string(),
    runId: z.string().nullable(),
    eventType: z.string(),
    /** The JSON body sent (and signed); a `WebhookPayload` for run events. */
    payload: z.unknown(),
    /** `pending` until an attempt succeeds or retries are exhausted (`failed`). */
    status: z.enum(webhookDeliveryStatuses),
    attempts: z.number().int(),
    lastStatusCode: z.number().int().nullable(),
    lastError: z.string().nullable(),
    nextAttemptAt: timestampSchema.nullable(),
    createdAt: timestampSchema,
    updatedAt: timestampSchema,
  })
  .meta({ id: 'WebhookDelivery' });

export type WebhookDelivery = z.infer<typeof webhookDeliverySchema>;

export const webhookDeliveryWithAttemptsSchema = webhookDeliverySchema
  .extend({ attemptLog: z.array(webhookDeliveryAttemptSchema) })
  .meta({ id: 'WebhookDeliveryWithAttempts' });

export type WebhookDeliveryWithAttempts = z.infer<typeof webhookDeliveryWithAttemptsSchema>;

/** `GET /v1/webhooks`: newest first, optionally of one deployment or one run. */
export const webhookListQuerySchema = pageQuerySchema.extend({
  deploymentId: idSchema.optional(),
  /** The webhook given with this run (run webhooks are listed only this way). */
  runId: idSchema.optional(),
});

export type WebhookListParams = z.infer<typeof webhookListQuerySchema>;
