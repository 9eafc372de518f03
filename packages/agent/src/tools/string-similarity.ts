const HIGH_BIT = 1 << 31;

/**
 * Levenshtein distance from one pattern to many texts, with Myers' bit-parallel algorithm (in
 * Hyyrö's block form for patterns over 32 characters): a column of the edit-distance table per
 * text character in ⌈pattern length / 32⌉ word operations. Fuzzy edits compare each line of
 * `old_string` with thousands of file lines, so the pattern's tables are built once.
 */
export class EditDistance {
  readonly pattern: string;
  private readonly blocks: number;
  private readonly lastMask: number;
  private readonly peq = new Map<number, Int32Array>();
  private readonly none: Int32Array;
  private readonly pv: Int32Array;
  private readonly mv: Int32Array;

  constructor(pattern: string) {
    this.pattern = pattern;
    this.blocks = Math.max(1, Math.ceil(pattern.length / 32));
    this.lastMask = 1 << ((pattern.length - 1) & 31);
    this.none = new Int32Array(this.blocks);
    this.pv = new Int32Array(this.blocks);
    this.mv = new Int32Array(this.blocks);
    for (let i = 0; i < pattern.length; i++) {
      const c = pattern.charCodeAt(i);
      let eq = this.peq.get(c);
      if (!eq) {
        eq = new Int32Array(this.blocks);
        this.peq.set(c, eq);
      }
      eq[i >> 5] = (eq[i >> 5] as number) | (1 << (i & 31));
    }
  }

  /**
   * The distance to `text`; with `max`, `max + 1` as soon as the distance is known to exceed it,
   * so unlike texts cost little.
   */
  to(text: string, max = Number.POSITIVE_INFINITY): number {
    const m = this.pattern.length;
    const n = text.length;
    if (m === 0 || n === 0) return Math.max(m, n);
    if (Math.abs(m - n) > max) return max + 1;
    if (this.pattern === text) return 0;
    const { pv, mv, blocks } = this;
    pv.fill(-1);
    mv.fill(0);
    const last = blocks - 1;
    let score = m;
    for (let j = 0; j < n; j++) {
      const eqs = this.peq.get(text.charCodeAt(j)) ?? this.none;
      let hin = 1; // the top row of the table counts up: D[0][j] = j
      for (let b = 0; b < blocks; b++) {
        const p = pv[b] as number;
        const mo = mv[b] as number;
        let eq = eqs[b] as number;
        const xv = eq | mo;
        if (hin < 0) eq |= 1;
        const xh = (((eq & p) + p) ^ p) | eq;
        let ph = mo | ~(xh | p);
        let mh = p & xh;
        const mask = b === last ? this.lastMask : HIGH_BIT;
        const hout = (ph & mask ? 1 : 0) - (mh & mask ? 1 : 0);
        ph <<= 1;
        mh <<= 1;
        if (hin < 0) mh |= 1;
        else if (hin > 0) ph |= 1;
        pv[b] = mh | ~(xv | ph);
        mv[b] = ph & xv;
        hin = hout;
      }
      score += hin;
      // Each further column changes the last row by at most one.
      if (score - (n - j - 1) > max) return max + 1;
    }
    return score;
  }
}

/** Levenshtein edit distance between `a` and `b` (`max + 1` once it is known to exceed `max`). */
export function levenshtein(a: string, b: string, max = Number.POSITIVE_INFINITY): number {
  return new EditDistance(a.length <= b.length ? a : b).to(a.length <= b.length ? b : a, max);
}

/**
 * Similarity from 0 (nothing in common) to 1 (equal): 1 − distance / longer length. Returns 0
 * without the full computation when the result would be below `atLeast`.
 */
export function similarity(a: string, b: string, atLeast = 0): number {
  const longer = Math.max(a.length, b.length);
  if (longer === 0) return 1;
  const max = Math.floor((1 - atLeast) * longer);
  const d = levenshtein(a, b, max);
  return d > max ? 0 : 1 - d / longer;
}
