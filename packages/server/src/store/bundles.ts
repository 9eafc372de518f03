import { createHash } from 'node:crypto';
import { RunToolsError } from '@runtools/sdk';
import type { Kysely } from 'kysely';
import { isUniqueViolation } from '../db/constraint-errors.ts';
import type { Database } from '../db/database.ts';
import type { Schema } from '../db/schema.ts';
import { nowIso } from './ids.ts';

/** A stored code bundle, without its bytes. */
export interface BundleInfo {
  sha256: string;
  size: number;
  createdAt: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Code bundles (the custom tools' code of runtimes), by the SHA-256 of their bytes. Content
 * addressed: a bundle is stored once, never changed, and storing the same bytes again is a no-op.
 */
export class BundleRepository {
  readonly #db: Kysely<Schema>;

  constructor(database: Database) {
    this.#db = database.db;
  }

  /**
   * Stores `bytes` under `sha256` after checking that it is their hash (`bundle_hash_mismatch`)
   * and that they are JavaScript text: UTF-8 without NUL (`invalid_input`).
   */
  async put(sha256: string, bytes: Uint8Array): Promise<BundleInfo> {
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (actual !== sha256) {
      throw new RunToolsError(
        'bundle_hash_mismatch',
        `The body's SHA-256 is ${actual}, not ${sha256}: upload a bundle under its own hash.`,
        { details: { sha256, actual } },
      );
    }
    let code: string;
    try {
      code = utf8.decode(bytes);
    } catch {
      code = '\0';
    }
    if (code.includes('\0')) {
      throw new RunToolsError(
        'invalid_input',
        'A bundle is an ES module: UTF-8 text without NUL characters.',
      );
    }
    const existing = await this.get(sha256);
    if (existing) return existing;
    const row = { sha256, size: bytes.byteLength, code, created_at: nowIso() };
    try {
      await this.#db.insertInto('bundles').values(row).execute();
    } catch (error) {
      // Another server stored the same bytes meanwhile.
      if (!isUniqueViolation(error)) throw error;
      return (await this.get(sha256)) as BundleInfo;
    }
    return { sha256, size: row.size, createdAt: row.created_at };
  }

  /** A bundle's size and creation time, without its bytes. */
  async get(sha256: string): Promise<BundleInfo | undefined> {
    const row = await this.#db
      .selectFrom('bundles')
      .select(['sha256', 'size', 'created_at'])
      .where('sha256', '=', sha256)
      .executeTakeFirst();
    return row && { sha256: row.sha256, size: Number(row.size), createdAt: row.created_at };
  }

  /** A bundle's bytes. */
  async read(sha256: string): Promise<Uint8Array | undefined> {
    const row = await this.#db
      .selectFrom('bundles')
      .select('code')
      .where('sha256', '=', sha256)
      .executeTakeFirst();
    return row && new TextEncoder().encode(row.code);
  }

  /** The bundle's bytes; `bundle_not_found` when there is none by that hash. */
  async require(sha256: string): Promise<Uint8Array> {
    const bytes = await this.read(sha256);
    if (bytes === undefined) throw bundleNotFound(sha256);
    return bytes;
  }
}

export function bundleNotFound(sha256: string): RunToolsError {
  return new RunToolsError(
    'bundle_not_found',
    `This server has no code bundle ${sha256}: upload it first (PUT /v1/bundles/${sha256}; runtools dev and runtools deploy do).`,
    { details: { sha256 } },
  );
}
