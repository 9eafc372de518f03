import { generateWebhookSecret, RunToolsError } from '@runtools/sdk';
import type { WebhookEventType } from '@runtools/sdk/api';
import type { Kysely, Selectable } from 'kysely';
import { isForeignKeyViolation } from '../db/constraint-errors.ts';
import type { Database } from '../db/database.ts';
import type { Schema, WebhooksTable } from '../db/schema.ts';
import type { SecretBox } from '../secrets/secret-box.ts';
import { openWebhookSecret, sealWebhookSecret } from '../secrets/webhook-secret.ts';
import { newId, nowIso } from './ids.ts';
import { type Page, type PageRequest, pageLimit, toPage } from './pagination.ts';

/** A webhook subscription, for one deployment or (deploymentId null) for all of them. */
export interface Webhook {
  id: string;
  deploymentId: string | null;
  url: string;
  /** Event types delivered, e.g. `run.completed`. */
  events: WebhookEventType[];
  /**
   * Standard Webhooks signing secret: `whsec_` + base64 of 24 random bytes. Stored encrypted
   * (SecretBox); the API shows it only in the response that created the webhook.
   */
  secret: string;
  createdAt: string;
  /** Set for a webhook given with one run (`POST /v1/run/{slug}`): only that run's events. */
  runId: string | null;
}

export interface WebhookInput {
  url: string;
  events: WebhookEventType[];
  deploymentId?: string | null;
  /** Only this run's events (the run may be created just after). */
  runId?: string;
  /** A secret the caller chose (`whsec_…`); generated when omitted. */
  secret?: string;
}

export class WebhookRepository {
  readonly #db: Kysely<Schema>;
  readonly #box: SecretBox;

  constructor(database: Database) {
    this.#db = database.db;
    this.#box = database.secrets;
  }

  async create(input: WebhookInput): Promise<Webhook> {
    const id = newId('whk');
    const secret = input.secret ?? generateWebhookSecret();
    const row: Selectable<WebhooksTable> = {
      id,
      deployment_id: input.deploymentId ?? null,
      url: input.url,
      events: JSON.stringify(input.events),
      secret: sealWebhookSecret(secret, this.#box, id),
      created_at: nowIso(),
      run_id: input.runId ?? null,
    };
    try {
      await this.#db.insertInto('webhooks').values(row).execute();
    } catch (error) {
      if (!isForeignKeyViolation(error)) throw error;
      throw new RunToolsError(
        'deployment_not_found',
        `Deployment ${input.deploymentId} does not exist.`,
        { cause: error, details: { deploymentId: input.deploymentId } },
      );
    }
    return this.#toWebhook(row);
  }

  async get(id: string): Promise<Webhook | undefined> {
    const row = await this.#db
      .selectFrom('webhooks')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return row === undefined ? undefined : this.#toWebhook(row);
  }

  /**
   * Webhooks newest first; with `deploymentId`, that deployment's own ones (not the global ones).
   * The webhooks given with single runs are listed only with `runId` (there is one per such run).
   */
  async list(
    request: PageRequest & { deploymentId?: string; runId?: string } = {},
  ): Promise<Page<Webhook>> {
    const limit = pageLimit(request);
    let query = this.#db
      .selectFrom('webhooks')
      .selectAll()
      .orderBy('id', 'desc')
      .limit(limit + 1);
    if (request.deploymentId !== undefined) {
      query = query.where('deployment_id', '=', request.deploymentId);
    }
    query =
      request.runId === undefined
        ? query.where('run_id', 'is', null)
        : query.where('run_id', '=', request.runId);
    if (request.cursor !== undefined) query = query.where('id', '<', request.cursor);
    return toPage(await query.execute(), limit, (row) => this.#toWebhook(row));
  }

  /**
   * Every webhook that should receive `eventType` for run `runId` of `deploymentId`: the
   * deployment's, the global ones and the run's own.
   */
  async subscribers(
    deploymentId: string,
    eventType: WebhookEventType,
    runId?: string,
  ): Promise<Webhook[]> {
    const rows = await this.#db
      .selectFrom('webhooks')
      .selectAll()
      .where((eb) => {
        const standing = eb.and([
          eb('run_id', 'is', null),
          eb.or([eb('deployment_id', 'is', null), eb('deployment_id', '=', deploymentId)]),
        ]);
        return runId === undefined ? standing : eb.or([standing, eb('run_id', '=', runId)]);
      })
      .orderBy('id')
      .execute();
    return rows.map((row) => this.#toWebhook(row)).filter((w) => w.events.includes(eventType));
  }

  async update(id: string, patch: { url?: string; events?: WebhookEventType[] }): Promise<Webhook> {
    const row = await this.#db
      .updateTable('webhooks')
      .set({
        ...(patch.url !== undefined ? { url: patch.url } : {}),
        ...(patch.events !== undefined ? { events: JSON.stringify(patch.events) } : {}),
      })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
    if (row === undefined) {
      throw new RunToolsError('webhook_not_found', `Webhook ${id} does not exist.`, {
        details: { webhookId: id },
      });
    }
    return this.#toWebhook(row);
  }

  /** Deletes a webhook and its delivery history; false when there was none. */
  async delete(id: string): Promise<boolean> {
    const result = await this.#db.deleteFrom('webhooks').where('id', '=', id).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  #toWebhook(row: Selectable<WebhooksTable>): Webhook {
    return {
      id: row.id,
      deploymentId: row.deployment_id,
      url: row.url,
      events: JSON.parse(row.events) as WebhookEventType[],
      secret: openWebhookSecret(row.secret, this.#box, row.id),
      createdAt: row.created_at,
      runId: row.run_id,
    };
  }
}
