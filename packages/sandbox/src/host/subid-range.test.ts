import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { assertIdRangeReserved, parseSubids } from './subid-range.ts';

describe('the sandboxes’ host id range', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rt-subid-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const files = (uid: string, gid = '') => {
    writeFileSync(join(dir, 'subuid'), uid);
    writeFileSync(join(dir, 'subgid'), gid);
    return { uid: join(dir, 'subuid'), gid: join(dir, 'subgid') };
  };
  const range = { hostId: 100_000, size: 65_536 };

  it('parses owner:start:count lines and skips the rest', () => {
    assert.deepEqual(parseSubids('# c\nalice:100000:65536\nbad line\n1000:200000:10\n'), [
      { owner: 'alice', start: 100_000, count: 65_536, line: 2 },
      { owner: '1000', start: 200_000, count: 10, line: 4 },
    ]);
  });

  it('accepts a range reserved for runtools, ranges beside it, and no files at all', async () => {
    await assertIdRangeReserved(range, files('runtools:100000:65536\nalice:165536:65536\n'));
    await assertIdRangeReserved(range, files('bob:34464:65536\n', 'runtools:100000:65536\n'));
    await assertIdRangeReserved(range, { uid: join(dir, 'none'), gid: join(dir, 'none2') });
  });

  it('refuses a range another user owns part of, naming the user and the fix', async () => {
    await assert.rejects(assertIdRangeReserved(range, files('alice:165535:10\n')), (err: Error) => {
      assert.equal((err as { code?: string }).code, 'id_range_conflict');
      assert.match(err.message, /"alice"/);
      assert.match(err.message, /subuid \(line 1\)/);
      assert.match(err.message, /scripts\/setup\.sh/);
      return true;
    });
    await assert.rejects(assertIdRangeReserved(range, files('', 'x:0:100001\n')), {
      code: 'id_range_conflict',
    });
  });
});
