import {
  type EnabledIntegration,
  type IntegrationName,
  integrationToolName,
  RunToolsError,
} from '@runtools/sdk';
import { AddressPolicy } from '../net/address-policy.ts';
import { createPinnedFetch } from '../net/pinned-fetch.ts';
import type { AgentTool, ToolResult } from '../tools/tool.ts';
import { maskCredentials } from './credential-mask.ts';
import type { Integration, IntegrationAction } from './integration.ts';
import { marketplace } from './marketplace.ts';

/** Reads a stored secret when a call needs it; undefined when it is not set. */
export type CredentialSource = (name: string) => Promise<string | undefined>;

export interface IntegrationToolsOptions {
  /**
   * The secret store as this run sees it (the deployment's own value of a name first, then the
   * server-wide one), read at each call: a secret set or rotated mid-run is used at the next call.
   */
  credentials: CredentialSource;
  /** API base URLs the operator set instead of the services' own (GitHub Enterprise, tests). */
  baseUrls?: Partial<Record<IntegrationName, string>>;
  /**
   * The fetch the SDK clients use. Default: one that connects to public addresses only; the
   * server passes one whose policy allows the ranges its operator listed.
   */
  fetch?: typeof fetch;
  /** Longest a call may take, retries included (default 60 s); then it is an error result. */
  timeoutMs?: number;
  /**
   * Stores a secret an integration renewed (a refreshed token), server-wide. Without it a renewed
   * token is used for the call only.
   */
  saveCredential?: (name: string, value: string) => Promise<void>;
  /** How to set a missing secret, appended to its error (default: the CLI and API way). */
  secretsHelp?: (name: string) => string;
  /** The integrations to choose from (default: the marketplace); tests pass their own. */
  integrations?: readonly Integration[];
}

const maxOutputChars = 60_000;
let publicFetch: typeof fetch | undefined;

/**
 * The tools of the integrations an agent enables: one per action, named `INTEGRATION_ACTION`.
 * Each call reads the integration's credentials from `credentials`, makes the service's SDK
 * client with them, and runs the action in this process (never in the sandbox, which never sees
 * a credential). A missing secret is an error result naming it; a service's error is an error
 * result with its status and message; every result and error has the credentials masked
 * (`[GITHUB_TOKEN]`) before the model or an event sees it.
 *
 * @example
 * const tools = createIntegrationTools([{ name: 'slack', actions: ['post_message'] }], {
 *   credentials: async (name) => store.read(name),
 * });
 * Object.keys(tools); // ['slack_post_message']
 */
export function createIntegrationTools(
  enabled: readonly EnabledIntegration[],
  options: IntegrationToolsOptions,
): Record<string, AgentTool> {
  const available = options.integrations ?? marketplace;
  const tools: Record<string, AgentTool> = {};
  for (const { name, actions } of enabled) {
    const integration = available.find((i) => i.name === name);
    if (integration === undefined) {
      throw new RunToolsError('unknown_tool', `This server has no integration named ${name}.`, {
        details: { unknown: [name] },
      });
    }
    const unknown = (actions ?? []).filter((a) => !integration.actions.some((x) => x.name === a));
    if (unknown.length > 0) {
      throw new RunToolsError(
        'unknown_tool',
        `${name} has no action ${unknown.join(', ')}; its actions are ${integration.actions.map((a) => a.name).join(', ')}.`,
        { details: { unknown } },
      );
    }
    for (const action of integration.actions) {
      if (actions !== undefined && !actions.includes(action.name)) continue;
      const tool = integrationTool(integration, action, options);
      tools[tool.name] = tool;
    }
  }
  return tools;
}

function integrationTool(
  integration: Integration,
  action: IntegrationAction,
  options: IntegrationToolsOptions,
): AgentTool {
  const name = integrationToolName(integration.name, action.name);
  return {
    name,
    description: action.description,
    inputSchema: action.input,
    approval: action.approval ?? 'never',
    async execute(input, ctx): Promise<ToolResult> {
      const secrets: Record<string, string> = {};
      // Credentials the client got during the call (refreshed tokens), masked like the secrets.
      const obtained: Record<string, string> = {};
      const masked = () => ({ ...obtained, ...secrets });
      for (const secret of integration.secrets) {
        const value = await options.credentials(secret.name);
        if (value !== undefined && value !== '') secrets[secret.name] = value;
        else if (secret.optional !== true) {
          const help =
            options.secretsHelp?.(secret.name) ??
            `set it with \`runtools secrets set ${secret.name}\` (or POST /v1/secrets)`;
          return {
            output: `${name} needs the secret ${secret.name} (${secret.description}), which is not set: ${help}.`,
            isError: true,
            metadata: { integration: integration.name, missingSecret: secret.name },
          };
        }
      }
      const signal = AbortSignal.any([
        ctx.signal,
        AbortSignal.timeout(options.timeoutMs ?? 60_000),
      ]);
      const baseFetch = options.fetch ?? defaultFetch();
      // Every request of the call ends with it (SDKs that take no signal of their own too).
      const callFetch = ((url: string | URL | Request, init?: RequestInit) =>
        baseFetch(url, {
          ...init,
          signal: init?.signal ? AbortSignal.any([init.signal, signal]) : signal,
        })) as typeof fetch;
      const baseUrl = options.baseUrls?.[integration.name] ?? integration.defaultBaseUrl;
      try {
        const renewed = await integration.refresh?.(secrets, { baseUrl, fetch: callFetch });
        for (const [secretName, value] of Object.entries(renewed ?? {})) {
          secrets[secretName] = value;
          await options.saveCredential?.(secretName, value);
        }
        const client = integration.client(secrets, {
          baseUrl,
          fetch: callFetch,
          obtained: (secretName, value) => {
            if (value !== '') obtained[secretName] = value;
          },
        });
        const result = await action.run(input, { client, secrets, signal });
        const text = typeof result === 'string' ? result : JSON.stringify(result ?? null, null, 2);
        return { output: truncate(maskCredentials(text, masked())) };
      } catch (error) {
        const why = signal.aborted
          ? ctx.signal.aborted
            ? 'the run was cancelled'
            : `no answer within ${(options.timeoutMs ?? 60_000) / 1000} s`
          : (integration.describeError?.(error) ?? (error as Error)?.message ?? String(error));
        return {
          output: truncate(maskCredentials(`${integration.title}: ${why}`, masked())),
          isError: true,
          metadata: { integration: integration.name },
        };
      }
    },
  };
}

function defaultFetch(): typeof fetch {
  publicFetch ??= createPinnedFetch({ policy: new AddressPolicy() });
  return publicFetch;
}

function truncate(text: string): string {
  return text.length <= maxOutputChars
    ? text
    : `${text.slice(0, maxOutputChars)}\n… (${text.length - maxOutputChars} more characters cut)`;
}
