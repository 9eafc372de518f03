import { randomUUID } from 'node:crypto';
import { chmodSync, mkdirSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AddressPolicy, createPinnedFetch, ModelAccess, ToolRunners } from '@runtools/agent';
import { SandboxEngine } from '@runtools/sandbox';
import type { IntegrationName, RunEvent } from '@runtools/sdk';
import { type Database, type DatabaseConfig, openDatabase } from './db/database.ts';
import type { AuthThrottleOptions } from './http/auth-throttle.ts';
import { createApp } from './http/create-app.ts';
import { jsonLogger, type Logger } from './http/logger.ts';
import type { RateLimitOptions } from './http/rate-limit.ts';
import { serve } from './http/serve.ts';
import { ProjectAgentFiles } from './project/project-agent-files.ts';
import { ProjectAgentWatch } from './project/project-agent-watch.ts';
import { PgEventRelay } from './runs/pg-event-relay.ts';
import { RunEventHub } from './runs/run-event-hub.ts';
import { RunWorker, type RunWorkerOptions } from './runs/run-worker.ts';
import { createStore, type Store } from './store/store.ts';
import { templateBuilder } from './templates/template-builder.ts';
import { RunWebhooks } from './webhooks/run-webhooks.ts';
import { WebhookDispatcher } from './webhooks/webhook-dispatcher.ts';

export interface StartServerOptions {
  /** The SQLite database (without `databaseUrl`) and, by default, the sandboxes. */
  dataDir: string;
  /** PostgreSQL (`postgres://…`) instead of SQLite in `dataDir`. */
  databaseUrl?: string;
  /** Sandboxes, volumes and engine state (default `<dataDir>/engine`). */
  engineDataDir?: string;
  /** Built templates, may be shared between servers (default `<engineDataDir>/templates`). */
  templatesDir?: string;
  /** Default 3000; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** A bootstrap API key accepted besides stored keys (`main.ts` wants 32 characters or more). */
  apiKey?: string;
  /**
   * The key stored secrets (webhook signing secrets, runtimes' model keys) are encrypted with:
   * RUNTOOLS_SECRET_KEY, 32 bytes as base64 or hex. Without it, `<dataDir>/secret.key`, which
   * is generated on first use with SQLite; with PostgreSQL it is required (`secret_key_required`):
   * every server on the database must have the same key.
   */
  secretKey?: string;
  /** Sandbox ports are served at `{port}-{sandboxId}.{domain}`. */
  domain?: string;
  /** How long a run claim lasts without a heartbeat (default 30 s). */
  leaseMs?: number;
  /** Runs executed at once (default 4). */
  concurrency?: number;
  /** How long a drain waits for tool calls in flight (default 10 s). */
  drainGraceMs?: number;
  /** Sandboxes kept booted per template, e.g. `{ 'debian-13': 2 }`. */
  warmPool?: Record<string, number>;
  /** Disk quota of every sandbox that asks for none, agent-run ones included (default 4 GiB). */
  sandboxDiskMiB?: number;
  /** Where template builds get npm and pip packages (default: the public npm registry and PyPI). */
  templateSources?: { npmRegistry?: string; pipIndexUrl?: string };
  /** Per-key rate limit; `false` turns it off. */
  rateLimit?: RateLimitOptions | false;
  /** Failed authentications per client address (default 10 a minute); `false` turns it off. */
  authThrottle?: AuthThrottleOptions | false;
  /** Model provider keys and endpoints handed to the agent loop. */
  modelEnv?: Record<string, string>;
  /**
   * Address ranges webhooks may be sent to although they are loopback, private, link-local or
   * metadata addresses, e.g. `['127.0.0.1/32', '10.0.0.0/8']` (RUNTOOLS_WEBHOOK_ALLOW). Default:
   * none, public addresses only.
   */
  webhookAllow?: readonly string[];
  /** The same for custom model endpoints (RUNTOOLS_MODEL_ENDPOINT_ALLOW). Default: none. */
  modelEndpointAllow?: readonly string[];
  /**
   * URL prefixes the server's model keys may be sent to besides each provider's own API
   * (RUNTOOLS_MODEL_BASE_URLS); the `*_BASE_URL` values of `modelEnv` count as listed.
   */
  modelBaseURLs?: readonly string[];
  /** Variables besides the providers' own keys that `apiKey: 'env:NAME'` may name (RUNTOOLS_MODEL_KEY_VARS). */
  modelKeyVariables?: readonly string[];
  /**
   * The APIs marketplace integrations call instead of the services' own, by integration
   * (`RUNTOOLS_GITHUB_API_URL`, …: GitHub Enterprise, a test's fake).
   */
  integrationBaseUrls?: Partial<Record<IntegrationName, string>>;
  /**
   * Address ranges integrations may connect to although loopback, private, link-local or
   * metadata (RUNTOOLS_INTEGRATION_ALLOW). Default: none, public addresses only.
   */
  integrationAllow?: readonly string[];
  /**
   * Whether `model: 'auto'` with no provider key in `modelEnv` answers with the scripted demo
   * model: `runtools dev` says yes; a production server (the default, false) fails such a run
   * with `no_model_configured`, naming the variables to set.
   */
  demoModel?: boolean;
  /**
   * The values custom tools' declared secrets come from: the variables of the server's
   * environment the operator lets tools read (`main.ts`: those RUNTOOLS_TOOL_SECRETS names;
   * `runtools dev`: its own environment). A tool gets only those it declared, per call.
   */
  toolSecrets?: Readonly<Record<string, string>>;
  /** Appended to the error of a declared secret `toolSecrets` lacks: how to provide it here. */
  toolSecretsHelp?: string;
  /**
   * Where code bundles are written for their tool runners (default
   * `<engineDataDir>/tool-bundles`): its parents must be traversable by the runners' user.
   */
  toolBundlesDir?: string;
  /** Who tool runners run as (default: nobody, 65534, when the server runs as root). */
  toolRunnerUser?: { uid: number; gid: number };
  /** Project settings for runs (web search, OpenAI-compatible server); see RunWorkerOptions. */
  projectConfig?: RunWorkerOptions['projectConfig'];
  /**
   * The project folder (`runtools dev`): the agent builder (`/v1/project/agents`) reads and
   * writes its `agents/` files. Without it that API lists the deployed agents, read-only.
   */
  projectRoot?: string;
  /** Where logs go (default: JSON lines on stderr). */
  logger?: Logger;
  /** Every run event of this process's worker, once stored (e.g. a terminal's run log). */
  onRunEvent?: (runId: string, event: RunEvent) => void;
}

/** A server started by `startServer`: its parts, and `stop()`. */
export interface RunningServer extends AsyncDisposable {
  /** `http://HOST:PORT`, with the port actually bound. */
  readonly url: string;
  readonly apiKey: string | undefined;
  readonly database: Database;
  readonly databaseKind: DatabaseConfig['kind'];
  readonly dataDir: string;
  readonly store: Store;
  readonly engine: SandboxEngine;
  readonly worker: RunWorker;
  readonly hub: RunEventHub;
  /** Where runtimes' custom tools run: a process per code bundle. */
  readonly toolRunners: ToolRunners;
  /**
   * Stops the server: no new runs are taken; runs in flight go back to the queue from their last
   * checkpoint (for the next start). With `drain` they first finish their current tool call
   * (up to `drainGraceMs`); without it they are aborted at once. Idempotent.
   */
  stop(options?: StopOptions): Promise<StopResult>;
}

export interface StopOptions {
  /** Let runs in flight finish their current tool call first (up to `drainGraceMs`). */
  drain?: boolean;
  /**
   * Pause every running sandbox (memory kept on disk, no CPU) before the engine closes, so
   * nothing of this server keeps running on the host; the next start serves them paused, and
   * the first request to one resumes it. Without it they keep running unattended.
   */
  pauseSandboxes?: boolean;
}

/** What `stop()` did with the sandboxes that were running. */
export interface StopResult {
  paused: string[];
  /** Sandboxes that could not be paused (they keep running), with why. */
  notPaused: Array<{ id: string; error: string }>;
}

/**
 * Starts the whole RunTools server in this process: the database, the sandbox engine, the run
 * worker, the webhook dispatcher and the HTTP API. `main.ts` calls it with the environment's
 * configuration; `runtools dev` calls it for a project.
 *
 * ```ts
 * await using server = await startServer({ dataDir: '.runtools', port: 0, apiKey });
 * console.log(server.url);
 * ```
 */
export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  const logger = options.logger ?? jsonLogger;
  // Malformed ranges or URLs throw here, before anything is opened.
  const webhookAddresses = { policy: new AddressPolicy({ allow: options.webhookAllow ?? [] }) };
  const integrationPolicy = new AddressPolicy({ allow: options.integrationAllow ?? [] });
  const modelAccess = new ModelAccess({
    endpointAllow: options.modelEndpointAllow ?? [],
    keyBaseURLs: options.modelBaseURLs ?? [],
    keyVariables: options.modelKeyVariables ?? [],
  });
  const dataDir = resolve(options.dataDir);
  // It holds the database, the secret key and the sandboxes: no other user may list or read it
  // (the files in it are 0600 too), but the sandboxes' mapped users must be able to traverse it
  // to their root filesystems (as the engine does for its own directory): 0711.
  mkdirSync(dataDir, { recursive: true, mode: 0o711 });
  const mode = statSync(dataDir).mode & 0o7777;
  const wanted = (mode & 0o7700) | 0o711;
  if (mode !== wanted) chmodSync(dataDir, wanted);
  const databaseConfig: DatabaseConfig = options.databaseUrl
    ? { kind: 'postgres', url: options.databaseUrl, dataDir, secretKey: options.secretKey }
    : { kind: 'sqlite', dataDir, secretKey: options.secretKey };
  const database = await openDatabase(databaseConfig);
  if (database.secretKeyGenerated) {
    logger.info(
      { file: database.secretKeySource, keyId: database.secrets.keyId },
      'generated the key stored secrets are encrypted with: back it up with the database',
    );
  }
  if (database.sealed > 0) {
    logger.info({ sealed: database.sealed }, 'encrypted the secrets stored in plaintext');
  }
  const cleanup: Array<() => Promise<void>> = [() => database.close()];
  const undo = async () => {
    for (const step of cleanup.reverse()) await step().catch(() => {});
  };
  try {
    const store = createStore(database);
    const engineDataDir = resolve(options.engineDataDir ?? resolve(dataDir, 'engine'));
    const engine = await SandboxEngine.open({
      dataDir: engineDataDir,
      ...(options.templatesDir ? { templatesDir: resolve(options.templatesDir) } : {}),
      onEvent: (event) => logger.info({ ...event }, `sandbox engine: ${event.type}`),
      ...(options.warmPool ? { pool: options.warmPool } : {}),
      ...(options.sandboxDiskMiB ? { diskMiB: options.sandboxDiskMiB } : {}),
      ...(options.templateSources ? { templateSources: options.templateSources } : {}),
    });
    cleanup.push(() => engine.close());
    // A run's sandbox lives while the run runs, waits for an approval or is paused. One of a run
    // that was running when a server died is deleted: the run continues in a fresh one.
    for (const sandbox of engine.list()) {
      const runId = sandbox.metadata.runId;
      if (runId === undefined) continue;
      const run = await store.runs.get(runId).catch(() => undefined);
      if (run?.sandboxId === sandbox.id && (run.status === 'waiting' || run.status === 'paused')) {
        continue;
      }
      await engine.delete(sandbox.id).catch((error: unknown) => {
        logger.error({ sandboxId: sandbox.id, error }, 'could not delete a stale run sandbox');
      });
    }
    // Run status changes become signed webhook deliveries, sent by this process's dispatcher.
    const webhooks = new WebhookDispatcher({
      store,
      addresses: webhookAddresses,
      logger: { error: (fields, message) => logger.error(fields, message) },
    });
    // With PostgreSQL, other server processes learn of this one's events at once (not by polling).
    let relay: PgEventRelay | undefined;
    const runWebhooks = new RunWebhooks({
      webhooks,
      store,
      onError: (error, runId) => logger.error({ runId, error }, 'could not enqueue a run webhook'),
    });
    const hub = new RunEventHub({
      onPublish: (runId, event) => {
        runWebhooks.observe(runId, event);
        relay?.announce(runId, event);
      },
    });
    if (options.databaseUrl) {
      relay = new PgEventRelay({
        url: options.databaseUrl,
        database,
        store,
        hub,
        onError: (error) => logger.error({ error }, 'run event relay'),
      });
      await relay.start();
      const started = relay;
      cleanup.push(() => started.close());
    }
    // The engine's directory is traversable by other users (the sandboxes' mapped ones): the
    // runners' user reaches its bundle there, and lists nothing.
    const toolRunners = new ToolRunners({
      dir: resolve(options.toolBundlesDir ?? resolve(engineDataDir, 'tool-bundles')),
      ...(options.toolRunnerUser ? { user: options.toolRunnerUser } : {}),
    });
    cleanup.push(() => toolRunners.close());
    // Integrations reach their services only where the operator allows (public addresses).
    const integrationFetch = createPinnedFetch({ policy: integrationPolicy });
    cleanup.push(() => integrationFetch.close());
    const integrations = {
      fetch: integrationFetch,
      ...(options.integrationBaseUrls ? { baseUrls: options.integrationBaseUrls } : {}),
    };
    const worker = new RunWorker({
      integrations,
      store,
      engine,
      toolRunners,
      toolSecrets: options.toolSecrets ?? {},
      ...(options.toolSecretsHelp ? { toolSecretsHelp: options.toolSecretsHelp } : {}),
      workerId: `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
      ...(options.leaseMs !== undefined ? { leaseMs: options.leaseMs } : {}),
      ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
      env: options.modelEnv ?? {},
      modelAccess,
      demoModel: options.demoModel ?? false,
      ...(options.projectConfig ? { projectConfig: options.projectConfig } : {}),
      onEvent: (runId, event) => {
        hub.publish(runId, event);
        options.onRunEvent?.(runId, event);
      },
    });
    let draining = false;
    const project = projectAgents(options.projectRoot);
    const app = createApp({
      ...(project ? { project } : {}),
      store,
      worker,
      hub,
      engine,
      logger,
      ...(options.domain ? { domain: options.domain } : {}),
      bootstrapKey: options.apiKey,
      webhookAddresses,
      ...(options.rateLimit !== undefined ? { rateLimit: options.rateLimit } : {}),
      ...(options.authThrottle !== undefined ? { authThrottle: options.authThrottle } : {}),
      acceptingRuns: () => !draining,
      integrations,
    });
    const server = await serve({
      app,
      port: options.port ?? 3000,
      host: options.host ?? '127.0.0.1',
    });
    worker.start();
    webhooks.start();

    let stopped: Promise<StopResult> | undefined;
    const stop = (stopOptions: StopOptions = {}): Promise<StopResult> => {
      stopped ??= (async () => {
        const result: StopResult = { paused: [], notPaused: [] };
        draining = true;
        project?.watch[Symbol.dispose]();
        // Without `drain` the runs in flight are aborted at once (a worker stop without a drain
        // would wait for them to end); either way they go back to the queue.
        await worker.stop({
          drain: true,
          graceMs: stopOptions.drain ? (options.drainGraceMs ?? 10_000) : 0,
        });
        // Streams of runs still queued would keep the server open: don't wait for them long.
        await Promise.race([server.close(), sleep(2000)]);
        // Run sandboxes are gone with their runs; what is left was made through the API.
        if (stopOptions.pauseSandboxes) await pauseAll(engine, result, logger);
        // Deliveries not sent yet stay in the database for the next start.
        await runWebhooks.idle();
        await webhooks.stop();
        await relay?.close();
        // A build in flight ends as cancelled (not abandoned, 60 s later).
        await templateBuilder(engine).close();
        await toolRunners.close();
        await modelAccess.close();
        await engine.close();
        await database.close();
        return result;
      })();
      return stopped;
    };
    return {
      url: server.url,
      apiKey: options.apiKey,
      database,
      databaseKind: databaseConfig.kind,
      dataDir,
      store,
      engine,
      worker,
      hub,
      toolRunners,
      stop,
      [Symbol.asyncDispose]: async () => {
        await stop({ drain: true });
      },
    };
  } catch (error) {
    await undo();
    throw error;
  }
}

/** Pauses every running sandbox, a few at a time (each checkpoint is mostly disk writes). */
async function pauseAll(engine: SandboxEngine, result: StopResult, logger: Logger): Promise<void> {
  const queue = engine.list({ state: 'running' }).map((s) => s.id);
  const next = async (): Promise<void> => {
    for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
      try {
        await engine.get(id).pause();
        result.paused.push(id);
      } catch (error) {
        const message = (error as Error).message;
        result.notPaused.push({ id, error: message });
        logger.error({ sandboxId: id, error: message }, 'could not pause a sandbox on stop');
      }
    }
  };
  await Promise.all([next(), next(), next()]);
}

/** The agent builder's files and watcher of a project folder, if the server has one. */
function projectAgents(root: string | undefined) {
  if (root === undefined) return undefined;
  const files = new ProjectAgentFiles(root);
  return { files, watch: new ProjectAgentWatch(files) };
}
