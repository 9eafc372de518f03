import { createRoute, z } from '@hono/zod-openapi';
import type { RunEvent } from '@runtools/sdk';
import { isTerminalStatus, runEventStream } from '../../runs/run-event-stream.ts';
import { runStatuses } from '../../store/runs.ts';
import { webhookEventTypes } from '../../webhooks/webhook-dispatcher.ts';
import { textSchema } from '../common-schemas.ts';
import { errorResponses, jsonBody, jsonResponse, newRouter } from '../router.ts';
import { type RunServices, startRun } from '../run-services.ts';

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
     * are signed like other webhooks, with the secret returned as `webhook.secret`.
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
  .openapi('RunRequest');

export const slugParamSchema = z.object({
  slug: textSchema(64).openapi({ param: { name: 'slug', in: 'path' } }),
});

/** The run's own webhook, when the request gave one: its secret is shown this once. */
const runWebhookSchema = z
  .object({ id: z.string(), secret: z.string() })
  .optional()
  .openapi('RunWebhook');

const acceptedSchema = z
  .object({ runId: z.string(), status: z.enum(runStatuses), webhook: runWebhookSchema })
  .openapi('RunAccepted');

const resultSchema = z
  .object({
    runId: z.string(),
    status: z.enum(runStatuses),
    output: z.unknown(),
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
    /** With `?include=events`: every event of the run, in order. */
    events: z.array(z.record(z.string(), z.unknown())).optional(),
    webhook: runWebhookSchema,
  })
  .openapi('RunResult');

const run = createRoute({
  method: 'post',
  path: '/run/{slug}',
  summary: 'Run a deployment: wait for the result, or with `async: true` answer 202 at once',
  request: {
    params: slugParamSchema,
    query: z.object({ include: z.enum(['events']).optional() }),
    body: jsonBody(runRequestSchema),
  },
  responses: {
    200: jsonResponse(resultSchema, 'The run ended (completed, failed or cancelled).'),
    202: jsonResponse(acceptedSchema, 'Queued (async), or still going when the wait limit passed.'),
    ...errorResponses(400, 404, 413, 415),
  },
});

/** `POST /v1/run/{slug}`: a deployment as an API. */
export function runDeploymentRoutes(services: RunServices) {
  return newRouter().openapi(run, async (c) => {
    const { slug } = c.req.valid('param');
    const { include } = c.req.valid('query');
    const body = c.req.valid('json');
    const { run: created, webhook } = await startRun(services, slug, body);
    const hook = webhook === undefined ? {} : { webhook };
    if (body.async === true)
      return c.json({ runId: created.id, status: created.status, ...hook }, 202);
    const events: RunEvent[] = [];
    const signal = AbortSignal.any([AbortSignal.timeout(services.runWaitMs), c.req.raw.signal]);
    for await (const event of runEventStream({
      store: services.store,
      hub: services.hub,
      runId: created.id,
      signal,
    })) {
      if (include === 'events') events.push(event);
    }
    const ended = await services.store.runs.require(created.id);
    if (!isTerminalStatus(ended.status))
      return c.json({ runId: ended.id, status: ended.status, ...hook }, 202);
    return c.json(
      {
        runId: ended.id,
        status: ended.status,
        output: ended.output,
        error: ended.error,
        ...(include === 'events' ? { events: events as unknown as Record<string, unknown>[] } : {}),
        ...hook,
      },
      200,
    );
  });
}
