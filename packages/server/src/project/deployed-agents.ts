import type { ProjectAgent } from '@runtools/sdk/api';
import { maskDefinitionSecrets } from '@runtools/sdk/api';
import type { Store } from '../store/store.ts';
import { sha256 } from './project-agent-files.ts';

const reason =
  'this server has no project folder; edit the agent file in its project (runtools dev serves it editable)';

const noRange = { start: 0, end: 0, line: 1, column: 1, endLine: 1, endColumn: 1 };

/**
 * The agents a server without a project folder serves (its deployments' runtimes, as
 * `runtools deploy` stored them), read-only: each field, and the definition as JSON for its
 * source, with model keys masked as the runtimes API masks them.
 */
export async function deployedAgents(store: Store): Promise<ProjectAgent[]> {
  const page = await store.deployments.list({ limit: 100 });
  const runtimes = await store.runtimes.getMany(page.items.map((d) => d.runtimeId));
  const agents: ProjectAgent[] = [];
  for (const deployment of page.items) {
    const runtime = runtimes.get(deployment.runtimeId);
    if (runtime === undefined) continue;
    const definition = maskDefinitionSecrets(runtime.definition as Record<string, unknown>);
    const source = `${JSON.stringify(definition, null, 2)}\n`;
    agents.push({
      slug: deployment.apiSlug,
      file: `deployment ${deployment.apiSlug} (runtime ${runtime.slug} v${runtime.version})`,
      hash: sha256(source),
      source,
      editable: false,
      reason,
      fields: Object.entries(definition).map(([name, value]) => ({
        name,
        value,
        editable: false,
        reason,
        source: `${name}: ${JSON.stringify(value)}`,
        range: noRange,
      })),
      imports: [],
    });
  }
  return agents;
}
