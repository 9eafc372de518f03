import { type SandboxEngine, SYSTEM_TEMPLATES } from '@runtools/sandbox';
import { RunToolsError } from '@runtools/sdk';
import {
  pageQuerySchema,
  pageSchema,
  type Template as TemplateContract,
  templateDefinitionOf,
  templateInputSchema,
  templatePatchSchema,
  templatePutSchema,
  templateSchema,
} from '@runtools/sdk/api';
import type { Store } from '../../store/store.ts';
import type { Template } from '../../store/templates.ts';
import { templateBuilder } from '../../templates/template-builder.ts';
import {
  checkDefinition,
  normalizeDefinition,
  type TemplateDefinitionInput,
} from '../../templates/template-definition.ts';
import { limitBody } from '../body-limit.ts';
import { errorResponses, jsonBody, jsonResponse, newRouter, scopedRoute } from '../router.ts';
import {
  localTemplate,
  slugParamSchema,
  templateNotFound,
  toSystemTemplateJson,
  toTemplateJson,
} from './template-schemas.ts';

export interface TemplateRouteOptions {
  store: Store;
  /** Builds the templates; without one definitions are stored and built where first needed. */
  engine?: SandboxEngine | undefined;
  /** Largest body of a create or replace, with its build context (default 64 MiB). */
  bodyLimitBytes?: number;
}

/** The template as this server sees it: its latest build, ready version and local copy. */
export async function templateView(
  store: Store,
  engine: SandboxEngine | undefined,
  template: Template,
): Promise<TemplateContract> {
  const [build, ready, local] = await Promise.all([
    store.templates.latestBuild(template.id, template.definitionHash),
    store.templates.latestReadyBuild(template.id, template.definitionHash),
    localTemplate(engine, template.slug),
  ]);
  return toTemplateJson(template, build, ready, local);
}

/**
 * Stores a definition and builds it in the background unless an equal definition is built or
 * being built already (then nothing changes); a failed or cancelled build of it is retried.
 */
async function defineTemplate(
  store: Store,
  engine: SandboxEngine | undefined,
  slug: string,
  input: TemplateDefinitionInput,
): Promise<Template> {
  const definition = normalizeDefinition(slug, input);
  if (engine !== undefined) await checkDefinition(engine, definition);
  const { template, changed } = await store.templates.put(slug, definition);
  await store.templates.failAbandonedBuilds();
  const latest = changed
    ? undefined
    : await store.templates.latestBuild(template.id, template.definitionHash);
  const settled =
    latest?.status === 'ready' || latest?.status === 'queued' || latest?.status === 'building';
  if (!settled && engine !== undefined) {
    const builder = templateBuilder(engine);
    // A build of the replaced definition that ended after this one would make its version the
    // slug's current one again.
    if (changed) await builder.cancel(slug);
    await builder.start(store, template);
  }
  return template;
}

const definitionDescription =
  'Validates the definition (a spec by the template spec schema, and on a server with a sandbox ' +
  'engine its apt, npm and pip packages against their sources: an unknown package is a 400 ' +
  '`template_invalid` naming it; a Dockerfile by parsing it: a syntax error is a 400 ' +
  '`template_invalid` naming the line), stores it, and builds it in the ' +
  'background on this server: 202 with the template and its build (follow the build log at ' +
  '`/v1/templates/{slug}/builds/{id}/logs`). The same definition again is a no-op: 200 with the ' +
  'template when it is built, 202 while it builds. A failed build is retried. On a server ' +
  'without a sandbox engine the definition is stored (status `pending`) and built by the first ' +
  'server that creates a sandbox from it.';

const create = scopedRoute('deploy', {
  method: 'post',
  path: '/templates',
  summary: 'Define a template (a spec, or a Dockerfile with its build context) and build it',
  description: definitionDescription,
  request: { body: jsonBody(templateInputSchema) },
  responses: {
    200: jsonResponse(templateSchema, 'The template, already built from this definition.'),
    202: jsonResponse(templateSchema, 'The template, with the build that runs for it.'),
    ...errorResponses(400, 409, 413, 415),
  },
});

const replace = scopedRoute('deploy', {
  method: 'put',
  path: '/templates/{slug}',
  summary: "Replace a template's definition (or define it) and build it",
  description: definitionDescription,
  request: { params: slugParamSchema, body: jsonBody(templatePutSchema) },
  responses: {
    200: jsonResponse(templateSchema, 'The template, already built from this definition.'),
    202: jsonResponse(templateSchema, 'The template, with the build that runs for it.'),
    ...errorResponses(400, 409, 413, 415),
  },
});

const patch = scopedRoute('deploy', {
  method: 'patch',
  path: '/templates/{slug}',
  summary: "Change part of a template's definition and build it",
  description:
    'Spec fields replace those of the stored spec; a `dockerfile` or `files` replaces the stored ' +
    'one and keeps the other. Then as `PUT`: an unchanged definition is a no-op.',
  request: { params: slugParamSchema, body: jsonBody(templatePatchSchema) },
  responses: {
    200: jsonResponse(templateSchema, 'The template, already built from this definition.'),
    202: jsonResponse(templateSchema, 'The template, with the build that runs for it.'),
    ...errorResponses(400, 404, 409, 413, 415),
  },
});

/** The definition a PATCH asks for: the stored one with the given parts replaced. */
function patchedDefinition(
  stored: Template,
  body: {
    spec?: Record<string, unknown> | undefined;
    dockerfile?: string | undefined;
    files?: TemplateDefinitionInput['files'];
  },
): TemplateDefinitionInput {
  const current = stored.definition;
  if (body.spec !== undefined) {
    return { spec: current.kind === 'spec' ? { ...current.spec, ...body.spec } : body.spec };
  }
  const dockerfile =
    body.dockerfile ?? (current.kind === 'dockerfile' ? current.dockerfile : undefined);
  if (dockerfile === undefined) {
    throw new RunToolsError(
      'invalid_input',
      'Invalid body: dockerfile: required to turn a spec template into a Dockerfile one',
      {
        details: { issues: [{ field: 'dockerfile', message: 'required' }] },
      },
    );
  }
  const files =
    body.files ??
    (current.kind === 'dockerfile'
      ? Object.fromEntries(
          Object.entries(current.files).map(([path, file]) => [
            path,
            { content: file.base64, encoding: 'base64' as const, mode: file.mode },
          ]),
        )
      : undefined);
  return { dockerfile, files };
}

const list = scopedRoute(['deploy', 'sandboxes'], {
  method: 'get',
  path: '/templates',
  summary: 'The system templates and the defined ones, in slug order',
  description: 'The cursor is the last slug of the previous page.',
  request: { query: pageQuerySchema },
  responses: {
    200: jsonResponse(pageSchema(templateSchema), 'A page of templates.'),
    ...errorResponses(400),
  },
});

const get = scopedRoute(['deploy', 'sandboxes'], {
  method: 'get',
  path: '/templates/{slug}',
  summary: 'A template: its definition, build status, version, and its copy on this server',
  request: { params: slugParamSchema },
  responses: { 200: jsonResponse(templateSchema, 'The template.'), ...errorResponses(404) },
});

const remove = scopedRoute('deploy', {
  method: 'delete',
  path: '/templates/{slug}',
  summary: 'Delete a template with its builds (refused while a deployment or a sandbox uses it)',
  request: { params: slugParamSchema },
  responses: { 204: { description: 'Deleted.' }, ...errorResponses(404, 409) },
});

/** `/v1/templates`: template definitions, built by this server's engine. */
export function templateRoutes(options: TemplateRouteOptions) {
  const { store, engine } = options;
  const limit = limitBody(options.bodyLimitBytes ?? 64 * 1024 * 1024);
  // 200 only for a template built from this definition: anything else is still to come.
  const answer = async (template: Template) => {
    const json = await templateView(store, engine, template);
    return { json, status: json.status === 'ready' ? (200 as const) : (202 as const) };
  };
  const router = newRouter();
  router.use('/templates', limit);
  router.use('/templates/:slug', limit);
  return router
    .openapi(create, async (c) => {
      const body = c.req.valid('json');
      const template = await defineTemplate(store, engine, body.slug, templateDefinitionOf(body));
      const { json, status } = await answer(template);
      return c.json(json, status);
    })
    .openapi(replace, async (c) => {
      const { slug } = c.req.valid('param');
      const body = c.req.valid('json');
      if (body.slug !== undefined && body.slug !== slug) {
        throw new RunToolsError('invalid_input', 'Invalid body: slug: must be the path slug', {
          details: { issues: [{ field: 'slug', message: 'must be the path slug' }] },
        });
      }
      const template = await defineTemplate(store, engine, slug, templateDefinitionOf(body));
      const { json, status } = await answer(template);
      return c.json(json, status);
    })
    .openapi(patch, async (c) => {
      const { slug } = c.req.valid('param');
      const body = c.req.valid('json');
      const stored = await store.templates.get(slug);
      if (stored === undefined) throw templateNotFound(slug);
      const template = await defineTemplate(store, engine, slug, patchedDefinition(stored, body));
      const { json, status } = await answer(template);
      return c.json(json, status);
    })
    .openapi(list, async (c) => {
      const query = c.req.valid('query');
      const limitCount = query.limit ?? 20;
      const page = await store.templates.list({ limit: limitCount, cursor: query.cursor });
      const systems = Object.keys(SYSTEM_TEMPLATES).filter(
        (slug) => query.cursor === undefined || slug > query.cursor,
      );
      const locals = new Map(
        engine === undefined ? [] : (await engine.templates.list()).map((t) => [t.slug, t]),
      );
      const merged = [
        ...page.items.map((t) => ({ slug: t.slug, template: t as Template | undefined })),
        ...systems.map((slug) => ({ slug, template: undefined })),
      ].sort((a, b) => (a.slug < b.slug ? -1 : a.slug > b.slug ? 1 : 0));
      // The stored page ends at its last slug: system slugs beyond it belong to the next page.
      const storedEnd = page.nextCursor;
      const candidates = merged.filter((m) => storedEnd === null || m.slug <= storedEnd);
      const items = candidates.slice(0, limitCount);
      const more = candidates.length > limitCount || storedEnd !== null;
      const data = await Promise.all(
        items.map(async (item) =>
          item.template === undefined
            ? toSystemTemplateJson(item.slug, locals.get(item.slug))
            : toTemplateJson(
                item.template,
                await store.templates.latestBuild(item.template.id, item.template.definitionHash),
                await store.templates.latestReadyBuild(
                  item.template.id,
                  item.template.definitionHash,
                ),
                locals.get(item.slug),
              ),
        ),
      );
      const last = items.at(-1);
      return c.json({ data, nextCursor: more && last !== undefined ? last.slug : null }, 200);
    })
    .openapi(get, async (c) => {
      const { slug } = c.req.valid('param');
      if (SYSTEM_TEMPLATES[slug] !== undefined) {
        return c.json(toSystemTemplateJson(slug, await localTemplate(engine, slug)), 200);
      }
      const template = await store.templates.get(slug);
      if (template === undefined) throw templateNotFound(slug);
      await store.templates.failAbandonedBuilds();
      return c.json(await templateView(store, engine, template), 200);
    })
    .openapi(remove, async (c) => {
      const { slug } = c.req.valid('param');
      if (SYSTEM_TEMPLATES[slug] !== undefined) {
        throw new RunToolsError('template_state', `"${slug}" is a system template.`, {
          details: { template: slug },
        });
      }
      const template = await store.templates.get(slug);
      const local = await localTemplate(engine, slug);
      if (template === undefined && local === undefined) throw templateNotFound(slug);
      const deployments = await store.templates.deploymentsUsing(slug);
      if (deployments.length > 0) {
        throw new RunToolsError(
          'template_in_use',
          `Template "${slug}" is used by deployments (${deployments.join(', ')}); change or delete them first.`,
          { details: { template: slug, deployments } },
        );
      }
      if (engine !== undefined) {
        const inUse = engine.templatesInUse();
        if ([...inUse].some((key) => key.startsWith(`${slug}@`))) {
          throw new RunToolsError(
            'template_in_use',
            `Template "${slug}" is used by running or paused sandboxes; delete them first.`,
            { details: { template: slug, sandboxes: true } },
          );
        }
        await templateBuilder(engine).cancel(slug);
        await engine.templates.delete(slug, engine.templatesInUse()).catch((error: unknown) => {
          if (!RunToolsError.isInstance(error) || error.code !== 'template_not_found') throw error;
        });
      }
      await store.templates.delete(slug);
      return c.body(null, 204);
    });
}
