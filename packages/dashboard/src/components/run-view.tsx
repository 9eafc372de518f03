import type { RunStatus } from '@runtools/sdk/api';
import { lazy, Suspense, useEffect } from 'react';
import { preloadMarkdown } from './markdown.tsx';
import { RunControls } from './run-controls.tsx';
import { type RunConnection, useRunEvents } from './run-event-stream.ts';
import { formatCount } from './run-format.ts';
import { RunTimeline } from './run-timeline.tsx';
import { ErrorNotice, StatusBadge } from './ui.tsx';

// The workflow graph loads only for a run of an agent with a workflow.
const RunWorkflow = lazy(() =>
  import('./run-workflow.tsx').then((m) => ({ default: m.RunWorkflow })),
);

const connectionText: Record<RunConnection, string> = {
  connecting: 'connecting…',
  live: 'live',
  reconnecting: 'reconnecting…',
  ended: 'ended',
};

/**
 * A run as it happens: its status and controls, its progress, and its events as they stream in.
 * The run page shows it, and so does a deployment's "try it" box.
 */
export function RunView({
  runId,
  initialStatus,
  onStatus,
  workflow,
}: {
  runId: string;
  /** The status the run had when the page read it, until its events say otherwise. */
  initialStatus?: RunStatus | undefined;
  /** Told each status the run's events announce (e.g. to read the run again). */
  onStatus?: ((status: RunStatus) => void) | undefined;
  /** The workflow of the run's agent, when it has one: drawn with the steps' progress. */
  workflow?: unknown;
}) {
  const { log, connection, error } = useRunEvents(runId);
  const status = log.status ?? initialStatus ?? null;
  useEffect(() => {
    if (log.status !== null) onStatus?.(log.status);
  }, [log.status, onStatus]);
  // The answer is Markdown: have its parser here before the answer is.
  useEffect(preloadMarkdown, []);
  return (
    <div className="space-y-4">
      <div className="flex flex-wrap items-center gap-x-4 gap-y-2">
        <p role="status" aria-label="Run status" className="flex items-center gap-2 text-sm">
          <span className="text-zinc-600 dark:text-zinc-400">Status</span>
          <StatusBadge status={status ?? 'queued'} />
        </p>
        <RunControls runId={runId} status={status} />
        <p className="text-xs text-zinc-600 dark:text-zinc-400">
          {log.steps} {log.steps === 1 ? 'step' : 'steps'} · {formatCount(log.usage.totalTokens)}{' '}
          tokens · {formatCount(log.count)} {log.count === 1 ? 'event' : 'events'} · stream{' '}
          {connectionText[connection]}
        </p>
      </div>
      {error ? <ErrorNotice error={error} /> : null}
      {log.count === 0 && connection !== 'ended' ? (
        <p role="status" className="text-sm text-zinc-500 dark:text-zinc-400">
          Waiting for the run's first event…
        </p>
      ) : null}
      {workflow ? (
        <Suspense fallback={null}>
          <RunWorkflow workflow={workflow} progress={log.workflow} status={status} />
        </Suspense>
      ) : null}
      <RunTimeline blocks={log.blocks} count={log.count} runId={runId} status={status} />
    </div>
  );
}
