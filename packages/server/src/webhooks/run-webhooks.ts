import type { RunEvent, RunStatus, WebhookEventType } from '@runtools/sdk';
import { pendingApproval } from '../runs/run-approvals.ts';
import type { Store } from '../store/store.ts';
import type { WebhookDispatcher } from './webhook-dispatcher.ts';

export interface RunWebhooksOptions {
  webhooks: Pick<WebhookDispatcher, 'enqueue'>;
  /** Where the run (deployment, output, error) is read from. */
  store: Pick<Store, 'runs'>;
  /** Where a failed enqueue is reported (default: dropped). */
  onError?: ((error: unknown, runId: string) => void) | undefined;
}

/**
 * Turns a run's status events into webhook events (`run.started`, `run.completed`, …) with the
 * run's output or error, enqueued in event order. Give it every event this process publishes
 * (`RunEventHub`'s `onPublish`): status changes of the worker and of the API alike.
 */
export class RunWebhooks {
  readonly #options: RunWebhooksOptions;
  /** Runs paused or queued by a resume: their next `running` is `run.resumed`. */
  readonly #resuming = new Set<string>();
  /** Enqueues one after another, so a run's webhooks are written in event order. */
  #chain: Promise<void> = Promise.resolve();

  constructor(options: RunWebhooksOptions) {
    this.#options = options;
  }

  /** Queues the webhook event of `event` if it is a status change that has one. */
  observe(runId: string, event: RunEvent): void {
    if (event.type !== 'status') return;
    const { status, reason } = event;
    const resuming = this.#resuming.has(runId);
    if (
      status === 'paused' ||
      status === 'waiting' ||
      (status === 'queued' && (reason === 'resumed' || reason?.startsWith('approval_')))
    ) {
      this.#resuming.add(runId);
    } else if (status !== 'queued') {
      this.#resuming.delete(runId);
    }
    const type = webhookEventType(status, reason, resuming);
    if (type === undefined) return;
    const { webhooks, store, onError } = this.#options;
    this.#chain = this.#chain.then(async () => {
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
            ...(status === 'waiting' && run.approval !== null
              ? { approval: pendingApproval(run) }
              : {}),
          },
        });
      } catch (error) {
        onError?.(error, runId);
      }
    });
  }

  /** Resolves once every enqueue started so far has finished (for shutdown and tests). */
  idle(): Promise<void> {
    return this.#chain;
  }
}

/**
 * The webhook event of a `status` run event, if any: `running` is `run.resumed` when its reason
 * is `resumed` or the run was paused, waiting or resumed before (`resuming`), else `run.started`;
 * `completed`, `failed`, `paused`, `waiting` and `cancelled` map to their `run.*` event; `queued`
 * has none.
 */
export function webhookEventType(
  status: RunStatus,
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
    case 'waiting':
      return 'run.waiting';
    case 'cancelled':
      return 'run.cancelled';
    default:
      return undefined;
  }
}
