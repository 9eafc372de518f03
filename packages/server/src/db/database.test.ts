import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { createStore } from '../store/store.ts';
import { openDatabase } from './database.ts';

it('keeps the SQLite database and its WAL readable by their owner only, an older database too', async () => {
  const dataDir = mkdtempSync('/var/tmp/rt-db-mode-');
  try {
    // As an older server left it: world-readable.
    writeFileSync(join(dataDir, 'runtools.db'), '', { mode: 0o644 });
    await using database = await openDatabase({ kind: 'sqlite', dataDir });
    await createStore(database).runs.create({ deploymentId: 'dep_1', input: 'private input' });
    for (const f of ['runtools.db', 'runtools.db-wal', 'runtools.db-shm']) {
      assert.equal(statSync(join(dataDir, f)).mode & 0o777, 0o600, f);
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
