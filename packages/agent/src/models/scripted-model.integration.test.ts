import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type AgentDefinitionInput, defineAgent, type RunEventInput } from '@runtools/sdk';
import { runAgent } from '../loop/run-agent.ts';
import { useSandbox } from '../testing/sandbox-fixture.ts';

describe("the scripted demo model (model: 'auto' without keys) in the agent loop", () => {
  const fx = useSandbox('scripted');

  async function run(input: string, overrides: Partial<AgentDefinitionInput> = {}) {
    const agent = defineAgent({
      slug: 'demo',
      model: 'auto',
      systemPrompt: 'You are a demo agent.',
      tools: ['bash', 'read_file', 'edit_file', 'grep', 'glob', 'web_search'],
      ...overrides,
    });
    const events: RunEventInput[] = [];
    const result = await runAgent({
      agent,
      input,
      sandbox: fx.sandbox,
      env: {},
      onEvent: (e) => {
        events.push(e);
      },
    });
    const calls = events.filter((e) => e.type === 'tool_call');
    const results = events.filter((e) => e.type === 'tool_result');
    const thinking = events
      .filter((e) => e.type === 'thinking')
      .map((e) => (e.type === 'thinking' ? e.delta : ''))
      .join('');
    return { result, events, calls, results, thinking };
  }

  it('thinks, runs `uname -a` with bash, then answers quoting the result and naming the keys to set', async () => {
    const { result, events, calls, results, thinking } = await run('Hello! What can you do?');
    assert.equal(result.outcome, 'completed', JSON.stringify(result.error));
    assert.equal(result.steps, 2);
    assert.equal(calls.length, 1);
    const call = calls[0];
    assert.ok(call?.type === 'tool_call');
    assert.equal(call.name, 'bash');
    assert.deepEqual(call.input, { command: 'uname -a' });
    const output = results[0]?.type === 'tool_result' ? results[0].output : '';
    assert.match(output, /Linux/);
    assert.match(thinking, /scripted demo model/);
    assert.match(result.text, /scripted demo model/);
    assert.match(result.text, /ANTHROPIC_API_KEY/);
    // The answer quotes the tool's output.
    const firstLine = output.split('\n').find((l) => /Linux/.test(l)) ?? '';
    assert.ok(result.text.includes(firstLine.trim()), result.text);
    // Thinking streams before the tool call; the answer text comes after the tool result.
    const firstThinking = events.findIndex((e) => e.type === 'thinking');
    const firstCall = events.findIndex((e) => e.type === 'tool_call');
    const firstText = events.findIndex((e) => e.type === 'text');
    assert.ok(firstThinking < firstCall && firstCall < firstText);
    assert.ok(events.filter((e) => e.type === 'text').length > 1, 'the answer is streamed');
    assert.equal(events.at(-1)?.type, 'complete');
  });

  it('reads a file the input names with read_file, and quotes its content', async () => {
    await fx.sh('printf "alpha\\nbeta gamma\\n" > /root/notes.txt');
    const { result, calls } = await run('What is in /root/notes.txt?');
    assert.equal(result.outcome, 'completed', JSON.stringify(result.error));
    const call = calls[0];
    assert.ok(call?.type === 'tool_call');
    assert.equal(call.name, 'read_file');
    assert.deepEqual(call.input, { path: '/root/notes.txt' });
    assert.match(result.text, /beta gamma/);
  });

  it('lists files with `ls -la` when asked about files, and cats a file when there is no read_file', async () => {
    const listed = await run('list the files here please');
    assert.ok(listed.calls[0]?.type === 'tool_call');
    assert.deepEqual(listed.calls[0].input, { command: 'ls -la' });
    assert.match(listed.result.text, /total \d+/);

    const catted = await run('show me notes.txt', { tools: ['bash'] });
    assert.ok(catted.calls[0]?.type === 'tool_call');
    assert.deepEqual(catted.calls[0].input, { command: 'cat -- notes.txt' });
  });

  it('answers directly when the agent has no tools, and gives the same answer every time', async () => {
    const a = await run('Hi', { tools: [] });
    const b = await run('Hi', { tools: [] });
    assert.equal(a.result.outcome, 'completed');
    assert.equal(a.calls.length, 0);
    assert.equal(a.result.steps, 1);
    assert.match(a.result.text, /scripted demo model/);
    assert.equal(a.result.text, b.result.text);
  });

  it("is also the model 'scripted', whatever keys are set", async () => {
    const agent = defineAgent({
      slug: 'demo',
      model: 'scripted',
      systemPrompt: 'x',
      tools: ['bash'],
    });
    const result = await runAgent({
      agent,
      input: 'uname please',
      sandbox: fx.sandbox,
      env: { ANTHROPIC_API_KEY: 'sk-ant-not-used' },
    });
    assert.equal(result.outcome, 'completed', JSON.stringify(result.error));
    assert.match(result.text, /Linux/);
  });
});
