import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { useSandbox } from '../testing/sandbox-fixture.ts';
import { editFileTool } from './edit-file.ts';

describe('edit_file tool', () => {
  const f = useSandbox('edit');
  let n = 0;

  /** Writes `content` to a fresh file and returns its path. */
  const file = async (content: string, ext = 'txt') => {
    const path = `/root/edit/f${++n}.${ext}`;
    await f.sandbox.files.write(path, content);
    return path;
  };
  const content = (path: string) => f.sandbox.files.readText(path);

  it('replaces text that occurs exactly once and shows the edited lines', async () => {
    const path = await file('a\nb\nc\nd\ne\nf\ng\nh\n');
    const r = await f.call(editFileTool, { path, old_string: 'e\nf', new_string: 'E\nF\nF2' });
    assert.equal(r.isError, undefined);
    assert.equal(await content(path), 'a\nb\nc\nd\nE\nF\nF2\ng\nh\n');
    assert.equal(
      r.output,
      `Edited ${path}: replaced the text at lines 5-6.\n\n` +
        '     2\tb\n     3\tc\n     4\td\n     5\tE\n     6\tF\n     7\tF2\n     8\tg\n     9\th',
    );
    assert.equal(r.metadata?.method, 'exact');
    assert.deepEqual(r.metadata?.editedLines, [{ start: 5, end: 7 }]);
  });

  it('refuses text that occurs several times and says where', async () => {
    const path = await file('x = 1\ny = 2\nx = 1\nx = 1\n');
    const r = await f.call(editFileTool, { path, old_string: 'x = 1', new_string: 'x = 2' });
    assert.equal(r.isError, true);
    assert.match(
      r.output,
      /old_string occurs 3 times in .* \(at lines 1, 3, 4\)\. Include more surrounding lines/,
    );
    assert.match(r.output, /replace_all: true/);
    assert.equal(await content(path), 'x = 1\ny = 2\nx = 1\nx = 1\n');
  });

  it('replaces every occurrence with replace_all', async () => {
    const path = await file('let foo = 1;\nfoo += foo;\n');
    const r = await f.call(editFileTool, {
      path,
      old_string: 'foo',
      new_string: 'count',
      replace_all: true,
    });
    assert.equal(await content(path), 'let count = 1;\ncount += count;\n');
    assert.equal(r.metadata?.replacements, 3);
    assert.match(r.output, /replaced 3 occurrences \(at lines 1, 2\)/);
  });

  it('deletes text when new_string is empty', async () => {
    const path = await file('keep\ndrop me\nkeep too\n');
    await f.call(editFileTool, { path, old_string: 'drop me\n', new_string: '' });
    assert.equal(await content(path), 'keep\nkeep too\n');
  });

  it('matches despite indentation drift and re-indents new_string to the file', async () => {
    const path = await file(
      [
        'class Cart:',
        '    def total(self):',
        '        s = 0',
        '        for item in self.items:',
        '            s += item.price',
        '        return s',
        '',
      ].join('\n'),
      'py',
    );
    const r = await f.call(editFileTool, {
      path,
      old_string: 'for item in self.items:\n    s += item.price\nreturn s',
      new_string:
        'for item in self.items:\n    if item.active:\n        s += item.price\nreturn round(s, 2)',
    });
    assert.equal(r.isError, undefined, r.output);
    assert.equal(
      await content(path),
      [
        'class Cart:',
        '    def total(self):',
        '        s = 0',
        '        for item in self.items:',
        '            if item.active:',
        '                s += item.price',
        '        return round(s, 2)',
        '',
      ].join('\n'),
    );
    assert.equal(r.metadata?.method, 'whitespace');
    assert.deepEqual(r.metadata?.lines, [{ start: 4, end: 6 }]);
    assert.match(r.output, /matched fuzzily, ignoring whitespace and indentation, at lines 4-6/);
  });

  it('re-indents spaces to the tabs a file uses', async () => {
    const path = await file('func main() {\n\tif ok {\n\t\trun()\n\t}\n}\n', 'go');
    const r = await f.call(editFileTool, {
      path,
      old_string: 'if ok {\n    run()\n}',
      new_string: 'if ok {\n    run()\n    stop()\n}',
    });
    assert.equal(r.metadata?.method, 'whitespace', r.output);
    assert.equal(await content(path), 'func main() {\n\tif ok {\n\t\trun()\n\t\tstop()\n\t}\n}\n');
  });

  it('edits a CRLF file with an LF old_string and keeps its CRLF line endings', async () => {
    const path = await file('first\r\nsecond\r\nthird\r\n');
    const r = await f.call(editFileTool, {
      path,
      old_string: 'second\nthird',
      new_string: 'second\n2.5\nthird',
    });
    assert.equal(r.isError, undefined, r.output);
    assert.equal(await content(path), 'first\r\nsecond\r\n2.5\r\nthird\r\n');
    assert.equal(r.metadata?.lineEndings, 'crlf');
    assert.match(r.output, /keeps its CRLF line endings/);
  });

  it('keeps the other line endings of a file with mixed endings', async () => {
    const path = await file('a\r\nb\nc\r\nd\r\n');
    await f.call(editFileTool, { path, old_string: 'c', new_string: 'C1\nC2' });
    assert.equal(await content(path), 'a\r\nb\nC1\r\nC2\r\nd\r\n');
  });

  it('finds the place of a near miss (a typo in old_string) and says it matched fuzzily', async () => {
    const path = await file(
      [
        'function checkout(items, taxRate) {',
        '  const subtotal = sum(items);',
        '  const total = computeTotal(subtotal, taxRate);',
        '  return total;',
        '}',
        '',
      ].join('\n'),
      'js',
    );
    const r = await f.call(editFileTool, {
      path,
      old_string: '  const total = computTotal(subtotal, taxrate);\n  return total;',
      new_string: '  const total = computeTotal(subtotal, taxRate);\n  return Math.round(total);',
    });
    assert.equal(r.isError, undefined, r.output);
    assert.equal(r.metadata?.method, 'similarity');
    assert.deepEqual(r.metadata?.lines, [{ start: 3, end: 4 }]);
    assert.match(
      r.output,
      /matched fuzzily: the most similar text, 9\d% similar, was at lines 3-4/,
    );
    assert.match(await content(path), /\n {2}return Math\.round\(total\);\n\}\n$/);
  });

  it('finds a block by similarity even when old_string lacks one of its blank lines', async () => {
    const path = await file(
      'def a():\n    x = load()\n\n    return x.value\n\ndef b():\n    pass\n',
      'py',
    );
    const r = await f.call(editFileTool, {
      path,
      old_string: '    x = laod()\n    return x.value',
      new_string: '    return load().value',
    });
    assert.equal(r.metadata?.method, 'similarity', r.output);
    assert.deepEqual(r.metadata?.lines, [{ start: 2, end: 4 }]);
    assert.equal(await content(path), 'def a():\n    return load().value\n\ndef b():\n    pass\n');
  });

  it('keeps the file mode of an edited script', async () => {
    const path = await file('#!/bin/sh\necho hi\n', 'sh');
    await f.sh(`chmod 755 ${path}`);
    await f.call(editFileTool, { path, old_string: 'echo hi', new_string: 'echo bye' });
    assert.equal((await f.sandbox.files.stat(path)).mode, 0o755);
    assert.equal(await f.sh(path), 'bye\n');
  });

  it('refuses a fuzzy match that fits two places equally well, listing them', async () => {
    const block = (name: string) => `def ${name}(x):\n    value = compute(x)\n    return value\n`;
    const path = await file(`${block('first')}\n${block('second')}`, 'py');
    const before = await content(path);
    const r = await f.call(editFileTool, {
      path,
      old_string: '    valeu = compute(x)\n    return valeu',
      new_string: '    return compute(x)',
    });
    assert.equal(r.isError, true);
    assert.match(
      r.output,
      /matches 2 places by similarity about equally well, so nothing was changed/,
    );
    assert.match(r.output, /lines 2-3 \(\d+% similar\): value = compute\(x\)\n {2}lines 6-7/);
    assert.equal(await content(path), before);
  });

  it('refuses an indentation-insensitive match found in two places', async () => {
    const path = await file('if a:\n    go()\nif b:\n        go()\n');
    const r = await f.call(editFileTool, { path, old_string: '\tgo()', new_string: '\tstop()' });
    assert.equal(r.isError, true);
    assert.match(r.output, /ignoring whitespace and indentation about equally well/);
    assert.match(r.output, /lines 2-2: go\(\)\n {2}lines 4-4: go\(\)/);
  });

  it('explains text that is nowhere near, with the closest candidate', async () => {
    const path = await file('alpha\nbeta\ngamma\n');
    const r = await f.call(editFileTool, {
      path,
      old_string: 'something else entirely',
      new_string: 'x',
    });
    assert.equal(r.isError, true);
    assert.match(r.output, /old_string was not found in .*: not verbatim, not ignoring whitespace/);
    assert.match(r.output, /Read the file again/);
  });

  it('creates a file, with its parent directories, when old_string is empty', async () => {
    const path = '/root/edit/new/deep/module.ts';
    const r = await f.call(editFileTool, {
      path,
      old_string: '',
      new_string: 'export const x = 1;\n',
    });
    assert.equal(r.isError, undefined);
    assert.equal(r.output, `Created ${path} (1 lines).\n\n     1\texport const x = 1;`);
    assert.equal(await content(path), 'export const x = 1;\n');
  });

  it('refuses an empty old_string for a file that has content', async () => {
    const path = await file('content\n');
    const r = await f.call(editFileTool, { path, old_string: '', new_string: 'new' });
    assert.equal(r.isError, true);
    assert.match(r.output, /already exists and is not empty/);
    assert.equal(await content(path), 'content\n');
  });

  it('refuses an edit that changes nothing', async () => {
    const path = await file('same\n');
    const r = await f.call(editFileTool, { path, old_string: 'same', new_string: 'same' });
    assert.equal(r.isError, true);
    assert.match(r.output, /identical: there is nothing to change/);
  });

  it('reports a missing file with suggestions', async () => {
    const path = await file('x\n', 'json');
    const r = await f.call(editFileTool, {
      path: path.replace('.json', '.jsn'),
      old_string: 'x',
      new_string: 'y',
    });
    assert.equal(r.isError, true);
    assert.match(r.output, new RegExp(`File not found: .*Did you mean: ${path}\\?`));
  });
});
