import type { RunEvent } from '../api/run-events.ts';
import { isTerminalStatus } from '../api/run-status.ts';
import { resumableStream, StreamInterrupted } from './resumable-stream.ts';

/** True for the `status` event that ends a run's log. */
export function isTerminalEvent(event: RunEvent): boolean {
  return event.type === 'status' && isTerminalStatus(event.status);
}

export interface EventStreamOptions {
  /** Opens the SSE stream of the run's events after `after` (the API's `GET /v1/runs/{id}/events`). */
  open: (after: number, signal: AbortSignal) => Promise<Response>;
  /** Start after this seq (0: from the first event). */
  after?: number;
  /** Reconnections in a row without a new event before giving up (default 5). */
  maxRetries?: number;
  /** The first reconnect delay, doubled on each retry in a row, at most 5 s (default 200 ms). */
  retryDelayMs?: number;
  /** Stops the stream: the iterator throws the signal's reason. */
  signal?: AbortSignal;
}

/**
 * A run's events in order, each exactly once, until its terminal status. When the connection
 * drops (or the server answers 5xx/429, or ends the stream early) it reconnects with the last
 * seq it saw, so the server replays exactly the missed events; it gives up with `network_error`
 * (or the API's error) after `maxRetries` reconnections in a row that brought nothing new.
 */
export async function* runEventStream(options: EventStreamOptions): AsyncGenerator<RunEvent> {
  yield* resumableStream<RunEvent>({
    ...options,
    name: 'The run event stream',
    read: (frame) => {
      const data: unknown = JSON.parse(frame.data);
      if (typeof data !== 'object' || data === null || !('seq' in data)) {
        // The server's mid-stream failure frame (`event: error` with an error body).
        throw new StreamInterrupted(`the server ended the stream: ${frame.data.slice(0, 200)}`);
      }
      const event = data as RunEvent;
      return { item: event, seq: event.seq, end: isTerminalEvent(event) };
    },
  });
}
