import {
  includeEventsQuerySchema,
  pageSchema,
  type Run as RunJson,
  runListQuerySchema,
  runSchema,
  runWithEventsSchema,
} from '@runtools/sdk/api';
import { pendingApproval } from '../../runs/run-approvals.ts';
import type { Run } from '../../store/runs.ts';
import type { Store } from '../../store/store.ts';
import { visibleDeploymentIds, visibleRun } from '../access.ts';
import { idParamSchema } from '../common-schemas.ts';
import { toPageResponse } from '../pagination.ts';
import { errorResponses, jsonResponse, newRouter, scopedRoute } from '../router.ts';

/** A stored run in the contract's shape. */
export function runToJson(run: Run): RunJson {
  return {
    id: run.id,
    deploymentId: run.deploymentId,
    status: run.status,
    input: run.input,
    metadata: run.metadata,
    output: run.output,
    error: run.error,
    lastSeq: run.lastSeq,
    steps: run.steps,
    usage: run.usage,
    attempts: run.attempts,
    worker: run.claimedBy,
    approval: pendingApproval(run),
    createdAt: run.createdAt,
    startedAt: run.startedAt,
    finishedAt: run.finishedAt,
  };
}

const list = scopedRoute('run', {
  method: 'get',
  path: '/runs',
  summary:
    'Runs newest first, optionally of one deployment, in one status, in a time range or by id prefix',
  request: { query: runListQuerySchema },
  responses: {
    200: jsonResponse(pageSchema(runSchema), 'A page of runs.'),
    ...errorResponses(400),
  },
});

/** The most events `?include=events` returns; a longer log is read with the events stream. */
const maxIncludedEvents = 10_000;

const get = scopedRoute('run', {
  method: 'get',
  path: '/runs/{id}',
  summary: 'A run; with `?include=events`, its events too',
  request: {
    params: idParamSchema,
    query: includeEventsQuerySchema,
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
      const deploymentIds = await visibleDeploymentIds(c, store);
      const result = await store.runs.list({
        ...c.req.valid('query'),
        ...(deploymentIds === null ? {} : { deploymentIds }),
      });
      return c.json(toPageResponse(result, runToJson), 200);
    })
    .openapi(get, async (c) => {
      const { id } = c.req.valid('param');
      const run = runToJson(await visibleRun(c, store, id));
      if (c.req.valid('query').include !== 'events') return c.json(run, 200);
      const events = await store.events.listSince(id, 0, maxIncludedEvents);
      return c.json({ ...run, events }, 200);
    });
}
