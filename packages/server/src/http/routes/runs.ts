import { createRoute, z } from '@hono/zod-openapi';
import { type Run, runStatuses } from '../../store/runs.ts';
import type { Store } from '../../store/store.ts';
import { idParamSchema, idSchema } from '../common-schemas.ts';
import { pageQuerySchema, pageResponseSchema, toPageResponse } from '../pagination.ts';
import { errorResponses, jsonResponse, newRouter } from '../router.ts';

export const runSchema = z
  .object({
    id: z.string(),
    deployment_id: z.string(),
    status: z.enum(runStatuses),
    input: z.unknown(),
    metadata: z.record(z.string(), z.unknown()),
    output: z.unknown(),
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
    /** Seq of the run's last event: where a stream subscriber is up to. */
    last_seq: z.number().int(),
    attempts: z.number().int(),
    /** The server worker holding the run, or (once finished) the one that ran it last. */
    worker: z.string().nullable(),
    created_at: z.string(),
    started_at: z.string().nullable(),
    finished_at: z.string().nullable(),
  })
  .openapi('Run');

export function runToJson(run: Run): z.infer<typeof runSchema> {
  return {
    id: run.id,
    deployment_id: run.deploymentId,
    status: run.status,
    input: run.input,
    metadata: run.metadata,
    output: run.output,
    error: run.error,
    last_seq: run.lastSeq,
    attempts: run.attempts,
    worker: run.claimedBy,
    created_at: run.createdAt,
    started_at: run.startedAt,
    finished_at: run.finishedAt,
  };
}

const list = createRoute({
  method: 'get',
  path: '/runs',
  summary: 'Runs newest first, optionally of one deployment or in one status',
  request: {
    query: pageQuerySchema.extend({
      deployment_id: idSchema.optional(),
      status: z.enum(runStatuses).optional(),
    }),
  },
  responses: {
    200: jsonResponse(pageResponseSchema(runSchema), 'A page of runs.'),
    ...errorResponses(400),
  },
});

/** The most events `?include=events` returns; a longer log is read with the events stream. */
const maxIncludedEvents = 10_000;

const runWithEventsSchema = runSchema
  .extend({
    /** With `?include=events`: the run's events in order (at most 10 000; see `/events`). */
    events: z.array(z.record(z.string(), z.unknown())).optional(),
  })
  .openapi('RunWithEvents');

const get = createRoute({
  method: 'get',
  path: '/runs/{id}',
  summary: 'A run; with `?include=events`, its events too',
  request: {
    params: idParamSchema,
    query: z.object({ include: z.enum(['events']).optional() }),
  },
  responses: {
    200: jsonResponse(runWithEventsSchema, 'The run.'),
    ...errorResponses(400, 404),
  },
});

/** `/v1/runs`: list and get (runs start with `POST /v1/run/{slug}`; controls: run-controls.ts). */
export function runRoutes(store: Store) {
  return newRouter()
    .openapi(list, async (c) => {
      const { deployment_id, status, ...page } = c.req.valid('query');
      const result = await store.runs.list({ ...page, deploymentId: deployment_id, status });
      return c.json(toPageResponse(result, runToJson), 200);
    })
    .openapi(get, async (c) => {
      const { id } = c.req.valid('param');
      const run = runToJson(await store.runs.require(id));
      if (c.req.valid('query').include !== 'events') return c.json(run, 200);
      const events = await store.events.listSince(id, 0, maxIncludedEvents);
      return c.json({ ...run, events: events as unknown as Record<string, unknown>[] }, 200);
    });
}
