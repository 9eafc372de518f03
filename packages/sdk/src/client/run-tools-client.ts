import type {
  ApiKey,
  ApiKeyInput,
  CreatedApiKey,
  CreatedWebhook,
  Deployment,
  DeploymentInput,
  DeploymentPatch,
  IntegrationConnect,
  Page,
  PageParams,
  Run,
  RunListParams,
  RunResultResponse,
  RunStatus,
  Runtime,
  RuntimeInput,
  RuntimeListParams,
  Secret,
  SecretInput,
  SecretListParams,
  ToolCatalog,
  Webhook,
  WebhookDelivery,
  WebhookDeliveryWithAttempts,
  WebhookEventType,
  WebhookInput,
  WebhookListParams,
} from '../api/index.ts';
import type { RunEvent } from '../api/run-events.ts';
import { isTerminalStatus } from '../api/run-status.ts';
import { RunToolsError } from '../errors.ts';
import { networkError, RunToolsApiError } from './api-error.ts';
import { type BundlesClient, bundlesClient } from './bundles-client.ts';
import { runEventStream } from './event-stream.ts';
import { type ProjectAgentsClient, projectAgentsClient } from './project-agents-client.ts';
import { type ClientTransport, type SandboxesClient, sandboxesClient } from './sandboxes-client.ts';
import { type TemplatesClient, templatesClient } from './templates-client.ts';

export interface RunToolsOptions {
  /**
   * Sent as `Authorization: Bearer KEY`. A browser page signed in with a session cookie
   * (`POST /v1/sessions`) leaves it out and sends the session's CSRF token in `headers`.
   */
  apiKey?: string;
  /** Sent with every request, e.g. `{ 'x-runtools-csrf': session.csrfToken }`. */
  headers?: Record<string, string>;
  /** Where the API is served, e.g. `http://localhost:8080` (without `/v1`). */
  baseUrl: string;
  /** The fetch to use (default: the global one); e.g. to add tracing or a proxy. */
  fetch?: typeof fetch;
}

export interface RunOptions {
  metadata?: Record<string, unknown>;
  /**
   * Wait for the run to end (default). The server waits up to its limit and then answers with the
   * run id; the client then follows the run's events until it ends. `false`: return once queued.
   */
  wait?: boolean;
  /**
   * A webhook for this run only: a URL (every `run.*` event) or `{ url, events }`. The result's
   * `webhook.secret` verifies its deliveries (`verifyWebhook`).
   */
  webhook?: string | { url: string; events?: WebhookEventType[] };
}

/** What `rt.run()` returns: `output` and `error` are null until the run ends (or with `wait: false`). */
export type RunResult = Omit<RunResultResponse, 'events'>;

export interface StreamOptions {
  /** Only events after this seq (default 0: all of them). */
  after?: number;
  /** Stops the stream; iterating throws the signal's reason. */
  signal?: AbortSignal;
  /** Reconnections in a row without a new event before giving up (default 5). */
  maxRetries?: number;
  /** The first reconnect delay in ms, doubled per retry in a row (default 200). */
  retryDelayMs?: number;
}

export interface StartStreamOptions extends Omit<StreamOptions, 'after'> {
  metadata?: Record<string, unknown>;
  /** Called with the run's id once it is queued, before its first event. */
  onRun?: (runId: string) => void;
}

type Query = Record<string, string | number | undefined | null>;

interface RequestOptions {
  body?: unknown;
  query?: Query;
  signal?: AbortSignal;
}

function queryString(query: Query | undefined): string {
  if (query === undefined) return '';
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== null) params.set(name, String(value));
  }
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

const id = (value: string) => encodeURIComponent(value);

/**
 * The RunTools API client.
 *
 * ```ts
 * const rt = new RunTools({ apiKey: process.env.RUNTOOLS_API_KEY, baseUrl: 'http://localhost:8080' });
 * const { output } = await rt.run('writer', 'Write a haiku');
 * for await (const event of rt.stream('writer', 'Write a haiku')) console.log(event);
 * ```
 *
 * Every non-2xx answer throws `RunToolsApiError` (with the API's `code`, `status`, `details`);
 * a request that gets no answer throws `RunToolsError` with code `network_error`.
 */
export class RunTools {
  readonly baseUrl: string;
  /** The headers every request carries: the key (if any) and the caller's own. */
  readonly #auth: Record<string, string>;
  readonly #fetch: typeof fetch;

  /** `/v1/runtimes`: agent definitions, versioned by slug. */
  readonly runtimes: {
    create(definition: RuntimeInput): Promise<Runtime>;
    get(id: string): Promise<Runtime>;
    list(params?: RuntimeListParams): Promise<Page<Runtime>>;
    /** Replaces one version's definition (its slug cannot change). */
    update(id: string, definition: RuntimeInput): Promise<Runtime>;
    delete(id: string): Promise<void>;
  };

  /** `/v1/deployments`: a runtime plus a template, served at `/v1/run/{apiSlug}`. */
  readonly deployments: {
    create(input: DeploymentInput): Promise<Deployment>;
    get(id: string): Promise<Deployment>;
    list(params?: PageParams): Promise<Page<Deployment>>;
    update(id: string, patch: DeploymentPatch): Promise<Deployment>;
    delete(id: string): Promise<void>;
  };

  /** `/v1/webhooks`: subscriptions to run events (verify deliveries with `verifyWebhook()`). */
  readonly webhooks: {
    create(input: WebhookInput): Promise<CreatedWebhook>;
    get(id: string): Promise<Webhook>;
    list(params?: WebhookListParams): Promise<Page<Webhook>>;
    delete(id: string): Promise<void>;
    /** Every delivery of a webhook, newest first. */
    deliveries(id: string, params?: PageParams): Promise<Page<WebhookDelivery>>;
    /** One delivery with every attempt (status code or error, duration). */
    delivery(id: string, deliveryId: string): Promise<WebhookDeliveryWithAttempts>;
    /** Sends a delivery again now, with the same id and body. */
    redeliver(id: string, deliveryId: string): Promise<WebhookDelivery>;
  };

  /**
   * `/v1/api-keys`: keys are shown once (on create), listed by prefix, revocable. A key gets
   * `scopes` (default: the creating key's) and may be restricted to `deployments`, e.g.
   * `create({ name: 'web app', deployments: ['support-bot'] })` for a key an app embeds.
   */
  readonly apiKeys: {
    create(input: ApiKeyInput): Promise<CreatedApiKey>;
    list(params?: PageParams): Promise<Page<ApiKey>>;
    revoke(id: string): Promise<ApiKey>;
  };

  /**
   * `/v1/secrets`: the secret store integrations read their credentials from (`admin` scope).
   * Values go in and never come back: `list` shows names, scopes and dates.
   *
   * ```ts
   * await rt.secrets.set({ name: 'GITHUB_TOKEN', value: process.env.GITHUB_TOKEN! });
   * ```
   */
  readonly secrets: {
    set(input: SecretInput): Promise<Secret>;
    list(params?: SecretListParams): Promise<Secret[]>;
    delete(name: string, params?: { deploymentId?: string }): Promise<void>;
  };

  /** `/v1/tools`: the tool catalog (core, marketplace integrations, custom and MCP tools). */
  readonly tools: {
    catalog(): Promise<ToolCatalog>;
    /**
     * Starts connecting an account to an integration by the service's OAuth consent (admin):
     * open `authorizeUrl` in a browser; the catalog shows the account once it is connected.
     */
    connect(name: string, options?: { redirectUri?: string }): Promise<IntegrationConnect>;
  };

  /** `/v1/sandboxes`: create, exec (streamed on request), files, pause, resume, delete, ports. */
  readonly sandboxes: SandboxesClient;

  /** `/v1/bundles`: the code bundles of runtimes with custom tools, by SHA-256. */
  readonly bundles: BundlesClient;

  /** `/v1/templates`: template definitions, their builds and build logs. */
  readonly templates: TemplatesClient;

  /** `/v1/project/agents`: the agent builder, reading and writing the project's agent files. */
  readonly projectAgents: ProjectAgentsClient;

  /** `/v1/runs`: list, get, events, and the run controls. */
  readonly runs: {
    get(id: string): Promise<Run>;
    list(params?: RunListParams): Promise<Page<Run>>;
    /** The events stored so far (after `after`), without waiting for more. */
    events(id: string, options?: { after?: number }): Promise<RunEvent[]>;
    /** Every event after `after` as it happens, until the run ends; reconnects on its own. */
    stream(id: string, options?: StreamOptions): AsyncIterable<RunEvent>;
    /** Pauses after the current step (idempotent; 409 `run_state` when it cannot). */
    pause(id: string): Promise<Run>;
    /** Queues a paused run again (idempotent; 409 `run_state` when it cannot). */
    resume(id: string): Promise<Run>;
    /** Aborts the model call and the tool process (idempotent; 409 `run_state` when it ended). */
    cancel(id: string): Promise<Run>;
    /**
     * Approves the tool call a `waiting` run asks about (its `approval.callId`, or the
     * `approval_requested` event's): the call runs and the run goes on.
     */
    approve(id: string, callId: string, options?: { reason?: string }): Promise<Run>;
    /** Denies it: the model gets the denial (with `reason`) as the call's result and goes on. */
    deny(id: string, callId: string, options?: { reason?: string }): Promise<Run>;
  };

  constructor(options: RunToolsOptions) {
    // No key is fine only for a page whose session cookie authenticates it; an empty one is a
    // mistake (an unset variable), not that.
    if (
      options?.apiKey !== undefined &&
      (typeof options.apiKey !== 'string' || options.apiKey === '')
    ) {
      throw new RunToolsError(
        'invalid_options',
        'RunTools needs an apiKey (or none, in a signed-in browser).',
      );
    }
    let base: URL;
    try {
      base = new URL(options.baseUrl);
    } catch (cause) {
      throw new RunToolsError('invalid_options', `baseUrl is not a URL: ${options.baseUrl}`, {
        cause,
      });
    }
    this.baseUrl = base.href.replace(/\/+$/, '');
    this.#auth = {
      ...options.headers,
      ...(options.apiKey === undefined ? {} : { authorization: `Bearer ${options.apiKey}` }),
    };
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));

    const get = <T>(path: string, query?: Query) => this.#request<T>('GET', path, { query });
    const post = <T>(path: string, body?: unknown) => this.#request<T>('POST', path, { body });
    const del = (path: string) => this.#request<void>('DELETE', path);

    this.runtimes = {
      create: (definition) => post('/v1/runtimes', definition),
      get: (runtimeId) => get(`/v1/runtimes/${id(runtimeId)}`),
      list: (params) => get('/v1/runtimes', { ...params }),
      update: (runtimeId, definition) =>
        this.#request('PUT', `/v1/runtimes/${id(runtimeId)}`, { body: definition }),
      delete: (runtimeId) => del(`/v1/runtimes/${id(runtimeId)}`),
    };
    this.deployments = {
      create: (input) => post('/v1/deployments', input),
      get: (deploymentId) => get(`/v1/deployments/${id(deploymentId)}`),
      list: (params) => get('/v1/deployments', { ...params }),
      update: (deploymentId, patch) =>
        this.#request('PATCH', `/v1/deployments/${id(deploymentId)}`, { body: patch }),
      delete: (deploymentId) => del(`/v1/deployments/${id(deploymentId)}`),
    };
    this.webhooks = {
      create: (input) => post('/v1/webhooks', input),
      get: (webhookId) => get(`/v1/webhooks/${id(webhookId)}`),
      list: (params) => get('/v1/webhooks', { ...params }),
      delete: (webhookId) => del(`/v1/webhooks/${id(webhookId)}`),
      deliveries: (webhookId, params) =>
        get(`/v1/webhooks/${id(webhookId)}/deliveries`, { ...params }),
      delivery: (webhookId, deliveryId) =>
        get(`/v1/webhooks/${id(webhookId)}/deliveries/${id(deliveryId)}`),
      redeliver: (webhookId, deliveryId) =>
        post(`/v1/webhooks/${id(webhookId)}/deliveries/${id(deliveryId)}/redeliver`, undefined),
    };
    this.apiKeys = {
      create: (input) => post('/v1/api-keys', input),
      list: (params) => get('/v1/api-keys', { ...params }),
      revoke: (keyId) => this.#request('DELETE', `/v1/api-keys/${id(keyId)}`),
    };
    this.secrets = {
      set: (input) => post('/v1/secrets', input),
      list: async (params) => (await get<{ data: Secret[] }>('/v1/secrets', { ...params })).data,
      delete: (name, params) =>
        this.#request<void>('DELETE', `/v1/secrets/${id(name)}`, { query: { ...params } }),
    };
    this.tools = {
      catalog: () => get('/v1/tools'),
      connect: (name, options) => post(`/v1/tools/${id(name)}/connect`, { ...options }),
    };
    const transport: ClientTransport = {
      baseUrl: this.baseUrl,
      request: this.#request.bind(this),
      fetch: (path, init) =>
        this.#fetch(`${this.baseUrl}${path}`, {
          ...init,
          headers: {
            ...(init.headers as Record<string, string>),
            ...this.#auth,
          },
        }),
    };
    this.sandboxes = sandboxesClient(transport);
    this.bundles = bundlesClient(transport);
    this.templates = templatesClient(transport);
    this.projectAgents = projectAgentsClient(transport);
    this.runs = {
      get: (runId) => get(`/v1/runs/${id(runId)}`),
      list: (params) => get('/v1/runs', { ...params }),
      events: (runId, options) => this.#storedEvents(runId, options?.after ?? 0),
      stream: (runId, options) => this.#events(runId, options),
      pause: (runId) => post(`/v1/runs/${id(runId)}/pause`),
      resume: (runId) => post(`/v1/runs/${id(runId)}/resume`),
      cancel: (runId) => post(`/v1/runs/${id(runId)}/cancel`),
      approve: (runId, callId, options) =>
        post(`/v1/runs/${id(runId)}/approvals/${id(callId)}`, {
          approved: true,
          ...(options?.reason === undefined ? {} : { reason: options.reason }),
        }),
      deny: (runId, callId, options) =>
        post(`/v1/runs/${id(runId)}/approvals/${id(callId)}`, {
          approved: false,
          ...(options?.reason === undefined ? {} : { reason: options.reason }),
        }),
    };
  }

  /**
   * Runs the deployment served at `slug` (`POST /v1/run/{slug}`) and, unless `wait: false`,
   * resolves when the run has ended with its `output` (or `error`).
   */
  async run(slug: string, input: unknown, options: RunOptions = {}): Promise<RunResult> {
    const wait = options.wait ?? true;
    const answer = await this.#request<Partial<RunResult> & { runId: string; status: RunStatus }>(
      'POST',
      `/v1/run/${id(slug)}`,
      {
        body: {
          input,
          metadata: options.metadata,
          async: wait ? undefined : true,
          webhook: options.webhook,
        },
      },
    );
    const result: RunResult = {
      runId: answer.runId,
      status: answer.status,
      output: answer.output ?? null,
      error: answer.error ?? null,
      ...(answer.webhook ? { webhook: answer.webhook } : {}),
    };
    const ended = isTerminalStatus;
    if (!wait || ended(result.status)) return result;
    // The server's wait limit passed (202): follow the run until it ends. It may have ended
    // between the 202 and this read: then no event comes after `lastSeq`, and there is nothing
    // to follow.
    const run = await this.runs.get(result.runId);
    if (!ended(run.status)) {
      for await (const _event of this.#events(result.runId, { after: run.lastSeq })) {
        // Only the end matters here.
      }
    }
    const final = ended(run.status) ? run : await this.runs.get(result.runId);
    return {
      runId: final.id,
      status: final.status,
      output: final.output,
      error: final.error,
      ...(result.webhook ? { webhook: result.webhook } : {}),
    };
  }

  /**
   * Starts a run of the deployment at `slug` and yields every one of its events in order, each
   * once, ending after its terminal status. A dropped connection is resumed from the last seq
   * seen. The run starts when iteration starts.
   */
  stream(slug: string, input: unknown, options: StartStreamOptions = {}): AsyncIterable<RunEvent> {
    const { metadata, onRun, ...streamOptions } = options;
    const self = this;
    return {
      async *[Symbol.asyncIterator]() {
        const started = await self.run(slug, input, { metadata, wait: false });
        onRun?.(started.runId);
        yield* self.#events(started.runId, { ...streamOptions, after: 0 });
      },
    };
  }

  #events(runId: string, options: StreamOptions = {}): AsyncIterable<RunEvent> {
    return {
      [Symbol.asyncIterator]: () =>
        runEventStream({
          after: options.after ?? 0,
          maxRetries: options.maxRetries,
          retryDelayMs: options.retryDelayMs,
          signal: options.signal,
          open: (after, signal) =>
            this.#fetch(`${this.baseUrl}/v1/runs/${id(runId)}/events${queryString({ after })}`, {
              method: 'GET',
              headers: {
                ...this.#auth,
                accept: 'text/event-stream',
                // The header the server prefers, and what an EventSource would send.
                'last-event-id': String(after),
              },
              signal,
            }),
        }),
    };
  }

  async #storedEvents(runId: string, after: number): Promise<RunEvent[]> {
    const run = await this.runs.get(runId);
    const events: RunEvent[] = [];
    if (run.lastSeq <= after) return events;
    for await (const event of this.#events(runId, { after })) {
      events.push(event);
      if (event.seq >= run.lastSeq) break;
    }
    return events;
  }

  async #request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const url = `${this.baseUrl}${path}${queryString(options.query)}`;
    const headers: Record<string, string> = {
      ...this.#auth,
      accept: 'application/json',
    };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await this.#fetch(url, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: options.signal,
      });
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason;
      throw networkError(error, `${method} ${path}`);
    }
    if (!response.ok) throw await RunToolsApiError.fromResponse(response);
    if (response.status === 204) return undefined as T;
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      throw networkError(error, `${method} ${path}`);
    }
    if (text === '') return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch (cause) {
      throw new RunToolsError('invalid_response', `${method} ${path}: the answer is not JSON.`, {
        cause,
        details: { status: response.status },
      });
    }
  }
}
