import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { useSandbox } from '../testing/sandbox-fixture.ts';
import { readFileTool } from './read-file.ts';

describe('read_file tool', () => {
  const f = useSandbox('read');

  before(async () => {
    await f.sh(
      [
        'mkdir -p /root/proj/src',
        'cd /root/proj',
        'printf "alpha\\nbeta\\ngamma\\n" > small.txt',
        'seq 1 3000 | sed "s/^/row /" > long.txt',
        'printf "one\\r\\ntwo\\r\\n" > crlf.txt',
        'python3 -c "print(\'a\' * 2500)" > wide.txt',
        'printf "PNG\\0\\1\\2binary" > image.png',
        ': > empty.txt',
        'echo "{}" > config.json',
        'printf "no newline at end" > partial.txt',
      ].join(' && '),
    );
  });

  it('numbers lines like cat -n', async () => {
    const r = await f.call(readFileTool, { path: '/root/proj/small.txt' });
    assert.equal(r.isError, undefined);
    assert.equal(r.output, '     1\talpha\n     2\tbeta\n     3\tgamma');
    assert.deepEqual(r.metadata, {
      path: '/root/proj/small.txt',
      size: 17,
      fromLine: 1,
      toLine: 3,
      totalLines: 3,
    });
  });

  it('reads a range of lines and says how to read on', async () => {
    const r = await f.call(readFileTool, { path: '/root/proj/long.txt', offset: 10, limit: 3 });
    assert.equal(
      r.output,
      '    10\trow 10\n    11\trow 11\n    12\trow 12\n\n[Showing lines 10-12 of 3000. Use offset=13 to read on.]',
    );
  });

  it('reads at most 2000 lines by default', async () => {
    const r = await f.call(readFileTool, { path: '/root/proj/long.txt' });
    const lines = r.output.split('\n');
    assert.equal(lines[1999], '  2000\trow 2000');
    assert.match(r.output, /\[Showing lines 1-2000 of 3000\. Use offset=2001 to read on\.\]$/);
  });

  it('shows the last lines of a file without "read on" advice', async () => {
    const r = await f.call(readFileTool, { path: '/root/proj/long.txt', offset: 2999 });
    assert.equal(
      r.output,
      '  2999\trow 2999\n  3000\trow 3000\n\n[Showing lines 2999-3000 of 3000.]',
    );
  });

  it('refuses an offset past the end', async () => {
    const r = await f.call(readFileTool, { path: '/root/proj/small.txt', offset: 9 });
    assert.equal(r.isError, true);
    assert.match(
      r.output,
      /offset 9 is past the end of \/root\/proj\/small.txt, which has 3 lines/,
    );
  });

  it('drops CR of CRLF lines and reads a last line without a newline', async () => {
    assert.equal(
      (await f.call(readFileTool, { path: '/root/proj/crlf.txt' })).output,
      '     1\tone\n     2\ttwo',
    );
    assert.equal(
      (await f.call(readFileTool, { path: '/root/proj/partial.txt' })).output,
      '     1\tno newline at end',
    );
  });

  it('cuts lines longer than 2000 characters', async () => {
    const r = await f.call(readFileTool, { path: '/root/proj/wide.txt' });
    assert.ok(r.output.startsWith(`     1\t${'a'.repeat(2000)}… [line cut: 2500 characters]`));
    assert.match(r.output, /1 long line\(s\) were cut at 2000 characters/);
  });

  it('resolves a relative path against the working directory bash left', async () => {
    const ctx = f.context({ state: { cwd: '/root/proj' } });
    const r = await f.call(readFileTool, { path: 'small.txt', limit: 1 }, ctx);
    assert.equal(r.output.split('\n')[0], '     1\talpha');
  });

  it('refuses a directory and suggests listing it', async () => {
    const r = await f.call(readFileTool, { path: '/root/proj/src' });
    assert.equal(r.isError, true);
    assert.match(
      r.output,
      /\/root\/proj\/src is a directory, not a file\. List it with bash \(`ls -la \/root\/proj\/src`\)/,
    );
  });

  it('reports a missing file with similar names from its directory', async () => {
    const r = await f.call(readFileTool, { path: '/root/proj/confg.json' });
    assert.equal(r.isError, true);
    assert.equal(
      r.output,
      'File not found: /root/proj/confg.json. Did you mean: /root/proj/config.json?',
    );
    const other = await f.call(readFileTool, { path: '/root/proj/small.md' });
    assert.match(other.output, /Did you mean: \/root\/proj\/small\.txt\?/);
    const none = await f.call(readFileTool, { path: '/nowhere/at/all.txt' });
    assert.equal(none.output, 'File not found: /nowhere/at/all.txt.');
  });

  it('says a binary file is binary, with its size, instead of dumping it', async () => {
    const r = await f.call(readFileTool, { path: '/root/proj/image.png' });
    assert.equal(r.isError, true);
    assert.match(r.output, /^\/root\/proj\/image\.png is a binary file \(12 bytes\)/);
    assert.equal(r.metadata?.binary, true);
  });

  it('says an empty file is empty', async () => {
    const r = await f.call(readFileTool, { path: '/root/proj/empty.txt' });
    assert.equal(r.isError, undefined);
    assert.equal(r.output, '/root/proj/empty.txt is empty (0 bytes).');
  });
});
