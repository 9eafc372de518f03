import { z } from '@hono/zod-openapi';
import type { RunEvent } from '@runtools/sdk';
import {
  includeEventsQuerySchema,
  isTerminalStatus,
  runAcceptedSchema,
  runRequestSchema,
  runResultSchema,
  textSchema,
} from '@runtools/sdk/api';
import { pendingApproval } from '../../runs/run-approvals.ts';
import { runEventStream } from '../../runs/run-event-stream.ts';
import { mayUseDeployment } from '../access.ts';
import { errorResponses, jsonBody, jsonResponse, newRouter, scopedRoute } from '../router.ts';
import { deploymentNotFound, type RunServices, startRun } from '../run-services.ts';

export const slugParamSchema = z.object({
  slug: textSchema(64).meta({ param: { name: 'slug', in: 'path' } }),
});

const run = scopedRoute('run', {
  method: 'post',
  path: '/run/{slug}',
  summary: 'Run a deployment: wait for the result, or with `async: true` answer 202 at once',
  request: {
    params: slugParamSchema,
    query: includeEventsQuerySchema,
    body: jsonBody(runRequestSchema),
  },
  responses: {
    200: jsonResponse(runResultSchema, 'The run ended (completed, failed or cancelled).'),
    202: jsonResponse(
      runAcceptedSchema,
      'Queued (async), waiting for a person to approve a tool call (`approval`), or still going when the wait limit passed.',
    ),
    ...errorResponses(400, 404, 413, 415),
  },
});

/** `POST /v1/run/{slug}`: a deployment as an API. */
export function runDeploymentRoutes(services: RunServices) {
  return newRouter().openapi(run, async (c) => {
    const { slug } = c.req.valid('param');
    const { include } = c.req.valid('query');
    const body = c.req.valid('json');
    if (!mayUseDeployment(c, slug)) throw deploymentNotFound(slug);
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
      // A person must answer first: say so now rather than hold the request open for it.
      if (event.type === 'status' && event.status === 'waiting') break;
    }
    const ended = await services.store.runs.require(created.id);
    if (!isTerminalStatus(ended.status)) {
      const approval = pendingApproval(ended);
      return c.json(
        { runId: ended.id, status: ended.status, ...(approval ? { approval } : {}), ...hook },
        202,
      );
    }
    return c.json(
      {
        runId: ended.id,
        status: ended.status,
        output: ended.output,
        error: ended.error,
        ...(include === 'events' ? { events } : {}),
        ...hook,
      },
      200,
    );
  });
}
