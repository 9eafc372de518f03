import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { adaptIndentation, findFuzzy } from './fuzzy-match.ts';
import { EditDistance } from './string-similarity.ts';

describe('findFuzzy', () => {
  const file = ['def f(x):', '    y = x + 1', '    return y', '', 'def g(x):', '    return x * 2'];

  it('matches lines ignoring indentation and inner whitespace', () => {
    const r = findFuzzy(file, ['y  =  x + 1', 'return y']);
    assert.deepEqual(r, {
      kind: 'match',
      method: 'whitespace',
      blocks: [{ start: 1, end: 3, score: 1 }],
    });
  });

  it('matches the most similar block above the threshold', () => {
    const r = findFuzzy(file, ['    y = x + 2', '    return y']);
    assert.equal(r.kind, 'match');
    assert.equal(r.kind === 'match' && r.method, 'similarity');
    assert.deepEqual(r.kind === 'match' && r.blocks.map((b) => [b.start, b.end]), [[1, 3]]);
  });

  it('gives only the closest block when nothing is similar enough', () => {
    const r = findFuzzy(file, ['    z = q - 9', '    yield z']);
    assert.equal(r.kind, 'none');
  });

  it('calls several equally good whitespace matches ambiguous unless replaceAll', () => {
    const lines = ['  a()', 'b()', '    a()'];
    assert.equal(findFuzzy(lines, ['\ta()']).kind, 'ambiguous');
    const all = findFuzzy(lines, ['\ta()'], { replaceAll: true });
    assert.deepEqual(all.kind === 'match' && all.blocks.map((b) => b.start), [0, 2]);
  });

  it('does not use similarity matches for replaceAll', () => {
    assert.equal(
      findFuzzy(file, ['    y = x + 2', '    return y'], { replaceAll: true }).kind,
      'none',
    );
  });

  it('compares each pair of lines at most once on a large file', (t) => {
    // The work is counted, not timed (a stopwatch depends on the machine): one edit distance per
    // (file line, old line) pair of a candidate block at most, so the cost grows with the file
    // times the edit, never with their square. Each comparison is itself bit-parallel.
    const big = Array.from(
      { length: 5000 },
      (_, i) => `    const value${i} = compute(${i}, "some text here");`,
    );
    const old = big.slice(2500, 2530).map((l) => l.replace('compute', 'computte'));
    const compared = t.mock.method(EditDistance.prototype, 'to');
    const r = findFuzzy(big, old);
    assert.deepEqual(r.kind === 'match' && r.blocks.map((b) => b.start), [2500]);
    const pairs = (big.length - old.length + 1) * old.length;
    assert.ok(compared.mock.callCount() <= pairs, `${compared.mock.callCount()} > ${pairs}`);
  });
});

describe('adaptIndentation', () => {
  it('moves new lines from the model’s indentation to the file’s, keeping relative indents', () => {
    const out = adaptIndentation(
      ['if a:', '    b()'],
      ['if a:', '    b()', '    c()', 'd()'],
      ['        if a:', '            b()'],
    );
    assert.deepEqual(out, ['        if a:', '            b()', '            c()', '        d()']);
  });

  it('converts space indentation to tabs', () => {
    const out = adaptIndentation(
      ['x {', '  y', '}'],
      ['x {', '  y', '  z', '}'],
      ['\tx {', '\t\ty', '\t}'],
    );
    assert.deepEqual(out, ['\tx {', '\t\ty', '\t\tz', '\t}']);
  });

  it('keeps the file’s own text for lines the model did not change', () => {
    const out = adaptIndentation(['a  =  1', 'b = 2'], ['a  =  1', 'b = 3'], ['a = 1', 'b = 2']);
    assert.deepEqual(out, ['a = 1', 'b = 3']);
  });
});
