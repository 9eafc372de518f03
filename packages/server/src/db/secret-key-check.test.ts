import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Kysely } from 'kysely';
import { createStore } from '../store/store.ts';
import { findPostgresBin, type PostgresCluster, startPostgres } from '../testing/test-databases.ts';
import { type Database, openDatabase } from './database.ts';
import type { Schema } from './schema.ts';

const plainWebhookSecret = `whsec_${randomBytes(24).toString('base64')}`;
const plainModelKey = `sk-legacy-${randomBytes(16).toString('hex')}`;

/** Rows as a server before 0007 wrote them: secrets in plaintext, and no key recorded. */
async function writeLegacyRows(db: Kysely<Schema>): Promise<void> {
  const now = new Date().toISOString();
  await db
    .insertInto('runtimes')
    .values({
      id: 'rtm_legacy',
      slug: 'legacy',
      version: 1,
      definition: JSON.stringify({
        slug: 'legacy',
        model: { provider: 'openai', model: 'gpt-test', apiKey: plainModelKey },
        systemPrompt: 'x',
      }),
      created_at: now,
      updated_at: now,
    })
    .execute();
  await db
    .insertInto('webhooks')
    .values({
      id: 'whk_legacy',
      deployment_id: null,
      url: 'https://example.com/hook',
      events: '["run.completed"]',
      secret: plainWebhookSecret,
      created_at: now,
      run_id: null,
    })
    .execute();
  await db.deleteFrom('secret_key_check').execute();
}

async function assertDecrypted(database: Database): Promise<void> {
  const store = createStore(database);
  assert.equal((await store.webhooks.get('whk_legacy'))?.secret, plainWebhookSecret);
  const runtime = await store.runtimes.get('rtm_legacy');
  assert.equal(
    (runtime?.definition as { model?: { apiKey?: string } })?.model?.apiKey,
    plainModelKey,
  );
  const raw = await database.db.selectFrom('webhooks').select('secret').executeTakeFirstOrThrow();
  assert.match(raw.secret, /^enc:v1:/);
}

describe('the secret key check and the encryption of legacy secrets (sqlite)', () => {
  const dirs: string[] = [];
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
  const newDataDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'runtools-key-check-'));
    dirs.push(dir);
    return dir;
  };
  const fileBytes = (dataDir: string) => {
    const file = join(dataDir, 'runtools.db');
    return Buffer.concat(
      [file, `${file}-wal`, `${file}-shm`].filter(existsSync).map((f) => readFileSync(f)),
    );
  };

  it('encrypts plaintext secrets of an older server at the next open, leaving none in the file', async () => {
    const dataDir = newDataDir();
    {
      await using database = await openDatabase({ kind: 'sqlite', dataDir });
      await writeLegacyRows(database.db);
    }
    // The premise: an older server's database has them in clear.
    assert.ok(fileBytes(dataDir).includes(plainWebhookSecret));
    assert.ok(fileBytes(dataDir).includes(plainModelKey));
    {
      await using database = await openDatabase({ kind: 'sqlite', dataDir });
      assert.equal(database.sealed, 2);
      await assertDecrypted(database);
      for (const secret of [plainWebhookSecret, plainModelKey]) {
        assert.equal(fileBytes(dataDir).includes(secret), false, 'plaintext left in the file');
      }
    }
    await using again = await openDatabase({ kind: 'sqlite', dataDir });
    assert.equal(again.sealed, 0);
    await assertDecrypted(again);
  });

  it('stops at open with secret_key_mismatch when another key encrypted the secrets', async () => {
    const dataDir = newDataDir();
    const key = randomBytes(32).toString('base64');
    {
      await using database = await openDatabase({ kind: 'sqlite', dataDir, secretKey: key });
      await createStore(database).webhooks.create({
        url: 'https://example.com',
        events: ['run.completed'],
      });
    }
    await assert.rejects(
      openDatabase({ kind: 'sqlite', dataDir }),
      (error: Error & { code?: string }) => {
        assert.equal(error.code, 'secret_key_mismatch');
        assert.match(
          error.message,
          new RegExp(join(dataDir, 'secret.key').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')),
        );
        return true;
      },
    );
    // The database was closed again: the right key opens it.
    await using database = await openDatabase({ kind: 'sqlite', dataDir, secretKey: key });
    assert.equal((await createStore(database).webhooks.list()).items.length, 1);
  });
});

const postgresBin = findPostgresBin();

describe('the secret key on PostgreSQL shared by several servers', {
  skip: postgresBin === undefined ? 'PostgreSQL is not installed (bash scripts/setup.sh)' : false,
}, () => {
  let cluster: PostgresCluster;
  const opened: Database[] = [];
  const open = async (url: string, secretKey?: string) => {
    const database = await openDatabase({ kind: 'postgres', url, secretKey });
    opened.push(database);
    return database;
  };
  before(async () => {
    cluster = await startPostgres(postgresBin as string);
  });
  after(async () => {
    await Promise.all(opened.map((d) => d.close()));
    await cluster?.[Symbol.asyncDispose]();
  });

  it('refuses to open without a key rather than generate one per server', async () => {
    await assert.rejects(open(await cluster.createDatabase()), { code: 'secret_key_required' });
  });

  it('lets servers with one key share the database, and stops one with another key', async () => {
    const url = await cluster.createDatabase();
    const key = randomBytes(32).toString('base64');
    const first = await open(url, key);
    const webhook = await createStore(first).webhooks.create({
      url: 'https://example.com',
      events: ['run.completed'],
    });
    const second = await open(url, key);
    assert.equal((await createStore(second).webhooks.get(webhook.id))?.secret, webhook.secret);
    await assert.rejects(open(url, randomBytes(32).toString('hex')), {
      code: 'secret_key_mismatch',
      message: /from RUNTOOLS_SECRET_KEY/,
    });
  });

  it('encrypts legacy plaintext once when several servers open the database at the same time', async () => {
    const url = await cluster.createDatabase();
    const key = randomBytes(32).toString('base64');
    const first = await open(url, key);
    await writeLegacyRows(first.db);
    const others = await Promise.all([open(url, key), open(url, key), open(url, key)]);
    assert.equal(
      others.reduce((sum, d) => sum + d.sealed, 0),
      2,
    );
    for (const database of others) await assertDecrypted(database);
  });
});
