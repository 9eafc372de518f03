import { RunToolsError } from '@runtools/sdk';
import { afterQuerySchema, runEventSchema, seqSchema } from '@runtools/sdk/api';
import { streamSSE } from 'hono/streaming';
import { runEventStream } from '../../runs/run-event-stream.ts';
import { visibleRun } from '../access.ts';
import { idParamSchema } from '../common-schemas.ts';
import { errorBody } from '../errors.ts';
import { errorResponses, newRouter, scopedRoute } from '../router.ts';
import type { RunServices } from '../run-services.ts';

const events = scopedRoute('run', {
  method: 'get',
  path: '/runs/{id}/events',
  summary: "A run's events as Server-Sent Events: the stored ones after a seq, then live ones",
  description:
    'Each event has `id:` its seq, `event:` its type and `data:` the event as JSON (a ' +
    '`RunEvent`, the schema below). Replays the ' +
    'events after `Last-Event-ID` (or `?after=`), then streams live ones, each exactly once, and ' +
    'ends after the run reaches a terminal status.',
  request: {
    params: idParamSchema,
    query: afterQuerySchema,
  },
  responses: {
    200: {
      description: 'The event stream; the data of each event is a RunEvent.',
      content: { 'text/event-stream': { schema: runEventSchema } },
    },
    ...errorResponses(400, 404),
  },
});

/** `GET /v1/runs/{id}/events` (SSE). */
export function runEventRoutes(services: RunServices) {
  return newRouter().openapi(events, async (c) => {
    const { id } = c.req.valid('param');
    const { after } = c.req.valid('query');
    const lastEventId = c.req.header('last-event-id');
    let afterSeq = after ?? 0;
    if (lastEventId !== undefined && lastEventId.trim() !== '') {
      const parsed = seqSchema.safeParse(lastEventId.trim());
      if (!parsed.success) {
        throw new RunToolsError('invalid_input', 'Last-Event-ID must be an event seq.', {
          details: { issues: [{ field: 'Last-Event-ID', message: 'not a seq' }] },
        });
      }
      afterSeq = parsed.data;
    }
    await visibleRun(c, services.store, id);
    return streamSSE(
      c,
      async (stream) => {
        const aborted = new AbortController();
        stream.onAbort(() => aborted.abort());
        for await (const event of runEventStream({
          store: services.store,
          hub: services.hub,
          runId: id,
          afterSeq,
          signal: aborted.signal,
        })) {
          await stream.writeSSE({
            id: String(event.seq),
            event: event.type,
            data: JSON.stringify(event),
          });
        }
      },
      // The status line is sent: a failure mid-stream (the database gone) ends it with an error
      // frame, and the client reconnects with the last id it saw.
      async (_error, stream) => {
        await stream.writeSSE({
          event: 'error',
          data: JSON.stringify(errorBody('internal_error', 'The event stream failed.')),
        });
      },
    );
  });
}
