import { EditDistance } from './string-similarity.ts';

/** How close a block of lines must be to `old_string` to be taken as the place meant. */
export const SIMILARITY_THRESHOLD = 0.85;
/**
 * A candidate within this much of the best similarity makes a fuzzy match ambiguous, unless it
 * needs at least twice as many edits as the best (then the best is the clear choice).
 */
export const AMBIGUITY_MARGIN = 0.05;
/** Blocks below this similarity are not even mentioned as the closest text. */
const HINT_THRESHOLD = 0.6;

/** A block of file lines: `start` inclusive, `end` exclusive, 0-based. */
export interface LineBlock {
  start: number;
  end: number;
  /** 1 for a whitespace-insensitive match; the similarity for a similarity match. */
  score: number;
}

export type FuzzyMethod = 'whitespace' | 'similarity';

export type FuzzyResult =
  | { kind: 'match'; method: FuzzyMethod; blocks: LineBlock[] }
  | { kind: 'ambiguous'; method: FuzzyMethod; blocks: LineBlock[] }
  | { kind: 'none'; closest?: LineBlock };

/** A line compared without its indentation, trailing spaces, CR, or runs of inner whitespace. */
export function normalizeLine(line: string): string {
  return line.trim().replace(/\s+/g, ' ');
}

/**
 * Finds where `oldLines` was meant to be in `fileLines` when it is not there verbatim: first as
 * the same lines ignoring whitespace and indentation, then as the block of as many non-blank
 * lines most similar to it (normalised Levenshtein distance over the normalised lines, at least
 * `SIMILARITY_THRESHOLD`). Several whitespace matches are all returned with `replaceAll`, and
 * ambiguous otherwise; similarity matches close to the best (see `AMBIGUITY_MARGIN`) are
 * ambiguous, and similarity matches are not used with `replaceAll` at all.
 */
export function findFuzzy(
  fileLines: string[],
  oldLines: string[],
  options: { replaceAll?: boolean; threshold?: number } = {},
): FuzzyResult {
  const n = oldLines.length;
  if (n === 0 || n > fileLines.length) return { kind: 'none' };
  const file = fileLines.map(normalizeLine);
  const old = oldLines.map(normalizeLine);

  const exact: LineBlock[] = [];
  for (let i = 0; i + n <= file.length; i++) {
    let k = 0;
    while (k < n && file[i + k] === old[k]) k++;
    if (k === n) {
      exact.push({ start: i, end: i + n, score: 1 });
      i += n - 1; // matches do not overlap
    }
  }
  if (exact.length === 1 || (exact.length > 1 && options.replaceAll)) {
    return { kind: 'match', method: 'whitespace', blocks: exact };
  }
  if (exact.length > 1) return { kind: 'ambiguous', method: 'whitespace', blocks: exact };

  const threshold = options.threshold ?? SIMILARITY_THRESHOLD;
  const scored = similarBlocks(file, old, Math.min(threshold, HINT_THRESHOLD));
  const picked: LineBlock[] = [];
  for (const b of scored.sort((x, y) => y.score - x.score || x.start - y.start)) {
    if (picked.every((p) => b.end <= p.start || b.start >= p.end)) picked.push(b);
  }
  const best = picked[0];
  if (!best || best.score < threshold || options.replaceAll) {
    return best ? { kind: 'none', closest: best } : { kind: 'none' };
  }
  const close = picked.filter(
    (b) =>
      b.score >= threshold &&
      b.score >= best.score - AMBIGUITY_MARGIN &&
      1 - b.score < 2 * (1 - best.score),
  );
  if (close.length > 1) {
    return {
      kind: 'ambiguous',
      method: 'similarity',
      blocks: close.sort((a, b) => a.start - b.start),
    };
  }
  return { kind: 'match', method: 'similarity', blocks: [best] };
}

/**
 * Every block of as many non-blank lines as `old` has whose similarity to `old` is at least
 * `atLeast`. Lines are compared pairwise in order (blank lines left out on both sides, so a
 * missing or extra blank line does not shift the rest): the similarity is one minus the summed
 * edit distances over the summed lengths. A block is dropped as soon as its distance exceeds
 * what `atLeast` allows, so each pair of lines is compared at most once and unlike ones cheaply.
 */
function similarBlocks(file: string[], old: string[], atLeast: number): LineBlock[] {
  const want = old.filter((l) => l !== '').map((l) => new EditDistance(l));
  const at: number[] = [];
  file.forEach((l, i) => {
    if (l !== '') at.push(i);
  });
  const n = want.length;
  const out: LineBlock[] = [];
  if (n === 0) return out;
  for (let p = 0; p + n <= at.length; p++) {
    let total = 0;
    let bound = 0;
    for (let k = 0; k < n; k++) {
      const a = (want[k] as EditDistance).pattern.length;
      const b = (file[at[p + k] as number] as string).length;
      total += Math.max(a, b);
      bound += Math.abs(a - b);
    }
    const budget = Math.floor((1 - atLeast) * total);
    if (bound > budget) continue;
    let distance = 0;
    for (let k = 0; k < n && distance <= budget; k++) {
      const line = file[at[p + k] as number] as string;
      distance += (want[k] as EditDistance).to(line, budget - distance);
    }
    if (distance <= budget) {
      const start = at[p] as number;
      out.push({ start, end: (at[p + n - 1] as number) + 1, score: 1 - distance / total });
    }
  }
  return out;
}

/**
 * Rewrites `newLines` for the place `oldLines` was matched at (`fileBlock`): lines the model
 * kept from `oldLines` become the file's own lines again, and the others are moved from the
 * model's indentation to the file's (base indent, tabs or spaces, indent width), keeping their
 * indentation relative to each other.
 */
export function adaptIndentation(
  oldLines: string[],
  newLines: string[],
  fileBlock: string[],
): string[] {
  const kept = new Map<string, string | null>();
  const fileText = fileBlock.filter((l) => l.trim());
  oldLines
    .filter((l) => l.trim())
    .forEach((line, k) => {
      const actual = fileText[k];
      if (actual === undefined) return;
      const seen = kept.get(line);
      kept.set(line, seen === undefined || seen === actual ? actual : null);
    });
  const oldBase = baseIndent(oldLines);
  const fileBase = baseIndent(fileBlock);
  const fileTabs = fileBase.includes('\t') || (!fileBase && usesTabs(fileBlock));
  const oldTabs = oldBase.includes('\t') || (!oldBase && usesTabs(oldLines));
  const fileUnit = indentUnit(fileBlock) ?? (fileTabs ? TAB_WIDTH : undefined);
  const oldUnit = indentUnit(oldLines) ?? (oldTabs ? TAB_WIDTH : undefined);
  const unitOld = oldUnit ?? fileUnit ?? TAB_WIDTH;
  const unitFile = fileUnit ?? unitOld;
  return newLines.map((line) => {
    if (!line.trim()) return line.trim();
    const own = kept.get(line);
    if (own) return own;
    const lead = leadingWhitespace(line);
    const body = line.slice(lead.length);
    if (lead.startsWith(oldBase) && fileTabs === oldTabs && unitFile === unitOld) {
      return fileBase + lead.slice(oldBase.length) + body;
    }
    const levels = (width(lead) - width(oldBase)) / unitOld;
    const target = Math.max(0, Math.round(width(fileBase) + levels * unitFile));
    const indent = fileTabs
      ? '\t'.repeat(Math.floor(target / TAB_WIDTH)) + ' '.repeat(target % TAB_WIDTH)
      : ' '.repeat(target);
    return indent + body;
  });
}

const TAB_WIDTH = 4;

function leadingWhitespace(line: string): string {
  return /^[ \t]*/.exec(line)?.[0] ?? '';
}

function width(ws: string): number {
  let w = 0;
  for (const c of ws) w += c === '\t' ? TAB_WIDTH : 1;
  return w;
}

function baseIndent(lines: string[]): string {
  const first = lines.find((l) => l.trim());
  return first === undefined ? '' : leadingWhitespace(first);
}

function usesTabs(lines: string[]): boolean {
  return lines.some((l) => l.startsWith('\t'));
}

/** The smallest step between indentation widths of the lines, if they have different ones. */
function indentUnit(lines: string[]): number | undefined {
  const widths = lines.filter((l) => l.trim()).map((l) => width(leadingWhitespace(l)));
  let unit: number | undefined;
  for (const a of widths) {
    for (const b of widths) {
      const d = Math.abs(a - b);
      if (d > 0 && (unit === undefined || d < unit)) unit = d;
    }
  }
  return unit;
}
