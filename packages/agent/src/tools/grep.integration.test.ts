import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { useSandbox } from '../testing/sandbox-fixture.ts';
import { grepTool } from './grep.ts';

describe('grep tool', () => {
  const f = useSandbox('grep');

  before(async () => {
    await f.sh(
      [
        'mkdir -p /root/proj/src/lib /root/proj/.config /root/proj/.git',
        'cd /root/proj',
        'printf "import x\\nfunction alpha() {}\\nconst a = 1\\nfunction beta() {}\\n" > src/app.ts',
        'printf "export function gamma() {}\\n" > src/lib/util.ts',
        'printf "# Functions\\nSee FUNCTION docs.\\n" > README.md',
        'printf "function hidden() {}\\n" > .config/setup.ts',
        'printf "function insideGit() {}\\n" > .git/config',
        'printf "start\\nmiddle\\nend\\n" > multi.txt',
        'for i in $(seq 1 30); do echo "match $i" >> many.log; done',
        'touch -d "2024-01-01" src/app.ts',
        'touch -d "2024-03-01" src/lib/util.ts',
        'touch -d "2024-02-01" .config/setup.ts',
      ].join(' && '),
    );
  });

  it('lists matching files, most recently modified first, by default', async () => {
    const r = await f.call(grepTool, { pattern: 'function \\w+\\(', path: '/root/proj' });
    assert.equal(r.isError, undefined);
    assert.equal(
      r.output,
      'Found 3 files\n/root/proj/src/lib/util.ts\n/root/proj/.config/setup.ts\n/root/proj/src/app.ts',
    );
    assert.equal(r.metadata?.files, 3);
  });

  it('shows matching lines as path:line:text in content mode', async () => {
    const r = await f.call(grepTool, {
      pattern: 'function',
      path: '/root/proj/src',
      output_mode: 'content',
    });
    assert.equal(
      r.output,
      [
        '/root/proj/src/app.ts:2:function alpha() {}',
        '/root/proj/src/app.ts:4:function beta() {}',
        '/root/proj/src/lib/util.ts:1:export function gamma() {}',
      ].join('\n'),
    );
  });

  it('shows context lines with -C', async () => {
    const r = await f.call(grepTool, {
      pattern: 'const',
      path: '/root/proj/src/app.ts',
      output_mode: 'content',
      context: 1,
    });
    assert.equal(
      r.output,
      '/root/proj/src/app.ts-2-function alpha() {}\n/root/proj/src/app.ts:3:const a = 1\n/root/proj/src/app.ts-4-function beta() {}',
    );
  });

  it('counts matching lines per file', async () => {
    const r = await f.call(grepTool, {
      pattern: 'function',
      path: '/root/proj/src',
      output_mode: 'count',
    });
    assert.equal(
      r.output,
      'Found 3 matching lines in 2 files\n/root/proj/src/app.ts:2\n/root/proj/src/lib/util.ts:1',
    );
    assert.equal(r.metadata?.matches, 3);
  });

  it('filters by glob (relative to the searched directory) and by type', async () => {
    const byGlob = await f.call(grepTool, {
      pattern: 'function',
      path: '/root/proj',
      glob: 'src/*.ts',
    });
    assert.equal(byGlob.output, 'Found 1 file\n/root/proj/src/app.ts');
    const byType = await f.call(grepTool, { pattern: 'unction', path: '/root/proj', type: 'md' });
    assert.equal(byType.output, 'Found 1 file\n/root/proj/README.md');
  });

  it('ignores case on request', async () => {
    const r = await f.call(grepTool, {
      pattern: 'FUNCTION',
      path: '/root/proj',
      case_insensitive: true,
      output_mode: 'count',
      glob: '*.md',
    });
    assert.equal(r.output, 'Found 2 matching lines in 1 file\n/root/proj/README.md:2');
  });

  it('searches across lines in multiline mode', async () => {
    const r = await f.call(grepTool, {
      pattern: 'start.middle',
      path: '/root/proj',
      multiline: true,
      output_mode: 'content',
    });
    assert.equal(r.output, '/root/proj/multi.txt:1:start\n/root/proj/multi.txt:2:middle');
    const single = await f.call(grepTool, { pattern: 'start.middle', path: '/root/proj' });
    assert.match(single.output, /^No matches/);
  });

  it('searches the working directory by default and resolves relative paths from it', async () => {
    const ctx = f.context({ state: { cwd: '/root/proj' } });
    const r = await f.call(grepTool, { pattern: 'gamma' }, ctx);
    assert.equal(r.output, 'Found 1 file\n/root/proj/src/lib/util.ts');
    const rel = await f.call(grepTool, { pattern: 'alpha', path: 'src' }, ctx);
    assert.equal(rel.output, 'Found 1 file\n/root/proj/src/app.ts');
  });

  it('cuts results at head_limit and says how many there were', async () => {
    const r = await f.call(grepTool, {
      pattern: 'match',
      path: '/root/proj/many.log',
      output_mode: 'content',
      head_limit: 5,
    });
    const lines = r.output.split('\n');
    assert.equal(lines[4], '/root/proj/many.log:5:match 5');
    assert.match(r.output, /\[Showing the first 5 of 30 lines\. Narrow the search/);
    assert.equal(r.metadata?.truncated, true);
  });

  it('says "No matches" without failing', async () => {
    const r = await f.call(grepTool, { pattern: 'nothing-like-this', path: '/root/proj' });
    assert.equal(r.isError, undefined);
    assert.equal(r.output, 'No matches for "nothing-like-this" in /root/proj.');
  });

  it('reports an invalid regex as a tool error', async () => {
    const r = await f.call(grepTool, { pattern: 'foo(', path: '/root/proj' });
    assert.equal(r.isError, true);
    assert.match(r.output, /^Invalid regular expression "foo\(".*\n.*regex parse error/s);
  });

  it('reports a path that does not exist', async () => {
    const r = await f.call(grepTool, { pattern: 'x', path: '/root/nope' });
    assert.equal(r.isError, true);
    assert.equal(r.output, 'No such file or directory: /root/nope');
  });

  it('passes patterns that look like options or shell syntax through unchanged', async () => {
    await f.sh(`printf -- '-v flag\\n$(rm -rf /) "quoted" \\x27x\\x27\\n' > /root/proj/odd.txt`);
    const dash = await f.call(grepTool, {
      pattern: '-v',
      path: '/root/proj/odd.txt',
      output_mode: 'content',
    });
    assert.equal(dash.output, '/root/proj/odd.txt:1:-v flag');
    const shell = await f.call(grepTool, {
      pattern: `\\$\\(rm -rf /\\) "quoted" 'x'`,
      path: '/root/proj/odd.txt',
      output_mode: 'count',
    });
    assert.equal(shell.output, 'Found 1 matching line in 1 file\n/root/proj/odd.txt:1');
  });
});
