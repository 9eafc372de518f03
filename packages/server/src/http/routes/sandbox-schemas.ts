import { z } from '@hono/zod-openapi';
import type { SandboxInfo } from '@runtools/sandbox';
import type { Sandbox } from '@runtools/sdk/api';
import type { Context } from 'hono';
import { errorResponseSchema } from '../errors.ts';
import { jsonResponse } from '../router.ts';

/** `{id}` of a sandbox in a path (`sbx_…`). */
export const sandboxIdParamSchema = z.object({
  id: z
    .string()
    .min(1)
    .max(100)
    .regex(/^[A-Za-z0-9_-]+$/, 'a sandbox id such as sbx_0123456789abcdef')
    .openapi({ param: { name: 'id', in: 'path' }, example: 'sbx_0123456789abcdef' }),
});

export type SandboxJson = Sandbox;

/**
 * The URL of sandbox `id`'s port `{port}` as the caller reaches this server: on its own host
 * `{port}-{id}.{domain}` when the server has a domain (each port its own origin), else the path
 * under the API (the API's origin; see the port proxy).
 */
export type PortUrlTemplate = (id: string) => string;

export function portUrlTemplate(c: Context, domain: string | undefined): PortUrlTemplate {
  const url = new URL(c.req.url);
  const forwarded = c.req.header('x-forwarded-proto');
  const proto = forwarded === 'https' || forwarded === 'http' ? `${forwarded}:` : url.protocol;
  const bare = domain?.toLowerCase().replace(/^\.+|\.+$/g, '');
  if (bare) {
    const port = url.port === '' ? '' : `:${url.port}`;
    return (id) => `${proto}//{port}-${id}.${bare}${port}/`;
  }
  return (id) => `${proto}//${url.host}/v1/sandboxes/${encodeURIComponent(id)}/ports/{port}/`;
}

export function toSandboxJson(info: SandboxInfo, portUrl: PortUrlTemplate): SandboxJson {
  return {
    id: info.id,
    state: info.state,
    template: info.template,
    templateVersion: info.templateVersion,
    createdAt: info.createdAt,
    updatedAt: info.updatedAt,
    cwd: info.cwd,
    metadata: info.metadata,
    timeoutMs: info.timeoutMs ?? null,
    onTimeout: info.onTimeout,
    expiresAt: info.expiresAt ?? null,
    resources: {
      cpu: info.resources.cpu,
      memoryMiB: info.resources.memoryMiB,
      pids: info.resources.pids,
      diskMiB: info.resources.diskMiB ?? null,
    },
    network: { mode: info.network.mode, allowOut: info.network.allowOut ?? null },
    snapshotBytes: info.snapshotBytes ?? null,
    portUrl: portUrl(info.id),
  };
}

export const unavailableMessage =
  'This server runs no sandbox engine: sandboxes are unavailable (start it on a host with runc).';

/** The 503 of every sandbox route on a server without an engine. */
export const unavailableResponse = {
  503: jsonResponse(
    errorResponseSchema,
    'The server has no sandbox engine (`sandboxes_unavailable`).',
  ),
};

/**
 * Answers 503 `sandboxes_unavailable`. Returned, not thrown: `handleError` hides every 5xx code
 * behind `internal_error`, and this one is the caller's to see.
 */
export function unavailable(c: Context) {
  return c.json({ error: { code: 'sandboxes_unavailable', message: unavailableMessage } }, 503);
}
