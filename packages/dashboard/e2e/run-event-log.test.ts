import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RunEvent, RunEventInput } from '@runtools/sdk';
import { appendEvents, emptyRunLog } from '../src/components/run-event-log.ts';

// The run page's fold of events into blocks, without a browser: the e2e tests check the same
// log on real runs; these pin each rule.

const usage = { inputTokens: 10, outputTokens: 5, totalTokens: 15 };

function numbered(events: RunEventInput[], from = 1): RunEvent[] {
  return events.map(
    (event, i) => ({ ...event, seq: from + i, ts: '2026-12-03T06:00:00.000Z' }) as RunEvent,
  );
}

const run = numbered([
  { type: 'status', status: 'running' },
  { type: 'thinking', step: 1, delta: 'Let me ' },
  { type: 'thinking', step: 1, delta: 'look.' },
  { type: 'text', step: 1, delta: 'Listing.' },
  { type: 'tool_call', step: 1, id: 'c1', name: 'bash', input: { command: 'ls' } },
  {
    type: 'tool_result',
    step: 1,
    id: 'c1',
    name: 'bash',
    output: 'a\n',
    isError: false,
    durationMs: 4,
  },
  { type: 'step', step: 1, usage, finishReason: 'tool-calls' },
  { type: 'text', step: 2, delta: 'There is ' },
  { type: 'text', step: 2, delta: '**a**.' },
  { type: 'step', step: 2, usage, finishReason: 'stop' },
  {
    type: 'complete',
    text: 'There is **a**.',
    usage: { inputTokens: 20, outputTokens: 10, totalTokens: 30 },
    steps: 2,
  },
  { type: 'status', status: 'completed' },
]);

describe('run event log', () => {
  it('folds deltas, pairs a tool call with its result and puts the answer in place of its text', () => {
    const log = appendEvents(emptyRunLog, run);
    assert.deepEqual(
      log.blocks.map((b) => [b.kind, b.events]),
      [
        ['status', 1],
        ['reasoning', 2],
        ['text', 1],
        ['tool', 2],
        ['step', 1],
        ['step', 1],
        ['answer', 3],
        ['status', 1],
      ],
    );
    const reasoning = log.blocks[1];
    assert.equal(reasoning?.kind === 'reasoning' && reasoning.text, 'Let me look.');
    const tool = log.blocks[3];
    assert.deepEqual(tool?.kind === 'tool' && tool.result, {
      output: 'a\n',
      isError: false,
      durationMs: 4,
    });
    assert.equal(log.count, run.length);
    assert.equal(log.lastSeq, run.length);
    assert.equal(log.status, 'completed');
    assert.deepEqual([log.steps, log.usage.totalTokens], [2, 30]);
    assert.equal(
      log.blocks.reduce((sum, b) => sum + b.events, 0),
      run.length,
      'every event counted once',
    );
  });

  it('skips a replayed event, however the stream resent it', () => {
    const halfway = appendEvents(emptyRunLog, run.slice(0, 6));
    // A reconnect from the start, then from the middle: only the new events count.
    const replayed = appendEvents(appendEvents(halfway, run), run.slice(3));
    assert.deepEqual(replayed, appendEvents(emptyRunLog, run));
    assert.equal(appendEvents(replayed, run.slice(0, 2)), replayed, 'nothing new: the same log');
  });

  it('gives the same log whether events come one by one or in batches', () => {
    const oneByOne = run.reduce((log, event) => appendEvents(log, [event]), emptyRunLog);
    assert.deepEqual(oneByOne, appendEvents(emptyRunLog, run));
  });

  it('shows a result whose call it never saw, and a run that fails with its code', () => {
    const log = appendEvents(
      emptyRunLog,
      numbered([
        {
          type: 'tool_result',
          step: 1,
          id: 'c9',
          name: 'grep',
          output: 'x',
          isError: true,
          durationMs: 1,
        },
        { type: 'error', code: 'model_error', message: 'The model answered 500.' },
        { type: 'status', status: 'failed', reason: 'model_error' },
      ]),
    );
    assert.deepEqual(
      log.blocks.map((b) => b.kind),
      ['tool', 'error', 'status'],
    );
    const error = log.blocks[1];
    assert.equal(error?.kind === 'error' && error.code, 'model_error');
    assert.equal(log.status, 'failed');
  });
});
