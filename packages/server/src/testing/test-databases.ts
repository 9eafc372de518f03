import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { promisify } from 'node:util';
import pg from 'pg';
import { type Database, openDatabase } from '../db/database.ts';

const run = promisify(execFile);

/** A private PostgreSQL cluster in a temp dir, reachable only on a Unix socket in that dir. */
export interface PostgresCluster extends AsyncDisposable {
  /** Connection string of the cluster's `postgres` database. */
  readonly url: string;
  /** Creates an empty database and returns its connection string. */
  createDatabase(): Promise<string>;
}

/** The newest installed PostgreSQL's bin directory (Debian: /usr/lib/postgresql/VERSION/bin). */
export function findPostgresBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(root, versions[0], 'bin');
}

/**
 * Starts a throwaway cluster (`initdb` + `pg_ctl start`) as the `postgres` user when running as
 * root (initdb refuses root). Disposing of it stops that cluster, and only it, and removes the dir.
 */
export async function startPostgres(bin: string): Promise<PostgresCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'runtools-pg-'));
  const asPostgres = (cmd: string, args: string[]) =>
    process.getuid?.() === 0
      ? run('runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args])
      : run(join(bin, cmd), args);
  if (process.getuid?.() === 0) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    chownSync(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  const data = join(dir, 'data');
  const port = 5432;
  let started = false;
  const stop = async () => {
    if (started) {
      await asPostgres('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => {});
      started = false;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await asPostgres('initdb', [
      '-D',
      data,
      '-A',
      'trust',
      '-U',
      'postgres',
      '-E',
      'UTF8',
      '--no-sync',
    ]);
    await asPostgres('pg_ctl', [
      '-D',
      data,
      '-l',
      join(dir, 'postgres.log'),
      '-w',
      '-o',
      `-k ${dir} -p ${port} -c listen_addresses='' -c fsync=off -c max_connections=200`,
      'start',
    ]);
    started = true;
  } catch (error) {
    await stop();
    throw error;
  }
  const urlOf = (db: string) => `postgresql://postgres@${encodeURIComponent(dir)}:${port}/${db}`;
  let databases = 0;
  return {
    url: urlOf('postgres'),
    async createDatabase() {
      const name = `runtools_test_${++databases}`;
      const client = new pg.Client({ connectionString: urlOf('postgres') });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      return urlOf(name);
    },
    [Symbol.asyncDispose]: stop,
  };
}

/** The secret key of the PostgreSQL test databases (RUNTOOLS_SECRET_KEY's form: base64). */
export const testSecretKey = Buffer.alloc(32, 7).toString('base64');

export interface TestDatabases {
  readonly dialect: 'sqlite' | 'postgres';
  /** Opens a fresh, empty, migrated database; closed after the suite. */
  open(): Promise<Database>;
  /**
   * Another, independent pool on the same PostgreSQL database. On SQLite, where one process must
   * hold a single connection per file (see `openDatabase`), it returns the same database.
   */
  openAgain(database: Database): Promise<Database>;
}

/**
 * Defines the same suite once on SQLite (a file in a temp dir) and once on a private PostgreSQL
 * cluster, so every repository behaviour is pinned on both dialects.
 */
export function describeEachDatabase(title: string, suite: (dbs: TestDatabases) => void): void {
  for (const dialect of ['sqlite', 'postgres'] as const) {
    const bin = dialect === 'postgres' ? findPostgresBin() : undefined;
    const skip =
      dialect === 'postgres' && bin === undefined
        ? 'PostgreSQL is not installed (bash scripts/setup.sh)'
        : false;
    describe(`${title} (${dialect})`, { skip }, () => {
      const opened: Database[] = [];
      const configs = new Map<Database, Parameters<typeof openDatabase>[0]>();
      const dirs: string[] = [];
      let cluster: PostgresCluster | undefined;
      before(async () => {
        if (bin !== undefined) cluster = await startPostgres(bin);
      });
      after(async () => {
        await Promise.all(opened.map((d) => d.close()));
        await cluster?.[Symbol.asyncDispose]();
        for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
      });
      const openWith = async (config: Parameters<typeof openDatabase>[0]) => {
        const database = await openDatabase(config);
        opened.push(database);
        configs.set(database, config);
        return database;
      };
      suite({
        dialect,
        async open() {
          if (cluster !== undefined) {
            return openWith({
              kind: 'postgres',
              url: await cluster.createDatabase(),
              secretKey: testSecretKey,
            });
          }
          const dataDir = mkdtempSync(join(tmpdir(), 'runtools-sqlite-'));
          dirs.push(dataDir);
          return openWith({ kind: 'sqlite', dataDir });
        },
        async openAgain(database) {
          const config = configs.get(database);
          if (config === undefined) throw new Error('openAgain: not a database of this suite');
          return config.kind === 'sqlite' ? database : openWith(config);
        },
      });
    });
  }
}
