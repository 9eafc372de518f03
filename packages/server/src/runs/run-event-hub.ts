import type { RunEvent } from '@runtools/sdk';
import type { Store } from '../store/store.ts';
import type { WebhookDispatcher, WebhookEventType } from '../webhooks/webhook-dispatcher.ts';

export type RunEventListener = (event: RunEvent) => void;

export interface RunEventHubOptions {
  /** Enqueues a webhook for every run status change published here. */
  webhooks?: WebhookDispatcher | undefined;
  /** Where the run (deployment, output, error) is read from; required with `webhooks`. */
  store?: Pick<Store, 'runs'> | undefined;
  /** Where a failed enqueue is reported (default: dropped). */
  onWebhookError?: ((error: unknown, runId: string) => void) | undefined;
  /** Called for every event published here, e.g. to tell other server processes (PgEventRelay). */
  onPublish?: ((runId: string, event: RunEvent) => void) | undefined;
}

/**
 * In-process fan-out of stored run events, per run id: the worker publishes every event after it
 * is in the database, and SSE/WebSocket streams subscribe. It keeps nothing: a subscriber that
 * needs the past reads it from the store (see `runEventStream`). Every status event of the worker
 * and the API goes through `publish`, so with `webhooks` it is where run lifecycle webhooks start.
 */
export class RunEventHub {
  readonly #listeners = new Map<string, Set<RunEventListener>>();
  readonly #options: RunEventHubOptions;
  /** Runs paused or queued by a resume: their next `running` is `run.resumed`. */
  readonly #resuming = new Set<string>();
  /** Enqueues run one after another, so a run's webhooks are written in event order. */
  #webhookChain: Promise<void> = Promise.resolve();

  constructor(options: RunEventHubOptions = {}) {
    if (options.webhooks !== undefined && options.store === undefined) {
      throw new TypeError('RunEventHub: `webhooks` needs a `store`.');
    }
    this.#options = options;
  }

  /**
   * Hands `event` to the run's subscribers; a throwing listener does not stop the others. With
   * `webhooks`, a status change is also queued as a webhook event (see `webhookEventType`).
   */
  publish(runId: string, event: RunEvent): void {
    if (event.type === 'status' && this.#options.webhooks !== undefined) {
      this.#queueWebhook(runId, event.status, event.reason);
    }
    this.#options.onPublish?.(runId, event);
    this.deliver(runId, event);
  }

  /**
   * Hands `event` to the run's subscribers only: for events another process stored and published
   * (its webhooks are its own).
   */
  deliver(runId: string, event: RunEvent): void {
    const listeners = this.#listeners.get(runId);
    if (listeners === undefined) return;
    for (const listener of [...listeners]) {
      try {
        listener(event);
      } catch {
        // A subscriber's failure is its own.
      }
    }
  }

  /** Whether anyone in this process streams the run. */
  hasSubscribers(runId: string): boolean {
    return this.#listeners.has(runId);
  }

  /** Listens to a run's events from now on; returns the unsubscribe function. */
  subscribe(runId: string, listener: RunEventListener): () => void {
    let listeners = this.#listeners.get(runId);
    if (listeners === undefined) {
      listeners = new Set();
      this.#listeners.set(runId, listeners);
    }
    listeners.add(listener);
    return () => {
      const current = this.#listeners.get(runId);
      if (current === undefined) return;
      current.delete(listener);
      if (current.size === 0) this.#listeners.delete(runId);
    };
  }

  /** Resolves once every webhook enqueue started so far has finished (for shutdown and tests). */
  webhooksIdle(): Promise<void> {
    return this.#webhookChain;
  }

  #queueWebhook(runId: string, status: string, reason: string | undefined): void {
    const resuming = this.#resuming.has(runId);
    if (status === 'paused' || (status === 'queued' && reason === 'resumed')) {
      this.#resuming.add(runId);
    } else if (status !== 'queued') {
      this.#resuming.delete(runId);
    }
    const type = webhookEventType(status, reason, resuming);
    if (type === undefined) return;
    const { webhooks, store, onWebhookError } = this.#options;
    if (webhooks === undefined || store === undefined) return;
    this.#webhookChain = this.#webhookChain.then(async () => {
      try {
        const run = await store.runs.require(runId);
        await webhooks.enqueue({
          type,
          runId,
          deploymentId: run.deploymentId,
          data: {
            status,
            ...(status === 'completed' ? { output: run.output } : {}),
            ...(status === 'failed' && run.error !== null ? { error: run.error } : {}),
          },
        });
      } catch (error) {
        onWebhookError?.(error, runId);
      }
    });
  }

  /** How many subscribers a run has (for tests and metrics). */
  subscriberCount(runId: string): number {
    return this.#listeners.get(runId)?.size ?? 0;
  }
}

/**
 * The webhook event of a `status` run event, if any: `running` is `run.resumed` when its reason
 * is `resumed` or the run was paused/resumed before (`resuming`), else `run.started`; `completed`,
 * `failed`, `paused` and `cancelled` map to their `run.*` event; `queued` has none.
 */
export function webhookEventType(
  status: string,
  reason: string | undefined,
  resuming = false,
): WebhookEventType | undefined {
  switch (status) {
    case 'running':
      return reason === 'resumed' || resuming ? 'run.resumed' : 'run.started';
    case 'completed':
      return 'run.completed';
    case 'failed':
      return 'run.failed';
    case 'paused':
      return 'run.paused';
    case 'cancelled':
      return 'run.cancelled';
    default:
      return undefined;
  }
}
