import { z } from '@hono/zod-openapi';
import { RunToolsError } from '@runtools/sdk';
import {
  secretDeleteQuerySchema,
  secretInputSchema,
  secretListQuerySchema,
  secretListSchema,
  secretNameSchema,
  secretSchema,
} from '@runtools/sdk/api';
import type { Store } from '../../store/store.ts';
import { errorResponses, jsonBody, jsonResponse, newRouter, scopedRoute } from '../router.ts';

const nameParamSchema = z.object({ name: secretNameSchema });

// `admin`, like API keys and webhooks: a stored credential acts for the team at a service, and
// who may replace one may point an agent's actions at another account. A `deploy` key (which
// writes runtimes) or a `run` key (which an app embeds) must not. No route returns a value.
const set = scopedRoute('admin', {
  method: 'post',
  path: '/secrets',
  summary: 'Set a secret (integration credential), server-wide or for one deployment',
  description:
    'Stores the value encrypted; no response, event or log line shows it again. Setting a name ' +
    'that exists in that scope replaces its value.',
  request: { body: jsonBody(secretInputSchema) },
  responses: {
    200: jsonResponse(secretSchema, 'The secret, without its value.'),
    ...errorResponses(400, 404, 413, 415),
  },
});

const list = scopedRoute('admin', {
  method: 'get',
  path: '/secrets',
  summary: 'List secrets: names, scopes and when they were set (never values)',
  request: { query: secretListQuerySchema },
  responses: {
    200: jsonResponse(secretListSchema, 'Every secret, by name.'),
    ...errorResponses(400),
  },
});

const remove = scopedRoute('admin', {
  method: 'delete',
  path: '/secrets/{name}',
  summary: 'Delete a secret: the server-wide value, or with deploymentId that deployment’s own',
  request: { params: nameParamSchema, query: secretDeleteQuerySchema },
  responses: { 204: { description: 'Deleted.' }, ...errorResponses(400, 404) },
});

/** `/v1/secrets`: the secret store the marketplace integrations read their credentials from. */
export function secretRoutes(store: Store) {
  return newRouter()
    .openapi(set, async (c) => {
      const { name, value, deploymentId } = c.req.valid('json');
      if (deploymentId != null && (await store.deployments.get(deploymentId)) === undefined) {
        throw new RunToolsError(
          'deployment_not_found',
          `Deployment ${deploymentId} does not exist.`,
          {
            details: { deploymentId },
          },
        );
      }
      return c.json(await store.secrets.set(name, value, deploymentId ?? null), 200);
    })
    .openapi(list, async (c) => {
      const { deploymentId } = c.req.valid('query');
      const data = await store.secrets.list(deploymentId === undefined ? {} : { deploymentId });
      return c.json({ data }, 200);
    })
    .openapi(remove, async (c) => {
      const { name } = c.req.valid('param');
      const { deploymentId } = c.req.valid('query');
      if (!(await store.secrets.delete(name, deploymentId ?? null))) {
        throw new RunToolsError(
          'secret_not_found',
          `There is no secret ${name}${deploymentId ? ` of deployment ${deploymentId}` : ''}.`,
          { details: { name, ...(deploymentId ? { deploymentId } : {}) } },
        );
      }
      return c.body(null, 204);
    });
}
