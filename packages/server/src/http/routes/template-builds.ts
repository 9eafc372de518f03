import { z } from '@hono/zod-openapi';
import { type SandboxEngine, SYSTEM_TEMPLATES } from '@runtools/sandbox';
import { RunToolsError } from '@runtools/sdk';
import {
  afterQuerySchema,
  pageQuerySchema,
  pageSchema,
  seqSchema,
  templateBuildSchema,
  templateLogLineSchema,
} from '@runtools/sdk/api';
import { streamSSE } from 'hono/streaming';
import type { Store } from '../../store/store.ts';
import type { TemplateBuild } from '../../store/templates.ts';
import { buildLogStream } from '../../templates/build-log-stream.ts';
import { templateBuilder } from '../../templates/template-builder.ts';
import { errorBody } from '../errors.ts';
import { toPageResponse } from '../pagination.ts';
import { errorResponses, jsonResponse, newRouter, scopedRoute } from '../router.ts';
import { unavailable, unavailableResponse } from './sandbox-schemas.ts';
import {
  buildParamSchema,
  slugParamSchema,
  templateNotFound,
  toBuildJson,
} from './template-schemas.ts';

const list = scopedRoute(['deploy', 'sandboxes'], {
  method: 'get',
  path: '/templates/{slug}/builds',
  summary: "A template's builds, newest first",
  request: { params: slugParamSchema, query: pageQuerySchema },
  responses: {
    200: jsonResponse(pageSchema(templateBuildSchema), 'A page of builds.'),
    ...errorResponses(400, 404),
  },
});

const rebuild = scopedRoute('deploy', {
  method: 'post',
  path: '/templates/{slug}/builds',
  summary: "Build the template's current definition again on this server",
  description:
    'Joins the build of this definition already running on this server, if any. A version ' +
    'already on disk is reused. 503 `sandboxes_unavailable` on a server without a sandbox engine.',
  request: { params: slugParamSchema },
  responses: {
    202: jsonResponse(templateBuildSchema, 'The build.'),
    ...errorResponses(404, 409),
    ...unavailableResponse,
  },
});

const get = scopedRoute(['deploy', 'sandboxes'], {
  method: 'get',
  path: '/templates/{slug}/builds/{id}',
  request: { params: buildParamSchema },
  responses: { 200: jsonResponse(templateBuildSchema, 'The build.'), ...errorResponses(404) },
});

const logs = scopedRoute(['deploy', 'sandboxes'], {
  method: 'get',
  path: '/templates/{slug}/builds/{id}/logs',
  summary: "A build's log as Server-Sent Events: the stored lines after a seq, then new ones",
  description:
    'Each line is an event with `id:` its seq, `event: log` and `data: {"seq","line"}`. Replays ' +
    'the lines after `Last-Event-ID` (or `?after=`), then streams new ones as the build stores ' +
    'them, and ends with one `event: status` whose data is the build as it ended (`ready`, ' +
    '`failed` with its error, or `cancelled`). A spec build logs how many steps it runs ' +
    '(`==> runtools plan: N steps`) and starts each with `==> runtools step: <name>`; a ' +
    "Dockerfile build's steps are buildah's `STEP i/n: <instruction>` lines " +
    '(`advanceTemplateBuildProgress` in `@runtools/sdk/api` reads them into a progress).',
  request: { params: buildParamSchema, query: afterQuerySchema },
  responses: {
    200: {
      description:
        'The log stream: the data of each `log` event is a TemplateLogLine, of the `status` event the TemplateBuild.',
      content: {
        'text/event-stream': { schema: z.union([templateLogLineSchema, templateBuildSchema]) },
      },
    },
    ...errorResponses(400, 404),
  },
});

function buildNotFound(slug: string, id: string): RunToolsError {
  return new RunToolsError('template_build_not_found', `Template "${slug}" has no build ${id}.`, {
    details: { template: slug, buildId: id },
  });
}

async function requireBuild(store: Store, slug: string, id: string): Promise<TemplateBuild> {
  const build = await store.templates.getBuild(id);
  if (build === undefined || build.slug !== slug) throw buildNotFound(slug, id);
  return build;
}

/** `/v1/templates/{slug}/builds`: builds, their logs (SSE), and rebuilds. */
export function templateBuildRoutes(options: { store: Store; engine?: SandboxEngine | undefined }) {
  const { store, engine } = options;
  return newRouter()
    .openapi(list, async (c) => {
      const { slug } = c.req.valid('param');
      const query = c.req.valid('query');
      const template = await store.templates.get(slug);
      if (template === undefined) {
        // System templates are built by each engine on its own, without build records.
        if (SYSTEM_TEMPLATES[slug] !== undefined)
          return c.json({ data: [], nextCursor: null }, 200);
        throw templateNotFound(slug);
      }
      await store.templates.failAbandonedBuilds();
      const page = await store.templates.listBuilds(template.id, query);
      return c.json(toPageResponse(page, toBuildJson), 200);
    })
    .openapi(rebuild, async (c) => {
      const { slug } = c.req.valid('param');
      if (SYSTEM_TEMPLATES[slug] !== undefined) {
        throw new RunToolsError(
          'template_state',
          `"${slug}" is a system template: each server builds it on first use.`,
          { details: { template: slug } },
        );
      }
      const template = await store.templates.get(slug);
      if (template === undefined) throw templateNotFound(slug);
      if (engine === undefined) return unavailable(c);
      const { build } = await templateBuilder(engine).start(store, template);
      return c.json(toBuildJson(build), 202);
    })
    .openapi(get, async (c) => {
      const { slug, id } = c.req.valid('param');
      await requireBuild(store, slug, id);
      await store.templates.failAbandonedBuilds();
      return c.json(toBuildJson(await requireBuild(store, slug, id)), 200);
    })
    .openapi(logs, async (c) => {
      const { slug, id } = c.req.valid('param');
      const { after } = c.req.valid('query');
      let afterSeq = after ?? 0;
      const lastEventId = c.req.header('last-event-id');
      if (lastEventId !== undefined && lastEventId.trim() !== '') {
        const parsed = seqSchema.safeParse(lastEventId.trim());
        if (!parsed.success) {
          throw new RunToolsError('invalid_input', 'Last-Event-ID must be a log line seq.', {
            details: { issues: [{ field: 'Last-Event-ID', message: 'not a seq' }] },
          });
        }
        afterSeq = parsed.data;
      }
      await requireBuild(store, slug, id);
      return streamSSE(
        c,
        async (stream) => {
          const aborted = new AbortController();
          stream.onAbort(() => aborted.abort());
          for await (const item of buildLogStream({
            store,
            buildId: id,
            after: afterSeq,
            signal: aborted.signal,
          })) {
            if (item.type === 'log') {
              await stream.writeSSE({
                id: String(item.seq),
                event: 'log',
                data: JSON.stringify({ seq: item.seq, line: item.line }),
              });
            } else {
              await stream.writeSSE({
                event: 'status',
                data: JSON.stringify(toBuildJson(item.build)),
              });
            }
          }
        },
        async (_error, stream) => {
          await stream.writeSSE({
            event: 'error',
            data: JSON.stringify(errorBody('internal_error', 'The log stream failed.')),
          });
        },
      );
    });
}
