import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { RunEventInput } from '@runtools/sdk';
import { describeEachDatabase } from '../testing/test-databases.ts';
import { createStore } from './store.ts';

const text = (delta: string): RunEventInput => ({ type: 'text', step: 1, delta });

describeEachDatabase('run events', ({ open, openAgain }) => {
  it('assigns seq 1..N in order and returns events with seq and ts', async () => {
    const store = createStore(await open());
    const run = await store.runs.create({ deploymentId: 'dep_1', input: 'x' });
    const first = await store.events.append(run.id, [text('a'), text('b')]);
    assert.deepEqual(
      first.map((e) => e.seq),
      [1, 2],
    );
    const second = await store.events.append(run.id, [
      { type: 'tool_call', step: 1, id: 'c1', name: 'bash', input: { command: 'ls' } },
      {
        type: 'complete',
        text: 'done',
        usage: { inputTokens: 1, outputTokens: 2, totalTokens: 3 },
        steps: 1,
      },
    ]);
    assert.deepEqual(
      second.map((e) => e.seq),
      [3, 4],
    );
    assert.deepEqual(await store.events.append(run.id, []), []);
    const all = await store.events.listSince(run.id);
    assert.deepEqual(all, [...first, ...second]);
    assert.equal((await store.runs.require(run.id)).lastSeq, 4);
  });

  it("counts the run's steps and their tokens as its step events are appended", async () => {
    const store = createStore(await open());
    const run = await store.runs.create({ deploymentId: 'dep_1', input: 'x' });
    assert.deepEqual([run.steps, run.usage.totalTokens], [0, 0]);
    const step = (n: number, input: number, output: number): RunEventInput => ({
      type: 'step',
      step: n,
      usage: { inputTokens: input, outputTokens: output, totalTokens: input + output },
      finishReason: 'tool-calls',
    });
    await store.events.append(run.id, [text('a'), step(1, 10, 5)]);
    await store.events.append(run.id, [text('b')]);
    await store.events.append(run.id, [step(2, 20, 7), step(3, Number.NaN, 1)]);
    const read = await store.runs.require(run.id);
    assert.equal(read.steps, 3);
    assert.deepEqual(read.usage, { inputTokens: 30, outputTokens: 13, totalTokens: 42 });
    assert.equal(read.lastSeq, 5);
  });

  it('lists the events after a seq, up to a limit', async () => {
    const store = createStore(await open());
    const run = await store.runs.create({ deploymentId: 'dep_1', input: 'x' });
    await store.events.append(
      run.id,
      Array.from({ length: 10 }, (_, i) => text(String(i))),
    );
    const after4 = await store.events.listSince(run.id, 4, 3);
    assert.deepEqual(
      after4.map((e) => e.seq),
      [5, 6, 7],
    );
    assert.deepEqual(await store.events.listSince(run.id, 10), []);
    const other = await store.runs.create({ deploymentId: 'dep_1', input: 'y' });
    assert.deepEqual(await store.events.listSince(other.id, 0), []);
  });

  it('gives concurrent appenders to one run seq 1..N exactly (two pools on PostgreSQL)', async () => {
    const first = await open();
    const stores = [createStore(first), createStore(await openAgain(first))];
    const run = await stores[0]?.runs.create({ deploymentId: 'dep_1', input: 'x' });
    assert.ok(run);
    const callers = 40;
    const results = await Promise.all(
      Array.from({ length: callers }, (_, i) =>
        stores[i % 2]?.events.append(run.id, [text(`${i}a`), text(`${i}b`)]),
      ),
    );
    // Each caller's own events are consecutive, and together they cover 1..2N once.
    for (const events of results) {
      assert.equal(events?.length, 2);
      assert.equal((events?.[1]?.seq ?? 0) - (events?.[0]?.seq ?? 0), 1);
    }
    const all = await stores[0]?.events.listSince(run.id, 0, 10_000);
    assert.deepEqual(
      all?.map((e) => e.seq),
      Array.from({ length: callers * 2 }, (_, i) => i + 1),
    );
  });

  it('refuses to append to a run that does not exist', async () => {
    const store = createStore(await open());
    await assert.rejects(store.events.append('run_nope', [text('a')]), { code: 'run_not_found' });
  });
});
