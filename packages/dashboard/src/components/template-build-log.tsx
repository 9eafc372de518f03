import {
  advanceTemplateBuildProgress,
  initialTemplateBuildProgress,
  type TemplateBuild,
  type TemplateBuildProgress,
  templateBuildFraction,
} from '@runtools/sdk/api';
import { useQuery } from '@tanstack/react-query';
import { useEffect, useLayoutEffect, useRef, useState } from 'react';
import { useClient } from '../session.tsx';
import { ErrorNotice, StatusBadge } from './ui.tsx';

interface BuildLog {
  lines: string[];
  progress: TemplateBuildProgress;
  /** The build as it ended (the stream's last item); null while it runs. */
  ended: TemplateBuild | null;
  error: unknown;
}

const emptyLog: BuildLog = {
  lines: [],
  progress: initialTemplateBuildProgress,
  ended: null,
  error: null,
};

const terminal = ['ready', 'failed', 'cancelled'];

/**
 * A build's log as it is written (SSE, resumed after the last line on a dropped connection), with
 * the progress its step lines give. Lines are handed to React in batches, not one render each.
 */
export function useBuildLog(
  slug: string,
  buildId: string | null,
  onEnd?: (build: TemplateBuild) => void,
): BuildLog {
  const rt = useClient();
  const [log, setLog] = useState<BuildLog>(emptyLog);
  const onEndRef = useRef(onEnd);
  onEndRef.current = onEnd;

  useEffect(() => {
    setLog(emptyLog);
    if (buildId === null) return;
    const controller = new AbortController();
    const lines: string[] = [];
    let progress = initialTemplateBuildProgress;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const flush = () => {
      timer = undefined;
      setLog((current) => ({ ...current, lines: lines.slice(), progress }));
    };
    void (async () => {
      try {
        const stream = rt.templates.logs(slug, buildId, {
          signal: controller.signal,
          maxRetries: 20,
        });
        for await (const item of stream) {
          if (item.type === 'log') {
            progress = advanceTemplateBuildProgress(progress, item.line, lines.length);
            lines.push(item.line);
            timer ??= setTimeout(flush, 50);
          } else {
            clearTimeout(timer);
            timer = undefined;
            setLog({ lines: lines.slice(), progress, ended: item.build, error: null });
            onEndRef.current?.(item.build);
          }
        }
      } catch (error) {
        if (controller.signal.aborted) return;
        clearTimeout(timer);
        setLog((current) => ({ ...current, lines: lines.slice(), progress, error }));
      }
    })();
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
  }, [rt, slug, buildId]);

  return log;
}

function progressText(status: string, progress: TemplateBuildProgress): string {
  const { started, total, step } = progress;
  if (status === 'ready') return 'Ready: every step done';
  if (status === 'queued') return 'Queued: waiting to start';
  if (status === 'cancelled') return `Cancelled${step ? ` during "${step}"` : ''}`;
  if (status === 'failed') {
    return step
      ? `Failed at ${total ? `step ${started} of ${total}: ` : 'step '}"${step}"`
      : 'Failed before its first step';
  }
  if (total !== null && step !== null) return `Step ${started} of ${total}: ${step}`;
  if (step !== null) return `Preparing: ${step}`;
  return 'Starting…';
}

/**
 * How far a build is, as a bar and in words ("Step 3 of 4: apt: install jq"): the words carry the
 * meaning, the bar's colour only repeats it. Indeterminate until the builder says its step count.
 */
export function BuildProgress({
  status,
  progress,
}: {
  status: string;
  progress: TemplateBuildProgress;
}) {
  const fraction = status === 'ready' ? 1 : templateBuildFraction(progress);
  const text = progressText(status, progress);
  const percent = fraction === null ? null : Math.round(fraction * 100);
  const tone =
    status === 'failed' || status === 'cancelled'
      ? 'bg-red-600 dark:bg-red-500'
      : status === 'ready'
        ? 'bg-emerald-600 dark:bg-emerald-500'
        : 'bg-sky-600 dark:bg-sky-500';
  return (
    <div>
      <div
        role="progressbar"
        aria-label="Build progress"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percent ?? undefined}
        aria-valuetext={percent === null ? text : `${percent}%: ${text}`}
        className="h-3 w-full overflow-hidden rounded-full bg-zinc-200 dark:bg-zinc-800"
      >
        <div
          className={`h-full rounded-full ${tone} ${percent === null ? 'w-1/3 animate-pulse' : ''}`}
          style={percent === null ? undefined : { width: `${Math.max(percent, 2)}%` }}
        />
      </div>
      <p className="mt-1 text-sm">
        <StatusBadge status={status} /> {text}
        {percent === null || status === 'ready' ? '' : ` (${percent}%)`}
      </p>
    </div>
  );
}

/** The log as text, following new lines while the reader is at its end. */
export function BuildLogView({ lines }: { lines: string[] }) {
  const box = useRef<HTMLPreElement>(null);
  const atEnd = useRef(true);
  // biome-ignore lint/correctness/useExhaustiveDependencies: scrolls when lines arrive
  useLayoutEffect(() => {
    const element = box.current;
    if (element !== null && atEnd.current) element.scrollTop = element.scrollHeight;
  }, [lines]);
  return (
    <pre
      ref={box}
      role="log"
      aria-label="Build log"
      // A scrollable region is reachable (and scrollable) by keyboard.
      // biome-ignore lint/a11y/noNoninteractiveTabindex: see above
      tabIndex={0}
      onScroll={(e) => {
        const el = e.currentTarget;
        atEnd.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
      }}
      className="max-h-96 min-h-24 overflow-auto rounded-md bg-zinc-950 p-3 font-mono text-xs leading-5 text-zinc-100"
    >
      {lines.length === 0 ? 'No log lines yet.' : lines.join('\n')}
    </pre>
  );
}

/** A failed build: the step it failed at, its error, and that step's own output. */
export function BuildFailure({
  build,
  lines,
  progress,
}: {
  build: TemplateBuild;
  lines: string[];
  progress: TemplateBuildProgress;
}) {
  const output = (progress.stepLine >= 0 ? lines.slice(progress.stepLine + 1) : lines).slice(-200);
  return (
    <section
      aria-label="Build failure"
      className="rounded-md border border-red-300 bg-red-50 p-4 text-sm text-red-950 dark:border-red-800 dark:bg-red-950 dark:text-red-50"
    >
      <h3 className="font-semibold">
        Failed at step:{' '}
        <span className="font-mono">{progress.step ?? '(before the first step)'}</span>
      </h3>
      {build.error ? (
        <p className="mt-1 whitespace-pre-wrap">
          <code>{build.error.code}</code>: {build.error.message.split('\n')[0]}
        </p>
      ) : null}
      <h4 className="mt-3 font-medium">Output of the step</h4>
      <pre className="mt-1 max-h-72 overflow-auto rounded bg-white p-2 font-mono text-xs text-zinc-900 dark:bg-zinc-950 dark:text-zinc-100">
        {output.join('\n') || '(no output)'}
      </pre>
    </section>
  );
}

/**
 * One build followed live: its progress, a failure's step and output, and the whole log. The
 * build is read again every two seconds until it ends (queued → building), the log streams.
 */
export function BuildMonitor({
  slug,
  buildId,
  onEnd,
}: {
  slug: string;
  buildId: string;
  onEnd?: (build: TemplateBuild) => void;
}) {
  const rt = useClient();
  const log = useBuildLog(slug, buildId, onEnd);
  const build = useQuery({
    queryKey: ['template-build', slug, buildId],
    queryFn: () => rt.templates.builds.get(slug, buildId),
    refetchInterval: (query) =>
      log.ended || terminal.includes(query.state.data?.status ?? '') ? false : 2000,
  });
  const current = log.ended ?? build.data;
  const status = current?.status ?? 'queued';
  return (
    <div className="space-y-3">
      <BuildProgress status={status} progress={log.progress} />
      {log.ended?.status === 'failed' ? (
        <BuildFailure build={log.ended} lines={log.lines} progress={log.progress} />
      ) : null}
      {log.error ? <ErrorNotice error={log.error} /> : null}
      <BuildLogView lines={log.lines} />
    </div>
  );
}
