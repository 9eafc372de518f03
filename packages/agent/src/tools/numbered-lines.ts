/** Lines longer than this are cut when shown to the model (minified files, data blobs). */
export const MAX_LINE_CHARS = 2000;

/**
 * One line as `cat -n` shows it: the 1-based line number right-aligned in six columns, a tab,
 * the line. A line over `MAX_LINE_CHARS` is cut with a marker (`cut` says so).
 */
export function numberLine(lineNo: number, line: string): { text: string; cut: boolean } {
  const cut = line.length > MAX_LINE_CHARS;
  const shown = cut
    ? `${line.slice(0, MAX_LINE_CHARS)}… [line cut: ${line.length} characters]`
    : line;
  return { text: `${String(lineNo).padStart(6)}\t${shown}`, cut };
}

/** Several lines in `cat -n` style, the first numbered `firstLine`. */
export function numberLines(lines: string[], firstLine: number): string {
  return lines.map((line, i) => numberLine(firstLine + i, line).text).join('\n');
}
