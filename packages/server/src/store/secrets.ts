import { RunToolsError } from '@runtools/sdk';
import type { Kysely, Selectable } from 'kysely';
import type { Database } from '../db/database.ts';
import type { Schema, SecretsTable } from '../db/schema.ts';
import type { SecretBox } from '../secrets/secret-box.ts';
import { nowIso } from './ids.ts';

/** A stored secret without its value: what the API lists. */
export interface SecretInfo {
  name: string;
  /** The deployment whose own value this is; null for the server-wide one. */
  deploymentId: string | null;
  createdAt: string;
  updatedAt: string;
}

/**
 * The secret store: credentials the server's integrations read (`GITHUB_TOKEN`), server-wide or
 * a deployment's own, each value sealed with the server's key and bound to its name and scope
 * (a sealed value copied to another row does not decrypt). Values leave it only through
 * `resolve`, for a tool call; listing never reads them.
 */
export class SecretRepository {
  readonly #db: Kysely<Schema>;
  readonly #box: SecretBox;

  constructor(database: Database) {
    this.#db = database.db;
    this.#box = database.secrets;
  }

  /** Sets a secret's value (creating it, or replacing the value it had in that scope). */
  async set(name: string, value: string, deploymentId: string | null = null): Promise<SecretInfo> {
    const scope = deploymentId ?? '';
    const now = nowIso();
    const sealed = this.#box.seal(value, context(name, scope));
    await this.#db
      .insertInto('secrets')
      .values({ name, scope, value: sealed, created_at: now, updated_at: now })
      .onConflict((oc) =>
        oc.columns(['name', 'scope']).doUpdateSet({ value: sealed, updated_at: now }),
      )
      .execute();
    const row = await this.#row(name, scope);
    if (row === undefined) throw new RunToolsError('internal_error', 'The secret was not stored.');
    return toInfo(row);
  }

  /** Every secret (names and scopes), by name; with `deploymentId`, that deployment's own only. */
  async list(filter: { deploymentId?: string } = {}): Promise<SecretInfo[]> {
    let query = this.#db
      .selectFrom('secrets')
      .select(['name', 'scope', 'created_at', 'updated_at'])
      .orderBy('name')
      .orderBy('scope');
    if (filter.deploymentId !== undefined) query = query.where('scope', '=', filter.deploymentId);
    return (await query.execute()).map(toInfo);
  }

  /** Deletes a secret in one scope; false when there was none. */
  async delete(name: string, deploymentId: string | null = null): Promise<boolean> {
    const result = await this.#db
      .deleteFrom('secrets')
      .where('name', '=', name)
      .where('scope', '=', deploymentId ?? '')
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  /**
   * The value a run of `deploymentId` reads for `name`: the deployment's own, else the
   * server-wide one; undefined when neither is set.
   */
  async resolve(name: string, deploymentId: string | null): Promise<string | undefined> {
    const scopes = deploymentId === null ? [''] : [deploymentId, ''];
    const rows = await this.#db
      .selectFrom('secrets')
      .selectAll()
      .where('name', '=', name)
      .where('scope', 'in', scopes)
      .execute();
    const row = rows.find((r) => r.scope !== '') ?? rows[0];
    return row === undefined ? undefined : this.#box.open(row.value, context(row.name, row.scope));
  }

  /** Which of `names` have a server-wide value (for the tool catalog). */
  async configured(names: readonly string[]): Promise<Set<string>> {
    if (names.length === 0) return new Set();
    const rows = await this.#db
      .selectFrom('secrets')
      .select('name')
      .where('scope', '=', '')
      .where('name', 'in', [...names])
      .execute();
    return new Set(rows.map((r) => r.name));
  }

  async #row(name: string, scope: string): Promise<Selectable<SecretsTable> | undefined> {
    return this.#db
      .selectFrom('secrets')
      .selectAll()
      .where('name', '=', name)
      .where('scope', '=', scope)
      .executeTakeFirst();
  }
}

function context(name: string, scope: string): string {
  return `secrets.value:${scope}/${name}`;
}

function toInfo(
  row: Pick<Selectable<SecretsTable>, 'name' | 'scope' | 'created_at' | 'updated_at'>,
): SecretInfo {
  return {
    name: row.name,
    deploymentId: row.scope === '' ? null : row.scope,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
