import { createHash, randomBytes } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import type { Database } from '../db/database.ts';
import type { Schema, SessionsTable } from '../db/schema.ts';
import { newId, nowIso } from './ids.ts';

/** A browser session as stored: never its cookie value, only the value's SHA-256. */
export interface StoredSession {
  id: string;
  /** The key it stands for; null for the bootstrap key. */
  apiKeyId: string | null;
  csrfToken: string;
  createdAt: string;
  expiresAt: string;
}

/** How long a session lasts without signing in again. */
export const sessionLifetimeMs = 12 * 3600 * 1000;

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Dashboard sign-ins: a random cookie value per session, stored hashed, ended by sign-out. */
export class SessionRepository {
  readonly #db: Kysely<Schema>;

  constructor(database: Database) {
    this.#db = database.db;
  }

  /** Starts a session for `apiKeyId`; `token` is the cookie value (shown to nobody else). */
  async create(apiKeyId: string | null): Promise<{ session: StoredSession; token: string }> {
    const token = randomBytes(32).toString('base64url');
    const row: Selectable<SessionsTable> = {
      id: newId('ses'),
      token_hash: sha256(token),
      api_key_id: apiKeyId,
      csrf_token: randomBytes(24).toString('base64url'),
      created_at: nowIso(),
      expires_at: nowIso(sessionLifetimeMs),
    };
    await this.#db.insertInto('sessions').values(row).execute();
    return { session: toSession(row), token };
  }

  /** The unexpired session a cookie value belongs to. */
  async find(token: string): Promise<StoredSession | undefined> {
    const row = await this.#db
      .selectFrom('sessions')
      .selectAll()
      .where('token_hash', '=', sha256(token))
      .where('expires_at', '>', nowIso())
      .executeTakeFirst();
    return row === undefined ? undefined : toSession(row);
  }

  async delete(id: string): Promise<void> {
    await this.#db.deleteFrom('sessions').where('id', '=', id).execute();
  }

  /** Ends every session of a key (it was revoked) and sessions past their end. */
  async deleteForKey(apiKeyId: string): Promise<void> {
    await this.#db
      .deleteFrom('sessions')
      .where((eb) => eb.or([eb('api_key_id', '=', apiKeyId), eb('expires_at', '<=', nowIso())]))
      .execute();
  }
}

function toSession(row: Selectable<SessionsTable>): StoredSession {
  return {
    id: row.id,
    apiKeyId: row.api_key_id,
    csrfToken: row.csrf_token,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
  };
}
