import type { RunEvent } from '@runtools/sdk';
import { isTerminalStatus } from '@runtools/sdk/api';
import type { Store } from '../store/store.ts';
import type { RunEventHub } from './run-event-hub.ts';

export { isTerminalStatus };

/** True for the `status` event that ends a run's log. */
export function isTerminalEvent(event: RunEvent): boolean {
  return event.type === 'status' && isTerminalStatus(event.status);
}

export interface RunEventStreamOptions {
  store: Store;
  hub: RunEventHub;
  runId: string;
  /** Events with a seq above this one (0: from the start). */
  afterSeq?: number;
  /** Stops the stream (the iterator just ends). */
  signal?: AbortSignal;
  /**
   * How often to look in the store while no live event arrives (default 1 s): catches events
   * appended by another server process, which this process's hub never sees.
   */
  pollMs?: number;
}

const pageSize = 1000;

/**
 * A run's events after `afterSeq`, stored ones first and then live ones, each exactly once and in
 * seq order; ends after the event of a terminal status (or at once for a run that had already
 * ended and whose log is replayed). It subscribes to the hub before reading the store, buffers
 * what arrives meanwhile and skips seqs already sent, so an event appended during the replay is
 * neither lost nor repeated; a gap in the live seqs is filled from the store.
 */
export async function* runEventStream(options: RunEventStreamOptions): AsyncGenerator<RunEvent> {
  const { store, hub, runId, signal } = options;
  const pollMs = options.pollMs ?? 1000;
  const queue: RunEvent[] = [];
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  const unsubscribe = hub.subscribe(runId, (event) => {
    queue.push(event);
    notify();
  });
  signal?.addEventListener('abort', notify, { once: true });
  let last = options.afterSeq ?? 0;
  try {
    const run = await store.runs.require(runId);
    // The store from `last` on, page by page; true when the terminal event was among them.
    const readStore = async function* (upTo = Number.POSITIVE_INFINITY) {
      for (;;) {
        const page = await store.events.listSince(runId, last, pageSize);
        for (const event of page) {
          if (event.seq > upTo) return;
          last = event.seq;
          yield event;
        }
        if (page.length < pageSize) return;
      }
    };
    for await (const event of readStore()) {
      yield event;
      if (isTerminalEvent(event)) return;
    }
    // Read before the replay: every event of a run that had ended by then is in the replay.
    if (isTerminalStatus(run.status)) return;
    while (!signal?.aborted) {
      const event = queue.shift();
      if (event === undefined) {
        const timedOut = await new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(true), pollMs);
          wake = () => {
            clearTimeout(timer);
            resolve(false);
          };
        });
        if (timedOut) {
          for await (const stored of readStore()) {
            yield stored;
            if (isTerminalEvent(stored)) return;
          }
        }
        continue;
      }
      if (event.seq <= last) continue;
      if (event.seq > last + 1) {
        for await (const stored of readStore(event.seq - 1)) {
          yield stored;
          if (isTerminalEvent(stored)) return;
        }
      }
      last = event.seq;
      yield event;
      if (isTerminalEvent(event)) return;
    }
  } finally {
    unsubscribe();
    signal?.removeEventListener('abort', notify);
  }
}
