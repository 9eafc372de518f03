import { type AgentDefinition, splitAgentTools } from '@runtools/sdk';
import { RunToolsError } from '@runtools/sdk/errors';
import type { AgentTool } from '../tools/tool.ts';

/** Makes the tools of the integrations an agent enables (the server's `createIntegrationTools`). */
export type IntegrationToolsFactory = (
  agent: AgentDefinition,
  signal: AbortSignal,
) => Promise<Record<string, AgentTool>>;

/**
 * The tools of the marketplace integrations `agent` enables, from the caller's factory. An agent
 * that enables some when there is no factory (a `runAgent` outside the server, which holds the
 * secret store) fails with `unknown_tool`.
 */
export async function integrationToolsOf(
  agent: AgentDefinition,
  factory: IntegrationToolsFactory | undefined,
  signal: AbortSignal,
): Promise<Record<string, AgentTool>> {
  const { integrations } = splitAgentTools(agent.tools);
  if (integrations.length === 0) return {};
  if (factory === undefined) {
    const names = integrations.map((i) => i.name);
    throw new RunToolsError(
      'unknown_tool',
      `Integrations (${names.join(', ')}) run in the RunTools server with credentials from its secret store: deploy the agent (runtools dev, runtools deploy) rather than running it with runAgent alone.`,
      { details: { unknown: names } },
    );
  }
  return factory(agent, signal);
}
