import { z } from '@hono/zod-openapi';
import { bundleParamSchema, bundleSchema, maxBundleBytes } from '@runtools/sdk/api';
import { bundleNotFound } from '../../store/bundles.ts';
import type { Store } from '../../store/store.ts';
import { errorResponses, jsonResponse, newRouter, scopedRoute } from '../router.ts';

const bytes = { schema: z.string().openapi({ format: 'binary' }) };

const put = scopedRoute('deploy', {
  method: 'put',
  path: '/bundles/{sha256}',
  summary: 'Upload a code bundle (the raw body) under the SHA-256 of its bytes',
  description:
    "A runtime's custom tools run the code of its `bundle`: one ES module (UTF-8) with " +
    `everything the agent file imports, at most ${maxBundleBytes} bytes. The server checks that ` +
    'the path names the hash of the body (`bundle_hash_mismatch`). Uploading the same bytes ' +
    'again changes nothing.',
  request: {
    params: bundleParamSchema,
    body: { required: true, content: { 'application/octet-stream': bytes } },
  },
  responses: {
    200: jsonResponse(bundleSchema, 'The stored bundle.'),
    ...errorResponses(400, 413),
  },
});

const get = scopedRoute('deploy', {
  method: 'get',
  path: '/bundles/{sha256}',
  summary: "A code bundle's bytes",
  request: { params: bundleParamSchema },
  responses: {
    200: { description: 'The bundle (an ES module).', content: { 'text/javascript': bytes } },
    ...errorResponses(404),
  },
});

/** `/v1/bundles/{sha256}`: the code of runtimes' custom tools, content addressed. */
export function bundleRoutes(store: Store) {
  return newRouter()
    .openapi(put, async (c) => {
      const { sha256 } = c.req.valid('param');
      const body = new Uint8Array(await c.req.arrayBuffer());
      return c.json(await store.bundles.put(sha256, body), 200);
    })
    .openapi(get, async (c) => {
      const { sha256 } = c.req.valid('param');
      const code = await store.bundles.read(sha256);
      if (code === undefined) throw bundleNotFound(sha256);
      return c.body(code as Uint8Array<ArrayBuffer>, 200, {
        'content-type': 'text/javascript; charset=utf-8',
      });
    });
}
