import { createRoute } from '@hono/zod-openapi';
import { RunToolsError } from '@runtools/sdk';
import {
  type ApiKey as ApiKeyJson,
  apiKeyInputSchema,
  apiKeySchema,
  createdApiKeySchema,
  pageQuerySchema,
  pageSchema,
} from '@runtools/sdk/api';
import type { ApiKey } from '../../store/api-keys.ts';
import type { Store } from '../../store/store.ts';
import { idParamSchema } from '../common-schemas.ts';
import { toPageResponse } from '../pagination.ts';
import { errorResponses, jsonBody, jsonResponse, newRouter } from '../router.ts';

function toJson(apiKey: ApiKey): ApiKeyJson {
  return {
    id: apiKey.id,
    prefix: apiKey.prefix,
    name: apiKey.name,
    createdAt: apiKey.createdAt,
    revokedAt: apiKey.revokedAt,
  };
}

const create = createRoute({
  method: 'post',
  path: '/api-keys',
  summary: 'Create an API key; the response holds the plaintext key, shown only once',
  request: {
    body: jsonBody(apiKeyInputSchema),
  },
  responses: {
    201: jsonResponse(createdApiKeySchema, 'The key, with its plaintext.'),
    ...errorResponses(400, 413, 415),
  },
});

const list = createRoute({
  method: 'get',
  path: '/api-keys',
  request: { query: pageQuerySchema },
  responses: {
    200: jsonResponse(pageSchema(apiKeySchema), 'A page of keys (prefixes only).'),
    ...errorResponses(400),
  },
});

const remove = createRoute({
  method: 'delete',
  path: '/api-keys/{id}',
  summary: 'Revoke a key: it is refused from now on (idempotent)',
  request: { params: idParamSchema },
  responses: { 200: jsonResponse(apiKeySchema, 'The revoked key.'), ...errorResponses(404) },
});

/** `/v1/api-keys`: keys are shown once, stored hashed, listed by prefix and revocable. */
export function apiKeyRoutes(store: Store) {
  return newRouter()
    .openapi(create, async (c) => {
      const { apiKey, key } = await store.apiKeys.create(c.req.valid('json'));
      return c.json({ ...toJson(apiKey), key }, 201);
    })
    .openapi(list, async (c) => {
      const query = c.req.valid('query');
      return c.json(toPageResponse(await store.apiKeys.list(query), toJson), 200);
    })
    .openapi(remove, async (c) => {
      const { id } = c.req.valid('param');
      if ((await store.apiKeys.get(id)) === undefined) {
        throw new RunToolsError('api_key_not_found', `API key ${id} does not exist.`, {
          details: { apiKeyId: id },
        });
      }
      return c.json(toJson(await store.apiKeys.revoke(id)), 200);
    });
}
