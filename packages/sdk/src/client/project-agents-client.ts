import type {
  AgentFileCreate,
  AgentFileEdit,
  AgentFilePreview,
  ProjectAgent,
  ProjectAgentEvent,
  ProjectAgentList,
} from '../api/project-agents.ts';
import { networkError, RunToolsApiError } from './api-error.ts';
import { readFrames } from './resumable-stream.ts';
import type { ClientTransport } from './sandboxes-client.ts';

/**
 * `rt.projectAgents`: the agent builder's API. Under `runtools dev` it reads the project's
 * `agents/*.ts` files field by field and writes changed values back into them, changing only
 * those values' text.
 *
 * @example
 * const { agents } = await rt.projectAgents.list();
 * const reviewer = agents.find((a) => a.slug === 'reviewer')!;
 * await rt.projectAgents.update('reviewer', { baseHash: reviewer.hash, set: { model: 'gpt-5' } });
 */
export interface ProjectAgentsClient {
  list(): Promise<ProjectAgentList>;
  /** The unified diff `edit` would write, without writing it. */
  preview(slug: string, edit: AgentFileEdit): Promise<AgentFilePreview>;
  /** Writes `edit.set` into the file (`null` removes a field); 409 `agent_file_conflict` on a clash. */
  update(slug: string, edit: AgentFileEdit): Promise<ProjectAgent>;
  /** Creates `agents/{slug}.ts`. */
  create(input: AgentFileCreate): Promise<ProjectAgent>;
  /** The removal's diff and the `confirm` token `delete` needs. */
  previewDelete(slug: string): Promise<AgentFilePreview>;
  delete(slug: string, confirm: string): Promise<void>;
  /** Snapshots of the agent's file: one at once, then one per change on disk or write. */
  events(slug: string, options?: { signal?: AbortSignal }): AsyncGenerator<ProjectAgentEvent>;
}

/** @internal builds `rt.projectAgents` over the client's transport. */
export function projectAgentsClient(transport: ClientTransport): ProjectAgentsClient {
  const path = (slug: string) => `/v1/project/agents/${encodeURIComponent(slug)}`;
  return {
    list: () => transport.request('GET', '/v1/project/agents'),
    preview: (slug, edit) => transport.request('POST', `${path(slug)}/preview`, { body: edit }),
    update: (slug, edit) => transport.request('PATCH', path(slug), { body: edit }),
    create: (input) => transport.request('POST', '/v1/project/agents', { body: input }),
    previewDelete: (slug) =>
      transport.request('POST', `${path(slug)}/preview`, { body: { delete: true } }),
    delete: (slug, confirm) => transport.request('DELETE', path(slug), { query: { confirm } }),
    async *events(slug, options = {}) {
      const what = `GET ${path(slug)}/events`;
      let response: Response;
      try {
        response = await transport.fetch(`${path(slug)}/events`, {
          headers: { accept: 'text/event-stream' },
          signal: options.signal,
        });
      } catch (error) {
        if (options.signal?.aborted) return;
        throw networkError(error, what);
      }
      if (!response.ok) throw await RunToolsApiError.fromResponse(response);
      if (response.body === null) return;
      try {
        for await (const frame of readFrames(response.body)) {
          if (frame.event === 'snapshot') yield JSON.parse(frame.data) as ProjectAgentEvent;
        }
      } catch (error) {
        if (options.signal?.aborted) return;
        throw networkError(error, what);
      }
    },
  };
}
