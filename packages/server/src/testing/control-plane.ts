import { mkdtempSync, rmSync } from 'node:fs';
import { AddressPolicy, loopbackRanges, ModelAccess } from '@runtools/agent';
import { SandboxEngine } from '@runtools/sandbox';
import type { Database } from '../db/database.ts';
import { type AppOptions, createApp } from '../http/create-app.ts';
import { silentLogger } from '../http/logger.ts';
import { serve } from '../http/serve.ts';
import { RunEventHub } from '../runs/run-event-hub.ts';
import { RunWorker, type RunWorkerOptions } from '../runs/run-worker.ts';
import { createStore, type Store } from '../store/store.ts';
import { RunWebhooks } from '../webhooks/run-webhooks.ts';
import type { WebhookDispatcher } from '../webhooks/webhook-dispatcher.ts';
import {
  type RequestOptions,
  requestJson,
  type TestResponse,
  testBootstrapKey,
} from './test-server.ts';

export const defaultTemplatesDir =
  process.env.RUNTOOLS_TEMPLATES_DIR ?? '/var/lib/runtools/templates';

export interface ControlPlaneOptions {
  /** Where the templates are built (default: RUNTOOLS_TEMPLATES_DIR or /var/lib/runtools/templates). */
  templatesDir?: string;
  app?: Partial<Omit<AppOptions, 'store' | 'worker' | 'hub' | 'engine'>>;
  worker?: Partial<Omit<RunWorkerOptions, 'store' | 'engine' | 'onEvent'>>;
  /**
   * Run status changes (from the worker and the API) are enqueued on it as webhook events. The
   * caller starts and stops it; closing the control plane waits for the enqueues in flight.
   */
  webhooks?: WebhookDispatcher;
}

export interface ControlPlane extends AsyncDisposable {
  readonly url: string;
  readonly store: Store;
  readonly engine: SandboxEngine;
  readonly worker: RunWorker;
  readonly hub: RunEventHub;
  /** Resolves once the webhook enqueues started so far have finished. */
  webhooksIdle(): Promise<void>;
  request(method: string, path: string, options?: RequestOptions): Promise<TestResponse>;
  close(): Promise<void>;
}

/**
 * The whole control plane in this process for tests: the store over `database`, a sandbox engine
 * in a temp data dir, a worker publishing to a hub, the app (bootstrap key `testBootstrapKey`, no
 * rate limit nor throttle of failed keys, silent) served on loopback. As under `runtools dev`,
 * model endpoints and webhooks may be on loopback (where the test model server and receivers
 * listen) unless the options say otherwise. Closing it stops the worker, the server and the
 * engine, deletes every sandbox and removes the data dir.
 */
export async function startControlPlane(
  database: Database,
  options: ControlPlaneOptions = {},
): Promise<ControlPlane> {
  const dataDir = mkdtempSync('/var/tmp/rt-test-cp-');
  const engine = await SandboxEngine.open({
    dataDir,
    templatesDir: options.templatesDir ?? defaultTemplatesDir,
  });
  const store = createStore(database);
  const runWebhooks =
    options.webhooks === undefined
      ? undefined
      : new RunWebhooks({ webhooks: options.webhooks, store });
  const hub = new RunEventHub({ onPublish: (runId, event) => runWebhooks?.observe(runId, event) });
  const webhooksIdle = async () => {
    await runWebhooks?.idle();
  };
  const worker = new RunWorker({
    workerId: 'test-worker',
    pollMs: 50,
    modelAccess: new ModelAccess({ endpointAllow: loopbackRanges }),
    ...options.worker,
    store,
    engine,
    onEvent: (runId, event) => hub.publish(runId, event),
  });
  const app = createApp({
    bootstrapKey: testBootstrapKey,
    rateLimit: false,
    authThrottle: false,
    logger: silentLogger,
    webhookAddresses: { policy: new AddressPolicy({ allow: loopbackRanges }) },
    ...options.app,
    store,
    worker,
    hub,
    engine,
  });
  const server = await serve({ app, port: 0 });
  worker.start();
  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= (async () => {
      for (const run of (await store.runs.list({ status: ['running'], limit: 100 })).items) {
        worker.cancel(run.id);
      }
      await worker.stop();
      await server.close();
      await webhooksIdle();
      for (const sandbox of engine.list()) await engine.delete(sandbox.id).catch(() => {});
      await engine.close();
      rmSync(dataDir, { recursive: true, force: true });
    })();
    return closed;
  };
  return {
    url: server.url,
    store,
    engine,
    worker,
    hub,
    webhooksIdle,
    request: (method, path, request) => requestJson(server.url, method, path, request),
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * Creates a runtime whose model is the scripted test model at `modelUrl`, and a deployment of it
 * on `debian-13` under `slug`, through the HTTP API. Returns the deployment's id.
 */
export async function deployScriptedAgent(
  cp: ControlPlane,
  modelUrl: string,
  slug: string,
  systemPrompt = 'You are a test agent.',
): Promise<string> {
  const runtime = await cp.request('POST', '/v1/runtimes', {
    body: {
      slug,
      model: { provider: 'custom', endpoint: `${modelUrl}/v1`, model: 'scripted' },
      systemPrompt,
      tools: ['bash'],
    },
  });
  if (runtime.status !== 201) throw new Error(`runtime: ${JSON.stringify(runtime.body)}`);
  const deployment = await cp.request('POST', '/v1/deployments', {
    body: {
      apiSlug: slug,
      runtimeId: (runtime.body as { id: string }).id,
      template: 'debian-13',
    },
  });
  if (deployment.status !== 201) throw new Error(`deployment: ${JSON.stringify(deployment.body)}`);
  return (deployment.body as { id: string }).id;
}
