/**
 * A text with its line endings taken out: edits work on `view` (LF only), and `restore` puts
 * every untouched line's own ending back, so a CRLF file stays CRLF and a file with mixed endings
 * changes only where it was edited.
 */
export interface LineEndingText {
  /** The text with every CRLF turned into LF. */
  view: string;
  /** The original ending of each LF in `view`, in order. */
  endings: ('\n' | '\r\n')[];
  /** The ending most lines use; new lines get it. */
  dominant: '\n' | '\r\n';
}

/** A replacement of `view.slice(start, end)` by `text` (LF line endings). */
export interface ViewReplacement {
  start: number;
  end: number;
  text: string;
}

export function splitLineEndings(text: string): LineEndingText {
  const endings = Array.from(text.matchAll(/\r?\n/g), (m) => m[0] as '\n' | '\r\n');
  const crlf = endings.filter((e) => e === '\r\n').length;
  return {
    view: crlf ? text.replace(/\r\n/g, '\n') : text,
    endings,
    dominant: crlf > endings.length - crlf ? '\r\n' : '\n',
  };
}

/**
 * Applies non-overlapping replacements (sorted by `start`) to `doc.view` and gives back the text
 * with its original line endings: each LF of untouched text gets its own ending back, each LF of
 * replacement text gets the dominant one.
 */
export function applyReplacements(doc: LineEndingText, replacements: ViewReplacement[]): string {
  const parts: string[] = [];
  let next = 0;
  const original = (s: string) => {
    const lines = s.split('\n');
    parts.push(lines[0] as string);
    for (let k = 1; k < lines.length; k++) {
      parts.push(doc.endings[next++] ?? doc.dominant, lines[k] as string);
    }
  };
  let pos = 0;
  for (const r of replacements) {
    original(doc.view.slice(pos, r.start));
    next += countLineFeeds(doc.view.slice(r.start, r.end));
    parts.push(doc.dominant === '\n' ? r.text : r.text.replace(/\n/g, '\r\n'));
    pos = r.end;
  }
  original(doc.view.slice(pos));
  return parts.join('');
}

export function countLineFeeds(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\n'); i !== -1; i = s.indexOf('\n', i + 1)) n++;
  return n;
}
