import { RunToolsError } from '@runtools/sdk';
import {
  type ApiKeyInput,
  type ApiKey as ApiKeyJson,
  type ApiScope,
  apiKeyInputSchema,
  apiKeySchema,
  createdApiKeySchema,
  pageQuerySchema,
  pageSchema,
} from '@runtools/sdk/api';
import type { ApiKey } from '../../store/api-keys.ts';
import type { Store } from '../../store/store.ts';
import { deploymentsOf, scopesOf } from '../access.ts';
import type { Principal } from '../app-env.ts';
import { idParamSchema } from '../common-schemas.ts';
import type { KeySessions } from '../key-sessions.ts';
import { toPageResponse } from '../pagination.ts';
import { errorResponses, jsonBody, jsonResponse, newRouter, scopedRoute } from '../router.ts';

function toJson(apiKey: ApiKey): ApiKeyJson {
  return {
    id: apiKey.id,
    prefix: apiKey.prefix,
    name: apiKey.name,
    scopes: apiKey.scopes,
    deployments: apiKey.deployments,
    createdAt: apiKey.createdAt,
    revokedAt: apiKey.revokedAt,
  };
}

const create = scopedRoute('admin', {
  method: 'post',
  path: '/api-keys',
  summary: 'Create an API key; the response holds the plaintext key, shown only once',
  description:
    'The new key gets `scopes` (default: the creating key’s own), each one the creating key ' +
    'holds, and optionally a restriction to `deployments` (then only the `run` scope; default ' +
    'scopes `["run"]`). A key restricted to deployments mints only keys restricted to some of them.',
  request: {
    body: jsonBody(apiKeyInputSchema),
  },
  responses: {
    201: jsonResponse(createdApiKeySchema, 'The key, with its plaintext.'),
    ...errorResponses(400, 413, 415),
  },
});

const list = scopedRoute('admin', {
  method: 'get',
  path: '/api-keys',
  request: { query: pageQuerySchema },
  responses: {
    200: jsonResponse(pageSchema(apiKeySchema), 'A page of keys (prefixes only).'),
    ...errorResponses(400),
  },
});

const remove = scopedRoute('admin', {
  method: 'delete',
  path: '/api-keys/{id}',
  summary: 'Revoke a key: it is refused from now on (idempotent)',
  request: { params: idParamSchema },
  responses: { 200: jsonResponse(apiKeySchema, 'The revoked key.'), ...errorResponses(404) },
});

/** `/v1/api-keys`: keys are shown once, stored hashed, listed by prefix and revocable. */
export function apiKeyRoutes(store: Store, sessions: KeySessions) {
  return newRouter()
    .openapi(create, async (c) => {
      const body = c.req.valid('json');
      const { scopes, deployments } = grantable(c.get('principal'), body);
      const { apiKey, key } = await store.apiKeys.create({ name: body.name, scopes, deployments });
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
      const revoked = await store.apiKeys.revoke(id);
      await store.sessions.deleteForKey(id);
      // A key revoking itself still gets this answer; its other connections end now.
      const caller = c.get('principal');
      if (caller.kind === 'api_key' && caller.apiKey.id === id) c.get('untrackConnection')?.();
      sessions.closeKey(id);
      return c.json(toJson(revoked), 200);
    });
}

/**
 * The scopes and deployment restriction of a key `creator` asks for: never more than the
 * creator holds, so no key can mint its way to more power.
 */
function grantable(
  creator: Principal,
  body: ApiKeyInput,
): { scopes: ApiScope[]; deployments: string[] | null } {
  const held = scopesOf(creator);
  const restriction = deploymentsOf(creator);
  const deployments = body.deployments ?? (restriction === null ? null : [...restriction]);
  const scopes = body.scopes ?? (deployments === null ? [...held] : ['run' as const]);
  const missing = scopes.filter((s) => !held.includes(s));
  if (missing.length > 0) {
    throw new RunToolsError(
      'insufficient_scope',
      `A key can only give scopes it holds; this key lacks ${missing.map((s) => `"${s}"`).join(', ')}.`,
      { details: { requiredScopes: missing } },
    );
  }
  const outside =
    restriction === null ? [] : (deployments ?? []).filter((d) => !restriction.includes(d));
  if (restriction !== null && (deployments === null || outside.length > 0)) {
    throw new RunToolsError(
      'insufficient_scope',
      `This key is restricted to the deployments ${restriction.join(', ')}; a key it creates must be restricted to some of them.`,
      { details: { deployments: restriction } },
    );
  }
  if (deployments !== null && scopes.some((s) => s !== 'run')) {
    throw new RunToolsError(
      'invalid_input',
      'A key restricted to deployments holds only the "run" scope; leave out "scopes" or pass ["run"].',
      { details: { issues: [{ field: 'scopes', message: 'only "run" with deployments' }] } },
    );
  }
  return { scopes, deployments };
}
