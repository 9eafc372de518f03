import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RunEvent } from '../api/run-events.ts';
import { RunToolsApiError } from './api-error.ts';
import { runEventStream } from './event-stream.ts';

function frame(event: RunEvent): string {
  return `id: ${event.seq}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}

const ts = '2026-01-01T00:00:00.000Z';
const text = (seq: number): RunEvent => ({ seq, ts, type: 'text', step: 1, delta: `t${seq}` });
const done = (seq: number): RunEvent => ({ seq, ts, type: 'status', status: 'completed' });

/** A response whose body is `chunks`, then ends (or errors with `error`). */
function sse(chunks: string[], error?: Error): Response {
  const encoder = new TextEncoder();
  let i = 0;
  const body = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        const chunk = chunks[i++];
        if (chunk !== undefined) controller.enqueue(encoder.encode(chunk));
        else if (error) controller.error(error);
        else controller.close();
      },
    },
    { highWaterMark: 0 },
  );
  return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
}

async function collect(iterable: AsyncIterable<RunEvent>): Promise<RunEvent[]> {
  const events: RunEvent[] = [];
  for await (const event of iterable) events.push(event);
  return events;
}

describe('runEventStream', () => {
  it('parses frames split across chunks and stops at the terminal status', async () => {
    const whole = frame(text(1)) + frame(text(2)) + frame(done(3));
    const afters: number[] = [];
    const events = await collect(
      runEventStream({
        open: async (after) => {
          afters.push(after);
          return sse([whole.slice(0, 7), whole.slice(7, 50), whole.slice(50), ': keepalive\n\n']);
        },
      }),
    );
    assert.deepEqual(events, [text(1), text(2), done(3)]);
    assert.deepEqual(afters, [0]);
  });

  it('reconnects after a drop, an early end or an error frame, skipping what it saw', async () => {
    const afters: number[] = [];
    const answers = [
      () => sse([frame(text(1)), frame(text(2))], new TypeError('terminated')),
      () => sse([frame(text(2)), frame(text(3))]),
      () => sse([`event: error\ndata: {"error":{"code":"internal_error","message":"x"}}\n\n`]),
      () => new Response('{"error":{"code":"internal_error","message":"x"}}', { status: 503 }),
      () => sse([frame(text(4)), frame(done(5))]),
    ];
    const events = await collect(
      runEventStream({
        retryDelayMs: 1,
        open: async (after) => {
          afters.push(after);
          const answer = answers.shift();
          assert.ok(answer);
          return answer();
        },
      }),
    );
    assert.deepEqual(
      events.map((e) => e.seq),
      [1, 2, 3, 4, 5],
    );
    assert.deepEqual(afters, [0, 2, 3, 3, 3]);
  });

  it('throws the API error of a 4xx, and network_error after maxRetries in a row', async () => {
    await assert.rejects(
      collect(
        runEventStream({
          open: async () =>
            new Response('{"error":{"code":"run_not_found","message":"no"}}', { status: 404 }),
        }),
      ),
      (error: unknown) =>
        error instanceof RunToolsApiError && error.status === 404 && error.code === 'run_not_found',
    );
    let calls = 0;
    await assert.rejects(
      collect(
        runEventStream({
          maxRetries: 2,
          retryDelayMs: 1,
          open: async () => {
            calls++;
            throw new TypeError('fetch failed', { cause: new Error('ECONNREFUSED') });
          },
        }),
      ),
      { code: 'network_error', message: /ECONNREFUSED/ },
    );
    assert.equal(calls, 3);
  });
});
