import assert from 'node:assert/strict';
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { type AgentDefinition, splitAgentTools, toolDescriptor } from '@runtools/sdk';
import { useSandbox } from '../../testing/sandbox-fixture.ts';
import { bundleAgentSource } from '../../testing/tool-bundle.ts';
import type { AgentTool, ToolContext } from '../tool.ts';
import { createCustomTools } from './custom-tools.ts';
import type { ToolRunner } from './tool-runner.ts';
import { TOOL_RUNNER_USER, ToolRunners } from './tool-runners.ts';

const SECRET = 'sk-orders-0123456789abcdef';

/** An agent file with a tool for each behaviour under test. */
const agentSource = `
import { connect } from 'node:net';
import { defineAgent, defineTool } from '@runtools/sdk';
import { z } from 'zod';

const echo = defineTool({
  name: 'echo',
  description: 'Repeats a text.',
  input: z.object({ text: z.string().min(1), times: z.number().int().min(1).default(1) }),
  execute({ text, times }, ctx) {
    ctx.log('echoing ' + text);
    return text.repeat(times);
  },
});

const whoami = defineTool({
  name: 'whoami',
  description: 'Says who runs it.',
  input: z.object({}),
  execute: (_input, ctx) => ({
    pid: process.pid,
    uid: process.getuid(),
    gid: process.getgid(),
    groups: process.getgroups(),
    env: Object.keys(process.env),
    runId: ctx.runId,
    metadata: ctx.metadata,
    secrets: Object.keys(ctx.secrets),
  }),
});

const orders = defineTool({
  name: 'orders',
  description: 'Uses the orders key.',
  input: z.object({}),
  secrets: ['ORDERS_API_KEY'],
  execute: (_input, ctx) => {
    ctx.log('using ' + ctx.secrets.ORDERS_API_KEY);
    return 'the key is ' + ctx.secrets.ORDERS_API_KEY;
  },
});

const fails = defineTool({
  name: 'fails',
  description: 'Throws.',
  input: z.object({}),
  execute: () => {
    throw new Error('the orders API is down');
  },
});

const workspace = defineTool({
  name: 'workspace',
  description: 'Acts in the sandbox.',
  input: z.object({ dir: z.string() }),
  async execute({ dir }, ctx) {
    await ctx.sandbox.files.write(dir + '/note.txt', 'written by the tool');
    const exec = await ctx.sandbox.exec('cat note.txt; id -u; pwd', { cwd: dir, env: { X: '1' } });
    const argv = await ctx.sandbox.exec(['sh', '-c', 'echo $X; exit 3'], { env: { X: 'x' } });
    const list = await ctx.sandbox.files.list(dir);
    const read = await ctx.sandbox.files.read(dir + '/note.txt');
    let missing = '';
    try {
      await ctx.sandbox.files.read(dir + '/nope.txt');
    } catch (error) {
      missing = error.code + ': ' + error.message;
    }
    return { exec, argv, list: list.map((e) => e.name + ':' + e.type), read, missing };
  },
});

const waits = defineTool({
  name: 'waits',
  description: 'Waits until it is cancelled.',
  input: z.object({}),
  execute: (_input, ctx) =>
    new Promise((resolve) =>
      ctx.signal.addEventListener('abort', () => resolve('saw the abort: ' + ctx.signal.reason.message)),
    ),
});

const slow = defineTool({
  name: 'slow',
  description: 'Stops when told to.',
  input: z.object({}),
  timeoutMs: 300,
  execute: (_input, ctx) =>
    new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve('stopped'))),
});

const stuck = defineTool({
  name: 'stuck',
  description: 'Never yields.',
  input: z.object({}),
  timeoutMs: 300,
  execute: () => {
    const end = Date.now() + 120_000;
    while (Date.now() < end) {}
    return 'never';
  },
});

const probe = defineTool({
  name: 'probe',
  description: 'Tries to reach a unix socket itself.',
  input: z.object({ path: z.string() }),
  execute: ({ path }) =>
    new Promise((resolve) => {
      const socket = connect(path);
      socket.on('connect', () => {
        socket.destroy();
        resolve('connected');
      });
      socket.on('error', (error) => resolve(error.code));
    }),
});

const crash = defineTool({
  name: 'crash',
  description: 'Kills its runner.',
  input: z.object({}),
  execute: () => process.exit(3),
});

export default defineAgent({
  slug: 'custom-tools-test',
  model: 'scripted',
  systemPrompt: 'Test.',
  tools: ['bash', echo, whoami, orders, fails, workspace, waits, slow, stuck, probe, crash],
  workflow: {
    start: 'count',
    steps: {
      count: {
        kind: 'code',
        run: ({ input, steps }) => ({ words: input.split(' ').length, seen: Object.keys(steps), uid: process.getuid() }),
        next: 'broken',
      },
      broken: {
        kind: 'code',
        run: () => {
          throw new Error('the code step broke');
        },
      },
    },
  },
});
`;

describe('custom tools in a tool runner (a real runner process, a real sandbox)', () => {
  const sandbox = useSandbox('custom-tools');
  // Traversable by the runner's user, as a server's engine directory is.
  const work = mkdtempSync('/var/tmp/rt-custom-tools-');
  chmodSync(work, 0o711);
  const runners = new ToolRunners({ dir: join(work, 'bundles'), stopGraceMs: 500 });
  let runner: ToolRunner;
  let tools: Record<string, AgentTool>;
  const logs: string[] = [];

  const context = (overrides: Partial<ToolContext> = {}): ToolContext =>
    sandbox.context({ log: (line) => logs.push(line), ...overrides });
  const call = (name: string, input: unknown = {}, ctx = context()) =>
    (tools[name] as AgentTool).execute(input as Record<string, unknown>, ctx);

  before(async () => {
    const bundle = await bundleAgentSource(agentSource);
    // What the CLI sends beside the bundle: each tool's descriptor, from the agent file.
    const file = join(work, 'agent.mjs');
    writeFileSync(file, bundle.code);
    const agent = (await import(pathToFileURL(file).href)).default as AgentDefinition;
    const descriptors = splitAgentTools(agent.tools).definitions.map(toolDescriptor);
    runner = await runners.runner(bundle.sha256, async () => bundle.code);
    tools = createCustomTools(descriptors, {
      runner,
      secrets: { ORDERS_API_KEY: SECRET, OTHER_KEY: 'not-declared-by-anyone' },
      runId: 'run_test',
      metadata: { customer: 'c-42' },
    });
  });
  after(async () => {
    await runners.close();
    rmSync(work, { recursive: true, force: true });
  });

  it("runs a workflow's code steps in the runner, as nobody; a throw rejects with its message", async () => {
    const signal = AbortSignal.timeout(30_000);
    const context = { input: 'three little words', steps: { earlier: { output: 1 } } };
    assert.deepEqual(await runner.runCode('count', context, signal), {
      words: 3,
      seen: ['earlier'],
      uid: process.getuid?.() === 0 ? TOOL_RUNNER_USER.uid : process.getuid?.(),
    });
    await assert.rejects(runner.runCode('broken', context, signal), /the code step broke/);
    await assert.rejects(runner.runCode('missing', context, signal), /no code step "missing"/);
  });

  it('shows the model the JSON schema of each zod input and validates calls with it', async () => {
    assert.deepEqual((tools.echo as AgentTool).modelSchema, {
      type: 'object',
      properties: {
        text: { type: 'string', minLength: 1 },
        times: { type: 'integer', minimum: 1, default: 1, maximum: Number.MAX_SAFE_INTEGER },
      },
      required: ['text'],
    });
    const ok = await call('echo', { text: 'ab', times: 2 });
    assert.deepEqual([ok.output, ok.isError], ['abab', false]);
    assert.ok(logs.includes('echoing ab'));
    const bad = await call('echo', { text: '', times: 0.5 });
    assert.equal(bad.isError, true);
    assert.match(bad.output, /^Invalid input for echo: text: .+; times: .+/);
  });

  it('runs as nobody (65534) with an empty environment, only its declared secrets', async () => {
    const r = await call('whoami');
    const who = JSON.parse(r.output) as Record<string, unknown>;
    assert.equal(who.uid, TOOL_RUNNER_USER.uid);
    assert.equal(who.gid, TOOL_RUNNER_USER.gid);
    assert.deepEqual(who.groups, [TOOL_RUNNER_USER.gid]);
    assert.deepEqual(who.env, []);
    assert.deepEqual(who.secrets, []);
    assert.equal(who.runId, 'run_test');
    assert.deepEqual(who.metadata, { customer: 'c-42' });
    // The host's view of the process, not only its own.
    assert.equal(who.pid, runner.pid);
    const status = readFileSync(`/proc/${runner.pid}/status`, 'utf8');
    assert.match(status, /^Uid:\s+65534\s+65534\s+65534\s+65534$/m);
    assert.match(status, /^Gid:\s+65534\s+65534\s+65534\s+65534$/m);
    assert.match(status, /^CapEff:\s+0+$/m);
    // Nothing but the IPC channel's own variables, which Node sets for the child.
    const environ = readFileSync(`/proc/${runner.pid}/environ`, 'utf8').split('\0').filter(Boolean);
    assert.deepEqual(
      environ.filter((v) => !v.startsWith('NODE_CHANNEL_')),
      [],
    );
  });

  it('gives a tool the secrets it declared, per call, masked in what comes back', async () => {
    logs.length = 0;
    const r = await call('orders');
    assert.deepEqual([r.output, r.isError], ['the key is [ORDERS_API_KEY]', false]);
    assert.deepEqual(logs, ['using [ORDERS_API_KEY]']);
    // Never in the runner's environment.
    assert.doesNotMatch(readFileSync(`/proc/${runner.pid}/environ`, 'utf8'), /ORDERS/);
  });

  it('fails a call whose declared secret the server lacks, naming the variable', async () => {
    // The same runner, on a server without the secret's value.
    const without = createCustomTools(
      [
        {
          custom: 'orders',
          description: 'Uses the orders key.',
          inputSchema: { type: 'object' },
          secrets: ['ORDERS_API_KEY'],
        },
      ],
      { runner, secrets: {}, runId: 'run_test', metadata: {}, secretsHelp: '(for the test)' },
    );
    const r = await (without.orders as AgentTool).execute({}, context());
    assert.equal(r.isError, true);
    assert.equal(
      r.output,
      "orders needs the secret ORDERS_API_KEY, which the server does not have: set it in the server's environment (for the test).",
    );
  });

  it("makes a throw an error result with the tool's message", async () => {
    const r = await call('fails');
    assert.deepEqual([r.output, r.isError], ['fails failed: the orders API is down', true]);
  });

  it('acts in the workspace sandbox through ctx.sandbox: exec, files', async () => {
    const r = await call('workspace', { dir: '/tmp/custom' });
    assert.equal(r.isError, false, r.output);
    const out = JSON.parse(r.output) as Record<string, unknown>;
    assert.deepEqual(out.exec, {
      exitCode: 0,
      stdout: 'written by the tool0\n/tmp/custom\n',
      stderr: '',
      timedOut: false,
    });
    assert.deepEqual(out.argv, { exitCode: 3, stdout: 'x\n', stderr: '', timedOut: false });
    assert.deepEqual(out.list, ['note.txt:file']);
    assert.equal(out.read, 'written by the tool');
    assert.match(String(out.missing), /^file_not_found: /);
    // The file is in the run's sandbox, where bash sees it.
    assert.equal(await sandbox.sh('cat /tmp/custom/note.txt'), 'written by the tool');
  });

  it("cannot reach the sandbox's supervisor itself: only through the server", async () => {
    const socket = readdirSync('/var/tmp')
      .filter((name) => name.startsWith('rt-agent-custom-tools-'))
      .map((name) => join('/var/tmp', name, 'sandboxes', sandbox.sandbox.id, 'run', 'sup.sock'))
      .find((path) => existsSync(path));
    assert.ok(socket, 'the sandbox has a supervisor socket');
    const r = await call('probe', { path: socket });
    assert.equal(r.output, 'EACCES');
  });

  it('cancels a call when the run is aborted: the tool sees ctx.signal abort', async () => {
    const controller = new AbortController();
    const pending = call('waits', {}, context({ signal: controller.signal }));
    setTimeout(() => controller.abort('cancel'), 200);
    const r = await pending;
    assert.equal(r.output, 'saw the abort: The run was cancelled.');
    assert.equal(r.metadata?.outcome, 'cancelled');
  });

  it('answers a timeout at the deadline and tells the tool to stop', async () => {
    const started = performance.now();
    const r = await call('slow');
    assert.ok(performance.now() - started < 3000);
    assert.deepEqual(
      [r.output, r.isError, r.metadata?.outcome],
      ['slow timed out after 300 ms (its timeoutMs) and was told to stop.', true, 'timeout'],
    );
  });

  it('kills and restarts a runner whose tool does not stop, and one that dies', async () => {
    const before = runner.pid;
    const stuck = await call('stuck');
    assert.equal(stuck.metadata?.outcome, 'timeout');
    // The grace passes, the runner is killed; the next call starts a new one.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const after1 = await call('echo', { text: 'again' });
    assert.equal(after1.output, 'again');
    assert.notEqual(runner.pid, before);
    const crashed = await call('crash');
    assert.equal(crashed.isError, true);
    assert.match(
      crashed.output,
      /^The tool runner stopped \(exit code 3\) while crash was running\./,
    );
    assert.equal((await call('echo', { text: 'back' })).output, 'back');
  });
});
