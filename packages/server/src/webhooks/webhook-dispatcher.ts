import { performance } from 'node:perf_hooks';
import { AddressRefusedError, createPinnedFetch, type PinnedFetch } from '@runtools/agent';
import { signWebhook } from '@runtools/sdk';
import type { WebhookEventType } from '@runtools/sdk/api';
import type { Store } from '../store/store.ts';
import type { WebhookDelivery } from '../store/webhook-deliveries.ts';
import type { Webhook } from '../store/webhooks.ts';
import { defaultWebhookAddresses, type WebhookAddresses } from './webhook-addresses.ts';

export { type WebhookEventType, webhookEventTypes } from '@runtools/sdk/api';

export interface WebhookEvent {
  type: WebhookEventType;
  runId: string;
  deploymentId: string;
  /** Event-specific fields; the body's `data` also carries `runId` and `deploymentId`. */
  data: Record<string, unknown>;
}

/** Wall-clock time in milliseconds; tests inject one they move by hand. */
export interface Clock {
  now(): number;
}

/** The timer functions the worker loop sleeps with. */
export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Where the dispatcher reports failures it cannot hand to a caller (the worker loop's). */
export interface DispatcherLogger {
  error(fields: Record<string, unknown>, message: string): void;
}

/**
 * Delay before each retry: after the first failed attempt wait 5 s, then 30 s, ... 8 h; a
 * delivery whose last retry fails is marked `failed` (about 15 h after the event).
 */
export const defaultRetryDelaysMs: readonly number[] = [
  5_000,
  30_000,
  2 * 60_000,
  10 * 60_000,
  30 * 60_000,
  60 * 60_000,
  2 * 60 * 60_000,
  4 * 60 * 60_000,
  8 * 60 * 60_000,
];

export interface WebhookDispatcherOptions {
  store: Pick<Store, 'webhooks' | 'webhookDeliveries'>;
  clock?: Clock;
  timers?: Timers;
  /**
   * Where deliveries may go (default: public addresses only). Every delivery resolves the URL's
   * host again and connects only to the addresses it checked.
   */
  addresses?: WebhookAddresses;
  /** Uniform [0, 1) source for jitter. */
  random?: () => number;
  logger?: DispatcherLogger;
  /** How often the loop looks for due deliveries when nothing wakes it. Default 1000 ms. */
  pollIntervalMs?: number;
  /** Per-request timeout. Default 10 000 ms. */
  requestTimeoutMs?: number;
  retryDelaysMs?: readonly number[];
  /** Each retry delay is scaled by a random factor in [1 - jitter, 1 + jitter). Default 0.1. */
  jitter?: number;
  /** Deliveries claimed and sent concurrently per round. Default 50. */
  batchSize?: number;
}

/** What one attempt produced, before it is recorded. */
interface AttemptOutcome {
  statusCode: number | null;
  error: string | null;
  durationMs: number;
  retryAfterMs: number | null;
}

const maxRetryAfterMs = 24 * 60 * 60_000;

/**
 * Turns run events into signed webhook deliveries and sends them, at least once.
 *
 * `enqueue` writes one delivery per matching subscription (global, or of the run's deployment,
 * subscribed to the event type) before anything is sent, so a crash loses nothing. The worker
 * loop (`start`/`stop`) claims due deliveries from the database with a lease, POSTs them signed
 * per Standard Webhooks, records every attempt, and reschedules failures with exponential
 * backoff and jitter until a 2xx arrives or the schedule runs out. A sender that dies mid-attempt
 * leaves its delivery to be claimed again when the lease passes, so receivers may see a
 * delivery twice: `webhook-id` (the delivery id) is their idempotency key.
 *
 * @example
 * const dispatcher = new WebhookDispatcher({ store });
 * dispatcher.start();
 * await dispatcher.enqueue({ type: 'run.completed', runId, deploymentId, data: { output } });
 * await dispatcher.stop();
 */
export class WebhookDispatcher implements AsyncDisposable {
  readonly #store: WebhookDispatcherOptions['store'];
  readonly #clock: Clock;
  readonly #timers: Timers;
  readonly #fetch: PinnedFetch;
  readonly #random: () => number;
  readonly #logger: DispatcherLogger;
  readonly #pollIntervalMs: number;
  readonly #requestTimeoutMs: number;
  readonly #retryDelaysMs: readonly number[];
  readonly #jitter: number;
  readonly #batchSize: number;
  #running = false;
  #timer: unknown;
  #round: Promise<void> | undefined;
  #wakeRequested = false;

  constructor(options: WebhookDispatcherOptions) {
    this.#store = options.store;
    this.#clock = options.clock ?? Date;
    this.#timers = options.timers ?? {
      setTimeout: (callback, ms) => setTimeout(callback, ms),
      clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
    };
    const addresses = options.addresses ?? defaultWebhookAddresses();
    this.#fetch = createPinnedFetch({
      policy: addresses.policy,
      ...(addresses.lookup ? { lookup: addresses.lookup } : {}),
    });
    this.#random = options.random ?? Math.random;
    this.#logger = options.logger ?? { error: () => {} };
    this.#pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.#retryDelaysMs = options.retryDelaysMs ?? defaultRetryDelaysMs;
    this.#jitter = options.jitter ?? 0.1;
    this.#batchSize = options.batchSize ?? 50;
  }

  /** Queues the event for every subscribed webhook and wakes the loop; returns the deliveries. */
  async enqueue(event: WebhookEvent): Promise<WebhookDelivery[]> {
    const subscribers = await this.#store.webhooks.subscribers(
      event.deploymentId,
      event.type,
      event.runId,
    );
    if (subscribers.length === 0) return [];
    const now = this.#nowIso();
    const payload = JSON.stringify({
      type: event.type,
      timestamp: now,
      data: { ...event.data, runId: event.runId, deploymentId: event.deploymentId },
    });
    const deliveries: WebhookDelivery[] = [];
    for (const webhook of subscribers) {
      deliveries.push(
        await this.#store.webhookDeliveries.create(
          { webhookId: webhook.id, runId: event.runId, eventType: event.type, payload },
          now,
        ),
      );
    }
    this.#wake();
    return deliveries;
  }

  /**
   * Manual redelivery: the delivery is due again now, whatever its status. It keeps its id and
   * body; if this attempt fails, retries continue from where its schedule stood.
   */
  async redeliver(deliveryId: string): Promise<WebhookDelivery> {
    const delivery = await this.#store.webhookDeliveries.redeliver(deliveryId, this.#nowIso());
    this.#wake();
    return delivery;
  }

  /** Starts the worker loop (idempotent). */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#schedule(0);
  }

  /** Stops the loop and waits for the round in flight (bounded by the request timeout). */
  async stop(): Promise<void> {
    this.#running = false;
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#round;
    await this.#fetch.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  /** Claims and sends the deliveries due now, once; returns how many were attempted. */
  async deliverDue(): Promise<number> {
    const now = this.#clock.now();
    // The lease outlasts the request timeout, so only a sender that died leaves it to expire.
    const leaseUntil = new Date(now + this.#requestTimeoutMs + 60_000).toISOString();
    const claimed = await this.#store.webhookDeliveries.claimDue(
      new Date(now).toISOString(),
      leaseUntil,
      this.#batchSize,
    );
    await Promise.all(claimed.map((delivery) => this.#deliver(delivery)));
    return claimed.length;
  }

  async #deliver(delivery: WebhookDelivery): Promise<void> {
    try {
      const webhook = await this.#store.webhooks.get(delivery.webhookId);
      // Deleting a webhook deletes its deliveries; one claimed just before has nowhere to go.
      if (webhook === undefined) return;
      const outcome = await this.#attempt(webhook, delivery);
      const ok =
        outcome.statusCode !== null && outcome.statusCode >= 200 && outcome.statusCode < 300;
      await this.#store.webhookDeliveries.recordAttempt(
        delivery.id,
        {
          statusCode: outcome.statusCode,
          error: outcome.error,
          durationMs: outcome.durationMs,
          nextAttemptAt: ok ? null : this.#nextAttemptAt(delivery.attempts, outcome),
        },
        this.#nowIso(),
      );
    } catch (error) {
      // The delivery stays pending under its lease and is claimed again when the lease passes.
      this.#logger.error(
        { err: error, deliveryId: delivery.id, webhookId: delivery.webhookId },
        'webhook delivery could not be attempted or recorded',
      );
    }
  }

  async #attempt(webhook: Webhook, delivery: WebhookDelivery): Promise<AttemptOutcome> {
    const timestamp = Math.floor(this.#clock.now() / 1000);
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'RunTools-Webhooks/1',
      'webhook-id': delivery.id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signWebhook({
        id: delivery.id,
        timestamp,
        body: delivery.payload,
        secret: webhook.secret,
      }),
    };
    const started = performance.now();
    try {
      const response = await this.#fetch(webhook.url, {
        method: 'POST',
        headers,
        body: delivery.payload,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.#requestTimeoutMs),
      });
      await response.body?.cancel();
      const ok = response.status >= 200 && response.status < 300;
      return {
        // A redirect is not followed: its 3xx is the attempt's status (and it is retried).
        statusCode: response.status,
        error: ok ? null : `HTTP ${response.status}`,
        durationMs: performance.now() - started,
        retryAfterMs: retryAfterMs(response.headers.get('retry-after'), this.#clock.now()),
      };
    } catch (error) {
      return {
        statusCode: null,
        error: describeFetchError(error),
        durationMs: performance.now() - started,
        retryAfterMs: null,
      };
    }
  }

  /** When to retry after failed attempt number `previousAttempts + 1`; null gives up. */
  #nextAttemptAt(previousAttempts: number, outcome: AttemptOutcome): string | null {
    // 410 Gone: the receiver says it wants no more of these (Standard Webhooks' advice).
    if (outcome.statusCode === 410) return null;
    const base = this.#retryDelaysMs[previousAttempts];
    if (base === undefined) return null;
    const jittered = base * (1 - this.#jitter + 2 * this.#jitter * this.#random());
    const delay = Math.max(jittered, Math.min(outcome.retryAfterMs ?? 0, maxRetryAfterMs));
    return new Date(this.#clock.now() + delay).toISOString();
  }

  #schedule(ms: number): void {
    this.#timer = this.#timers.setTimeout(() => {
      this.#timer = undefined;
      this.#round = this.#runRound().finally(() => {
        this.#round = undefined;
        if (!this.#running) return;
        const again = this.#wakeRequested;
        this.#wakeRequested = false;
        this.#schedule(again ? 0 : this.#pollIntervalMs);
      });
    }, ms);
  }

  async #runRound(): Promise<void> {
    try {
      // A full batch suggests more are due: keep going before sleeping.
      while (this.#running && (await this.deliverDue()) >= this.#batchSize) {}
    } catch (error) {
      this.#logger.error({ err: error }, 'webhook dispatcher round failed');
    }
  }

  /** New work: run a round now instead of at the next poll. */
  #wake(): void {
    if (!this.#running) return;
    if (this.#round !== undefined) {
      this.#wakeRequested = true;
      return;
    }
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    this.#schedule(0);
  }

  #nowIso(): string {
    return new Date(this.#clock.now()).toISOString();
  }
}

/** A `Retry-After` header (seconds or an HTTP date) as milliseconds from `now`. */
function retryAfterMs(value: string | null, now: number): number | null {
  if (value === null) return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

/**
 * What a failed attempt records, for the API to show: `refused` (the address policy forbids the
 * host's address), `timeout` or `connection failed`, never the resolver's or the socket's own
 * words, which would tell a caller which internal names exist and which ports answer.
 */
function describeFetchError(error: unknown): string {
  if (AddressRefusedError.find(error)) return 'refused';
  if (error instanceof Error && error.name === 'TimeoutError') return 'timeout';
  return 'connection failed';
}
