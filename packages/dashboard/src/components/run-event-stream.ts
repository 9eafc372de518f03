import type { RunEvent } from '@runtools/sdk/api';
import { useEffect, useState } from 'react';
import { useClient } from '../session.tsx';
import { appendEvents, emptyRunLog, type RunLog } from './run-event-log.ts';

/** Where the page's copy of the run's events stands. */
export type RunConnection = 'connecting' | 'live' | 'reconnecting' | 'ended';

export interface RunEvents {
  log: RunLog;
  connection: RunConnection;
  /** An error that retrying cannot fix (the run is gone, the key may not read it). */
  error: unknown;
}

/** How long events wait to be drawn: one render per frame, however fast they come. */
const frameMs = 16;

/**
 * A run's events, live: the SDK's SSE stream from the first event, which resumes on its own
 * after the last seq it saw when the connection drops. When it gives up (the server was away for
 * a while), this starts it again after the last seq applied, with a growing pause; the log skips
 * any seq it already holds, so a replay never shows an event twice. Ends after the run's
 * terminal status. Events are drawn in batches, one render per frame.
 */
export function useRunEvents(runId: string): RunEvents {
  const client = useClient();
  const [log, setLog] = useState<RunLog>(emptyRunLog);
  const [connection, setConnection] = useState<RunConnection>('connecting');
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    const stop = new AbortController();
    let pending: RunEvent[] = [];
    let timer: ReturnType<typeof setTimeout> | undefined;
    let last = 0;
    const flush = () => {
      timer = undefined;
      const batch = pending;
      pending = [];
      if (batch.length > 0) setLog((current) => appendEvents(current, batch));
    };
    setLog(emptyRunLog);
    setError(null);
    setConnection('connecting');

    const follow = async () => {
      for (let failures = 0; !stop.signal.aborted; ) {
        try {
          let live = false;
          for await (const event of client.runs.stream(runId, {
            after: last,
            signal: stop.signal,
          })) {
            if (event.seq <= last) continue;
            last = event.seq;
            failures = 0;
            if (!live) {
              live = true;
              setConnection('live');
            }
            pending.push(event);
            timer ??= setTimeout(flush, frameMs);
          }
          clearTimeout(timer);
          flush();
          setConnection('ended');
          return;
        } catch (cause) {
          if (stop.signal.aborted) return;
          const status = (cause as { status?: number }).status;
          if (status !== undefined && status >= 400 && status < 500 && status !== 429) {
            setError(cause);
            setConnection('ended');
            return;
          }
          failures += 1;
          setConnection('reconnecting');
          await new Promise((resolve) => {
            const wait = setTimeout(resolve, Math.min(500 * 2 ** failures, 10_000));
            stop.signal.addEventListener('abort', () => {
              clearTimeout(wait);
              resolve(undefined);
            });
          });
        }
      }
    };
    void follow();
    return () => {
      stop.abort();
      clearTimeout(timer);
    };
  }, [client, runId]);

  return { log, connection, error };
}
