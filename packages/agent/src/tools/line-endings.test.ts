import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyReplacements, splitLineEndings } from './line-endings.ts';

describe('line endings', () => {
  it('finds the dominant ending', () => {
    assert.equal(splitLineEndings('a\r\nb\r\nc\n').dominant, '\r\n');
    assert.equal(splitLineEndings('a\nb\r\n').dominant, '\n');
    assert.equal(splitLineEndings('no newline').dominant, '\n');
  });

  it('restores each untouched line’s ending and gives new lines the dominant one', () => {
    const doc = splitLineEndings('one\r\ntwo\nthree\r\nfour\r\n');
    assert.equal(doc.view, 'one\ntwo\nthree\nfour\n');
    const start = doc.view.indexOf('three');
    const out = applyReplacements(doc, [
      { start, end: start + 'three\nfour'.length, text: '3\n3.5\n4' },
    ]);
    assert.equal(out, 'one\r\ntwo\n3\r\n3.5\r\n4\r\n');
  });

  it('applies several replacements in order', () => {
    const doc = splitLineEndings('x\r\ny\r\nx\r\n');
    const out = applyReplacements(doc, [
      { start: 0, end: 1, text: 'X' },
      { start: 4, end: 5, text: 'X\nX' },
    ]);
    assert.equal(out, 'X\r\ny\r\nX\r\nX\r\n');
  });
});
