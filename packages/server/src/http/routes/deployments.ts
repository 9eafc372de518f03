import { RunToolsError } from '@runtools/sdk';
import {
  type DeploymentAgent,
  type Deployment as DeploymentJson,
  deploymentInputSchema,
  deploymentPatchSchema,
  deploymentSchema,
  pageQuerySchema,
  pageSchema,
} from '@runtools/sdk/api';
import type { Deployment } from '../../store/deployments.ts';
import type { Runtime } from '../../store/runtimes.ts';
import type { Store } from '../../store/store.ts';
import { deploymentsOf, mayUseDeployment } from '../access.ts';
import { idParamSchema } from '../common-schemas.ts';
import { toPageResponse } from '../pagination.ts';
import { errorResponses, jsonBody, jsonResponse, newRouter, scopedRoute } from '../router.ts';

/**
 * The agent a runtime defines, as a deployment shows it: its model by name only (a custom
 * endpoint's URL, headers and key stay with the runtime, which needs scope `deploy`).
 */
function agentOf(runtime: Runtime | undefined): DeploymentAgent | null {
  if (runtime === undefined) return null;
  const definition = runtime.definition as {
    name?: unknown;
    description?: unknown;
    model?: unknown;
    tools?: unknown;
  };
  const model = definition.model as string | { provider?: string; model?: string } | undefined;
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
  const name = text(definition.name);
  const description = text(definition.description);
  return {
    slug: runtime.slug,
    version: runtime.version,
    ...(name === undefined ? {} : { name }),
    ...(description === undefined ? {} : { description }),
    model:
      typeof model === 'string'
        ? model
        : `${model?.provider ?? 'custom'}/${model?.model ?? 'default'}`,
    tools: Array.isArray(definition.tools)
      ? // Core tools by name; custom tools (descriptors) by their own name.
        definition.tools.flatMap((t) =>
          typeof t === 'string'
            ? [t]
            : typeof (t as { custom?: unknown }).custom === 'string'
              ? [(t as { custom: string }).custom]
              : [],
        )
      : [],
  };
}

function toJson(deployment: Deployment, runtime: Runtime | undefined): DeploymentJson {
  return {
    id: deployment.id,
    apiSlug: deployment.apiSlug,
    runtimeId: deployment.runtimeId,
    agent: agentOf(runtime),
    template: deployment.templateSlug,
    createdAt: deployment.createdAt,
    updatedAt: deployment.updatedAt,
  };
}

const create = scopedRoute('deploy', {
  method: 'post',
  path: '/deployments',
  summary: 'Serve a runtime in a sandbox template at /v1/run/{apiSlug}',
  request: { body: jsonBody(deploymentInputSchema) },
  responses: {
    201: jsonResponse(deploymentSchema, 'The new deployment.'),
    ...errorResponses(400, 404, 409, 413, 415),
  },
});

const get = scopedRoute(['deploy', 'run'], {
  method: 'get',
  path: '/deployments/{id}',
  request: { params: idParamSchema },
  responses: { 200: jsonResponse(deploymentSchema, 'The deployment.'), ...errorResponses(404) },
});

const list = scopedRoute(['deploy', 'run'], {
  method: 'get',
  path: '/deployments',
  request: { query: pageQuerySchema },
  responses: {
    200: jsonResponse(pageSchema(deploymentSchema), 'A page of deployments.'),
    ...errorResponses(400),
  },
});

const update = scopedRoute('deploy', {
  method: 'patch',
  path: '/deployments/{id}',
  summary: 'Change the slug, runtime or template of a deployment',
  request: {
    params: idParamSchema,
    body: jsonBody(deploymentPatchSchema),
  },
  responses: {
    200: jsonResponse(deploymentSchema, 'The updated deployment.'),
    ...errorResponses(400, 404, 409, 413, 415),
  },
});

const remove = scopedRoute('deploy', {
  method: 'delete',
  path: '/deployments/{id}',
  summary: 'Delete a deployment (its runs stay, as history)',
  request: { params: idParamSchema },
  responses: { 204: { description: 'Deleted.' }, ...errorResponses(404) },
});

/** `/v1/deployments`: a runtime plus a template, served as an API. */
export function deploymentRoutes(store: Store) {
  const withAgent = async (deployment: Deployment) =>
    toJson(deployment, await store.runtimes.get(deployment.runtimeId));
  return newRouter()
    .openapi(create, async (c) => {
      const body = c.req.valid('json');
      const deployment = await store.deployments.create({
        apiSlug: body.apiSlug,
        runtimeId: body.runtimeId,
        templateSlug: body.template,
      });
      return c.json(await withAgent(deployment), 201);
    })
    .openapi(get, async (c) => {
      const { id } = c.req.valid('param');
      const deployment = await store.deployments.get(id);
      if (deployment === undefined || !mayUseDeployment(c, deployment.apiSlug)) throw notFound(id);
      return c.json(await withAgent(deployment), 200);
    })
    .openapi(list, async (c) => {
      const query = c.req.valid('query');
      const apiSlugs = deploymentsOf(c.get('principal'));
      const page = await store.deployments.list({ ...query, apiSlugs });
      const runtimes = await store.runtimes.getMany(page.items.map((d) => d.runtimeId));
      return c.json(
        toPageResponse(page, (d) => toJson(d, runtimes.get(d.runtimeId))),
        200,
      );
    })
    .openapi(update, async (c) => {
      const { id } = c.req.valid('param');
      const body = c.req.valid('json');
      const deployment = await store.deployments.update(id, {
        apiSlug: body.apiSlug,
        runtimeId: body.runtimeId,
        templateSlug: body.template,
      });
      return c.json(await withAgent(deployment), 200);
    })
    .openapi(remove, async (c) => {
      const { id } = c.req.valid('param');
      if (!(await store.deployments.delete(id))) throw notFound(id);
      return c.body(null, 204);
    });
}

function notFound(id: string): RunToolsError {
  return new RunToolsError('deployment_not_found', `Deployment ${id} does not exist.`, {
    details: { deploymentId: id },
  });
}
