import type { Kysely } from 'kysely';
import type { Database } from '../db/database.ts';
import type { Schema } from '../db/schema.ts';
import { nowIso } from './ids.ts';

/** An account connected to an integration (its tokens are in the secret store). */
export interface IntegrationConnection {
  integration: string;
  account: string;
  connectedAt: string;
}

/** Which account each integration is connected to by OAuth consent, if any. */
export class IntegrationConnectionRepository {
  readonly #db: Kysely<Schema>;

  constructor(database: Database) {
    this.#db = database.db;
  }

  /** Records (or replaces) the account `integration` is connected to. */
  async set(integration: string, account: string): Promise<IntegrationConnection> {
    const row = { integration, account, connected_at: nowIso() };
    await this.#db
      .insertInto('integration_connections')
      .values(row)
      .onConflict((oc) =>
        oc.column('integration').doUpdateSet({ account, connected_at: row.connected_at }),
      )
      .execute();
    return { integration, account, connectedAt: row.connected_at };
  }

  async list(): Promise<IntegrationConnection[]> {
    const rows = await this.#db.selectFrom('integration_connections').selectAll().execute();
    return rows.map((r) => ({
      integration: r.integration,
      account: r.account,
      connectedAt: r.connected_at,
    }));
  }
}
