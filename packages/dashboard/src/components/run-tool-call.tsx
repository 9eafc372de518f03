import { memo, useId, useState } from 'react';
import type { RunBlock } from './run-event-log.ts';
import { formatDuration } from './run-format.ts';

type ToolBlock = Extract<RunBlock, { kind: 'tool' }>;

/** Output longer than this is folded to its first lines, with a button to show it all. */
const foldLines = 12;
const foldChars = 2000;

/** A tool's input as a person reads it: bash's command as is, anything else as JSON. */
function inputText(name: string, input: unknown): string {
  if (input === undefined) return '';
  const command = (input as { command?: unknown } | null)?.command;
  if (name === 'bash' && typeof command === 'string') return command;
  return JSON.stringify(input, null, 2);
}

function Folded({ text, label }: { text: string; label: string }) {
  const [open, setOpen] = useState(false);
  const id = useId();
  const lines = text.split('\n');
  const long = lines.length > foldLines || text.length > foldChars;
  const shown = !long || open ? text : lines.slice(0, foldLines).join('\n').slice(0, foldChars);
  return (
    <div>
      <p className="mb-1 text-xs font-medium text-zinc-600 dark:text-zinc-400">{label}</p>
      <pre
        id={id}
        className="max-h-[32rem] overflow-auto whitespace-pre-wrap break-words rounded bg-zinc-100 p-2 font-mono text-xs dark:bg-zinc-900"
      >
        {shown}
        {long && !open ? '\n…' : null}
      </pre>
      {long ? (
        <button
          type="button"
          aria-expanded={open}
          aria-controls={id}
          onClick={() => setOpen(!open)}
          className="mt-1 text-xs font-medium text-sky-700 underline dark:text-sky-400"
        >
          {open ? 'Fold the output' : `Show all ${lines.length} lines`}
        </button>
      ) : null}
    </div>
  );
}

/** A tool call with its input and, once it came, its result (an error says so in words). */
export const RunToolCall = memo(function RunToolCall({ block }: { block: ToolBlock }) {
  const { result } = block;
  const outcome =
    result !== undefined
      ? result.isError
        ? 'error'
        : 'done'
      : block.approval === 'waiting'
        ? 'waiting for approval'
        : 'running…';
  return (
    <section
      aria-label={`Tool call ${block.name}`}
      data-events={block.events}
      data-seq={block.key}
      className={`rounded-md border p-3 text-sm ${
        result?.isError
          ? 'border-red-300 dark:border-red-800'
          : 'border-zinc-200 dark:border-zinc-800'
      }`}
    >
      <header className="mb-2 flex flex-wrap items-center gap-2">
        <span className="font-mono font-semibold">{block.name}</span>
        <span
          className={`text-xs ${
            result?.isError
              ? 'font-semibold text-red-700 dark:text-red-400'
              : 'text-zinc-500 dark:text-zinc-400'
          }`}
        >
          {outcome}
          {result === undefined ? '' : ` · ${formatDuration(result.durationMs)}`}
        </span>
        <span className="ml-auto text-xs text-zinc-500 dark:text-zinc-400">step {block.step}</span>
      </header>
      {block.input === undefined ? null : (
        <Folded text={inputText(block.name, block.input)} label="Input" />
      )}
      {block.logs && block.logs.length > 0 ? (
        <div className="mt-2">
          <Folded text={block.logs.join('\n')} label="Log" />
        </div>
      ) : null}
      {result === undefined ? null : (
        <div className="mt-2">
          <Folded
            text={result.output === '' ? '(no output)' : result.output}
            label={result.isError ? 'Result (error)' : 'Result'}
          />
        </div>
      )}
    </section>
  );
});
