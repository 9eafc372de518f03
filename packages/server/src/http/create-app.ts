import type { OpenAPIHono } from '@hono/zod-openapi';
import type { SandboxEngine } from '@runtools/sandbox';
import { maxBundleBytes } from '@runtools/sdk/api';
import type { ProjectAgentFiles } from '../project/project-agent-files.ts';
import type { ProjectAgentWatch } from '../project/project-agent-watch.ts';
import { RunEventHub } from '../runs/run-event-hub.ts';
import type { RunWorker } from '../runs/run-worker.ts';
import type { Store } from '../store/store.ts';
import { defaultWebhookAddresses, type WebhookAddresses } from '../webhooks/webhook-addresses.ts';
import type { AppEnv } from './app-env.ts';
import { requireApiKey } from './auth.ts';
import { type AuthThrottleOptions, authThrottle, defaultAuthThrottle } from './auth-throttle.ts';
import { limitBody } from './body-limit.ts';
import { closeUnreadBody } from './close-unread-body.ts';
import { errorResponse, handleError } from './errors.ts';
import { KeySessions, trackKeySessions } from './key-sessions.ts';
import { jsonLogger, type Logger } from './logger.ts';
import { notFoundHandler } from './not-found.ts';
import { ProxyGrants } from './proxy-cookie.ts';
import { defaultRateLimit, type RateLimitOptions, rateLimit, tokenBuckets } from './rate-limit.ts';
import { newRouter } from './router.ts';
import { apiKeyRoutes } from './routes/api-keys.ts';
import { bundleRoutes } from './routes/bundles.ts';
import { dashboardRoutes } from './routes/dashboard.ts';
import { deploymentRoutes } from './routes/deployments.ts';
import { healthRoutes } from './routes/health.ts';
import {
  type IntegrationSettings,
  integrationConnectRoutes,
  oauthCallbackRoutes,
} from './routes/integration-connect.ts';
import { mcpRoutes } from './routes/mcp.ts';
import { projectAgentRoutes } from './routes/project-agents.ts';
import { runApprovalRoutes } from './routes/run-approvals.ts';
import { runControlRoutes } from './routes/run-controls.ts';
import { runDeploymentRoutes } from './routes/run-deployment.ts';
import { runEventRoutes } from './routes/run-events.ts';
import { runStreamRoutes } from './routes/run-streams.ts';
import { runRoutes } from './routes/runs.ts';
import { runtimeRoutes } from './routes/runtimes.ts';
import { sandboxExecRoutes } from './routes/sandbox-exec.ts';
import { sandboxFileRoutes } from './routes/sandbox-files.ts';
import { sandboxPortRoutes } from './routes/sandbox-ports.ts';
import { sandboxPtyRoutes } from './routes/sandbox-pty.ts';
import { sandboxRoutes } from './routes/sandboxes.ts';
import { secretRoutes } from './routes/secrets.ts';
import { sessionRoutes, signInRoutes } from './routes/sessions.ts';
import { templateBuildRoutes } from './routes/template-builds.ts';
import { templateRoutes } from './routes/templates.ts';
import { toolRoutes } from './routes/tools.ts';
import { webhookDeliveryRoutes } from './routes/webhook-deliveries.ts';
import { documentWebhookPayloads, webhookRoutes } from './routes/webhooks.ts';
import { sandboxProxy } from './sandbox-proxy.ts';

export interface AppOptions {
  store: Store;
  /** A key accepted besides the stored ones: RUNTOOLS_API_KEY, read by the caller at the edge. */
  bootstrapKey?: string | undefined;
  /** Largest request body in bytes (default 1 MiB); larger is a 413. */
  bodyLimitBytes?: number;
  /** Largest file upload (`PUT /v1/sandboxes/{id}/files`) in bytes (default 512 MiB). */
  fileBodyLimitBytes?: number;
  /**
   * Per-key token bucket, shared by the API and the sandbox port proxy (default: bursts of 100,
   * 20 per second); `false` turns it off.
   */
  rateLimit?: RateLimitOptions | false;
  /**
   * Failed authentications per client address before it gets 429s (default: 10 a minute; see
   * `authThrottle`); `false` turns it off.
   */
  authThrottle?: AuthThrottleOptions | false;
  logger?: Logger;
  /**
   * The worker of this process: woken when a run is queued, asked to cancel or pause the runs it
   * executes. Without one, runs stay queued for a worker in another process.
   */
  worker?: RunWorker;
  /** Live events; pass the hub the worker's `onEvent` publishes to (default: a new, silent one). */
  hub?: RunEventHub;
  /** Longest wait of a synchronous `POST /v1/run/{slug}` before it answers 202 (default 60 s). */
  runWaitMs?: number;
  /**
   * Whether new runs are taken (`POST /v1/run/{slug}` and its WebSocket stream); while it
   * returns false (the server is draining) they answer 503 `server_shutting_down`. Default: yes.
   */
  acceptingRuns?: () => boolean;
  /**
   * The sandbox engine of this process: serves `/v1/sandboxes` (and their ports) and builds
   * `/v1/templates`. Without one, those routes answer 503 `sandboxes_unavailable`.
   */
  engine?: SandboxEngine;
  /**
   * Where integrations reach their services (the operator's base URLs and address policy): the
   * OAuth connect flow exchanges its codes there.
   */
  integrations?: IntegrationSettings;
  /** Resumes of a paused sandbox through its ports (default: bursts of 5, one per 10 s). */
  sandboxResumeLimit?: RateLimitOptions;
  /**
   * The domain under which `{port}-{sandboxId}.{domain}` host names reach sandbox ports
   * (RUNTOOLS_DOMAIN); without one only `/v1/sandboxes/{id}/ports/{port}/…` does.
   */
  domain?: string;
  /**
   * Where webhook URLs may point (checked when a webhook is created; the dispatcher checks again
   * at each delivery). Default: public addresses only.
   */
  webhookAddresses?: WebhookAddresses;
  /**
   * The project's agent files (`runtools dev`): `/v1/project/agents` reads and writes them.
   * Without it that API lists the deployed agents, read-only.
   */
  project?: { files: ProjectAgentFiles; watch: ProjectAgentWatch };
}

export const openApiPath = '/v1/openapi.json';

const fileUploadPath = /^\/v1\/sandboxes\/[^/]+\/files$/;
const bundleUploadPath = /^\/v1\/bundles\/[^/]+$/;

/**
 * The RunTools HTTP API as a Hono app: `/health`, the generated OpenAPI document, and the `/v1`
 * resources behind API-key auth (with failed attempts throttled per client address), a per-key
 * rate limit and a body size limit. Every error is
 * `{ error: { code, message, details? } }`.
 *
 * @example
 * const hub = new RunEventHub();
 * const worker = new RunWorker({ store, engine, workerId, onEvent: (id, e) => hub.publish(id, e) });
 * const app = createApp({ store, worker, hub, bootstrapKey: process.env.RUNTOOLS_API_KEY });
 * await using server = await serve({ app, port: 8080 });
 */
export function createApp(options: AppOptions): OpenAPIHono<AppEnv> {
  const { store } = options;
  const logger = options.logger ?? jsonLogger;
  const maxSize = options.bodyLimitBytes ?? 1024 * 1024;
  const app = newRouter();

  app.use('*', closeUnreadBody());
  app.onError((error, c) => handleError(error, c, logger));
  app.notFound(notFoundHandler(() => app.routes));

  // Before any key is checked: an address that keeps presenting bad keys is refused for a while.
  const throttle =
    options.authThrottle === false
      ? undefined
      : authThrottle(options.authThrottle ?? defaultAuthThrottle);
  if (throttle) app.use('*', throttle.guard);
  // Before everything else: `{port}-{id}.{domain}` hosts are the sandbox's, on every path.
  const { engine, domain, bootstrapKey } = options;
  const sessions = new KeySessions(store.apiKeys);
  const buckets =
    options.rateLimit === false ? undefined : tokenBuckets(options.rateLimit ?? defaultRateLimit);
  // Port cookies and grant links: the proxy checks what `POST …/port-grants` signs.
  const grants = new ProxyGrants({ apiKeys: store.apiKeys, bootstrapKey });
  app.use(
    '*',
    sandboxProxy({
      engine,
      domain,
      apiKeys: store.apiKeys,
      bootstrapKey,
      sessions,
      buckets,
      grants,
      ...(options.sandboxResumeLimit ? { resumeLimit: options.sandboxResumeLimit } : {}),
    }),
  );
  app.route('/', healthRoutes());
  // The services' OAuth consent comes back here, with no key (a sealed state stands for one).
  app.route('/', oauthCallbackRoutes(store, options.integrations ?? {}));
  app.route('/', dashboardRoutes());
  app.openAPIRegistry.registerComponent('securitySchemes', 'Bearer', {
    type: 'http',
    scheme: 'bearer',
    description:
      'An API key (`rtk_…`) or the server’s RUNTOOLS_API_KEY (which holds every scope). Each ' +
      'operation names the scopes that allow it (any one of them): `admin` (API keys, webhooks), ' +
      '`deploy` (templates, runtimes, deployments), `run` (start, read and control runs), ' +
      '`sandboxes` (the sandbox API and its ports). A key without them gets 403 `insufficient_scope`.',
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'Session', {
    type: 'apiKey',
    in: 'cookie',
    name: 'runtoolsSession',
    description:
      'The dashboard’s session (POST /v1/sessions); writes also send its CSRF token as X-RunTools-CSRF.',
  });
  documentWebhookPayloads(app);
  app.doc31(openApiPath, {
    openapi: '3.1.0',
    info: { title: 'RunTools API', version: '0.1.0' },
    security: [{ Bearer: [] }],
  });

  const auth = {
    apiKeys: store.apiKeys,
    bootstrapKey: options.bootstrapKey,
    browserSessions: store.sessions,
  };
  app.use('/v1/sessions', limitBody(maxSize));
  app.route('/v1', signInRoutes(store, auth));
  app.use('/v1/*', requireApiKey(auth));
  if (throttle) app.use('/v1/*', throttle.passed);
  app.use('/v1/*', trackKeySessions(sessions));
  if (buckets !== undefined) app.use('/v1/*', rateLimit(buckets));
  // Before the app-wide body limit, which it never reaches: a template comes with its build
  // context, and these routes have a larger limit of their own.
  app.route('/v1', templateRoutes({ store, engine }));
  const jsonLimit = limitBody(maxSize);
  // File uploads are streamed to the sandbox's disk (which has its own quota), not parsed.
  const fileLimit = limitBody(options.fileBodyLimitBytes ?? 512 * 1024 * 1024);
  // A code bundle is read whole into memory (and stored): its own, smaller limit.
  const bundleLimit = limitBody(maxBundleBytes);
  app.use('/v1/*', (c, next) => {
    if (c.req.method !== 'PUT') return jsonLimit(c, next);
    if (fileUploadPath.test(c.req.path)) return fileLimit(c, next);
    if (bundleUploadPath.test(c.req.path)) return bundleLimit(c, next);
    return jsonLimit(c, next);
  });

  const acceptingRuns = options.acceptingRuns;
  if (acceptingRuns) {
    app.use('/v1/run/*', async (c, next) => {
      if (acceptingRuns()) return next();
      const response = errorResponse(
        c,
        'server_shutting_down',
        'The server is shutting down and takes no new runs; retry against another server.',
      );
      response.headers.set('connection', 'close');
      return response;
    });
  }

  app.route('/v1', bundleRoutes(store));
  app.route('/v1', runtimeRoutes(store));
  app.route('/v1', deploymentRoutes(store));
  app.route('/v1', projectAgentRoutes({ store, project: options.project }));
  app.route('/v1', sessionRoutes(store));
  app.route('/v1', apiKeyRoutes(store, sessions));
  app.route('/v1', secretRoutes(store));
  app.route('/v1', toolRoutes(store));
  app.route('/v1', integrationConnectRoutes(store, options.integrations ?? {}));
  const webhookAddresses = options.webhookAddresses ?? defaultWebhookAddresses();
  app.route('/v1', webhookRoutes(store, webhookAddresses));
  app.route('/v1', webhookDeliveryRoutes(store));
  app.route('/v1', runRoutes(store));
  app.route('/v1', sandboxRoutes(engine, store, domain));
  app.route('/v1', sandboxExecRoutes(engine));
  app.route('/v1', sandboxFileRoutes(engine));
  app.route('/v1', sandboxPtyRoutes(engine));
  app.route('/v1', sandboxPortRoutes(engine, grants, domain));
  app.route('/v1', templateBuildRoutes({ store, engine }));
  const services = {
    store,
    hub: options.hub ?? new RunEventHub(),
    worker: options.worker,
    runWaitMs: options.runWaitMs ?? 60_000,
    webhookAddresses,
    engine,
  };
  app.route('/v1', runDeploymentRoutes(services));
  app.route('/v1', runEventRoutes(services));
  app.route('/v1', runControlRoutes(services));
  app.route('/v1', runApprovalRoutes(services));
  app.route('/v1', runStreamRoutes(services));
  app.route('/v1', mcpRoutes({ services, logger, acceptingRuns }));
  return app;
}
