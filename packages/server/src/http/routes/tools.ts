import { toolCatalogSchema } from '@runtools/sdk/api';
import type { Store } from '../../store/store.ts';
import { toolCatalog } from '../../tools/tool-catalog.ts';
import { errorResponses, jsonResponse, newRouter, scopedRoute } from '../router.ts';

// `deploy` writes the agents that name these tools; `admin` sets the secrets they need. The
// catalog says whether a secret is set, never its value.
const catalog = scopedRoute(['deploy', 'admin'], {
  method: 'get',
  path: '/tools',
  summary: 'The tool catalog: core tools, marketplace integrations, custom and MCP tools',
  responses: { 200: jsonResponse(toolCatalogSchema, 'The catalog.'), ...errorResponses() },
});

/** `/v1/tools`: every tool an agent can name, with the secrets each integration needs. */
export function toolRoutes(store: Store) {
  return newRouter().openapi(catalog, async (c) => c.json(await toolCatalog(store), 200));
}
