import { z } from '@hono/zod-openapi';
import type { CreateSandboxInput, SandboxEngine, SandboxInfo } from '@runtools/sandbox';
import { RunToolsError } from '@runtools/sdk';
import {
  pageSchema,
  sandboxInputSchema,
  sandboxListQuerySchema,
  sandboxPatchSchema,
  sandboxSchema,
} from '@runtools/sdk/api';
import type { Context } from 'hono';
import type { Store } from '../../store/store.ts';
import { ensureTemplateBuilt } from '../../templates/ensure-template-built.ts';
import { errorResponseSchema } from '../errors.ts';
import { errorResponses, jsonBody, jsonResponse, newRouter, scopedRoute } from '../router.ts';
import {
  type PortUrlTemplate,
  portUrlTemplate,
  type SandboxJson,
  sandboxIdParamSchema,
  toSandboxJson,
  unavailable,
  unavailableResponse,
} from './sandbox-schemas.ts';

/** What an API sandbox gets without `timeoutMs` (E2B-style: nothing runs unattended for long). */
export const defaultTimeoutMs = 15 * 60_000;

function toEngineInput(body: z.infer<typeof sandboxInputSchema>): CreateSandboxInput {
  const r = body.resources;
  return {
    template: body.template,
    ...(body.timeoutMs === 0 ? {} : { timeoutMs: body.timeoutMs ?? defaultTimeoutMs }),
    ...(body.env !== undefined ? { env: body.env } : {}),
    ...(body.cwd !== undefined ? { cwd: body.cwd } : {}),
    ...(body.metadata !== undefined ? { metadata: body.metadata } : {}),
    ...(body.onTimeout !== undefined ? { onTimeout: body.onTimeout } : {}),
    ...(r !== undefined
      ? {
          resources: {
            ...(r.cpu !== undefined ? { cpu: r.cpu } : {}),
            ...(r.memoryMiB !== undefined ? { memoryMiB: r.memoryMiB } : {}),
            ...(r.pids !== undefined ? { pids: r.pids } : {}),
            ...(r.diskMiB !== undefined ? { diskMiB: r.diskMiB } : {}),
          },
        }
      : {}),
    ...(body.network !== undefined
      ? {
          network: {
            mode: body.network.mode,
            ...(body.network.allowOut !== undefined ? { allowOut: body.network.allowOut } : {}),
          },
        }
      : {}),
  };
}

const sandboxResponse = (description: string) => jsonResponse(sandboxSchema, description);

const create = scopedRoute('sandboxes', {
  method: 'post',
  path: '/sandboxes',
  summary: 'Create and start a sandbox from a template',
  request: { body: jsonBody(sandboxInputSchema) },
  responses: {
    201: sandboxResponse('The running sandbox.'),
    ...errorResponses(400, 404, 413, 415),
    ...unavailableResponse,
  },
});

const get = scopedRoute('sandboxes', {
  method: 'get',
  path: '/sandboxes/{id}',
  request: { params: sandboxIdParamSchema },
  responses: {
    200: sandboxResponse('The sandbox.'),
    ...errorResponses(400, 404),
    ...unavailableResponse,
  },
});

const list = scopedRoute('sandboxes', {
  method: 'get',
  path: '/sandboxes',
  summary: 'Running and paused sandboxes, oldest first',
  request: { query: sandboxListQuerySchema },
  responses: {
    200: jsonResponse(pageSchema(sandboxSchema), 'A page of sandboxes.'),
    ...errorResponses(400),
    ...unavailableResponse,
  },
});

const update = scopedRoute('sandboxes', {
  method: 'patch',
  path: '/sandboxes/{id}',
  summary: "Change a sandbox's timeout",
  request: { params: sandboxIdParamSchema, body: jsonBody(sandboxPatchSchema) },
  responses: {
    200: sandboxResponse('The sandbox.'),
    ...errorResponses(400, 404, 413, 415),
    ...unavailableResponse,
  },
});

const pause = scopedRoute('sandboxes', {
  method: 'post',
  path: '/sandboxes/{id}/pause',
  summary: 'Checkpoint every process to disk and stop them (resumed exactly as they were)',
  request: { params: sandboxIdParamSchema },
  responses: {
    200: sandboxResponse('The paused sandbox.'),
    ...errorResponses(400, 404, 409),
    ...unavailableResponse,
  },
});

const resume = scopedRoute('sandboxes', {
  method: 'post',
  path: '/sandboxes/{id}/resume',
  summary: 'Restore a paused sandbox',
  request: { params: sandboxIdParamSchema },
  responses: {
    200: sandboxResponse('The running sandbox.'),
    ...errorResponses(400, 404, 409),
    ...unavailableResponse,
  },
});

const remove = scopedRoute('sandboxes', {
  method: 'delete',
  path: '/sandboxes/{id}',
  summary: 'Stop every process and remove the sandbox',
  request: { params: sandboxIdParamSchema },
  responses: {
    204: { description: 'Deleted.' },
    ...errorResponses(400, 404, 409),
    ...unavailableResponse,
  },
});

/** Served by `sandboxProxy` (before auth, for every method); described here for the document. */
const portProxy = scopedRoute('sandboxes', {
  method: 'get',
  path: '/sandboxes/{id}/ports/{port}/{path}',
  summary: 'Proxy to an HTTP server in a sandbox (any method, WebSocket too)',
  description:
    'Forwards the request, minus the API credentials, to `port` inside the sandbox; a paused ' +
    'sandbox is resumed first. The key may be `Authorization: Bearer KEY`, `?token=KEY` (which ' +
    "also sets an HttpOnly cookie for the port's path) or that cookie; a browser without the key " +
    'opens a one-time `?runtoolsGrant=` link (`POST /v1/sandboxes/{id}/port-grants`) instead, ' +
    'traded for the same cookie. With RUNTOOLS_DOMAIN, ' +
    '`{port}-{id}.{domain}` serves the same on every path. Nothing listening: 502 `port_unreachable`.',
  request: {
    params: sandboxIdParamSchema.extend({
      port: z.string().openapi({ param: { name: 'port', in: 'path' }, example: '3000' }),
      path: z.string().openapi({ param: { name: 'path', in: 'path' }, example: 'index.html' }),
    }),
    query: z.object({ token: z.string().optional(), runtoolsGrant: z.string().optional() }),
  },
  responses: {
    200: { description: "The sandbox server's response, streamed." },
    502: jsonResponse(errorResponseSchema, 'Nothing accepts connections on the port.'),
    ...errorResponses(400, 404, 409),
    ...unavailableResponse,
  },
});

/** `/v1/sandboxes`: create, get, list, pause, resume, delete (exec and files have their own). */
export function sandboxRoutes(engine: SandboxEngine | undefined, store?: Store, domain?: string) {
  const ports = (c: Context) => portUrlTemplate(c, domain);
  const router = newRouter();
  router.openAPIRegistry.registerPath(portProxy);
  return router
    .openapi(create, async (c) => {
      const body = c.req.valid('json');
      if (engine === undefined) return unavailable(c);
      // A template defined through the API (on any server) is built here the first time.
      if (store !== undefined) await ensureTemplateBuilt(store, engine, body.template);
      const sandbox = await engine.create(toEngineInput(body));
      return c.json(toSandboxJson(sandbox.info(), ports(c)), 201);
    })
    .openapi(get, async (c) => {
      const { id } = c.req.valid('param');
      if (engine === undefined) return unavailable(c);
      return c.json(toSandboxJson(engine.get(id).info(), ports(c)), 200);
    })
    .openapi(list, async (c) => {
      const query = c.req.valid('query');
      if (engine === undefined) return unavailable(c);
      return c.json(listPage(engine.list({ state: query.state }), query, ports(c)), 200);
    })
    .openapi(update, async (c) => {
      const { id } = c.req.valid('param');
      const body = c.req.valid('json');
      if (engine === undefined) return unavailable(c);
      return c.json(toSandboxJson(await engine.get(id).setTimeout(body.timeoutMs), ports(c)), 200);
    })
    .openapi(pause, async (c) => {
      const { id } = c.req.valid('param');
      if (engine === undefined) return unavailable(c);
      return c.json(toSandboxJson(await engine.get(id).pause(), ports(c)), 200);
    })
    .openapi(resume, async (c) => {
      const { id } = c.req.valid('param');
      if (engine === undefined) return unavailable(c);
      return c.json(toSandboxJson(await engine.get(id).resume(), ports(c)), 200);
    })
    .openapi(remove, async (c) => {
      const { id } = c.req.valid('param');
      if (engine === undefined) return unavailable(c);
      // Idempotent: the engine remembers a deleted sandbox (as stopped) for a while.
      if (engine.get(id).state !== 'stopped') await engine.delete(id);
      return c.body(null, 204);
    });
}

/**
 * The engine lists sandboxes in memory: the page is cut here, ordered by creation time then id,
 * and the cursor names the last item's position, so a deleted item does not break the next page.
 */
function listPage(
  all: SandboxInfo[],
  query: { limit?: number | undefined; cursor?: string | undefined },
  portUrl: PortUrlTemplate,
): { data: SandboxJson[]; nextCursor: string | null } {
  const key = (s: SandboxInfo) => `${s.createdAt}|${s.id}`;
  const sorted = all.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
  const rest = after === undefined ? sorted : sorted.filter((s) => key(s) > after);
  const limit = query.limit ?? 20;
  const page = rest.slice(0, limit);
  const last = page.at(-1);
  return {
    data: page.map((info) => toSandboxJson(info, portUrl)),
    nextCursor:
      rest.length > limit && last !== undefined
        ? Buffer.from(key(last)).toString('base64url')
        : null,
  };
}

function decodeCursor(cursor: string): string {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^[^|]+\|sbx_[0-9a-f]+$/.test(text)) {
    throw new RunToolsError('invalid_input', 'The cursor is not one this list returned.', {
      details: { issues: [{ field: 'cursor', message: 'unknown cursor' }] },
    });
  }
  return text;
}
