import type { RunEvent } from '@runtools/sdk';
import { type OutputStream, type TerminalStyle, terminalStyle } from './terminal-style.ts';

export interface EventRendererOptions {
  /** Where the run is drawn (stdout). */
  out: OutputStream;
  /** Lines of a tool result shown before it is cut (default 6). */
  maxResultLines?: number;
  /** Characters per line before it is cut (default: the terminal's width, else 120). */
  width?: number;
}

/** One event per line, exactly as the API sends it: what `--json` prints. */
export function eventJsonLine(event: RunEvent): string {
  return `${JSON.stringify(event)}\n`;
}

/**
 * Draws a run's events for a person, as they arrive: reasoning dimmed, answer text streamed,
 * each tool call on one line with a compact view of its input, tool results cut to a few lines
 * (errors in red), status changes as quiet lines, and a summary at the end.
 */
export class EventRenderer {
  readonly #out: OutputStream;
  readonly #style: TerminalStyle;
  readonly #maxResultLines: number;
  readonly #width: number;
  /** What the current line holds: a streamed delta leaves the cursor mid-line. */
  #open: 'text' | 'thinking' | undefined;
  /** Text streamed since the last tool call: the final answer, if it was streamed. */
  #answer = '';

  constructor(options: EventRendererOptions) {
    this.#out = options.out;
    this.#style = terminalStyle(options.out);
    this.#maxResultLines = options.maxResultLines ?? 6;
    this.#width = Math.max(40, options.width ?? options.out.columns ?? 120);
  }

  /** Draws one event. */
  render(event: RunEvent): void {
    const s = this.#style;
    switch (event.type) {
      case 'thinking':
        this.#stream('thinking', event.delta, s.dim);
        return;
      case 'text':
        this.#stream('text', event.delta, (t) => t);
        this.#answer += event.delta;
        return;
      case 'tool_call':
        this.#answer = '';
        this.#line(
          `${s.cyan('▸')} ${s.bold(event.name)} ${s.dim(truncate(compactInput(event.input), this.#width - event.name.length - 4))}`,
        );
        return;
      case 'tool_result':
        this.#toolResult(event);
        return;
      case 'tool_log':
        // A custom tool's ctx.log line, under its call.
        this.#line(`  ${s.dim('│')} ${s.dim(truncate(oneLine(event.message), this.#width - 4))}`);
        return;
      case 'approval_requested':
        this.#line(
          s.yellow(
            `  ⏸ ${event.tool} waits for approval (call ${event.callId}, until ${new Date(event.expiresAt).toLocaleString()})`,
          ),
        );
        return;
      case 'approval_resolved':
        this.#line(
          event.decision === 'approved'
            ? s.green(`  ✔ approved${event.reason ? `: ${event.reason}` : ''}`)
            : s.yellow(
                `  ✖ ${event.decision === 'expired' ? 'no answer in time: denied' : 'denied'}${event.reason ? `: ${event.reason}` : ''}`,
              ),
        );
        return;
      case 'step':
        return;
      case 'complete':
        // The answer was streamed as text deltas; print it only when it was not.
        if (event.text.trim() !== '' && event.text.trim() !== this.#answer.trim()) {
          this.#line(event.text.trimEnd());
        }
        this.#line(
          s.dim(
            `${event.steps} step${event.steps === 1 ? '' : 's'} · ${event.usage.totalTokens} tokens` +
              (event.stopReason === 'max_steps' ? ' · stopped at the step limit' : ''),
          ),
        );
        return;
      case 'error':
        this.#line(s.red(`error [${event.code}]: ${event.message}`));
        return;
      case 'status':
        this.#status(event.status, event.reason);
        return;
    }
  }

  /** Ends a line left open by streamed text. */
  finish(): void {
    this.#close();
  }

  #toolResult(event: Extract<RunEvent, { type: 'tool_result' }>): void {
    const s = this.#style;
    const paint = event.isError ? s.red : (text: string) => text;
    const lines = event.output.replace(/\s+$/, '').split('\n');
    const shown =
      lines.length > this.#maxResultLines ? lines.slice(0, this.#maxResultLines) : lines;
    const took = s.dim(`(${formatDuration(event.durationMs)})`);
    if (shown.length === 1 && shown[0] === '') {
      this.#line(
        `  ${s.dim('⎿')} ${event.isError ? s.red('error, no output') : s.dim('no output')} ${took}`,
      );
      return;
    }
    shown.forEach((line, index) => {
      const text = paint(truncate(line, this.#width - 4));
      this.#line(`  ${s.dim(index === 0 ? '⎿' : ' ')} ${text}${index === 0 ? ` ${took}` : ''}`);
    });
    if (lines.length > shown.length) {
      this.#line(`    ${s.dim(`… ${lines.length - shown.length} more lines`)}`);
    }
  }

  #status(status: string, reason: string | undefined): void {
    const s = this.#style;
    const why = reason ? ` (${reason})` : '';
    if (status === 'completed') this.#line(s.green(`✔ completed${why}`));
    else if (status === 'failed') this.#line(s.red(`✖ failed${why}`));
    else if (status === 'cancelled') this.#line(s.yellow(`■ cancelled${why}`));
    else this.#line(s.dim(`· ${status}${why}`));
  }

  #stream(kind: 'text' | 'thinking', delta: string, paint: (text: string) => string): void {
    if (delta === '') return;
    if (this.#open !== kind) {
      this.#close();
      // Marked in words too: without colours, dimmed reasoning would read like the answer.
      if (kind === 'thinking') this.#out.write(this.#style.dim('thinking: '));
    }
    this.#open = kind;
    // Style each line on its own so a newline never carries the style into the next line's prefix.
    this.#out.write(delta.split('\n').map(paint).join('\n'));
  }

  #line(text: string): void {
    this.#close();
    this.#out.write(`${text}\n`);
  }

  #close(): void {
    if (this.#open !== undefined) this.#out.write('\n');
    this.#open = undefined;
  }
}

/**
 * A tool input on one line: `command="ls -la"` for an object of short values, JSON otherwise;
 * newlines shown as `⏎` so one call stays one line.
 */
export function compactInput(input: unknown): string {
  if (input !== null && typeof input === 'object' && !Array.isArray(input)) {
    return Object.entries(input as Record<string, unknown>)
      .map(([key, value]) => `${key}=${oneLine(JSON.stringify(value) ?? 'undefined')}`)
      .join(' ');
  }
  return oneLine(JSON.stringify(input) ?? '');
}

function oneLine(text: string): string {
  return text.replaceAll('\\n', '⏎').replaceAll('\n', '⏎');
}

/** `text` cut to `max` characters, marked with `…` when cut. */
export function truncate(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, Math.max(1, max - 1)).join('')}…`;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  return `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`;
}

/** What `printEvents` saw: the last status, for the exit code. */
export interface PrintedRun {
  /** The last `status` event's status, if any. */
  status: string | undefined;
  events: number;
}

/**
 * Prints `events` as they arrive, drawn for a person or (with `json`) one JSON object per line,
 * and returns the last status seen.
 */
export async function printEvents(
  events: AsyncIterable<RunEvent> | Iterable<RunEvent>,
  options: {
    out: OutputStream;
    json: boolean;
    /** Called after each event is printed (and awaited: the next waits for it). */
    after?: (event: RunEvent) => Promise<void>;
  },
): Promise<PrintedRun> {
  const renderer = options.json ? undefined : new EventRenderer({ out: options.out });
  const printed: PrintedRun = { status: undefined, events: 0 };
  try {
    for await (const event of events) {
      printed.events += 1;
      if (event.type === 'status') printed.status = event.status;
      if (renderer) renderer.render(event);
      else options.out.write(eventJsonLine(event));
      await options.after?.(event);
    }
  } finally {
    renderer?.finish();
  }
  return printed;
}
