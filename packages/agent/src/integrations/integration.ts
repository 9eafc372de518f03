import type { ApprovalRule, IntegrationName } from '@runtools/sdk';
import type { z } from 'zod';

/** A credential an integration reads from the secret store at each call. */
export interface IntegrationSecret {
  /** The stored secret's name, e.g. `GITHUB_TOKEN` (`runtools secrets set GITHUB_TOKEN`). */
  name: string;
  /** What it is and where to get it, for the catalog and the missing-secret error. */
  description: string;
  /** False for one the integration can do without (default true). */
  optional?: boolean;
}

/** What an action's `run` gets besides its input. */
export interface ActionContext<Client> {
  /** The service's SDK client, made for this call with its credentials. */
  client: Client;
  /** The values of the integration's secrets that are set, by name (`optional` ones may be absent). */
  secrets: Readonly<Record<string, string>>;
  signal: AbortSignal;
}

/**
 * One action of an integration: a tool named `INTEGRATION_ACTION` (`github_create_issue`) whose
 * zod input is the JSON schema the model is shown. Its result is given to the model as
 * formatted JSON (a string as it is).
 */
export interface IntegrationAction<Client = unknown, Input = unknown> {
  name: string;
  description: string;
  input: z.ZodType<Input>;
  /**
   * Whether a call waits for a person (default `'never'`): `'always'` for what sends, deletes or
   * spends on someone's behalf. The agent's `approvals` override it.
   */
  approval?: Extract<ApprovalRule, 'always' | 'never'>;
  run(input: Input, ctx: ActionContext<Client>): Promise<unknown>;
}

/** How an integration's SDK client reaches its service: set by the server's operator. */
export interface ClientSettings {
  /** The API's base URL (the service's own unless the operator configured another). */
  baseUrl: string;
  /**
   * The fetch the client must use: it connects only where the operator's address policy allows
   * and ends with the call's signal.
   */
  fetch: typeof fetch;
  /**
   * Registers a credential the client obtains during the call (an OAuth access token it got
   * from a refresh token), so that results and errors have it masked like the stored secrets,
   * as `[NAME]`.
   */
  obtained(name: string, value: string): void;
}

/**
 * A marketplace integration: RunTools' own code on the service's official SDK, run by the server
 * (never in a sandbox) with credentials from the secret store.
 */
export interface Integration<Client = unknown> {
  name: IntegrationName;
  title: string;
  description: string;
  secrets: IntegrationSecret[];
  /** The service's API, where the client goes unless the operator sets another base URL. */
  defaultBaseUrl: string;
  /** The SDK client for one call. */
  client(secrets: Readonly<Record<string, string>>, settings: ClientSettings): Client;
  /**
   * Before a call: new values of its secrets when the stored token has expired (Slack's rotating
   * tokens), which the framework stores and uses; undefined when nothing needs refreshing.
   */
  refresh?(
    secrets: Readonly<Record<string, string>>,
    settings: Pick<ClientSettings, 'baseUrl' | 'fetch'>,
  ): Promise<Record<string, string> | undefined>;
  /**
   * A service error as the model should read it (status, the service's code and message); the
   * framework masks the credentials in it afterwards. Without it the error's message is used.
   */
  describeError?(error: unknown): string | undefined;
  /**
   * Whether the secrets that are set let it work, for one that takes one of several sets of
   * secrets (Gmail: an access token, or a refresh token with its client). Default: every secret
   * not `optional` is set.
   */
  configured?(isSet: (name: string) => boolean): boolean;
  /** How an admin connects an account with the service's OAuth consent (Slack, Gmail). */
  oauth?: OAuthConnect;
  // biome-ignore lint/suspicious/noExplicitAny: each action has its own input type.
  actions: Array<IntegrationAction<Client, any>>;
}

/**
 * The OAuth authorization-code flow of an integration, with the operator's own OAuth client: the
 * consent page a person is sent to, and the exchange of the code it returns for the secrets the
 * integration reads (stored server-wide) and the account they belong to.
 */
export interface OAuthConnect {
  /** The secrets holding the operator's OAuth client, e.g. `SLACK_CLIENT_ID`, `SLACK_CLIENT_SECRET`. */
  clientIdSecret: string;
  clientSecretSecret: string;
  /** The consent page's URL; with an operator base URL (tests), on that origin. */
  authorizeUrl(baseUrl: string | undefined): string;
  scopes: string[];
  /** More query parameters of the consent page (Google: `access_type=offline`). */
  params?: Record<string, string>;
  exchange(
    input: { code: string; redirectUri: string; clientId: string; clientSecret: string },
    settings: Pick<ClientSettings, 'baseUrl' | 'fetch'>,
  ): Promise<{ secrets: Record<string, string>; account: string }>;
}

/** Defines an integration, typing its actions' `client` (an identity function). */
export function defineIntegration<Client>(integration: Integration<Client>): Integration<Client> {
  return integration;
}

/**
 * The definer of one client's actions, which types each action's input from its zod schema:
 *
 * @example
 * const action = actionsFor<Octokit>();
 * const getIssue = action({ name: 'get_issue', input: z.object({ … }), async run(input, { client }) { … } });
 */
export function actionsFor<Client>() {
  return <Input>(action: IntegrationAction<Client, Input>): IntegrationAction<Client, Input> =>
    action;
}
