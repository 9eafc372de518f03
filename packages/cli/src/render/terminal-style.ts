import type { Writable } from 'node:stream';
import { styleText } from 'node:util';

type Format = Parameters<typeof styleText>[0];

/** A stream the CLI writes to: stdout or stderr, or a stand-in in tests. */
export type OutputStream = Writable & { isTTY?: boolean; columns?: number };

/** Colour functions bound to one output stream. */
export interface TerminalStyle {
  dim(text: string): string;
  bold(text: string): string;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  cyan(text: string): string;
  /** Whether this stream gets colours at all. */
  readonly colors: boolean;
}

/**
 * Styles for text written to `stream`: `styleText` checks the stream itself, so a pipe, a file,
 * `NO_COLOR` or `TERM=dumb` get plain text and a terminal (or `FORCE_COLOR`) gets colours.
 */
export function terminalStyle(stream: OutputStream): TerminalStyle {
  const style = (format: Format) => (text: string) =>
    text === '' ? '' : styleText(format, text, { stream });
  const colors = styleText('red', 'x', { stream }) !== 'x';
  return {
    dim: style('dim'),
    bold: style('bold'),
    red: style('red'),
    green: style('green'),
    yellow: style('yellow'),
    cyan: style('cyan'),
    colors,
  };
}
