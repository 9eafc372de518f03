import { RunToolsError } from '@runtools/sdk';
import type { webhookDeliveryStatuses } from '@runtools/sdk/api';
import type { Kysely, Selectable } from 'kysely';
import type { Database } from '../db/database.ts';
import type { Schema, WebhookDeliveriesTable, WebhookDeliveryAttemptsTable } from '../db/schema.ts';
import { newId, nowIso } from './ids.ts';
import { type Page, type PageRequest, pageLimit, toPage } from './pagination.ts';

/** `pending` until an attempt succeeds or retries run out. */
export type DeliveryStatus = (typeof webhookDeliveryStatuses)[number];

/** One message to one webhook, delivered at least once; its attempts are kept. */
export interface WebhookDelivery {
  id: string;
  webhookId: string;
  runId: string | null;
  eventType: string;
  /** The JSON body sent, exactly as signed. */
  payload: string;
  status: DeliveryStatus;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  /** When the next attempt is due (null once succeeded or given up). */
  nextAttemptAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface DeliveryAttempt {
  attempt: number;
  statusCode: number | null;
  error: string | null;
  durationMs: number;
  ts: string;
}

export interface AttemptResult {
  /** The receiver's HTTP status, or null when no response came. */
  statusCode: number | null;
  error?: string | null;
  durationMs: number;
  /** When to try again after a failure; null gives up (status `failed`). Ignored on success. */
  nextAttemptAt: string | null;
}

export class WebhookDeliveryRepository {
  readonly #db: Kysely<Schema>;

  constructor(database: Database) {
    this.#db = database.db;
  }

  /** Queues a delivery, due `now` (default: the current time). */
  async create(
    input: {
      webhookId: string;
      runId?: string | null;
      eventType: string;
      payload: string;
    },
    now = nowIso(),
  ): Promise<WebhookDelivery> {
    const row: Selectable<WebhookDeliveriesTable> = {
      id: newId('whd'),
      webhook_id: input.webhookId,
      run_id: input.runId ?? null,
      event_type: input.eventType,
      payload: input.payload,
      status: 'pending',
      attempts: 0,
      last_status_code: null,
      last_error: null,
      next_attempt_at: now,
      created_at: now,
      updated_at: now,
    };
    await this.#db.insertInto('webhook_deliveries').values(row).execute();
    return toDelivery(row);
  }

  async get(id: string): Promise<WebhookDelivery | undefined> {
    const row = await this.#db
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return row === undefined ? undefined : toDelivery(row);
  }

  async list(request: PageRequest & { webhookId: string }): Promise<Page<WebhookDelivery>> {
    const limit = pageLimit(request);
    let query = this.#db
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('webhook_id', '=', request.webhookId)
      .orderBy('id', 'desc')
      .limit(limit + 1);
    if (request.cursor !== undefined) query = query.where('id', '<', request.cursor);
    return toPage(await query.execute(), limit, toDelivery);
  }

  /** Pending deliveries whose next attempt is due at `now`, oldest first. */
  async due(now = nowIso(), limit = 100): Promise<WebhookDelivery[]> {
    const rows = await this.#db
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('status', '=', 'pending')
      .where('next_attempt_at', '<=', now)
      .orderBy('next_attempt_at')
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map(toDelivery);
  }

  /**
   * Takes the due deliveries for one sender: each is moved to `leaseUntil` with a conditional
   * update, so of two senders (or two server processes) only one gets a given delivery. A sender
   * that dies mid-attempt leaves the delivery pending, and it is due again once the lease passes:
   * at-least-once, never lost.
   */
  async claimDue(now: string, leaseUntil: string, limit = 100): Promise<WebhookDelivery[]> {
    const claimed: WebhookDelivery[] = [];
    for (const delivery of await this.due(now, limit)) {
      const row = await this.#db
        .updateTable('webhook_deliveries')
        .set({ next_attempt_at: leaseUntil, updated_at: now })
        .where('id', '=', delivery.id)
        .where('status', '=', 'pending')
        .where('next_attempt_at', '=', delivery.nextAttemptAt)
        .returningAll()
        .executeTakeFirst();
      if (row !== undefined) claimed.push(toDelivery(row));
    }
    return claimed;
  }

  /** Records one attempt and moves the delivery on: succeeded (2xx), retry later, or failed. */
  async recordAttempt(id: string, result: AttemptResult, now = nowIso()): Promise<WebhookDelivery> {
    const ok = result.statusCode !== null && result.statusCode >= 200 && result.statusCode < 300;
    const status: DeliveryStatus = ok ? 'succeeded' : result.nextAttemptAt ? 'pending' : 'failed';
    return this.#db.transaction().execute(async (tx) => {
      const row = await tx
        .updateTable('webhook_deliveries')
        .set((eb) => ({
          attempts: eb('attempts', '+', 1),
          status,
          last_status_code: result.statusCode,
          last_error: result.error ?? null,
          next_attempt_at: ok ? null : result.nextAttemptAt,
          updated_at: now,
        }))
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirst();
      if (row === undefined) throw notFound(id);
      await tx
        .insertInto('webhook_delivery_attempts')
        .values({
          delivery_id: id,
          attempt: Number(row.attempts),
          status_code: result.statusCode,
          error: result.error ?? null,
          duration_ms: Math.round(result.durationMs),
          ts: now,
        })
        .execute();
      return toDelivery(row);
    });
  }

  async attempts(id: string): Promise<DeliveryAttempt[]> {
    const rows = await this.#db
      .selectFrom('webhook_delivery_attempts')
      .selectAll()
      .where('delivery_id', '=', id)
      .orderBy('attempt')
      .execute();
    return rows.map(toAttempt);
  }

  /** Manual redelivery: the delivery becomes pending and due `now`, whatever its status was. */
  async redeliver(id: string, now = nowIso()): Promise<WebhookDelivery> {
    const row = await this.#db
      .updateTable('webhook_deliveries')
      .set({ status: 'pending', next_attempt_at: now, updated_at: now })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
    if (row === undefined) throw notFound(id);
    return toDelivery(row);
  }
}

function notFound(id: string): RunToolsError {
  return new RunToolsError('webhook_delivery_not_found', `Webhook delivery ${id} does not exist.`, {
    details: { deliveryId: id },
  });
}

function toDelivery(row: Selectable<WebhookDeliveriesTable>): WebhookDelivery {
  return {
    id: row.id,
    webhookId: row.webhook_id,
    runId: row.run_id,
    eventType: row.event_type,
    payload: row.payload,
    status: row.status as DeliveryStatus,
    attempts: Number(row.attempts),
    lastStatusCode: row.last_status_code === null ? null : Number(row.last_status_code),
    lastError: row.last_error,
    nextAttemptAt: row.next_attempt_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toAttempt(row: Selectable<WebhookDeliveryAttemptsTable>): DeliveryAttempt {
  return {
    attempt: Number(row.attempt),
    statusCode: row.status_code === null ? null : Number(row.status_code),
    error: row.error,
    durationMs: Number(row.duration_ms),
    ts: row.ts,
  };
}
