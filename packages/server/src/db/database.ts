import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { RunToolsError } from '@runtools/sdk';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { migrateToLatest } from './migrations.ts';
import { nodeSqliteDatabase } from './node-sqlite-adapter.ts';
import type { Schema } from './schema.ts';

export type DatabaseConfig =
  /** Embedded default: one SQLite file, `runtools.db`, in `dataDir` (created if missing). */
  | { kind: 'sqlite'; dataDir: string }
  /** Production: a PostgreSQL connection string (`DATABASE_URL`). */
  | { kind: 'postgres'; url: string; maxConnections?: number };

export type Dialect = 'sqlite' | 'postgres';

/** An open, migrated database. Dispose of it (or call `close()`) to release its connections. */
export interface Database extends AsyncDisposable {
  readonly db: Kysely<Schema>;
  readonly dialect: Dialect;
  /** Names of the migrations this open applied (empty when the schema was already current). */
  readonly applied: readonly string[];
  close(): Promise<void>;
}

/**
 * Opens the database the configuration names and brings its schema up to date.
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
  try {
    applied = await migrateToLatest(db as Kysely<unknown>);
  } catch (error) {
    await destroy();
    throw error;
  }
  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= destroy();
    return closed;
  };
  return { db, dialect: config.kind, applied, close, [Symbol.asyncDispose]: close };
}

/**
 * SQLite files open in this process. A second connection to one file in the same process can
 * deadlock: node:sqlite waits for a lock synchronously (busy_timeout), blocking the event loop
 * that would let the first connection's transaction commit. Other processes are fine.
 */
const openSqliteFiles = new Set<string>();

function openSqlite(dataDir: string): Kysely<Schema> {
  mkdirSync(dataDir, { recursive: true });
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
