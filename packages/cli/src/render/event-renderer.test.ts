import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { text } from 'node:stream/consumers';
import { describe, it } from 'node:test';
import type { RunEvent, RunEventInput } from '@runtools/sdk';
import { compactInput, EventRenderer, truncate } from './event-renderer.ts';

/** A stand-in terminal: `tty` makes styleText colour it (as FORCE_COLOR would not be needed). */
function fakeStream(tty: boolean): PassThrough & { isTTY?: boolean; columns?: number } {
  const stream = new PassThrough() as PassThrough & {
    isTTY?: boolean;
    columns?: number;
    getColorDepth?: () => number;
  };
  if (tty) {
    stream.isTTY = true;
    stream.getColorDepth = () => 8;
  }
  stream.columns = 80;
  return stream;
}

let seq = 0;
const at = (event: RunEventInput): RunEvent =>
  ({ ...event, seq: ++seq, ts: new Date(0).toISOString() }) as RunEvent;

async function draw(events: RunEventInput[], tty = false): Promise<string> {
  const out = fakeStream(tty);
  const renderer = new EventRenderer({ out });
  for (const event of events) renderer.render(at(event));
  renderer.finish();
  out.end();
  return text(out);
}

describe('EventRenderer', () => {
  it('streams text, closes the line before a tool call, and does not repeat a streamed answer', async () => {
    const output = await draw([
      { type: 'text', step: 1, delta: 'Let me ' },
      { type: 'text', step: 1, delta: 'check.' },
      { type: 'tool_call', step: 1, id: 'c1', name: 'bash', input: { command: 'ls\n-la' } },
      {
        type: 'tool_result',
        step: 1,
        id: 'c1',
        name: 'bash',
        output: 'a\nb\n',
        isError: false,
        durationMs: 1500,
      },
      { type: 'text', step: 2, delta: 'Two files.' },
      {
        type: 'complete',
        text: 'Two files.',
        steps: 2,
        usage: { inputTokens: 1, outputTokens: 2, totalTokens: 3 },
      },
      { type: 'status', status: 'completed' },
    ]);
    assert.equal(
      output,
      'Let me check.\n▸ bash command="ls⏎-la"\n  ⎿ a (1.5s)\n    b\nTwo files.\n2 steps · 3 tokens\n✔ completed\n',
    );
  });

  it("shows a custom tool's log lines under its call, one line each", async () => {
    const output = await draw([
      { type: 'tool_call', step: 1, id: 'c1', name: 'lookup_order', input: { orderId: 'A-1' } },
      { type: 'tool_log', step: 1, id: 'c1', name: 'lookup_order', message: 'calling\nthe API' },
      {
        type: 'tool_result',
        step: 1,
        id: 'c1',
        name: 'lookup_order',
        output: 'shipped',
        isError: false,
        durationMs: 20,
      },
    ]);
    assert.equal(output, '▸ lookup_order orderId="A-1"\n  │ calling⏎the API\n  ⎿ shipped (20ms)\n');
  });

  it('prints the final answer when it was not streamed', async () => {
    const output = await draw([
      {
        type: 'complete',
        text: 'Only here.',
        steps: 1,
        usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 },
        stopReason: 'max_steps',
      },
    ]);
    assert.equal(output, 'Only here.\n1 step · 2 tokens · stopped at the step limit\n');
  });

  it('marks reasoning in words and dims it on a terminal; errors are red', async () => {
    const events: RunEventInput[] = [
      { type: 'thinking', step: 1, delta: 'hmm\nyes' },
      { type: 'tool_call', step: 1, id: 'c', name: 'read_file', input: { path: '/x' } },
      {
        type: 'tool_result',
        step: 1,
        id: 'c',
        name: 'read_file',
        output: 'no such file',
        isError: true,
        durationMs: 3,
      },
      { type: 'error', code: 'model_error', message: 'boom' },
      { type: 'status', status: 'failed', reason: 'model_error' },
    ];
    const plain = await draw(events);
    assert.equal(
      plain,
      'thinking: hmm\nyes\n▸ read_file path="/x"\n  ⎿ no such file (3ms)\nerror [model_error]: boom\n✖ failed (model_error)\n',
    );
    const coloured = await draw(events, true);
    const esc = '\u001b';
    const has = (part: string) => assert.ok(coloured.includes(part), JSON.stringify(coloured));
    has(`${esc}[2mhmm${esc}[22m\n${esc}[2myes${esc}[22m`);
    has(`${esc}[31mno such file${esc}[39m`);
    has(`${esc}[31m✖ failed (model_error)${esc}[39m`);
  });

  it('cuts long results to six lines and long lines to the width, and says so', async () => {
    const lines = Array.from({ length: 20 }, (_, i) => `line ${i + 1} ${'x'.repeat(200)}`);
    const output = await draw([
      {
        type: 'tool_result',
        step: 1,
        id: 'c',
        name: 'bash',
        output: lines.join('\n'),
        isError: false,
        durationMs: 10,
      },
    ]);
    const printed = output.trimEnd().split('\n');
    assert.equal(printed.length, 7);
    assert.equal(printed.at(-1), '    … 14 more lines');
    for (const line of printed) assert.ok([...line].length <= 90, line);
    assert.match(printed[5] ?? '', /^ {4}line 6 x+…$/);
  });

  it('compactInput and truncate', () => {
    assert.equal(compactInput({ a: 1, b: 'two', c: [3] }), 'a=1 b="two" c=[3]');
    assert.equal(compactInput('text'), '"text"');
    assert.equal(truncate('abcdef', 4), 'abc…');
    assert.equal(truncate('abc', 4), 'abc');
  });
});
