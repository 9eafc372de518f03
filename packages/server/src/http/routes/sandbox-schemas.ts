import { z } from '@hono/zod-openapi';
import type { SandboxInfo } from '@runtools/sandbox';
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

export const sandboxSchema = z
  .object({
    id: z.string(),
    state: z.enum(['creating', 'running', 'paused', 'stopped']),
    template: z.string(),
    template_version: z.string(),
    created_at: z.string(),
    updated_at: z.string(),
    cwd: z.string(),
    metadata: z.record(z.string(), z.string()),
    timeout_ms: z.number().nullable(),
    on_timeout: z.enum(['pause', 'kill']),
    /** When a running sandbox will be paused or stopped by its timeout. */
    expires_at: z.string().nullable(),
    resources: z.object({
      cpu: z.number(),
      memory_mib: z.number(),
      pids: z.number(),
      disk_mib: z.number().nullable(),
    }),
    network: z.object({
      mode: z.enum(['none', 'egress']),
      allow_out: z.array(z.string()).nullable(),
    }),
    /** Size of the memory snapshot of a paused sandbox. */
    snapshot_bytes: z.number().nullable(),
  })
  .openapi('Sandbox');

export type SandboxJson = z.infer<typeof sandboxSchema>;

export function toSandboxJson(info: SandboxInfo): SandboxJson {
  return {
    id: info.id,
    state: info.state,
    template: info.template,
    template_version: info.templateVersion,
    created_at: info.createdAt,
    updated_at: info.updatedAt,
    cwd: info.cwd,
    metadata: info.metadata,
    timeout_ms: info.timeoutMs ?? null,
    on_timeout: info.onTimeout,
    expires_at: info.expiresAt ?? null,
    resources: {
      cpu: info.resources.cpu,
      memory_mib: info.resources.memoryMiB,
      pids: info.resources.pids,
      disk_mib: info.resources.diskMiB ?? null,
    },
    network: { mode: info.network.mode, allow_out: info.network.allowOut ?? null },
    snapshot_bytes: info.snapshotBytes ?? null,
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
