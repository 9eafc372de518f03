import { randomUUID } from 'node:crypto';
import { z } from '@hono/zod-openapi';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import type { Context } from 'hono';
import { requireScope } from '../access.ts';
import type { AppEnv } from '../app-env.ts';
import { errorResponse } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { McpCalls } from '../mcp/mcp-calls.ts';
import { deploymentsMcpServer } from '../mcp/mcp-server.ts';
import { errorResponses, newRouter } from '../router.ts';
import type { RunServices } from '../run-services.ts';

export interface McpRouteOptions {
  services: RunServices;
  logger: Logger;
  /** Whether new runs are taken (false while the server drains). */
  acceptingRuns?: (() => boolean) | undefined;
}

/** An `Mcp-Session-Id` as the spec allows it: visible ASCII; longer ones are not ours. */
const sessionIdPattern = /^[\x21-\x7e]{1,128}$/;

/**
 * `POST|DELETE /v1/mcp`: RunTools as an MCP server over Streamable HTTP, each deployment the
 * caller may use a tool (see `deploymentsMcpServer`). Auth is the API's: a bearer key with the
 * `run` scope.
 *
 * The endpoint is stateless: each HTTP request gets a fresh SDK `Server` and web-standard
 * transport (Hono hands us a Fetch `Request` and sends back the `Response`, which is what that
 * transport speaks). Nothing lives between requests, so any server process sharing the database
 * answers any request — no sticky sessions, no session table to expire, the key checked every
 * time — and `tools/list` always reads the current deployments. What a session would add, a
 * server-to-client stream (`GET`) for `tools/list_changed`, is not offered: `GET` is a 405, as
 * the spec allows, and clients list again.
 *
 * A session id is still handed out (a random `Mcp-Session-Id` on the first response), only to
 * name the client: its later `notifications/cancelled` arrive in requests of their own and must
 * find its calls (ids are per client), as must `DELETE`, which cancels its calls in flight.
 * These reach the calls this process is answering: behind a load balancer that spreads one
 * client's requests over several servers, a cancellation may land on another and miss (the run
 * goes on). Hanging up always cancels: the process answering the call sees its connection go.
 */
export function mcpRoutes(options: McpRouteOptions) {
  const calls = new McpCalls();
  const router = newRouter();
  documentMcp(router);

  const handle = async (c: Context<AppEnv>) => {
    const header = c.req.header('mcp-session-id');
    const sessionId = header !== undefined && sessionIdPattern.test(header) ? header : undefined;
    const session = sessionId === undefined ? undefined : `${c.get('principalId')} ${sessionId}`;
    const server = deploymentsMcpServer({
      services: options.services,
      principal: c.get('principal'),
      session,
      calls,
      logger: options.logger,
      acceptingRuns: options.acceptingRuns,
    });
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
    });
    await server.connect(transport);
    // The client hung up: its calls' signals abort (and their runs are cancelled).
    const request = c.req.raw;
    request.signal.addEventListener('abort', () => void server.close(), { once: true });
    if (c.req.method === 'DELETE' && session !== undefined) {
      calls.cancelSession(session, 'the client ended its MCP session');
    }
    const response = await transport.handleRequest(request);
    if (c.req.method === 'POST' && sessionId === undefined && response.status < 300) {
      response.headers.set('mcp-session-id', randomUUID());
    }
    return response;
  };

  return router
    .post('/mcp', requireScope('run'), handle)
    .delete('/mcp', requireScope('run'), handle)
    .get('/mcp', requireScope('run'), (c) => {
      c.header('Allow', 'POST, DELETE');
      return errorResponse(
        c,
        'method_not_allowed',
        'This MCP endpoint is stateless and offers no server-to-client stream: POST JSON-RPC ' +
          'messages to it (Accept: application/json, text/event-stream).',
        { allow: ['DELETE', 'POST'] },
      );
    });
}

/** OpenAPI has no words for MCP: the endpoint is documented as its HTTP methods, in prose. */
function documentMcp(router: ReturnType<typeof newRouter>): void {
  const message = z.object({ jsonrpc: z.literal('2.0') }).loose();
  const body = {
    required: true,
    content: { 'application/json': { schema: z.union([message, z.array(message)]) } },
  };
  router.openAPIRegistry.registerPath({
    method: 'post',
    path: '/mcp',
    summary: 'MCP (Streamable HTTP): every deployment the key may use, as a tool',
    description:
      'A Model Context Protocol server. Point an MCP client at this URL with the header ' +
      '`Authorization: Bearer <key>`. `tools/list` names one tool per deployment (its apiSlug), ' +
      'with input `{"input": string, "metadata"?: object}`; `tools/call` runs the deployment, ' +
      'waits for the run (progress notifications when the call has a progressToken) and answers ' +
      'with the output text and `structuredContent` `{runId, status, output, error}` ' +
      '(`isError` unless the run completed). Cancelling the call (`notifications/cancelled`) or ' +
      'hanging up cancels the run. Stateless: no server-to-client GET stream; a random ' +
      'Mcp-Session-Id on the first response only ties cancellations to the client.',
    request: { body },
    security: [{ Bearer: ['run'] }],
    responses: {
      ...errorResponses(403, 413),
      200: {
        description:
          'JSON-RPC responses (and progress notifications) as a `text/event-stream`, or a ' +
          'JSON-RPC error.',
      },
      202: { description: 'Notifications and responses only: accepted.' },
      400: { description: 'Not JSON, or not JSON-RPC: a JSON-RPC error (-32700, -32600).' },
      406: { description: 'The Accept header lacks application/json and text/event-stream.' },
      415: { description: 'The body is not `application/json`: a JSON-RPC error.' },
    },
  });
  router.openAPIRegistry.registerPath({
    method: 'delete',
    path: '/mcp',
    summary: 'MCP: end the session named by Mcp-Session-Id, cancelling its calls in flight',
    security: [{ Bearer: ['run'] }],
    responses: { ...errorResponses(403), 200: { description: 'Ended.' } },
  });
}
