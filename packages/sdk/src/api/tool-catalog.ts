import { z } from 'zod';
import { approvalRules } from './run-approvals.ts';

const jsonSchemaObject = z.record(z.string(), z.unknown()).meta({
  description: 'The JSON schema of the tool input, as the model is shown it.',
});

/** A tool the model can call, as the catalog describes it. */
export const catalogToolSchema = z
  .object({
    /** What the model calls it (`bash`, `github_create_issue`). */
    name: z.string(),
    description: z.string(),
    inputSchema: jsonSchemaObject,
  })
  .meta({ id: 'CatalogTool' });

/** A credential an integration reads from the secret store. */
export const catalogSecretSchema = z
  .object({
    name: z.string(),
    description: z.string(),
    /** Whether the store holds a server-wide value (deployments may also have their own). */
    configured: z.boolean(),
    /** False for one the integration can do without (an OAuth refresh token replaces a token). */
    required: z.boolean(),
  })
  .meta({ id: 'CatalogSecret' });

export const catalogIntegrationSchema = z
  .object({
    /** The name an agent enables it by: `tools: ['github']`. */
    name: z.string(),
    title: z.string(),
    description: z.string(),
    secrets: z.array(catalogSecretSchema),
    /** Whether every required secret has a server-wide value. */
    configured: z.boolean(),
    /** Whether an admin can connect an account by the service's OAuth consent (`POST /v1/tools/{name}/connect`). */
    oauth: z.boolean(),
    /** The account connected that way, and when; null when none is. */
    connection: z.object({ account: z.string(), connectedAt: z.string() }).nullable(),
    actions: z.array(
      catalogToolSchema.extend({
        /** The action's name within the integration (`create_issue`): `{ github: ['create_issue'] }`. */
        action: z.string(),
        /** Whether a call waits for a person by default (an agent's `approvals` overrides it). */
        approval: z.enum(approvalRules),
      }),
    ),
  })
  .meta({ id: 'CatalogIntegration' });

/** `GET /v1/tools`: every tool an agent can name, and the ones deployed agents bring. */
export const toolCatalogSchema = z
  .object({
    /** The core tools, run in the agent's sandbox. */
    core: z.array(catalogToolSchema),
    /** Marketplace integrations, run by the server with credentials from the secret store. */
    integrations: z.array(catalogIntegrationSchema),
    /** Custom tools of the deployed agents (their current runtime versions). */
    custom: z.array(catalogToolSchema.extend({ agent: z.string(), secrets: z.array(z.string()) })),
    /** MCP servers of the deployed agents (their tools are listed when a run connects). */
    mcp: z.array(
      z.object({
        agent: z.string(),
        server: z.string(),
        transport: z.enum(['stdio', 'http']),
        allow: z.array(z.string()).nullable(),
        deny: z.array(z.string()).nullable(),
      }),
    ),
  })
  .meta({ id: 'ToolCatalog' });

export type ToolCatalog = z.infer<typeof toolCatalogSchema>;
export type CatalogIntegration = z.infer<typeof catalogIntegrationSchema>;

/** `POST /v1/tools/{name}/connect`: where the service's OAuth consent starts. */
export const integrationConnectInputSchema = z
  .object({
    /**
     * Where the service sends the person back (registered with the OAuth app); default this
     * server's `/oauth/callback`.
     */
    redirectUri: z
      .url({ protocol: /^https?$/ })
      .max(2048)
      .optional(),
  })
  .strict()
  .meta({ id: 'IntegrationConnectInput' });

export const integrationConnectSchema = z
  .object({
    /** Open it in a browser: the service asks the person to allow the app, then comes back. */
    authorizeUrl: z.string(),
    redirectUri: z.string(),
    /** Until when the consent may come back. */
    expiresAt: z.string(),
  })
  .meta({ id: 'IntegrationConnect' });

export type IntegrationConnect = z.infer<typeof integrationConnectSchema>;
