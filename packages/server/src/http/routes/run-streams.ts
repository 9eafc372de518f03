import { upgradeWebSocket } from '@hono/node-server';
import { z } from '@hono/zod-openapi';
import { RunToolsError } from '@runtools/sdk';
import { afterQuerySchema, idSchema, runRequestSchema } from '@runtools/sdk/api';
import type { Context } from 'hono';
import type { WSContext, WSEvents, WSMessageReceive } from 'hono/ws';
import { runEventStream } from '../../runs/run-event-stream.ts';
import { mayUseDeployment, requireScope, visibleRun } from '../access.ts';
import type { AppEnv } from '../app-env.ts';
import { errorBody, validationError } from '../errors.ts';
import { errorResponses, newRouter } from '../router.ts';
import { deploymentNotFound, type RunServices, startRun } from '../run-services.ts';
import { slugParamSchema } from './run-deployment.ts';

/** Close codes: 1000 the run ended, 1008 a bad first message, 1011 a server failure. */
const closeNormal = 1000;
const closePolicy = 1008;
const closeError = 1011;

function requireUpgrade(c: Context): void {
  if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') {
    throw new RunToolsError('upgrade_required', 'This is a WebSocket endpoint.');
  }
}

function messageText(data: WSMessageReceive): string {
  if (typeof data === 'string') return data;
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return String(data);
}

function send(ws: WSContext, message: unknown): void {
  if (ws.readyState === 1) ws.send(JSON.stringify(message));
}

/** Sends every event of the run after `afterSeq` as JSON, then closes the socket. */
async function pipeEvents(
  services: RunServices,
  ws: WSContext,
  runId: string,
  afterSeq: number,
  signal: AbortSignal,
): Promise<void> {
  for await (const event of runEventStream({
    store: services.store,
    hub: services.hub,
    runId,
    afterSeq,
    signal,
  })) {
    send(ws, event);
  }
  if (!signal.aborted) ws.close(closeNormal, 'run ended');
}

function failed(ws: WSContext, error: unknown): void {
  if (RunToolsError.isInstance(error) && error.code !== 'internal_error') {
    const details = Object.keys(error.details).length > 0 ? { ...error.details } : undefined;
    send(ws, errorBody(error.code, error.message, details));
    ws.close(closePolicy, error.code);
    return;
  }
  send(ws, errorBody('internal_error', 'An unexpected error occurred.'));
  ws.close(closeError, 'internal_error');
}

/**
 * `WS /v1/run/{slug}/stream`: the first message is the `POST /v1/run/{slug}` body; the server
 * answers `{ type: "run", runId, status }`, then every event of the run as JSON (with its `seq`),
 * and closes after the terminal status. `WS /v1/runs/{id}/stream?after=SEQ` is the reconnect: the
 * events after SEQ, then the live ones. A bad first message gets the error body and close 1008.
 */
export function runStreamRoutes(services: RunServices) {
  const router = newRouter();
  documentWebSockets(router);
  return router
    .get('/run/:slug/stream', requireScope('run'), async (c, next) => {
      const params = slugParamSchema.safeParse(c.req.param());
      if (!params.success) throw validationError(params.error, 'path');
      requireUpgrade(c);
      const { slug } = params.data;
      if (
        !mayUseDeployment(c, slug) ||
        (await services.store.deployments.getBySlug(slug)) === undefined
      ) {
        throw deploymentNotFound(slug);
      }
      const aborted = new AbortController();
      let started = false;
      const events: WSEvents = {
        onMessage: (event, ws) => {
          if (started) return;
          started = true;
          void (async () => {
            let json: unknown;
            try {
              json = JSON.parse(messageText(event.data));
            } catch {
              throw new RunToolsError('invalid_json', 'The first message must be a JSON body.');
            }
            const body = runRequestSchema.safeParse(json);
            if (!body.success) throw validationError(body.error, 'body');
            const { run, webhook } = await startRun(services, slug, body.data);
            send(ws, {
              type: 'run',
              runId: run.id,
              status: run.status,
              ...(webhook ? { webhook } : {}),
            });
            await pipeEvents(services, ws, run.id, 0, aborted.signal);
          })().catch((error: unknown) => failed(ws, error));
        },
        onClose: () => aborted.abort(),
      };
      return upgradeWebSocket(() => events)(c as Context<AppEnv>, next);
    })
    .get('/runs/:id/stream', requireScope('run'), async (c, next) => {
      const params = z.object({ id: idSchema }).safeParse(c.req.param());
      if (!params.success) throw validationError(params.error, 'path');
      const query = afterQuerySchema.safeParse(c.req.query());
      if (!query.success) throw validationError(query.error, 'query');
      requireUpgrade(c);
      const { id } = params.data;
      await visibleRun(c, services.store, id);
      const aborted = new AbortController();
      const events: WSEvents = {
        onOpen: (_event, ws) => {
          pipeEvents(services, ws, id, query.data.after ?? 0, aborted.signal).catch(
            (error: unknown) => failed(ws, error),
          );
        },
        onClose: () => aborted.abort(),
      };
      return upgradeWebSocket(() => events)(c as Context<AppEnv>, next);
    });
}

/**
 * OpenAPI has no WebSocket operations: both streams are documented as the GET that upgrades, with
 * the message protocol in the description.
 */
function documentWebSockets(router: ReturnType<typeof newRouter>): void {
  const upgrade = {
    101: { description: 'Switching to the WebSocket protocol; messages are JSON text frames.' },
    ...errorResponses(400, 401, 403, 404, 426),
  };
  router.openAPIRegistry.registerPath({
    method: 'get',
    path: '/run/{slug}/stream',
    summary: 'WebSocket: start a run of a deployment and receive its events live',
    description:
      'Send the `POST /v1/run/{slug}` body (`{"input": …}`) as the first message. The server ' +
      'answers `{"type":"run","runId","status"}`, then every event of the run (`thinking`, ' +
      '`text`, `tool_call`, `tool_result`, `step`, `complete`, `error`, `status`) as JSON with ' +
      'its `seq`, and closes with 1000 after the terminal status. A bad first message gets the ' +
      'error body and close 1008. Reconnect with `/v1/runs/{id}/stream?after=SEQ`. Browsers, ' +
      'which cannot set headers, may authenticate with `?token=KEY`.',
    request: { params: slugParamSchema },
    security: [{ Bearer: ['run'] }],
    responses: upgrade,
  });
  router.openAPIRegistry.registerPath({
    method: 'get',
    path: '/runs/{id}/stream',
    summary: 'WebSocket: the events of a run after `after` (a reconnect), then the live ones',
    description:
      'Every event with a seq above `after` (default 0), each exactly once and in order, then ' +
      'the live ones; closes with 1000 after the terminal status.',
    request: {
      params: z.object({ id: idSchema }),
      query: afterQuerySchema,
    },
    security: [{ Bearer: ['run'] }],
    responses: upgrade,
  });
}
