import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { useSandbox } from '../testing/sandbox-fixture.ts';
import { GLOB_MAX_RESULTS, globTool } from './glob.ts';

describe('glob tool', () => {
  const f = useSandbox('glob');

  before(async () => {
    await f.sh(
      [
        'mkdir -p /root/proj/src/lib /root/proj/.github /root/proj/many /root/proj/.git',
        'cd /root/proj',
        'touch -d "2024-01-01" src/old.ts',
        'touch -d "2024-06-01" src/lib/newest.ts',
        'touch -d "2024-03-01" top.ts',
        'touch -d "2024-02-01" .github/ci.ts',
        'touch .git/HEAD.ts README.md',
        'for i in $(seq 1 120); do touch many/f$i.txt; done',
      ].join(' && '),
    );
  });

  it('finds files matching a pattern, newest first, as absolute paths', async () => {
    const r = await f.call(globTool, { pattern: '**/*.ts', path: '/root/proj' });
    assert.equal(r.isError, undefined);
    assert.equal(
      r.output,
      [
        '/root/proj/src/lib/newest.ts',
        '/root/proj/top.ts',
        '/root/proj/.github/ci.ts',
        '/root/proj/src/old.ts',
      ].join('\n'),
    );
    assert.equal(r.metadata?.files, 4);
  });

  it('anchors a pattern with a slash to the searched directory', async () => {
    const r = await f.call(globTool, { pattern: 'src/*.ts', path: '/root/proj' });
    assert.equal(r.output, '/root/proj/src/old.ts');
  });

  it('searches from the working directory by default, and from an absolute pattern’s directories', async () => {
    const ctx = f.context({ state: { cwd: '/root/proj/src' } });
    const rel = await f.call(globTool, { pattern: '**/*.ts' }, ctx);
    assert.equal(rel.output, '/root/proj/src/lib/newest.ts\n/root/proj/src/old.ts');
    const abs = await f.call(globTool, { pattern: '/root/proj/src/lib/*.ts' }, ctx);
    assert.equal(abs.output, '/root/proj/src/lib/newest.ts');
  });

  it(`returns at most ${GLOB_MAX_RESULTS} files and says how many matched`, async () => {
    const r = await f.call(globTool, { pattern: 'many/*.txt', path: '/root/proj' });
    const lines = r.output.split('\n');
    assert.equal(lines.filter((l) => l.startsWith('/root/proj/many/')).length, GLOB_MAX_RESULTS);
    assert.match(r.output, /\[Showing the 100 most recently modified of 120 matching files/);
    assert.equal(r.metadata?.truncated, true);
  });

  it('says when nothing matches', async () => {
    const r = await f.call(globTool, { pattern: '**/*.rs', path: '/root/proj' });
    assert.equal(r.isError, undefined);
    assert.equal(r.output, 'No files match "**/*.rs" in /root/proj.');
  });

  it('refuses a path that is not a directory', async () => {
    const r = await f.call(globTool, { pattern: '*.ts', path: '/root/proj/top.ts' });
    assert.equal(r.isError, true);
    assert.match(r.output, /is not a directory/);
    const missing = await f.call(globTool, { pattern: '*.ts', path: '/root/none' });
    assert.equal(missing.output, 'No such file or directory: /root/none');
  });
});
