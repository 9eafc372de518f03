import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { RunToolsError } from '@runtools/sdk';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import { SecretBox } from '../secrets/secret-box.ts';
import { loadSecretKey } from '../secrets/secret-key.ts';
import { migrateToLatest } from './migrations.ts';
import { nodeSqliteDatabase } from './node-sqlite-adapter.ts';
import type { Schema } from './schema.ts';
import { checkSecretKey } from './secret-key-check.ts';

export type DatabaseConfig =
  /** Embedded default: one SQLite file, `runtools.db`, in `dataDir` (created if missing). */
  (
    | { kind: 'sqlite'; dataDir: string }
    /**
     * Production: a PostgreSQL connection string (`DATABASE_URL`); `dataDir` is only where a
     * `secret.key` may be (never generated: servers sharing the database must share the key).
     */
    | { kind: 'postgres'; url: string; maxConnections?: number; dataDir?: string }
  ) & {
    /**
     * The key stored secrets are encrypted with (RUNTOOLS_SECRET_KEY: 32 bytes as base64 or hex).
     * Without it, `<dataDir>/secret.key`; with SQLite that file is generated on first use.
     */
    secretKey?: string | Uint8Array | undefined;
  };

export type Dialect = 'sqlite' | 'postgres';

/** An open, migrated database. Dispose of it (or call `close()`) to release its connections. */
export interface Database extends AsyncDisposable {
  readonly db: Kysely<Schema>;
  readonly dialect: Dialect;
  /** Names of the migrations this open applied (empty when the schema was already current). */
  readonly applied: readonly string[];
  /** Encrypts and decrypts the secrets the repositories store (see SecretBox). */
  readonly secrets: SecretBox;
  /** Where the secret key came from: RUNTOOLS_SECRET_KEY or the key file's path. */
  readonly secretKeySource: string;
  /** True when this open generated the key file (with SQLite, on first use). */
  readonly secretKeyGenerated: boolean;
  /** Plaintext secrets of older servers this open encrypted. */
  readonly sealed: number;
  close(): Promise<void>;
}

/**
 * Opens the database the configuration names, brings its schema up to date and checks that the
 * secret key is the one its secrets are encrypted with (`secret_key_mismatch` if not; see
 * `checkSecretKey`). With SQLite and no `secretKey`, the key is `<dataDir>/secret.key`,
 * generated on first use; with PostgreSQL a key (or that file) is required
 * (`secret_key_required`): every server sharing the database needs the same one.
 *
 * @example
 * await using database = await openDatabase({ kind: 'sqlite', dataDir: '.runtools' });
 * const store = createStore(database);
 */
export async function openDatabase(config: DatabaseConfig): Promise<Database> {
  const file = config.kind === 'sqlite' ? resolve(config.dataDir, 'runtools.db') : undefined;
  if (file !== undefined && openSqliteFiles.has(file)) {
    throw new RunToolsError(
      'database_in_use',
      `${file} is already open in this process; share that Database instead of opening another.`,
      { details: { file } },
    );
  }
  // Before the database opens: a malformed or missing key stops here, with nothing to undo.
  const secretKey = loadSecretKey({
    secretKey: config.secretKey,
    dataDir: config.dataDir,
    generate: config.kind === 'sqlite',
  });
  const secrets = new SecretBox(secretKey.key);
  const db = config.kind === 'sqlite' ? openSqlite(config.dataDir) : openPostgres(config);
  if (file !== undefined) openSqliteFiles.add(file);
  const destroy = async () => {
    try {
      await db.destroy();
    } finally {
      if (file !== undefined) openSqliteFiles.delete(file);
    }
  };
  let applied: string[];
  let sealed: number;
  try {
    applied = await migrateToLatest(db as Kysely<unknown>);
    sealed = await sealSecrets(db, config.kind, secrets, secretKey.source);
  } catch (error) {
    await destroy();
    throw error;
  }
  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= destroy();
    return closed;
  };
  return {
    db,
    dialect: config.kind,
    applied,
    secrets,
    secretKeySource: secretKey.source,
    secretKeyGenerated: secretKey.generated,
    sealed,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * `checkSecretKey`; with SQLite, the plaintext it replaces is also wiped from the file: freed
 * space is zeroed while it runs (`secure_delete`) and the WAL, which holds the new pages while the
 * file still holds the old ones, is checkpointed and truncated.
 */
async function sealSecrets(
  db: Kysely<Schema>,
  dialect: Dialect,
  box: SecretBox,
  source: string,
): Promise<number> {
  if (dialect !== 'sqlite') return checkSecretKey(db, box, source);
  await sql`PRAGMA secure_delete = ON`.execute(db);
  try {
    const sealed = await checkSecretKey(db, box, source);
    if (sealed > 0) await sql`PRAGMA wal_checkpoint(TRUNCATE)`.execute(db);
    return sealed;
  } finally {
    await sql`PRAGMA secure_delete = OFF`.execute(db);
  }
}

/**
 * SQLite files open in this process. A second connection to one file in the same process can
 * deadlock: node:sqlite waits for a lock synchronously (busy_timeout), blocking the event loop
 * that would let the first connection's transaction commit. Other processes are fine.
 */
const openSqliteFiles = new Set<string>();

function openSqlite(dataDir: string): Kysely<Schema> {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, 'runtools.db');
  // Root's alone: the database holds API key hashes, run inputs and outputs, webhook secrets.
  // SQLite gives its -wal and -shm files the database file's mode; older ones are fixed here.
  closeSync(openSync(file, 'a', 0o600));
  for (const f of [file, `${file}-wal`, `${file}-shm`]) {
    if (existsSync(f)) chmodSync(f, 0o600);
  }
  const sqlite = new DatabaseSync(file);
  // WAL lets readers (another process tailing events) run beside the one writer; busy_timeout
  // makes a second process wait for the write lock instead of failing at once.
  sqlite.exec(`
    PRAGMA journal_mode = WAL;
    PRAGMA synchronous = NORMAL;
    PRAGMA busy_timeout = 5000;
    PRAGMA foreign_keys = ON;
  `);
  return new Kysely<Schema>({
    dialect: new SqliteDialect({ database: nodeSqliteDatabase(sqlite) }),
  });
}

function openPostgres(config: { url: string; maxConnections?: number }): Kysely<Schema> {
  const pool = new pg.Pool({ connectionString: config.url, max: config.maxConnections ?? 10 });
  return new Kysely<Schema>({ dialect: new PostgresDialect({ pool }) });
}
