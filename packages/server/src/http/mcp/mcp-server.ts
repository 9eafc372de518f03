import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  type CallToolResult,
  CancelledNotificationSchema,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
  type ProgressToken,
} from '@modelcontextprotocol/sdk/types.js';
import { RunToolsError } from '@runtools/sdk';
import { apiSlugSchema, idSchema } from '@runtools/sdk/api';
import { deploymentsOf } from '../access.ts';
import type { Principal } from '../app-env.ts';
import { validationError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { RunServices } from '../run-services.ts';
import { callDeployment, handedOffResult, runToolResult } from './call-deployment.ts';
import { deploymentToolInputSchema, listDeploymentTools } from './deployment-tools.ts';
import type { McpCalls } from './mcp-calls.ts';

export interface DeploymentsMcpServerOptions {
  services: RunServices;
  /** The caller, authenticated by the API; it has the `run` scope. */
  principal: Principal;
  /**
   * The caller's MCP session (its key and `Mcp-Session-Id`), under which its calls are tracked so
   * that a later `notifications/cancelled` reaches them; none for a client without a session id.
   */
  session: string | undefined;
  calls: McpCalls;
  logger: Logger;
  /** Whether new runs are taken; while false a call is an error result `server_shutting_down`. */
  acceptingRuns?: (() => boolean) | undefined;
}

const instructions =
  'Each tool is an AI agent deployed on RunTools. Call one with {"input": "<the task, in full>"}: ' +
  'it runs the agent once in its own sandbox and answers with the agent’s final text. Runs can ' +
  'take minutes; ask for progress (a progressToken) to follow their steps.';

/** An error result (not a protocol error), which the model sees and can act on. */
function errorResult(code: string, message: string): CallToolResult {
  return { isError: true, content: [{ type: 'text', text: `${code}: ${message}` }] };
}

function unknownTool(name: string): McpError {
  return new McpError(
    ErrorCode.InvalidParams,
    `Unknown tool: ${JSON.stringify(name.slice(0, 100))}`,
  );
}

/**
 * The MCP server of one `/v1/mcp` request: RunTools' deployments as tools of `principal`
 * (`tools/list`, `tools/call`). It is made per request (the endpoint is stateless), so it reads
 * the deployments afresh each time and holds nothing between requests.
 */
export function deploymentsMcpServer(options: DeploymentsMcpServerOptions): Server {
  const { services, principal, session, calls, logger } = options;
  const { store } = services;
  const allowed = deploymentsOf(principal);
  const server = new Server(
    { name: 'runtools', version: '0.1.0' },
    { capabilities: { tools: { listChanged: false } }, instructions },
  );

  /** Protocol errors pass; anything unexpected is logged and answered without its details. */
  const guarded = async <T>(method: string, handle: () => Promise<T>): Promise<T> => {
    try {
      return await handle();
    } catch (error) {
      if (error instanceof McpError) throw error;
      logger.error({ err: error, method }, 'MCP request failed');
      throw new McpError(ErrorCode.InternalError, 'An unexpected error occurred.');
    }
  };

  server.setRequestHandler(ListToolsRequestSchema, (request) =>
    guarded('tools/list', async () => {
      const cursor = request.params?.cursor;
      if (cursor !== undefined && !idSchema.safeParse(cursor).success) {
        throw new McpError(ErrorCode.InvalidParams, 'Invalid cursor: pass a nextCursor back.');
      }
      return listDeploymentTools(store, allowed, cursor);
    }),
  );

  server.setRequestHandler(CallToolRequestSchema, (request, extra) =>
    guarded('tools/call', async () => {
      const { name } = request.params;
      // A deployment outside a restricted key's list is as unknown as a missing one.
      if (
        !apiSlugSchema.safeParse(name).success ||
        (allowed !== null && !allowed.includes(name)) ||
        (await store.deployments.getBySlug(name)) === undefined
      ) {
        throw unknownTool(name);
      }
      const args = deploymentToolInputSchema.safeParse(request.params.arguments ?? {});
      if (!args.success) {
        return errorResult('invalid_input', validationError(args.error, 'arguments').message);
      }
      if (options.acceptingRuns?.() === false) {
        return errorResult(
          'server_shutting_down',
          'The server is shutting down and takes no new runs; retry against another server.',
        );
      }
      const tracked = session === undefined ? undefined : calls.track(session, extra.requestId);
      const progress = progressReporter(
        request.params._meta?.progressToken,
        extra.sendNotification,
      );
      try {
        const outcome = await callDeployment({
          services,
          slug: name,
          input: args.data,
          signal: tracked ? AbortSignal.any([extra.signal, tracked.signal]) : extra.signal,
          onProgress: progress?.report,
          draining: () => options.acceptingRuns?.() === false,
        });
        await progress?.flushed();
        if (outcome.kind === 'ended') return runToolResult(outcome.run);
        if (outcome.kind === 'handed_off') return handedOffResult(outcome.run);
        // Cancelled: the client wants no answer (the spec asks for none). Closing ends this
        // request's response stream without one; the SDK then drops the result returned below.
        await server.close();
        return errorResult('run_cancelled', `Run ${outcome.runId} was cancelled.`);
      } catch (error) {
        if (RunToolsError.isInstance(error) && error.code === 'deployment_not_found') {
          throw unknownTool(name);
        }
        throw error;
      } finally {
        tracked?.done();
      }
    }),
  );

  // The SDK's own handler only knows the requests of this server, which never holds the call
  // being cancelled: a cancellation comes in a request of its own.
  server.setNotificationHandler(CancelledNotificationSchema, (notification) => {
    const { requestId, reason } = notification.params;
    if (session !== undefined && requestId !== undefined) {
      calls.cancel(session, requestId, reason ?? 'cancelled by the client');
    }
  });
  return server;
}

/**
 * Progress notifications for a call whose client sent a progressToken, sent in order; `flushed`
 * resolves once all have gone out (before the result, which must come after them).
 */
function progressReporter(
  token: ProgressToken | undefined,
  send: (notification: {
    method: 'notifications/progress';
    params: { progressToken: ProgressToken; progress: number; message: string };
  }) => Promise<void>,
): { report: (message: string) => void; flushed: () => Promise<void> } | undefined {
  if (token === undefined) return undefined;
  let progress = 0;
  let sent = Promise.resolve();
  return {
    report: (message) => {
      progress += 1;
      const params = { progressToken: token, progress, message };
      // A client gone meanwhile is noticed by the call's signal, not here.
      sent = sent.then(() => send({ method: 'notifications/progress', params })).catch(() => {});
    },
    flushed: () => sent,
  };
}
