import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EditDistance, levenshtein, similarity } from './string-similarity.ts';

/** The textbook dynamic programme, as the reference. */
function reference(a: string, b: string): number {
  let prev = Array.from({ length: a.length + 1 }, (_, i) => i);
  for (let j = 1; j <= b.length; j++) {
    const curr = [j];
    for (let i = 1; i <= a.length; i++) {
      curr[i] = Math.min(
        (prev[i] as number) + 1,
        (curr[i - 1] as number) + 1,
        (prev[i - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    prev = curr;
  }
  return prev[a.length] as number;
}

describe('edit distance', () => {
  it('agrees with the textbook algorithm, for short and multi-word patterns', () => {
    let seed = 42;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const word = (len: number) =>
      Array.from({ length: len }, () => 'abcde \t{}é😀'[rand(11)]).join('');
    for (let t = 0; t < 400; t++) {
      const a = word(rand(100));
      const b = rand(2) ? word(rand(100)) : a.slice(rand(5)) + word(rand(4));
      assert.equal(
        new EditDistance(a).to(b),
        reference(a, b),
        `${JSON.stringify(a)} → ${JSON.stringify(b)}`,
      );
    }
  });

  it('gives up past max with max + 1', () => {
    assert.equal(levenshtein('kitten', 'sitting'), 3);
    assert.equal(levenshtein('kitten', 'sitting', 2), 3);
    assert.equal(levenshtein('a'.repeat(40), 'b'.repeat(40), 5), 6);
    assert.equal(levenshtein('', 'abc'), 3);
  });

  it('scores similarity from 0 to 1', () => {
    assert.equal(similarity('abc', 'abc'), 1);
    assert.equal(similarity('', ''), 1);
    assert.equal(similarity('abcd', 'abcx'), 0.75);
    assert.equal(similarity('abcd', 'wxyz', 0.5), 0);
  });
});
