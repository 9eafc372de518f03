import { z } from '@hono/zod-openapi';
import { marketplace } from '@runtools/agent';
import { RunToolsError } from '@runtools/sdk';
import {
  agentFileCreateSchema,
  agentFileDeleteQuerySchema,
  agentFileEditSchema,
  agentFilePreviewInputSchema,
  agentFilePreviewSchema,
  coreToolNames,
  type ProjectAgent,
  projectAgentEventSchema,
  projectAgentListSchema,
  projectAgentSchema,
} from '@runtools/sdk/api';
import { streamSSE } from 'hono/streaming';
import { deployedAgents } from '../../project/deployed-agents.ts';
import type { ProjectAgentFiles } from '../../project/project-agent-files.ts';
import type { ProjectAgentWatch } from '../../project/project-agent-watch.ts';
import type { Store } from '../../store/store.ts';
import { errorResponses, jsonBody, jsonResponse, newRouter, scopedRoute } from '../router.ts';

/** An agent's slug, or the name of a file whose slug is not a literal: never a path. */
const slugParamSchema = z.object({
  slug: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'an agent slug')
    .openapi({ param: { name: 'slug', in: 'path' } }),
});

const list = scopedRoute('deploy', {
  method: 'get',
  path: '/project/agents',
  summary: "The project's agent files, field by field, for the agent builder",
  description:
    'Under `runtools dev` (a server with the project folder) each `agents/*.ts` file with each ' +
    'field of its definition: the value when it is a literal, whether the builder edits it and, ' +
    'if not, why. A server without a project folder lists its deployed agents, read-only.',
  responses: { 200: jsonResponse(projectAgentListSchema, 'The agent files.') },
});

const events = scopedRoute('deploy', {
  method: 'get',
  path: '/project/agents/{slug}/events',
  summary: "An agent file's snapshots as Server-Sent Events, one per change on disk",
  request: { params: slugParamSchema },
  responses: {
    200: {
      description:
        'Event `snapshot` at once, then at each change of the file or of a project file it imports.',
      content: { 'text/event-stream': { schema: projectAgentEventSchema } },
    },
    ...errorResponses(400, 404),
  },
});

const preview = scopedRoute('deploy', {
  method: 'post',
  path: '/project/agents/{slug}/preview',
  summary: 'The unified diff an edit (or the removal) of an agent file would make',
  request: { params: slugParamSchema, body: jsonBody(agentFilePreviewInputSchema) },
  responses: {
    200: jsonResponse(agentFilePreviewSchema, 'What the write would be.'),
    ...errorResponses(400, 404, 409, 413, 415),
  },
});

const patch = scopedRoute('deploy', {
  method: 'patch',
  path: '/project/agents/{slug}',
  summary: "Write fields into an agent file, changing only their values' text",
  description:
    'A stale `baseHash` whose outside change touched a field being set is a 409 ' +
    '`agent_file_conflict` with both versions in its details; an outside change elsewhere is ' +
    'merged. An invalid value is a 400 `invalid_agent` naming the field; the file is untouched.',
  request: { params: slugParamSchema, body: jsonBody(agentFileEditSchema) },
  responses: {
    200: jsonResponse(projectAgentSchema, 'The file as written.'),
    ...errorResponses(400, 404, 409, 413, 415),
  },
});

const create = scopedRoute('deploy', {
  method: 'post',
  path: '/project/agents',
  summary: 'Create agents/{slug}.ts in the style of runtools init',
  request: { body: jsonBody(agentFileCreateSchema) },
  responses: {
    201: jsonResponse(projectAgentSchema, 'The new file.'),
    ...errorResponses(400, 409, 413, 415),
  },
});

const remove = scopedRoute('deploy', {
  method: 'delete',
  path: '/project/agents/{slug}',
  summary: "Delete an agent file, with the confirmation of its removal's preview",
  request: { params: slugParamSchema, query: agentFileDeleteQuerySchema },
  responses: { 204: { description: 'Deleted.' }, ...errorResponses(400, 404, 409) },
});

export interface ProjectAgentServices {
  store: Store;
  /** The project folder's agent files; without it (not `runtools dev`) agents are read-only. */
  project?: { files: ProjectAgentFiles; watch: ProjectAgentWatch } | undefined;
}

function readOnlyServer(): RunToolsError {
  return new RunToolsError(
    'agent_file_read_only',
    'This server has no project folder: edit agent files in the project (runtools dev serves them editable).',
  );
}

/**
 * The tools a form offers: core ones, the marketplace integrations this server runs, and the
 * others the project's agents name.
 */
function toolsOf(agents: ProjectAgent[]) {
  const core: string[] = [...coreToolNames];
  const installed = new Set<string>(marketplace.map((integration) => integration.name));
  for (const a of agents) {
    const tools = a.fields.findLast((f) => f.name === 'tools')?.value;
    if (!Array.isArray(tools)) continue;
    for (const t of tools) if (typeof t === 'string' && !core.includes(t)) installed.add(t);
  }
  return { core, installed: [...installed].sort() };
}

/** `/v1/project/agents`: the agent builder's API. */
export function projectAgentRoutes(services: ProjectAgentServices) {
  const { project } = services;
  return newRouter()
    .openapi(list, async (c) => {
      const agents = project
        ? (await project.files.list()).map((a) => a.snapshot)
        : await deployedAgents(services.store);
      return c.json({ editable: project !== undefined, agents, tools: toolsOf(agents) }, 200);
    })
    .openapi(events, async (c) => {
      const { slug } = c.req.valid('param');
      let initial: ProjectAgent | undefined;
      let path: string | undefined;
      if (project) path = (await project.files.find(slug)).path;
      else {
        initial = (await deployedAgents(services.store)).find((a) => a.slug === slug);
        if (initial === undefined) {
          throw new RunToolsError('agent_file_not_found', `No agent "${slug}" is deployed.`);
        }
      }
      return streamSSE(c, async (stream) => {
        const closed = new Promise<void>((resolve) => {
          stream.onAbort(resolve);
          project?.watch.closed.addEventListener('abort', () => resolve());
        });
        const send = (event: unknown) =>
          void stream.writeSSE({ event: 'snapshot', data: JSON.stringify(event) }).catch(() => {});
        let unsubscribe = () => {};
        if (project && path) unsubscribe = await project.watch.subscribe(path, send);
        else send({ type: 'snapshot', origin: 'initial', agent: initial ?? null });
        const ping = setInterval(() => void stream.write(': ping\n\n').catch(() => {}), 15_000);
        try {
          await closed;
        } finally {
          clearInterval(ping);
          unsubscribe();
        }
      });
    })
    .openapi(preview, async (c) => {
      const { slug } = c.req.valid('param');
      const body = c.req.valid('json');
      if (!project) throw readOnlyServer();
      const result =
        'delete' in body
          ? await project.files.previewDelete(slug)
          : await project.files.preview(slug, body.baseHash, body.set);
      return c.json(result, 200);
    })
    .openapi(patch, async (c) => {
      const { slug } = c.req.valid('param');
      const body = c.req.valid('json');
      if (!project) throw readOnlyServer();
      return c.json(await project.files.patch(slug, body.baseHash, body.set), 200);
    })
    .openapi(create, async (c) => {
      const body = c.req.valid('json');
      if (!project) throw readOnlyServer();
      return c.json(await project.files.create(body), 201);
    })
    .openapi(remove, async (c) => {
      const { slug } = c.req.valid('param');
      const { confirm } = c.req.valid('query');
      if (!project) throw readOnlyServer();
      await project.files.remove(slug, confirm);
      return c.body(null, 204);
    });
}
