import type { SandboxEngine } from '@runtools/sandbox';
import { RunToolsError } from '@runtools/sdk';
import { type RunRequest, webhookEventTypes } from '@runtools/sdk/api';
import type { RunEventHub } from '../runs/run-event-hub.ts';
import { runEventStream } from '../runs/run-event-stream.ts';
import type { RunLifecycle } from '../runs/run-lifecycle.ts';
import type { RunWorker } from '../runs/run-worker.ts';
import { newId } from '../store/ids.ts';
import type { Run } from '../store/runs.ts';
import type { Store } from '../store/store.ts';
import type { Webhook } from '../store/webhooks.ts';
import { checkWebhookUrl, type WebhookAddresses } from '../webhooks/webhook-addresses.ts';

/** What the run routes share: the store, the live event hub and (in this process) the worker. */
export interface RunServices {
  store: Store;
  hub: RunEventHub;
  /** The worker of this process; without one, queued runs wait for a worker elsewhere. */
  worker?: RunWorker | undefined;
  /** Longest wait of a synchronous `POST /v1/run/{slug}` before it answers 202. */
  runWaitMs: number;
  /** Where a run's own `webhook` may be sent. */
  webhookAddresses: WebhookAddresses;
  /** The sandbox engine of this process: a run cancelled while it waits or is paused has its kept sandbox deleted. */
  engine?: SandboxEngine | undefined;
}

/** The body of `POST /v1/run/{slug}` (and of the stream's first message), validated. */
export type StartRunBody = RunRequest;

/**
 * Queues a run of the deployment served at `slug` and wakes the worker. A `webhook` in the body
 * is subscribed before the run exists, so it cannot miss `run.started`; its signing secret is
 * returned (`webhook`) this once. A webhook URL at a forbidden address refuses the run
 * (`webhook_url_forbidden`) before anything is stored.
 */
export async function startRun(
  services: RunServices,
  slug: string,
  body: StartRunBody,
): Promise<{ run: Run; webhook?: { id: string; secret: string } }> {
  const deployment = await services.store.deployments.getBySlug(slug);
  if (deployment === undefined) throw deploymentNotFound(slug);
  const runId = newId('run');
  let webhook: Webhook | undefined;
  if (body.webhook !== undefined) {
    const { url, events } =
      typeof body.webhook === 'string' ? { url: body.webhook, events: undefined } : body.webhook;
    await checkWebhookUrl(url, services.webhookAddresses);
    webhook = await services.store.webhooks.create({
      url,
      events: events ?? [...webhookEventTypes],
      runId,
    });
  }
  const run = await services.store.runs.create({
    id: runId,
    deploymentId: deployment.id,
    input: body.input,
    ...(body.metadata !== undefined ? { metadata: body.metadata } : {}),
  });
  services.worker?.wake();
  return webhook === undefined
    ? { run }
    : { run, webhook: { id: webhook.id, secret: webhook.secret } };
}

/**
 * The 404 for a slug that serves nothing, and for one a deployment-restricted key may not use
 * (so such a key learns nothing of other deployments).
 */
export function deploymentNotFound(slug: string): RunToolsError {
  return new RunToolsError('deployment_not_found', `No deployment is served at "${slug}".`, {
    details: { apiSlug: slug },
  });
}

/** Where the API records a run's lifecycle: its store, published through its hub. */
export function lifecycleOf(services: RunServices): RunLifecycle {
  return { store: services.store, publish: (runId, event) => services.hub.publish(runId, event) };
}

/**
 * Waits (at most `ms`) until a `status` event after `afterSeq` says the run left `running`, then
 * returns the run as stored.
 */
export async function waitForStatusChange(
  services: RunServices,
  runId: string,
  afterSeq: number,
  ms: number,
): Promise<Run> {
  const signal = AbortSignal.timeout(ms);
  for await (const event of runEventStream({
    store: services.store,
    hub: services.hub,
    runId,
    afterSeq,
    signal,
    pollMs: 200,
  })) {
    if (event.type === 'status' && event.status !== 'running') break;
  }
  return services.store.runs.require(runId);
}

/** The 409 for a control that the run's status does not allow. */
export function runStateError(run: Run, action: string, why?: string): RunToolsError {
  return new RunToolsError(
    'run_state',
    `Run ${run.id} is ${run.status}; it cannot be ${action}${why ? ` (${why})` : ''}.`,
    { details: { runId: run.id, status: run.status } },
  );
}
