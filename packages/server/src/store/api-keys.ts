import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { RunToolsError } from '@runtools/sdk';
import { type ApiScope, apiScopes } from '@runtools/sdk/api';
import type { Kysely, Selectable } from 'kysely';
import type { Database } from '../db/database.ts';
import type { ApiKeysTable, Schema } from '../db/schema.ts';
import { newId, nowIso } from './ids.ts';
import { type Page, type PageRequest, pageLimit, toPage } from './pagination.ts';

/** An API key as stored and listed: never its plaintext, only the visible prefix. */
export interface ApiKey {
  id: string;
  /** The first characters of the key (`rtk_` + 8), shown so a person can tell keys apart. */
  prefix: string;
  name: string;
  scopes: ApiScope[];
  /** The deployments (apiSlugs) the key is restricted to; null when it is not restricted. */
  deployments: string[] | null;
  createdAt: string;
  revokedAt: string | null;
}

const keyPrefix = 'rtk_';
const prefixLength = keyPrefix.length + 8;

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** API keys: shown once at creation, stored as SHA-256, verified in constant time, revocable. */
export class ApiKeyRepository {
  readonly #db: Kysely<Schema>;

  constructor(database: Database) {
    this.#db = database.db;
  }

  /** Creates a key. `key` is the plaintext: return it to the user now; it cannot be read again. */
  async create(input: {
    name: string;
    scopes: readonly ApiScope[];
    deployments?: readonly string[] | null | undefined;
  }): Promise<{ apiKey: ApiKey; key: string }> {
    const key = `${keyPrefix}${randomBytes(32).toString('base64url')}`;
    const row: Selectable<ApiKeysTable> = {
      id: newId('key'),
      prefix: key.slice(0, prefixLength),
      hash: sha256(key).toString('hex'),
      name: input.name,
      scopes: JSON.stringify(apiScopes.filter((s) => input.scopes.includes(s))),
      deployments: input.deployments ? JSON.stringify([...new Set(input.deployments)]) : null,
      created_at: nowIso(),
      revoked_at: null,
    };
    await this.#db.insertInto('api_keys').values(row).execute();
    return { apiKey: toApiKey(row), key };
  }

  /**
   * The key a presented plaintext belongs to, or undefined when it is unknown, wrong or revoked.
   * The row is found by its prefix; the hash is compared with `timingSafeEqual`.
   */
  async verify(presented: string): Promise<ApiKey | undefined> {
    if (!presented.startsWith(keyPrefix) || presented.length < prefixLength) return undefined;
    const row = await this.#db
      .selectFrom('api_keys')
      .selectAll()
      .where('prefix', '=', presented.slice(0, prefixLength))
      .executeTakeFirst();
    const expected = row === undefined ? Buffer.alloc(32) : Buffer.from(row.hash, 'hex');
    const matches = timingSafeEqual(sha256(presented), expected);
    if (row === undefined || !matches || row.revoked_at !== null) return undefined;
    return toApiKey(row);
  }

  async get(id: string): Promise<ApiKey | undefined> {
    const row = await this.#db
      .selectFrom('api_keys')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return row === undefined ? undefined : toApiKey(row);
  }

  async list(request: PageRequest = {}): Promise<Page<ApiKey>> {
    const limit = pageLimit(request);
    let query = this.#db
      .selectFrom('api_keys')
      .selectAll()
      .orderBy('id', 'desc')
      .limit(limit + 1);
    if (request.cursor !== undefined) query = query.where('id', '<', request.cursor);
    return toPage(await query.execute(), limit, toApiKey);
  }

  /** Renames a key. */
  async update(id: string, patch: { name: string }): Promise<ApiKey> {
    const row = await this.#db
      .updateTable('api_keys')
      .set({ name: patch.name })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
    if (row === undefined) throw notFound(id);
    return toApiKey(row);
  }

  /** Revokes a key (idempotent: revoking twice keeps the first time). */
  async revoke(id: string): Promise<ApiKey> {
    await this.#db
      .updateTable('api_keys')
      .set({ revoked_at: nowIso() })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .execute();
    const key = await this.get(id);
    if (key === undefined) throw notFound(id);
    return key;
  }

  /** Which of `ids` are revoked or gone (their open connections must end). */
  async revokedAmong(ids: readonly string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const live = await this.#db
      .selectFrom('api_keys')
      .select('id')
      .where('id', 'in', ids)
      .where('revoked_at', 'is', null)
      .execute();
    const alive = new Set(live.map((r) => r.id));
    return ids.filter((id) => !alive.has(id));
  }

  /** Deletes a key; false when there was none. */
  async delete(id: string): Promise<boolean> {
    const result = await this.#db.deleteFrom('api_keys').where('id', '=', id).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }
}

function notFound(id: string): RunToolsError {
  return new RunToolsError('api_key_not_found', `API key ${id} does not exist.`, {
    details: { apiKeyId: id },
  });
}

function toApiKey(row: Selectable<ApiKeysTable>): ApiKey {
  return {
    id: row.id,
    prefix: row.prefix,
    name: row.name,
    // An unknown scope in the row (a newer server wrote it) grants nothing here.
    scopes: (JSON.parse(row.scopes) as string[]).filter((s): s is ApiScope =>
      (apiScopes as readonly string[]).includes(s),
    ),
    deployments: row.deployments === null ? null : (JSON.parse(row.deployments) as string[]),
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
  };
}
