import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { withFileLock } from './file-lock.ts';

describe('withFileLock', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rt-lock-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('runs one holder at a time and releases the lock when fn fails', async () => {
    const path = join(dir, 'sub', 'a.lock');
    const events: string[] = [];
    const hold = (name: string, fail = false) =>
      withFileLock(path, async () => {
        events.push(`${name} in`);
        await new Promise((r) => setTimeout(r, 50));
        events.push(`${name} out`);
        if (fail) throw new Error(`${name} failed`);
        return name;
      });
    const results = await Promise.allSettled([hold('a', true), hold('b'), hold('c')]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['rejected', 'fulfilled', 'fulfilled'],
    );
    // No holder entered before the previous one left.
    for (let i = 0; i < events.length; i += 2) {
      assert.equal(events[i]?.replace(' in', ''), events[i + 1]?.replace(' out', ''));
    }
    assert.equal(events.length, 6);
  });

  it('gives up with runtime_failed when the lock stays taken', async () => {
    const path = join(dir, 'b.lock');
    await withFileLock(path, async () => {
      await assert.rejects(
        withFileLock(path, async () => {}, { timeoutSeconds: 1 }),
        { code: 'runtime_failed' },
      );
    });
  });
});
