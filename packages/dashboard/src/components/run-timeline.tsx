import type { RunStatus } from '@runtools/sdk/api';
import { memo } from 'react';
import { Markdown } from './markdown.tsx';
import { RunApproval } from './run-approval.tsx';
import type { RunBlock } from './run-event-log.ts';
import { formatCount } from './run-format.ts';
import { RunToolCall } from './run-tool-call.tsx';
import { StatusBadge, Time } from './ui.tsx';

/** One block of the run's log; every block carries how many events it shows (`data-events`). */
const Block = memo(function Block({
  block,
  runId,
  status,
}: {
  block: RunBlock;
  runId: string;
  status: RunStatus | null;
}) {
  const data = { 'data-events': block.events, 'data-seq': block.key };
  switch (block.kind) {
    case 'reasoning':
      return (
        <details open {...data} className="text-sm text-zinc-500 dark:text-zinc-400">
          <summary className="cursor-pointer select-none font-medium">
            Reasoning (step {block.step})
          </summary>
          <p className="mt-1 whitespace-pre-wrap border-l-2 border-zinc-200 pl-3 italic dark:border-zinc-800">
            {block.text}
          </p>
        </details>
      );
    case 'text':
      return (
        <section aria-label={`Model text (step ${block.step})`} {...data} className="text-sm">
          <Markdown text={block.text} />
        </section>
      );
    case 'tool':
      return <RunToolCall block={block} />;
    case 'approval':
      return <RunApproval block={block} runId={runId} status={status} />;
    case 'step':
      return (
        <p {...data} className="text-xs text-zinc-500 dark:text-zinc-400">
          Step {block.step} finished ({block.finishReason}) · {formatCount(block.usage.totalTokens)}{' '}
          tokens
        </p>
      );
    case 'answer':
      return (
        <section
          aria-label="Final answer"
          {...data}
          className="rounded-md border border-emerald-300 bg-emerald-50/50 p-4 dark:border-emerald-800 dark:bg-emerald-950/30"
        >
          <h3 className="text-sm font-semibold">
            Final answer
            <span className="ml-2 text-xs font-normal text-zinc-600 dark:text-zinc-400">
              {block.steps} {block.steps === 1 ? 'step' : 'steps'} ·{' '}
              {formatCount(block.usage.totalTokens)} tokens
              {block.stopReason === 'max_steps' ? ' · stopped at the step limit' : ''}
            </span>
          </h3>
          <div className="mt-2 text-sm">
            <Markdown text={block.text} />
          </div>
        </section>
      );
    case 'error':
      return (
        <div
          role="alert"
          {...data}
          className="rounded-md border border-red-300 bg-red-50 p-3 text-sm text-red-900 dark:border-red-800 dark:bg-red-950 dark:text-red-100"
        >
          <strong>Error</strong> <code className="font-mono">{block.code}</code>: {block.message}
        </div>
      );
    case 'workflow':
      return (
        <p
          {...data}
          data-workflow={block.state}
          className={`text-xs ${block.state === 'failed' ? 'text-red-700 dark:text-red-300' : 'text-zinc-500 dark:text-zinc-400'}`}
        >
          {block.text}
        </p>
      );
    case 'status':
      return (
        <p {...data} className="flex items-center gap-2 text-xs text-zinc-500 dark:text-zinc-400">
          <span>Status</span>
          <StatusBadge status={block.status} />
          {block.reason ? <span>({block.reason})</span> : null}
          <Time iso={block.ts} />
        </p>
      );
  }
});

/** The run's events as a readable log, oldest first; `count` events in all. */
export function RunTimeline({
  blocks,
  count,
  runId,
  status,
}: {
  blocks: readonly RunBlock[];
  count: number;
  runId: string;
  /** The run's status: an approval can be answered while it is `waiting`. */
  status: RunStatus | null;
}) {
  return (
    <ol aria-label="Run events" data-event-count={count} className="space-y-3">
      {blocks.map((block) => (
        <li key={block.key}>
          <Block block={block} runId={runId} status={block.kind === 'approval' ? status : null} />
        </li>
      ))}
    </ol>
  );
}
