import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { devApiKey } from './dev-api-key.ts';

it('generates a project key once, private, and keeps it across restarts', () => {
  const root = mkdtempSync(join(tmpdir(), 'rt-dev-key-'));
  try {
    const first = devApiKey(root);
    assert.equal(first.created, true);
    assert.match(first.key, /^rt_dev_[\w-]{32}$/);
    const file = join(root, '.runtools', 'dev-api-key');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(devApiKey(root), { key: first.key, created: false });
    // A file too short to be a key (edited by hand, truncated) is replaced.
    writeFileSync(file, 'short\n');
    const again = devApiKey(root);
    assert.equal(again.created, true);
    assert.notEqual(again.key, first.key);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
