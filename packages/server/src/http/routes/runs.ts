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

const get = createRoute({
  method: 'get',
  path: '/runs/{id}',
  request: { params: idParamSchema },
  responses: { 200: jsonResponse(runSchema, 'The run.'), ...errorResponses(404) },
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
      return c.json(runToJson(await store.runs.require(id)), 200);
    });
}
