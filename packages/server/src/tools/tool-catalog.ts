import { coreTools, type Integration, marketplace } from '@runtools/agent';
import { integrationToolName, splitAgentTools, type ToolCatalog } from '@runtools/sdk';
import { z } from 'zod';
import type { Store } from '../store/store.ts';

/** At most this many deployments' tools are listed (the catalog is a page for people, not a dump). */
const maxDeployments = 500;

function schemaOf(schema: z.ZodType): Record<string, unknown> {
  return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}

/**
 * What `GET /v1/tools` lists: the core tools, the marketplace integrations with their actions,
 * the secrets each reads and whether the store has them (server-wide), and the custom tools and
 * MCP servers of the deployed agents (their current runtimes). Never a secret's value.
 */
export async function toolCatalog(
  store: Store,
  integrations: readonly Integration[] = marketplace,
): Promise<ToolCatalog> {
  const names = integrations.flatMap((i) => i.secrets.map((s) => s.name));
  const configured = await store.secrets.configured(names);
  const connections = new Map((await store.connections.list()).map((c) => [c.integration, c]));
  const catalog: ToolCatalog = {
    core: Object.values(coreTools).map((t) => ({
      name: t.name,
      description: t.description,
      inputSchema: schemaOf(t.inputSchema as z.ZodType),
    })),
    integrations: integrations.map((integration) => ({
      name: integration.name,
      title: integration.title,
      description: integration.description,
      secrets: integration.secrets.map((s) => ({
        name: s.name,
        description: s.description,
        configured: configured.has(s.name),
        required: s.optional !== true,
      })),
      configured:
        integration.configured?.((name) => configured.has(name)) ??
        integration.secrets.every((s) => s.optional === true || configured.has(s.name)),
      oauth: integration.oauth !== undefined,
      connection: (() => {
        const c = connections.get(integration.name);
        return c ? { account: c.account, connectedAt: c.connectedAt } : null;
      })(),
      actions: integration.actions.map((a) => ({
        name: integrationToolName(integration.name, a.name),
        action: a.name,
        description: a.description,
        inputSchema: schemaOf(a.input as z.ZodType),
        approval: a.approval ?? 'never',
      })),
    })),
    custom: [],
    mcp: [],
  };
  let cursor: string | undefined;
  let seen = 0;
  do {
    const page = await store.deployments.list({ limit: 100, ...(cursor ? { cursor } : {}) });
    for (const deployment of page.items) {
      const runtime = await store.runtimes.get(deployment.runtimeId);
      if (runtime === undefined) continue;
      const definition = runtime.definition as {
        tools?: unknown[];
        mcpServers?: Record<string, { command?: string; allow?: string[]; deny?: string[] }>;
      };
      for (const d of splitAgentTools(definition.tools ?? []).descriptors) {
        catalog.custom.push({
          agent: deployment.apiSlug,
          name: d.custom,
          description: d.description,
          inputSchema: d.inputSchema,
          secrets: d.secrets ?? [],
        });
      }
      for (const [server, config] of Object.entries(definition.mcpServers ?? {})) {
        catalog.mcp.push({
          agent: deployment.apiSlug,
          server,
          transport: config.command === undefined ? 'http' : 'stdio',
          allow: config.allow ?? null,
          deny: config.deny ?? null,
        });
      }
    }
    seen += page.items.length;
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined && seen < maxDeployments);
  return catalog;
}
