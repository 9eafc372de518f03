import { z } from '@hono/zod-openapi';
import { approvalAnswerSchema, idSchema, runSchema } from '@runtools/sdk/api';
import { answerRunApproval } from '../../runs/run-approvals.ts';
import { visibleRun } from '../access.ts';
import { errorResponses, jsonResponse, newRouter, scopedRoute } from '../router.ts';
import { lifecycleOf, type RunServices } from '../run-services.ts';
import { runToJson } from './runs.ts';

const answer = scopedRoute('run', {
  method: 'post',
  path: '/runs/{id}/approvals/{callId}',
  summary:
    'Approve or deny the tool call a waiting run asks about; the run continues (a denial is an error result the model sees)',
  request: {
    params: z.object({
      id: idSchema.meta({ param: { name: 'id', in: 'path' } }),
      callId: z
        .string()
        .min(1)
        .max(200)
        .meta({ param: { name: 'callId', in: 'path' }, example: 'call_1' }),
    }),
    body: { content: { 'application/json': { schema: approvalAnswerSchema } }, required: true },
  },
  responses: {
    200: jsonResponse(runSchema, 'The run, queued to continue with the answer.'),
    ...errorResponses(400, 404, 409),
  },
});

/**
 * `POST /v1/runs/{id}/approvals/{callId}`: the answer to a waiting run's approval. Repeating
 * the answer that was taken is a 200; a different one after it is a 409 `run_state` (the run has
 * gone on), as is an answer to a run that is not waiting.
 */
export function runApprovalRoutes(services: RunServices) {
  return newRouter().openapi(answer, async (c) => {
    const { id, callId } = c.req.valid('param');
    const { approved, reason } = c.req.valid('json');
    await visibleRun(c, services.store, id);
    const decision = approved ? 'approved' : 'denied';
    try {
      const run = await answerRunApproval(lifecycleOf(services), id, callId, {
        decision,
        ...(reason === undefined ? {} : { reason }),
      });
      services.worker?.wake();
      return c.json(runToJson(run), 200);
    } catch (error) {
      // The same answer, sent again (a retry after a lost response): it was taken.
      const run = await services.store.runs.require(id);
      if (run.approval?.callId === callId && run.approval.answer?.decision === decision) {
        return c.json(runToJson(run), 200);
      }
      throw error;
    }
  });
}
