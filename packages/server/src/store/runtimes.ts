import { RunToolsError } from '@runtools/sdk';
import type { Kysely, Selectable } from 'kysely';
import { isForeignKeyViolation, isUniqueViolation } from '../db/constraint-errors.ts';
import type { Database } from '../db/database.ts';
import type { RuntimesTable, Schema } from '../db/schema.ts';
import { openDefinitionSecrets, sealDefinitionSecrets } from '../secrets/definition-secrets.ts';
import type { SecretBox } from '../secrets/secret-box.ts';
import { newId, nowIso } from './ids.ts';
import { type Page, type PageRequest, pageLimit, toPage } from './pagination.ts';

/**
 * An agent runtime: one version of an agent definition under a slug. Creating a runtime with a
 * slug that exists adds the next version; a deployment points at one version's id.
 */
export interface Runtime {
  id: string;
  slug: string;
  version: number;
  /**
   * The agent definition as JSON (validated by the API layer before it gets here), its secrets
   * in plaintext: the database holds them encrypted (`sealDefinitionSecrets`), the API masked.
   */
  definition: unknown;
  createdAt: string;
  updatedAt: string;
}

export class RuntimeRepository {
  readonly #db: Kysely<Schema>;
  readonly #box: SecretBox;

  constructor(database: Database) {
    this.#db = database.db;
    this.#box = database.secrets;
  }

  /** Stores `definition` as the next version of `slug` (version 1 for a new slug). */
  async create(input: { slug: string; definition: unknown }): Promise<Runtime> {
    // Two concurrent creates of one slug may pick the same version; the unique (slug, version)
    // constraint rejects the loser, which retries with the next number.
    for (let attempt = 0; ; attempt++) {
      const latest = await this.#db
        .selectFrom('runtimes')
        .select((eb) => eb.fn.max('version').as('version'))
        .where('slug', '=', input.slug)
        .executeTakeFirst();
      const now = nowIso();
      const id = newId('rtm');
      const row: Selectable<RuntimesTable> = {
        id,
        slug: input.slug,
        version: Number(latest?.version ?? 0) + 1,
        definition: JSON.stringify(sealDefinitionSecrets(input.definition, this.#box, id)),
        created_at: now,
        updated_at: now,
      };
      try {
        await this.#db.insertInto('runtimes').values(row).execute();
        return this.#toRuntime(row);
      } catch (error) {
        if (!isUniqueViolation(error) || attempt >= 5) throw error;
      }
    }
  }

  async get(id: string): Promise<Runtime | undefined> {
    const row = await this.#db
      .selectFrom('runtimes')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return row === undefined ? undefined : this.#toRuntime(row);
  }

  /** The runtimes of `ids` that exist, by id: one query for a page of deployments. */
  async getMany(ids: readonly string[]): Promise<Map<string, Runtime>> {
    const found = new Map<string, Runtime>();
    if (ids.length === 0) return found;
    const rows = await this.#db
      .selectFrom('runtimes')
      .selectAll()
      .where('id', 'in', [...new Set(ids)])
      .execute();
    for (const row of rows) found.set(row.id, this.#toRuntime(row));
    return found;
  }

  /** The newest version of a slug. */
  async getLatest(slug: string): Promise<Runtime | undefined> {
    const row = await this.#db
      .selectFrom('runtimes')
      .selectAll()
      .where('slug', '=', slug)
      .orderBy('version', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row === undefined ? undefined : this.#toRuntime(row);
  }

  /** All runtimes (every version), newest first; or the versions of one slug. */
  async list(request: PageRequest & { slug?: string } = {}): Promise<Page<Runtime>> {
    const limit = pageLimit(request);
    let query = this.#db
      .selectFrom('runtimes')
      .selectAll()
      .orderBy('id', 'desc')
      .limit(limit + 1);
    if (request.slug !== undefined) query = query.where('slug', '=', request.slug);
    if (request.cursor !== undefined) query = query.where('id', '<', request.cursor);
    return toPage(await query.execute(), limit, (row) => this.#toRuntime(row));
  }

  /** Replaces one version's definition in place. */
  async update(id: string, patch: { definition: unknown }): Promise<Runtime> {
    const row = await this.#db
      .updateTable('runtimes')
      .set({
        definition: JSON.stringify(sealDefinitionSecrets(patch.definition, this.#box, id)),
        updated_at: nowIso(),
      })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
    if (row === undefined) throw notFound(id);
    return this.#toRuntime(row);
  }

  /** Deletes a version; `runtime_in_use` while a deployment points at it. False when missing. */
  async delete(id: string): Promise<boolean> {
    try {
      const result = await this.#db.deleteFrom('runtimes').where('id', '=', id).executeTakeFirst();
      return result.numDeletedRows > 0n;
    } catch (error) {
      if (!isForeignKeyViolation(error)) throw error;
      throw new RunToolsError(
        'runtime_in_use',
        `Runtime ${id} is used by a deployment; delete or repoint the deployment first.`,
        { cause: error, details: { runtimeId: id } },
      );
    }
  }

  #toRuntime(row: Selectable<RuntimesTable>): Runtime {
    return {
      id: row.id,
      slug: row.slug,
      version: Number(row.version),
      definition: openDefinitionSecrets(JSON.parse(row.definition), this.#box, row.id),
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    };
  }
}

function notFound(id: string): RunToolsError {
  return new RunToolsError('runtime_not_found', `Runtime ${id} does not exist.`, {
    details: { runtimeId: id },
  });
}
