import assert from 'node:assert/strict';
import { it } from 'node:test';
import { sql } from 'kysely';
import { openDatabase } from '../db/database.ts';
import { migrations } from '../db/migrations.ts';
import { describeEachDatabase } from '../testing/test-databases.ts';
import { createStore } from './store.ts';

describeEachDatabase('migrations', ({ dialect, open, openAgain }) => {
  it('applies every migration on a new database and none on the next open', async () => {
    const first = await open();
    assert.deepEqual(first.applied, Object.keys(migrations));
    const store = createStore(first);
    const run = await store.runs.create({ deploymentId: 'dep_1', input: 'kept' });
    if (dialect === 'postgres') {
      const again = await openAgain(first);
      assert.deepEqual(again.applied, []);
      assert.equal((await createStore(again).runs.require(run.id)).input, 'kept');
    } else {
      const dataDir = (
        await sql<{ file: string }>`select file from pragma_database_list`.execute(first.db)
      ).rows[0]?.file.replace(/\/runtools\.db$/, '');
      assert.ok(dataDir);
      await first.close();
      await using again = await openDatabase({ kind: 'sqlite', dataDir });
      assert.deepEqual(again.applied, []);
      assert.equal((await createStore(again).runs.require(run.id)).input, 'kept');
    }
  });

  if (dialect === 'sqlite') {
    it('opens SQLite in WAL mode and refuses a second connection in the same process', async () => {
      const database = await open();
      const mode = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(database.db);
      assert.equal(mode.rows[0]?.journal_mode, 'wal');
      const file = await sql<{ file: string }>`select file from pragma_database_list`.execute(
        database.db,
      );
      const dataDir = file.rows[0]?.file.replace(/\/runtools\.db$/, '') ?? '';
      await assert.rejects(openDatabase({ kind: 'sqlite', dataDir }), { code: 'database_in_use' });
    });
  } else {
    it('lets several servers migrate one PostgreSQL database at the same time', async () => {
      const first = await open();
      const others = await Promise.all([openAgain(first), openAgain(first), openAgain(first)]);
      for (const other of others) assert.deepEqual(other.applied, []);
    });
  }
});
