import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { z } from '@hono/zod-openapi';
import type { SandboxEngine } from '@runtools/sandbox';
import { directoryListingSchema, filePathQuerySchema, writtenFileSchema } from '@runtools/sdk/api';
import { errorResponses, jsonResponse, newRouter, scopedRoute } from '../router.ts';
import { sandboxIdParamSchema, unavailable, unavailableResponse } from './sandbox-schemas.ts';

const bytes = { schema: z.string().openapi({ format: 'binary' }) };

const read = scopedRoute('sandboxes', {
  method: 'get',
  path: '/sandboxes/{id}/files',
  summary: "A file's bytes, or a directory's entries as JSON",
  request: { params: sandboxIdParamSchema, query: filePathQuerySchema },
  responses: {
    200: {
      description: 'The file (application/octet-stream) or the directory listing (JSON).',
      content: {
        'application/octet-stream': bytes,
        'application/json': { schema: directoryListingSchema },
      },
    },
    ...errorResponses(400, 404, 409),
    ...unavailableResponse,
  },
});

const write = scopedRoute('sandboxes', {
  method: 'put',
  path: '/sandboxes/{id}/files',
  summary: 'Write a file from the raw request body (missing parent directories are created)',
  request: {
    params: sandboxIdParamSchema,
    query: filePathQuerySchema,
    body: { required: true, content: { 'application/octet-stream': bytes } },
  },
  responses: {
    200: jsonResponse(writtenFileSchema, 'The written file.'),
    ...errorResponses(400, 404, 409, 413),
    ...unavailableResponse,
  },
});

const remove = scopedRoute('sandboxes', {
  method: 'delete',
  path: '/sandboxes/{id}/files',
  summary: 'Remove a file, a symlink (never its target) or a directory tree',
  request: { params: sandboxIdParamSchema, query: filePathQuerySchema },
  responses: {
    204: { description: 'Removed.' },
    ...errorResponses(400, 404, 409),
    ...unavailableResponse,
  },
});

/** `GET|PUT|DELETE /v1/sandboxes/{id}/files?path=`: raw bytes in and out, streamed. */
export function sandboxFileRoutes(engine: SandboxEngine | undefined) {
  return newRouter()
    .openapi(read, async (c) => {
      const { id } = c.req.valid('param');
      const { path } = c.req.valid('query');
      if (engine === undefined) return unavailable(c);
      const files = engine.get(id).files;
      // Stat first: a missing file or a bad path is an error status, not a broken stream.
      const info = await files.stat(path);
      if (info.type === 'directory') {
        const entries = await files.list(info.path);
        return c.json(
          {
            path: info.path,
            type: 'directory' as const,
            entries: entries.map((e) => ({
              name: e.name,
              path: e.path,
              type: e.type,
              size: e.size,
              modifiedAt: e.modifiedAt.toISOString(),
            })),
          },
          200,
        );
      }
      const stream = Readable.toWeb(files.createReadStream(info.path)) as ReadableStream;
      return c.body(stream, 200, { 'content-type': 'application/octet-stream' });
    })
    .openapi(write, async (c) => {
      const { id } = c.req.valid('param');
      const { path } = c.req.valid('query');
      if (engine === undefined) return unavailable(c);
      const files = engine.get(id).files;
      const target = await files.createWriteStream(path);
      const body = c.req.raw.body;
      await pipeline(
        body === null ? Readable.from([]) : Readable.fromWeb(body as NodeReadableStream),
        target,
      );
      const info = await files.stat(path);
      return c.json({ path: info.path, size: info.size }, 200);
    })
    .openapi(remove, async (c) => {
      const { id } = c.req.valid('param');
      const { path } = c.req.valid('query');
      if (engine === undefined) return unavailable(c);
      await engine.get(id).files.remove(path, { recursive: true });
      return c.body(null, 204);
    });
}
