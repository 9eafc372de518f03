import type { Store } from '../store/store.ts';
import {
  buildHeartbeatTimeoutMs,
  isTerminalBuildStatus,
  type TemplateBuild,
  type TemplateLogLine,
} from '../store/templates.ts';
import { onBuildProgress } from './template-builder.ts';

export type BuildLogItem =
  | ({ type: 'log' } & TemplateLogLine)
  /** The last item: the build as it ended. */
  | { type: 'status'; build: TemplateBuild };

export interface BuildLogStreamOptions {
  store: Store;
  buildId: string;
  /** Lines with a seq above this one (0: from the first). */
  after?: number;
  signal?: AbortSignal;
  /**
   * How often to look in the store while this process announces nothing (default 500 ms): the
   * build may run in another server process.
   */
  pollMs?: number;
}

const pageSize = 1000;

/**
 * A build's log lines after `after`, stored ones first and then new ones as they are stored, each
 * once and in seq order, then its final status. The status is read before the lines: a build that
 * had ended by then had stored all its lines, so nothing is missed. Ends early (without a status)
 * when the build is deleted or `signal` aborts.
 */
export async function* buildLogStream(
  options: BuildLogStreamOptions,
): AsyncGenerator<BuildLogItem> {
  const { store, buildId, signal } = options;
  const pollMs = options.pollMs ?? 500;
  let last = options.after ?? 0;
  let dirty = false;
  let wake: (() => void) | undefined;
  const poke = () => {
    dirty = true;
    wake?.();
  };
  const unsubscribe = onBuildProgress(buildId, poke);
  signal?.addEventListener('abort', poke, { once: true });
  try {
    while (!signal?.aborted) {
      dirty = false;
      let build = await store.templates.getBuild(buildId);
      if (build === undefined) return;
      if (!isTerminalBuildStatus(build.status) && isStale(build)) {
        await store.templates.failAbandonedBuilds();
        build = await store.templates.getBuild(buildId);
        if (build === undefined) return;
      }
      for (;;) {
        const page = await store.templates.logsSince(buildId, last, pageSize);
        for (const line of page) {
          last = line.seq;
          yield { type: 'log', ...line };
        }
        if (page.length < pageSize) break;
      }
      if (isTerminalBuildStatus(build.status)) {
        yield { type: 'status', build };
        return;
      }
      if (dirty) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pollMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  } finally {
    unsubscribe();
    signal?.removeEventListener('abort', poke);
  }
}

function isStale(build: TemplateBuild): boolean {
  const beat = Date.parse(build.heartbeatAt ?? build.createdAt);
  return Date.now() - beat > buildHeartbeatTimeoutMs;
}
