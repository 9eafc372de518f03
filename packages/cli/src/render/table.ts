import { stripVTControlCharacters } from 'node:util';
import { type OutputStream, terminalStyle } from './terminal-style.ts';

/** The width a cell takes on screen: its colours take none. */
const visible = (text: string) => stripVTControlCharacters(text).length;

/**
 * An aligned table with a header row, as `runtools runs list` prints it; the last column is not
 * padded. Cells may be coloured: widths count what shows on screen.
 */
export function formatTable(
  header: readonly string[],
  rows: ReadonlyArray<readonly string[]>,
  out: OutputStream,
): string {
  const style = terminalStyle(out);
  const widths = header.map((title, col) =>
    Math.max(title.length, ...rows.map((row) => visible(row[col] ?? ''))),
  );
  const line = (cells: readonly string[], paint: (text: string) => string) =>
    cells
      .map((cell, col) =>
        col === cells.length - 1
          ? paint(cell)
          : paint(cell) + ' '.repeat(Math.max(0, (widths[col] ?? 0) - visible(cell))),
      )
      .join('  ')
      .trimEnd();
  return [line(header, style.bold), ...rows.map((row) => line(row, (text) => text))]
    .map((text) => `${text}\n`)
    .join('');
}

/** Aligned `key  value` lines, as `runtools runs get` prints a run. */
export function formatFields(
  fields: ReadonlyArray<readonly [string, string]>,
  out: OutputStream,
): string {
  const style = terminalStyle(out);
  const width = Math.max(...fields.map(([key]) => key.length));
  return fields
    .map(
      ([key, value]) =>
        `${style.dim(key.padEnd(width))}  ${value.replaceAll('\n', `\n${' '.repeat(width + 2)}`)}\n`,
    )
    .join('');
}

/** An ISO time as `2026-11-25 11:36:50Z`, or `-`. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '-';
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}
