import { z } from 'zod';
import { failureSchema, idSchema, textSchema, timestampSchema } from './common.ts';
import { pageQuerySchema } from './pagination.ts';
import { runApprovalSchema } from './run-approvals.ts';
import { runEventSchema, usageSchema } from './run-events.ts';
import { runStatuses } from './run-status.ts';
import { webhookEventTypes } from './webhooks.ts';

/** A run of a deployment (`/v1/runs`). */
export const runSchema = z
  .object({
    id: z.string(),
    deploymentId: z.string(),
    status: z.enum(runStatuses),
    input: z.unknown(),
    metadata: z.record(z.string(), z.unknown()),
    /** `{ text, usage, steps }` once completed; null before. */
    output: z.unknown(),
    error: failureSchema.nullable(),
    /** Seq of the run's last event: where a stream subscriber is up to. */
    lastSeq: z.number().int(),
    /** Model calls finished so far (its `step` events). */
    steps: z.number().int(),
    /** Tokens used so far: the sum of its `step` events' usage. */
    usage: usageSchema,
    attempts: z.number().int(),
    /** The server worker holding the run, or (once finished) the one that ran it last. */
    worker: z.string().nullable(),
    /** While `waiting`: the tool call it asks a person about; null otherwise. */
    approval: runApprovalSchema.nullable(),
    createdAt: timestampSchema,
    startedAt: timestampSchema.nullable(),
    finishedAt: timestampSchema.nullable(),
  })
  .meta({ id: 'Run' });

export type Run = z.infer<typeof runSchema>;
export type RunError = z.infer<typeof failureSchema>;

/** `GET /v1/runs/{id}?include=events`: the run with its events (at most 10 000). */
export const runWithEventsSchema = runSchema
  .extend({ events: z.array(runEventSchema).optional() })
  .meta({ id: 'RunWithEvents' });

export type RunWithEvents = z.infer<typeof runWithEventsSchema>;

const instantSchema = z.iso
  .datetime({ offset: true, message: 'an ISO 8601 time such as 2026-12-03T06:00:00Z' })
  .meta({ example: '2026-12-03T06:00:00Z' });

/**
 * `GET /v1/runs`: newest first, optionally of one deployment, in one status, created in a time
 * range, or whose id starts with `idPrefix` (a search box's "find run_0mwv…").
 */
export const runListQuerySchema = pageQuerySchema.extend({
  deploymentId: idSchema.optional(),
  status: z.enum(runStatuses).optional(),
  /** Only runs created at or after this time. */
  createdAfter: instantSchema.optional(),
  /** Only runs created before this time. */
  createdBefore: instantSchema.optional(),
  /** Only runs whose id starts with this (a whole id finds that run). */
  idPrefix: textSchema(100).optional(),
});

export type RunListParams = z.infer<typeof runListQuerySchema>;

/** `?include=events` of the routes that can answer with a run's events. */
export const includeEventsQuerySchema = z.object({ include: z.enum(['events']).optional() });

const webhookUrlSchema = z.url({ protocol: /^https?$/, message: 'an http(s) URL' }).max(2048);

/** The body of `POST /v1/run/{slug}`, and the first message of `WS /v1/run/{slug}/stream`. */
export const runRequestSchema = z
  .object({
    /** What the agent is asked: a string, or any JSON (sent to the model as JSON). */
    input: z.unknown().refine((value) => value !== undefined, 'Required'),
    metadata: z.record(z.string(), z.unknown()).optional(),
    /** Answer 202 with the run id at once instead of waiting for the result. */
    async: z.boolean().optional(),
    /**
     * A webhook for this run only: a URL (every `run.*` event) or `{ url, events }`. Deliveries
     * are signed like other webhooks, with the secret returned as `webhook.secret`; the URL's
     * address is checked as theirs is (`webhook_url_forbidden`).
     */
    webhook: z
      .union([
        webhookUrlSchema,
        z
          .object({
            url: webhookUrlSchema,
            events: z
              .array(z.enum(webhookEventTypes))
              .min(1)
              .max(webhookEventTypes.length)
              .optional(),
          })
          .strict(),
      ])
      .optional(),
  })
  .strict()
  .meta({ id: 'RunRequest' });

export type RunRequest = z.infer<typeof runRequestSchema>;

/** The run's own webhook, when the request gave one: its secret is shown this once. */
export const runWebhookSchema = z
  .object({ id: z.string(), secret: z.string() })
  .meta({ id: 'RunWebhook' });

/** `POST /v1/run/{slug}` answered 202: queued (async), or still going when the wait limit passed. */
export const runAcceptedSchema = z
  .object({
    runId: z.string(),
    status: z.enum(runStatuses),
    /** With `waiting`: the tool call the run asks a person about. */
    approval: runApprovalSchema.optional(),
    webhook: runWebhookSchema.optional(),
  })
  .meta({ id: 'RunAccepted' });

/** `POST /v1/run/{slug}` answered 200: the run ended. */
export const runResultSchema = z
  .object({
    runId: z.string(),
    status: z.enum(runStatuses),
    output: z.unknown(),
    error: failureSchema.nullable(),
    /** With `?include=events`: every event of the run, in order. */
    events: z.array(runEventSchema).optional(),
    webhook: runWebhookSchema.optional(),
  })
  .meta({ id: 'RunResult' });

export type RunResultResponse = z.infer<typeof runResultSchema>;
export type RunAccepted = z.infer<typeof runAcceptedSchema>;

/** A seq in a query or header: a non-negative integer. */
export const seqSchema = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** `?after=` of the event and log streams: only what came after this seq. */
export const afterQuerySchema = z.object({ after: seqSchema.optional() });
