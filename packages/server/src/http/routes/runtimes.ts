import { randomBytes } from 'node:crypto';
import { RunToolsError } from '@runtools/sdk';
import {
  maskDefinitionSecrets,
  pageSchema,
  type Runtime as RuntimeJson,
  runtimeInputSchema,
  runtimeListQuerySchema,
  runtimeSchema,
} from '@runtools/sdk/api';
import { hasMaskedSecrets, restoreMaskedSecrets } from '../../secrets/definition-secrets.ts';
import { bundleNotFound } from '../../store/bundles.ts';
import type { Runtime } from '../../store/runtimes.ts';
import type { Store } from '../../store/store.ts';
import { idParamSchema } from '../common-schemas.ts';
import { toPageResponse } from '../pagination.ts';
import { errorResponses, jsonBody, jsonResponse, newRouter, scopedRoute } from '../router.ts';

/** A runtime as the API shows it: its secrets masked, never in plaintext. */
function toJson(runtime: Runtime): RuntimeJson {
  return {
    id: runtime.id,
    slug: runtime.slug,
    version: runtime.version,
    definition: maskDefinitionSecrets(runtime.definition as Record<string, unknown>),
    createdAt: runtime.createdAt,
    updatedAt: runtime.updatedAt,
  };
}

const definitionBody = jsonBody(runtimeInputSchema);

const create = scopedRoute('deploy', {
  method: 'post',
  path: '/runtimes',
  summary: 'Create a runtime (the next version of its slug) from an agent definition',
  request: { body: definitionBody },
  responses: {
    201: jsonResponse(runtimeSchema, 'The new runtime version.'),
    ...errorResponses(400, 413, 415),
  },
});

const get = scopedRoute('deploy', {
  method: 'get',
  path: '/runtimes/{id}',
  request: { params: idParamSchema },
  responses: { 200: jsonResponse(runtimeSchema, 'The runtime.'), ...errorResponses(404) },
});

const list = scopedRoute('deploy', {
  method: 'get',
  path: '/runtimes',
  summary: 'Runtimes newest first; with `slug`, the versions of one agent',
  request: {
    query: runtimeListQuerySchema,
  },
  responses: {
    200: jsonResponse(pageSchema(runtimeSchema), 'A page of runtimes.'),
    ...errorResponses(400),
  },
});

const update = scopedRoute('deploy', {
  method: 'put',
  path: '/runtimes/{id}',
  summary: "Replace one version's definition (its slug cannot change)",
  request: { params: idParamSchema, body: definitionBody },
  responses: {
    200: jsonResponse(runtimeSchema, 'The updated runtime.'),
    ...errorResponses(400, 404, 413, 415),
  },
});

const remove = scopedRoute('deploy', {
  method: 'delete',
  path: '/runtimes/{id}',
  responses: { 204: { description: 'Deleted.' }, ...errorResponses(404, 409) },
  request: { params: idParamSchema },
});

/** `/v1/runtimes`: agent definitions, versioned by slug. */
export function runtimeRoutes(store: Store) {
  return newRouter()
    .openapi(create, async (c) => {
      const body = c.req.valid('json');
      // A runtime created with only a model (`rt.runtimes.create({ model })`) is named for it.
      const slug = body.slug ?? `agent-${randomBytes(4).toString('hex')}`;
      // A definition copied from the slug's latest version keeps that version's secrets.
      const latest = hasMaskedSecrets(body) ? await store.runtimes.getLatest(slug) : undefined;
      const definition = restoreMaskedSecrets({ ...body, slug }, latest?.definition);
      await requireBundle(store, definition.bundle);
      const runtime = await store.runtimes.create({ slug, definition });
      return c.json(toJson(runtime), 201);
    })
    .openapi(get, async (c) => {
      const { id } = c.req.valid('param');
      const runtime = await store.runtimes.get(id);
      if (runtime === undefined) throw notFound(id);
      return c.json(toJson(runtime), 200);
    })
    .openapi(list, async (c) => {
      const query = c.req.valid('query');
      return c.json(toPageResponse(await store.runtimes.list(query), toJson), 200);
    })
    .openapi(update, async (c) => {
      const { id } = c.req.valid('param');
      const body = c.req.valid('json');
      const current = await store.runtimes.get(id);
      if (current === undefined) throw notFound(id);
      const definition = restoreMaskedSecrets(
        { ...body, slug: body.slug ?? current.slug },
        current.definition,
      );
      await requireBundle(store, definition.bundle);
      if (current.slug !== definition.slug) {
        throw new RunToolsError(
          'invalid_input',
          `slug: a runtime's slug cannot change (it is '${current.slug}'); create a runtime instead.`,
          { details: { issues: [{ field: 'slug', message: `must be '${current.slug}'` }] } },
        );
      }
      return c.json(toJson(await store.runtimes.update(id, { definition })), 200);
    })
    .openapi(remove, async (c) => {
      const { id } = c.req.valid('param');
      if (!(await store.runtimes.delete(id))) throw notFound(id);
      return c.body(null, 204);
    });
}

/** A runtime's custom tools run its bundle's code: one the server does not have is refused. */
async function requireBundle(store: Store, sha256: string | undefined): Promise<void> {
  if (sha256 !== undefined && (await store.bundles.get(sha256)) === undefined) {
    throw bundleNotFound(sha256);
  }
}

function notFound(id: string): RunToolsError {
  return new RunToolsError('runtime_not_found', `Runtime ${id} does not exist.`, {
    details: { runtimeId: id },
  });
}
