import { RunToolsError } from '../errors.ts';
import { networkError, RunToolsApiError } from './api-error.ts';

/** One SSE frame: its `id`, `event` and `data` fields. */
export interface SseFrame {
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

/**
 * Thrown by `read` (or raised here) when the stream should be resumed on a new connection: the
 * connection dropped, or the server failed mid-stream.
 */
export class StreamInterrupted extends Error {}

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

/** What one frame means to a resumable stream. */
export interface FrameOutcome<T> {
  /** Yielded to the caller. */
  item?: T;
  /** The frame's position: frames at or below the last one seen are skipped (a replay). */
  seq?: number;
  /** The last frame: the stream ends after it. */
  end?: boolean;
}

export interface ResumableStreamOptions<T> {
  /** Opens the SSE stream after position `after`. */
  open: (after: number, signal: AbortSignal) => Promise<Response>;
  /** Reads a frame; throws `StreamInterrupted` for a failure frame of the server. */
  read: (frame: SseFrame) => FrameOutcome<T>;
  /** Names the stream in errors, e.g. "The run event stream". */
  name: string;
  after?: number;
  maxRetries?: number;
  retryDelayMs?: number;
  signal?: AbortSignal;
}

/**
 * Items of an SSE stream with positions, each exactly once, until its last frame. When the
 * connection drops (or the server answers 5xx/429/408, or ends the stream early) it reconnects
 * from the last position seen, so the server replays exactly what was missed; it gives up with
 * `network_error` (or the API's error) after `maxRetries` reconnections in a row that brought
 * nothing new. Other API errors are thrown at once.
 */
export async function* resumableStream<T>(options: ResumableStreamOptions<T>): AsyncGenerator<T> {
  const maxRetries = options.maxRetries ?? 5;
  const retryDelayMs = options.retryDelayMs ?? 200;
  let last = options.after ?? 0;
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
        response = await options.open(last, signal);
      } catch (error) {
        if (RunToolsError.isInstance(error)) throw error;
        throw new StreamInterrupted('connect', { cause: error });
      }
      if (!response.ok) {
        const apiError = await RunToolsApiError.fromResponse(response);
        if (!isRetryableStatus(response.status)) throw apiError;
        throw new StreamInterrupted(apiError.message, { cause: apiError });
      }
      if (response.body === null) throw new StreamInterrupted('the stream has no body');
      try {
        for await (const frame of readFrames(response.body)) {
          const outcome = options.read(frame);
          if (outcome.seq !== undefined) {
            if (outcome.seq <= last) continue;
            last = outcome.seq;
            failures = 0;
          }
          if (outcome.item !== undefined) yield outcome.item;
          if (outcome.end) return;
        }
      } catch (error) {
        if (error instanceof StreamInterrupted || RunToolsError.isInstance(error)) throw error;
        if (options.signal?.aborted) throw options.signal.reason;
        throw new StreamInterrupted('the connection dropped', { cause: error });
      }
      // Ended without its last frame: a proxy or the server closed it; pick up again.
      throw new StreamInterrupted('the stream ended early');
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason;
      if (!(error instanceof StreamInterrupted)) throw error;
      const cause = error.cause;
      lastError = RunToolsError.isInstance(cause)
        ? cause
        : networkError(cause ?? error, options.name);
    } finally {
      connection.abort();
    }
    failures++;
    if (failures > maxRetries) throw lastError;
    await sleep(Math.min(retryDelayMs * 2 ** (failures - 1), 5000), options.signal);
  }
}
