import type { RunEvent } from '@runtools/sdk';

export type RunEventListener = (event: RunEvent) => void;

export interface RunEventHubOptions {
  /**
   * Called for every event published here (not for those only delivered): to tell other server
   * processes (PgEventRelay) or to turn status changes into webhooks (RunWebhooks).
   */
  onPublish?: ((runId: string, event: RunEvent) => void) | undefined;
}

/**
 * In-process fan-out of stored run events, per run id: the worker and the API publish every
 * event after it is in the database, and SSE/WebSocket streams subscribe. It keeps nothing: a
 * subscriber that needs the past reads it from the store (see `runEventStream`).
 */
export class RunEventHub {
  readonly #listeners = new Map<string, Set<RunEventListener>>();
  readonly #options: RunEventHubOptions;

  constructor(options: RunEventHubOptions = {}) {
    this.#options = options;
  }

  /** Hands `event` to `onPublish` and the run's subscribers; a throwing listener stops no other. */
  publish(runId: string, event: RunEvent): void {
    this.#options.onPublish?.(runId, event);
    this.deliver(runId, event);
  }

  /** Hands `event` to the run's subscribers only: for events another process stored and published. */
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

  /** How many subscribers a run has (for tests and metrics). */
  subscriberCount(runId: string): number {
    return this.#listeners.get(runId)?.size ?? 0;
  }
}
