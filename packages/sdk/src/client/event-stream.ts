import { RunToolsError } from '../errors.ts';
import type { RunEvent } from '../run-events.ts';
import { networkError, RunToolsApiError } from './api-error.ts';

/** Statuses after which a run emits nothing more. */
const terminalStatuses: readonly string[] = ['completed', 'failed', 'cancelled'];

/** True for the `status` event that ends a run's log. */
export function isTerminalEvent(event: RunEvent): boolean {
  return event.type === 'status' && terminalStatuses.includes(event.status);
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

/** One SSE frame: its `id`, `event` and `data` fields. */
interface SseFrame {
  id?: string;
  event?: string;
  data: string;
}

function parseFrame(block: string): SseFrame | undefined {
  const frame: SseFrame = { data: '' };
  const data: string[] = [];
  for (const line of block.split(/\r?\n/)) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') data.push(value);
    else if (field === 'id') frame.id = value;
    else if (field === 'event') frame.event = value;
  }
  if (data.length === 0) return undefined;
  frame.data = data.join('\n');
  return frame;
}

/** The SSE frames of a response body, as they arrive. */
export async function* readFrames(body: ReadableStream<Uint8Array>): AsyncGenerator<SseFrame> {
  const decoder = new TextDecoder();
  const reader = body.getReader();
  let buffer = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
      let end = buffer.indexOf('\n\n');
      while (end !== -1) {
        const frame = parseFrame(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        if (frame !== undefined) yield frame;
        end = buffer.indexOf('\n\n');
      }
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

/** Retried on the next connection: the connection dropped or the server failed mid-stream. */
class Interrupted extends Error {}

function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * A run's events in order, each exactly once, until its terminal status. When the connection
 * drops (or the server answers 5xx/429, or ends the stream early) it reconnects with the last
 * seq it saw, so the server replays exactly the missed events; it gives up with `network_error`
 * (or the API's error) after `maxRetries` reconnections in a row that brought nothing new.
 */
export async function* runEventStream(options: EventStreamOptions): AsyncGenerator<RunEvent> {
  const maxRetries = options.maxRetries ?? 5;
  const retryDelayMs = options.retryDelayMs ?? 200;
  let lastSeq = options.after ?? 0;
  let failures = 0;
  for (;;) {
    options.signal?.throwIfAborted();
    const connection = new AbortController();
    const signal = options.signal
      ? AbortSignal.any([options.signal, connection.signal])
      : connection.signal;
    let lastError: RunToolsError;
    try {
      let response: Response;
      try {
        response = await options.open(lastSeq, signal);
      } catch (error) {
        if (RunToolsError.isInstance(error)) throw error;
        throw new Interrupted('connect', { cause: error });
      }
      if (!response.ok) {
        const apiError = await RunToolsApiError.fromResponse(response);
        if (!isRetryableStatus(response.status)) throw apiError;
        throw new Interrupted(apiError.message, { cause: apiError });
      }
      if (response.body === null) throw new Interrupted('the event stream has no body');
      try {
        for await (const frame of readFrames(response.body)) {
          const data: unknown = JSON.parse(frame.data);
          if (typeof data !== 'object' || data === null || !('seq' in data)) {
            // The server's mid-stream failure frame (`event: error` with an error body).
            throw new Interrupted(`the server ended the stream: ${frame.data.slice(0, 200)}`);
          }
          const event = data as RunEvent;
          if (event.seq <= lastSeq) continue;
          lastSeq = event.seq;
          failures = 0;
          yield event;
          if (isTerminalEvent(event)) return;
        }
      } catch (error) {
        if (error instanceof Interrupted || RunToolsError.isInstance(error)) throw error;
        if (options.signal?.aborted) throw options.signal.reason;
        throw new Interrupted('the connection dropped', { cause: error });
      }
      // Ended without the terminal status: a proxy or the server closed it; pick up again.
      throw new Interrupted('the event stream ended before the run did');
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason;
      if (!(error instanceof Interrupted)) throw error;
      const cause = error.cause;
      lastError = RunToolsError.isInstance(cause)
        ? cause
        : networkError(cause ?? error, 'The run event stream');
    } finally {
      connection.abort();
    }
    failures++;
    if (failures > maxRetries) throw lastError;
    await sleep(Math.min(retryDelayMs * 2 ** (failures - 1), 5000), options.signal);
  }
}
