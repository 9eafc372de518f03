import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Sandbox, SandboxEngine } from '@runtools/sandbox';
import { waitFor } from '@runtools/sandbox/testing';
import { type AgentDefinition, defineAgent, type RunEventInput } from '@runtools/sdk';
import { ModelAccess } from '../models/model-access.ts';
import { loopbackRanges } from '../net/forbidden-ranges.ts';
import { loadProjectStrict } from '../project/project-loader.ts';
import { TestModelServer } from '../testing/test-model-server.ts';
import type { AgentTool } from '../tools/tool.ts';
import { type RunAgentOptions, runAgent } from './run-agent.ts';

const SDK_DIR = resolve(import.meta.dirname, '../../../sdk');
const TEMPLATES_DIR = process.env.RUNTOOLS_TEMPLATES_DIR ?? '/var/lib/runtools/templates';

/** The test model server is on loopback, which custom endpoints may not reach by default. */
const modelAccess = new ModelAccess({ endpointAllow: loopbackRanges });
const run = (options: RunAgentOptions) => runAgent({ modelAccess, ...options });

describe('the agent loop', () => {
  const dataDir = mkdtempSync('/var/tmp/rt-test-loop-');
  const project = mkdtempSync('/var/tmp/rt-test-loop-project-');
  let engine: SandboxEngine;
  let sandbox: Sandbox;
  let server: TestModelServer;

  before(async () => {
    engine = await SandboxEngine.open({ dataDir, templatesDir: TEMPLATES_DIR });
    sandbox = await engine.create({ template: 'debian-13' });
    server = await TestModelServer.start();
  });
  after(async () => {
    await server?.close();
    await sandbox?.delete().catch(() => {});
    await engine?.close();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(project, { recursive: true, force: true });
  });

  const agentFor = (overrides: Partial<Parameters<typeof defineAgent>[0]> = {}): AgentDefinition =>
    defineAgent({
      slug: 'tester',
      model: { provider: 'custom', endpoint: `${server.url}/v1`, model: 'llama-3.1-8b' },
      systemPrompt: 'You are a test agent.',
      tools: ['bash', 'read_file', 'edit_file', 'grep', 'glob', 'web_search'],
      ...overrides,
    });

  it('loads an agent from a project and runs it: edit_file, grep, bash, then a final answer, events in order', async () => {
    mkdirSync(join(project, 'node_modules', '@runtools'), { recursive: true });
    symlinkSync(SDK_DIR, join(project, 'node_modules', '@runtools', 'sdk'));
    mkdirSync(join(project, 'agents'));
    writeFileSync(
      join(project, 'agents', 'writer.ts'),
      `import { defineAgent } from '@runtools/sdk';
export default defineAgent({
  slug: 'writer',
  model: { provider: 'custom', endpoint: '${server.url}/v1', model: 'llama-3.1-8b' },
  systemPrompt: 'Write files when asked.',
  tools: ['bash', 'read_file', 'edit_file', 'grep', 'glob', 'web_search'],
});
`,
    );
    const { agents } = await loadProjectStrict(project);
    const agent = agents[0]?.agent as AgentDefinition;
    server.push(
      {
        toolCalls: [
          {
            name: 'edit_file',
            input: {
              path: '/root/notes.txt',
              old_string: '',
              new_string: 'hello agent\nsecond line\n',
            },
          },
        ],
      },
      {
        toolCalls: [
          { name: 'grep', input: { pattern: 'agent', path: '/root', output_mode: 'content' } },
        ],
      },
      { toolCalls: [{ name: 'bash', input: { command: 'wc -l < /root/notes.txt' } }] },
      { reasoning: 'The file has two lines.', text: 'I wrote /root/notes.txt; it has 2 lines.' },
    );
    const events: RunEventInput[] = [];
    const checkpoints: number[] = [];
    const result = await run({
      agent,
      input: 'Write a note and count its lines.',
      sandbox,
      onEvent: (e) => {
        events.push(e);
      },
      onCheckpoint: (s) => {
        checkpoints.push(s.steps);
      },
    });
    assert.equal(result.outcome, 'completed', JSON.stringify(result.error));
    assert.equal(result.text, 'I wrote /root/notes.txt; it has 2 lines.');
    assert.equal(
      (await sandbox.files.read('/root/notes.txt')).toString(),
      'hello agent\nsecond line\n',
    );
    assert.ok(
      events.every((e) => !('seq' in e) && !('ts' in e)),
      'the log stamps seq and ts, not the loop',
    );
    // Deltas collapse to one entry; `thinking` appears only where the wire format carries it.
    const kinds = events
      .map((e) => e.type)
      .filter((t) => t !== 'thinking')
      .filter((t, i, a) => !(t === 'text' && a[i - 1] === 'text'));
    assert.deepEqual(kinds, [
      'tool_call',
      'tool_result',
      'step',
      'tool_call',
      'tool_result',
      'step',
      'tool_call',
      'tool_result',
      'step',
      'text',
      'step',
      'complete',
    ]);
    const firstText = events.findIndex((e) => e.type === 'text');
    assert.ok(
      events.every((e, i) => e.type !== 'thinking' || i < firstText),
      'thinking comes before the answer',
    );
    const grep = events.find((e) => e.type === 'tool_result' && e.name === 'grep');
    assert.match(grep?.type === 'tool_result' ? grep.output : '', /notes\.txt:1:hello agent/);
    const bash = events.find((e) => e.type === 'tool_result' && e.name === 'bash');
    assert.match(bash?.type === 'tool_result' ? bash.output : '', /^2/m);
    assert.deepEqual(checkpoints, [1, 2, 3, 4]);
    // The model saw each tool result under the id of its call.
    const last = server.requests.at(-1);
    assert.ok(
      last?.messages.some((m) => m.role === 'tool' && /wc|2/.test(m.toolResult?.content ?? '')),
    );
    const complete = events.at(-1);
    assert.equal(complete?.type, 'complete');
    assert.ok(complete?.type === 'complete' && complete.usage.totalTokens > 0);
  });

  it('turns a throwing tool into an error result and carries on', async () => {
    const boom: AgentTool<{ x?: string }> = {
      name: 'boom',
      description: 'Always fails.',
      inputSchema: (await import('zod')).z.object({
        x: (await import('zod')).z.string().optional(),
      }),
      execute: async () => {
        throw new Error('kaput');
      },
    };
    server.push({ toolCalls: [{ name: 'boom', input: {} }] }, { text: 'It failed, sorry.' });
    const events: RunEventInput[] = [];
    const r = await run({
      agent: agentFor(),
      input: 'go',
      sandbox,
      tools: { boom },
      onEvent: (e) => void events.push(e),
    });
    assert.equal(r.outcome, 'completed');
    const res = events.find((e) => e.type === 'tool_result');
    assert.ok(res?.type === 'tool_result' && res.isError && /kaput/.test(res.output));
  });

  it('cancels mid-tool: the model stream stops and the tool process is killed', async () => {
    server.push({ toolCalls: [{ name: 'bash', input: { command: 'sleep 45' } }] });
    const ac = new AbortController();
    const events: RunEventInput[] = [];
    // Cancel once the tool's process runs in the sandbox (not after a delay that a slow machine
    // may spend before the command even starts).
    const sleeping = async () =>
      (await sandbox.exec('ps -eo args=')).stdout.split('\n').includes('sleep 45');
    let cancelled: Promise<void> | undefined;
    const r = await run({
      agent: agentFor(),
      input: 'sleep',
      sandbox,
      signal: ac.signal,
      onEvent: (e) => {
        events.push(e);
        if (e.type === 'tool_call') cancelled ??= waitFor(sleeping).then(() => ac.abort());
      },
    });
    await cancelled;
    assert.equal(r.outcome, 'cancelled');
    assert.deepEqual(events.at(-1)?.type === 'error' && events.at(-1), {
      ...events.at(-1),
      code: 'cancelled',
    });
    const ps = await sandbox.exec('ps -eo args= | grep -c "^sleep 45" || true');
    assert.equal(ps.stdout.trim(), '0', 'the sleep was killed');
  });

  it('cancels mid-stream: the model call stops', async () => {
    // A second between pieces: the answer would take several seconds more after the first one.
    server.push({ text: 'a slow answer that streams in many small pieces', delayMs: 1000 });
    const ac = new AbortController();
    const events: RunEventInput[] = [];
    const cutBefore = server.answersCut;
    const r = await run({
      agent: agentFor(),
      input: 'talk slowly',
      sandbox,
      signal: ac.signal,
      onEvent: (e) => {
        events.push(e);
        if (e.type === 'text') ac.abort();
      },
    });
    assert.equal(r.outcome, 'cancelled');
    assert.equal(events.filter((e) => e.type === 'text').length, 1);
    // The model server saw its answer cut: the cancel reached the model call mid-stream.
    await waitFor(() => server.answersCut === cutBefore + 1);
  });

  it('stops cleanly at maxSteps', async () => {
    const s2 = await TestModelServer.start({
      respond: () => ({ toolCalls: [{ name: 'bash', input: { command: 'echo again' } }] }),
    });
    try {
      const agent = agentFor({
        maxSteps: 3,
        model: { provider: 'custom', endpoint: `${s2.url}/v1`, model: 'loop' },
      });
      const events: RunEventInput[] = [];
      const r = await run({
        agent,
        input: 'loop forever',
        sandbox,
        onEvent: (e) => void events.push(e),
      });
      assert.equal(r.outcome, 'max_steps');
      assert.equal(r.steps, 3);
      const last = events.at(-1);
      assert.ok(last?.type === 'complete' && last.stopReason === 'max_steps');
    } finally {
      await s2.close();
    }
  });

  it('resumes from a checkpoint after the last completed step', async () => {
    server.push(
      { toolCalls: [{ name: 'bash', input: { command: 'cd /tmp && echo step1' } }] },
      { toolCalls: [{ name: 'bash', input: { command: 'pwd' } }] },
      { text: 'resumed fine' },
    );
    const ac = new AbortController();
    let saved:
      | Parameters<NonNullable<Parameters<typeof runAgent>[0]['onCheckpoint']>>[0]
      | undefined;
    const first = await run({
      agent: agentFor(),
      input: 'two steps',
      sandbox,
      signal: ac.signal,
      onCheckpoint: (s) => {
        saved = s;
        ac.abort();
      },
    });
    assert.equal(first.outcome, 'cancelled');
    assert.equal(saved?.steps, 1);
    const events: RunEventInput[] = [];
    const second = await run({
      agent: agentFor(),
      sandbox,
      resume: JSON.parse(JSON.stringify(saved)),
      onEvent: (e) => void events.push(e),
    });
    assert.equal(second.outcome, 'completed');
    assert.equal(second.text, 'resumed fine');
    const pwd = events.find((e) => e.type === 'tool_result');
    assert.match(
      pwd?.type === 'tool_result' ? pwd.output : '',
      /\/tmp/,
      'bash cwd survived the checkpoint',
    );
  });

  it('stops between steps: the tool call in flight finishes, the step is checkpointed, no error event', async () => {
    server.push({
      toolCalls: [{ name: 'bash', input: { command: 'sleep 1; echo slept-through' } }],
    });
    const stop = new AbortController();
    const events: RunEventInput[] = [];
    let saved: Parameters<NonNullable<Parameters<typeof runAgent>[0]['onCheckpoint']>>[0][] = [];
    const first = await run({
      agent: agentFor(),
      input: 'sleep then answer',
      sandbox,
      stopSignal: stop.signal,
      onEvent: (e) => {
        events.push(e);
        if (e.type === 'tool_call') stop.abort();
      },
      onCheckpoint: (s) => void saved.push(s),
    });
    assert.equal(first.outcome, 'stopped');
    assert.equal(first.error, undefined);
    assert.equal(first.steps, 1);
    assert.equal(saved.length, 1, 'the step was checkpointed before stopping');
    assert.deepEqual(
      events.map((e) => e.type),
      ['tool_call', 'tool_result', 'step'],
    );
    const result = events.find((e) => e.type === 'tool_result');
    assert.ok(result?.type === 'tool_result' && !result.isError);
    assert.match(result.output, /slept-through/, 'the tool call finished');

    // A stop during the model call abandons it: the step is redone on resume.
    server.push({ text: 'a slow answer that streams in many small pieces', delayMs: 100 });
    const stop2 = new AbortController();
    saved = [];
    const second = await run({
      agent: agentFor(),
      sandbox,
      resume: first.state,
      stopSignal: stop2.signal,
      onEvent: (e) => {
        if (e.type === 'text') stop2.abort();
      },
      onCheckpoint: (s) => void saved.push(s),
    });
    assert.equal(second.outcome, 'stopped');
    assert.equal(second.steps, 1);
    assert.equal(saved.length, 0);

    server.push({ text: 'after the pause' });
    const third = await run({ agent: agentFor(), sandbox, resume: second.state });
    assert.equal(third.outcome, 'completed');
    assert.equal(third.text, 'after the pause');
    assert.equal(third.steps, 2);
  });

  it('names the variable to set when a provider key is missing', async () => {
    const events: RunEventInput[] = [];
    const r = await run({
      agent: agentFor({ model: 'claude-sonnet-4-5' }),
      input: 'hi',
      sandbox,
      env: {},
      onEvent: (e) => void events.push(e),
    });
    assert.equal(r.outcome, 'failed');
    assert.equal(r.error?.code, 'model_unavailable');
    assert.match(r.error?.message ?? '', /ANTHROPIC_API_KEY/);
  });

  it('fails the run with model_endpoint_forbidden when the endpoint is at an address not allowed', async () => {
    const before = server.credentials.length;
    const r = await runAgent({
      agent: agentFor(),
      input: 'hi',
      sandbox,
      modelAccess: new ModelAccess(), // no allowances: loopback is refused
    });
    assert.equal(r.outcome, 'failed');
    assert.equal(r.error?.code, 'model_endpoint_forbidden');
    assert.match(r.error?.message ?? '', /RUNTOOLS_MODEL_ENDPOINT_ALLOW/);
    assert.equal(server.credentials.length, before, 'nothing reached the model server');
  });

  for (const [name, model, env] of [
    [
      'anthropic',
      'claude-sonnet-4-5',
      (u: string) => ({ ANTHROPIC_API_KEY: 'k', ANTHROPIC_BASE_URL: `${u}/v1` }),
    ],
    ['openai', 'gpt-4o', (u: string) => ({ OPENAI_API_KEY: 'k', OPENAI_BASE_URL: `${u}/v1` })],
  ] as const) {
    it(`runs through the ${name} provider against the test server`, async () => {
      server.push(
        { toolCalls: [{ name: 'bash', input: { command: `echo via-${name}` } }] },
        { reasoning: 'ok', text: `done with ${name}` },
      );
      const events: RunEventInput[] = [];
      const r = await run({
        agent: agentFor({ model }),
        input: 'hi',
        sandbox,
        env: env(server.url),
        onEvent: (e) => void events.push(e),
      });
      assert.equal(r.outcome, 'completed', JSON.stringify(r.error));
      assert.equal(r.text, `done with ${name}`);
      const res = events.find((e) => e.type === 'tool_result');
      assert.match(res?.type === 'tool_result' ? res.output : '', new RegExp(`via-${name}`));
      assert.equal(
        server.requests.at(-1)?.api,
        name === 'anthropic' ? 'anthropic-messages' : 'openai-responses',
      );
      const thinking = events
        .filter((e) => e.type === 'thinking')
        .map((e) => (e.type === 'thinking' ? e.delta : ''));
      assert.equal(thinking.join(''), 'ok', 'reasoning arrives as thinking events');
    });
  }
});
