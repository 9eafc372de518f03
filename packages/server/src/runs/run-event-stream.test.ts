import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { RunEvent } from '@runtools/sdk';
import { createStore } from '../store/store.ts';
import { describeEachDatabase } from '../testing/test-databases.ts';
import { RunEventHub } from './run-event-hub.ts';
import { runEventStream } from './run-event-stream.ts';

async function collect(stream: AsyncGenerator<RunEvent>): Promise<RunEvent[]> {
  const out: RunEvent[] = [];
  for await (const event of stream) out.push(event);
  return out;
}

describeEachDatabase('run event stream', ({ open }) => {
  it('replays after a seq, then live events, exactly once, ending at the terminal status', async () => {
    const store = createStore(await open());
    const hub = new RunEventHub();
    const run = await store.runs.create({ deploymentId: 'dep_x', input: 'x' });
    const append = async (text: string, publish = true) => {
      const stored = await store.events.append(run.id, [{ type: 'text', step: 1, delta: text }]);
      if (publish) for (const e of stored) hub.publish(run.id, e);
      return stored;
    };
    for (let i = 0; i < 5; i++) await append(`old-${i}`);
    const streamed = collect(runEventStream({ store, hub, runId: run.id, afterSeq: 2 }));
    // Live events race the replay; one is published twice, one never (another process wrote it).
    for (let i = 0; i < 20; i++) {
      const [event] = await append(`new-${i}`, i !== 7);
      if (i === 3 && event) hub.publish(run.id, event);
    }
    const [end] = await store.events.append(run.id, [{ type: 'status', status: 'completed' }]);
    if (end) hub.publish(run.id, end);
    const events = await streamed;
    assert.deepEqual(
      events.map((e) => e.seq),
      Array.from({ length: 24 }, (_, i) => i + 3),
    );
    assert.deepEqual(events, await store.events.listSince(run.id, 2));
    assert.equal(hub.subscriberCount(run.id), 0, 'unsubscribed at the end');
    const replay = await collect(runEventStream({ store, hub, runId: run.id, afterSeq: 25 }));
    assert.deepEqual(
      replay.map((e) => e.seq),
      [26],
    );
  });

  it('finds events no hub published (another process) by polling the store, and stops on abort', async () => {
    const store = createStore(await open());
    const hub = new RunEventHub();
    const run = await store.runs.create({ deploymentId: 'dep_x', input: 'x' });
    const streamed = collect(runEventStream({ store, hub, runId: run.id, pollMs: 20 }));
    await store.events.append(run.id, [
      { type: 'status', status: 'running' },
      { type: 'status', status: 'failed', reason: 'boom' },
    ]);
    assert.deepEqual(
      (await streamed).map((e) => e.seq),
      [1, 2],
    );
    const other = await store.runs.create({ deploymentId: 'dep_x', input: 'y' });
    const controller = new AbortController();
    const pending = collect(
      runEventStream({ store, hub, runId: other.id, signal: controller.signal }),
    );
    controller.abort();
    assert.deepEqual(await pending, []);
    await assert.rejects(collect(runEventStream({ store, hub, runId: 'run_nope' })), {
      code: 'run_not_found',
    });
  });
});
