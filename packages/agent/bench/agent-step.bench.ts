/**
 * The platform's overhead per agent step: `npm run bench:agent`. An instant scripted model (the
 * test model server on loopback) asks for a trivial tool every step; the time between step
 * events is what RunTools itself costs per step: the model request and stream parsing, event
 * emission, the tool call. Three tools, each over STEPS steps:
 * - `bash` running `true` in a real sandbox (a core tool: one sandbox exec);
 * - a custom tool (`defineTool`) that returns a string: the round trip to its tool runner (a
 *   child process as nobody, over IPC), input validation with zod, secrets and masking;
 * - a custom tool that runs `ctx.sandbox.exec('true')`: that round trip plus one sandbox exec
 *   requested by the runner and performed by this process;
 * - an MCP server's tool, remote: a server made with the official SDK on loopback (stateless
 *   Streamable HTTP, one HTTP request per call), called through the SDK's client;
 * - an MCP server's tool, local: a stdio server started inside the sandbox (python3, a few lines),
 *   its JSON-RPC carried over the sandbox's process pipes.
 * Then a workflow's overhead: a loop of an agent step (one model call that answers at once) and a
 * branch back to it, STEPS times, each step stored (serialised) as a server stores it, next to
 * the same model call made by a plain agent: the difference is what a workflow step costs
 * beyond its model call.
 * Environment: STEPS (default 200), PROVIDER (custom | openai | anthropic, default custom).
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { type Sandbox, SandboxEngine } from '@runtools/sandbox';
import { type AgentDefinition, defineAgent, splitAgentTools, toolDescriptor } from '@runtools/sdk';
import { z } from 'zod';
import { runAgent } from '../src/loop/run-agent.ts';
import { ModelAccess } from '../src/models/model-access.ts';
import { loopbackRanges } from '../src/net/forbidden-ranges.ts';
import { TestModelServer } from '../src/testing/test-model-server.ts';
import { bundleAgentSource } from '../src/testing/tool-bundle.ts';
import { createCustomTools } from '../src/tools/custom/custom-tools.ts';
import { ToolRunners } from '../src/tools/custom/tool-runners.ts';

const STEPS = Number(process.env.STEPS ?? 200);
const PROVIDER = process.env.PROVIDER ?? 'custom';

const toolsSource = `
import { defineAgent, defineTool } from '@runtools/sdk';
import { z } from 'zod';
const noop = defineTool({
  name: 'noop',
  description: 'Does nothing.',
  input: z.object({ n: z.number().int() }),
  secrets: ['BENCH_KEY'],
  execute: ({ n }, ctx) => 'ok ' + n + ' ' + ctx.secrets.BENCH_KEY.length,
});
const sandboxTrue = defineTool({
  name: 'sandbox_true',
  description: 'Runs true in the sandbox.',
  input: z.object({ n: z.number().int() }),
  execute: async (_input, ctx) => String((await ctx.sandbox.exec('true')).exitCode),
});
export default defineAgent({ slug: 'bench-tools', model: 'scripted', systemPrompt: 'Bench.', tools: [noop, sandboxTrue] });
`;

/** A stdio MCP server for the sandbox: one `noop` tool, newline-delimited JSON-RPC. */
const stdioMcpServer = String.raw`
import json, sys
def send(msg):
    sys.stdout.write(json.dumps(msg) + "\n"); sys.stdout.flush()
for line in sys.stdin:
    req = json.loads(line)
    if "id" not in req:
        continue
    if req["method"] == "initialize":
        send({"jsonrpc": "2.0", "id": req["id"], "result": {"protocolVersion": req["params"]["protocolVersion"],
              "capabilities": {"tools": {}}, "serverInfo": {"name": "bench", "version": "1"}}})
    elif req["method"] == "tools/list":
        send({"jsonrpc": "2.0", "id": req["id"], "result": {"tools": [{"name": "noop", "description": "Does nothing.",
              "inputSchema": {"type": "object", "properties": {"n": {"type": "integer"}}}}]}})
    elif req["method"] == "tools/call":
        send({"jsonrpc": "2.0", "id": req["id"], "result": {"content": [{"type": "text", "text": "ok"}]}})
    else:
        send({"jsonrpc": "2.0", "id": req["id"], "error": {"code": -32601, "message": "no such method"}})
`;

/** A remote MCP server made with the official SDK on loopback: one `noop` tool. */
async function startRemoteMcp(): Promise<{ url: string; close(): Promise<void> }> {
  const http = createServer(async (req, res) => {
    const mcp = new McpServer({ name: 'bench-remote', version: '1.0.0' });
    mcp.registerTool(
      'noop',
      { description: 'Does nothing.', inputSchema: { n: z.number().int() } },
      async ({ n }) => ({ content: [{ type: 'text', text: `ok ${n}` }] }),
    );
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => {
      void transport.close();
      void mcp.close();
    });
    await mcp.connect(transport);
    await transport.handleRequest(req, res);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`,
    close: () =>
      new Promise((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
}

interface Measured {
  label: string;
  steps: number[];
  tools: number[];
  mean: number;
}

const q = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] as number;

const dataDir = await mkdtemp('/var/tmp/rt-bench-agent-');
// Traversable by the tool runner's user, as a server's engine directory is.
await chmod(dataDir, 0o711);
const engine = await SandboxEngine.open({
  dataDir: join(dataDir, 'engine'),
  templatesDir: process.env.RUNTOOLS_TEMPLATES_DIR ?? '/var/lib/runtools/templates',
});
const runners = new ToolRunners({ dir: join(dataDir, 'tool-bundles') });
let calls = 0;
let tool = { name: 'bash', input: (_n: number): unknown => ({ command: 'true' }) };
/** Answers with text instead of a tool call (the workflow's agent steps): `again` until the last. */
let textTurns = false;
const server = await TestModelServer.start({
  respond: () =>
    textTurns
      ? { text: ++calls < STEPS ? 'again' : 'done' }
      : ++calls <= STEPS
        ? { toolCalls: [{ name: tool.name, input: tool.input(calls) }] }
        : { text: 'done' },
});
const model =
  PROVIDER === 'anthropic'
    ? 'claude-sonnet-4-5'
    : PROVIDER === 'openai'
      ? 'gpt-4o'
      : { provider: 'custom' as const, endpoint: `${server.url}/v1`, model: 'instant' };

async function measure(
  label: string,
  sandbox: Sandbox,
  agent: AgentDefinition,
  customTools?: Parameters<typeof runAgent>[0]['customTools'],
): Promise<Measured> {
  // A short run first: each path is measured warm (JIT, connections, the runner started).
  calls = STEPS - Math.min(20, STEPS);
  await runAgent({
    agent,
    input: 'warm up',
    sandbox,
    modelAccess: new ModelAccess({ endpointAllow: loopbackRanges }),
    env: { OPENAI_API_KEY: 'bench', OPENAI_BASE_URL: `${server.url}/v1` },
    ...(customTools ? { customTools } : {}),
  });
  calls = 0;
  const stepAt: number[] = [];
  const toolMs: number[] = [];
  const t0 = performance.now();
  const result = await runAgent({
    agent,
    input: 'go',
    sandbox,
    // The custom endpoint is the test model server, on loopback.
    modelAccess: new ModelAccess({ endpointAllow: loopbackRanges }),
    env: {
      OPENAI_API_KEY: 'bench',
      OPENAI_BASE_URL: `${server.url}/v1`,
      ANTHROPIC_API_KEY: 'bench',
      ANTHROPIC_BASE_URL: `${server.url}/v1`,
    },
    ...(customTools ? { customTools } : {}),
    onEvent: (e) => {
      if (e.type === 'step') stepAt.push(performance.now());
      if (e.type === 'tool_result') {
        if (e.isError) throw new Error(`${e.name} failed: ${e.output}`);
        toolMs.push(e.durationMs);
      }
    },
  });
  const total = performance.now() - t0;
  if (result.outcome !== 'completed')
    throw new Error(`run ended ${result.outcome}: ${result.error?.message}`);
  const steps = stepAt
    .slice(1)
    .map((t, i) => t - (stepAt[i] as number))
    .sort((a, b) => a - b);
  return { label, steps, tools: toolMs.sort((a, b) => a - b), mean: total / result.steps };
}

try {
  const sandbox = await engine.create({ template: 'debian-13' });
  const base = { slug: 'bench', model, systemPrompt: 'Benchmark.', maxSteps: STEPS + 1 };
  const rows: Measured[] = [];
  rows.push(
    await measure(
      'bash `true` in the sandbox (core tool)',
      sandbox,
      defineAgent({ ...base, tools: ['bash'] }),
    ),
  );

  const bundle = await bundleAgentSource(toolsSource);
  const file = join(dataDir, 'bench-agent.mjs');
  await writeFile(file, bundle.code);
  const bundled = (await import(pathToFileURL(file).href)).default as AgentDefinition;
  const descriptors = splitAgentTools(bundled.tools).definitions.map(toolDescriptor);
  const runner = await runners.runner(bundle.sha256, async () => bundle.code);
  const startedAt = performance.now();
  await runner.start();
  const runnerStartMs = performance.now() - startedAt;
  const agent = defineAgent({ ...base, tools: descriptors, bundle: bundle.sha256 });
  const customTools = async () =>
    createCustomTools(descriptors, {
      runner,
      secrets: { BENCH_KEY: 'bench-secret-value' },
      runId: 'run_bench',
      metadata: {},
    });
  tool = { name: 'noop', input: (n) => ({ n }) };
  rows.push(
    await measure(
      'custom tool returning a string (tool runner round trip)',
      sandbox,
      agent,
      customTools,
    ),
  );
  tool = { name: 'sandbox_true', input: (n) => ({ n }) };
  rows.push(
    await measure("custom tool running `ctx.sandbox.exec('true')`", sandbox, agent, customTools),
  );

  const remote = await startRemoteMcp();
  try {
    tool = { name: 'remote_noop', input: (n) => ({ n }) };
    rows.push(
      await measure(
        'MCP tool, remote server (Streamable HTTP on loopback)',
        sandbox,
        defineAgent({ ...base, tools: [], mcpServers: { remote: { url: remote.url } } }),
      ),
    );
  } finally {
    await remote.close();
  }
  await sandbox.files.write('/root/mcp_bench.py', stdioMcpServer);
  tool = { name: 'local_noop', input: (n) => ({ n }) };
  rows.push(
    await measure(
      'MCP tool, stdio server inside the sandbox',
      sandbox,
      defineAgent({
        ...base,
        tools: [],
        mcpServers: { local: { command: 'python3', args: ['/root/mcp_bench.py'] } },
      }),
    ),
  );

  console.log(
    `# npm run bench:agent  PROVIDER=${PROVIDER} STEPS=${STEPS}  ${new Date().toISOString()}`,
  );
  console.log('| tool called every step | step p50 | step p99 | step mean | tool p50 | tool p99 |');
  console.log('|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(
      `| ${r.label} | ${q(r.steps, 0.5).toFixed(2)} ms | ${q(r.steps, 0.99).toFixed(2)} ms | ${r.mean.toFixed(2)} ms | ${q(r.tools, 0.5).toFixed(2)} ms | ${q(r.tools, 0.99).toFixed(2)} ms |`,
    );
  }
  const [bash, noop, , remoteRow, localRow] = rows as [
    Measured,
    Measured,
    Measured,
    Measured,
    Measured,
  ];
  // Next to bash `true`: what a step with each kind of tool takes more (+) or less (−).
  const added = (r: Measured) => {
    const d = q(r.steps, 0.5) - q(bash.steps, 0.5);
    return `${d < 0 ? '−' : '+'}${Math.abs(d).toFixed(2)} ms`;
  };
  console.log(
    `\nWhat a custom tool call itself costs (the round trip to its runner over IPC, zod validation, ` +
      `secrets and masking): p50 ${q(noop.tools, 0.5).toFixed(2)} ms, p99 ${q(noop.tools, 0.99).toFixed(2)} ms ` +
      `(target: at most 5 ms). Starting a bundle's runner, once: ${runnerStartMs.toFixed(0)} ms.`,
  );
  console.log(
    `Step p50 next to bash \`true\` (${q(bash.steps, 0.5).toFixed(2)} ms): custom tool ${added(noop)}, ` +
      `remote MCP tool ${added(remoteRow)}, stdio MCP tool in the sandbox ${added(localRow)}.`,
  );

  // A workflow: `think` (one model call, answered at once with text) then `check` (a branch
  // back to it until the answer is `done`), STEPS times; every step stored as a server does.
  textTurns = true;
  const flow = defineAgent({
    ...base,
    tools: [],
    workflow: {
      start: 'think',
      maxTransitions: 2 * STEPS + 10,
      steps: {
        think: { kind: 'agent', prompt: 'Go on.', next: 'check' },
        check: {
          kind: 'branch',
          on: 'steps.think.output',
          cases: { done: 'end' },
          default: 'think',
        },
        end: { kind: 'branch', on: 'input', cases: {}, default: 'stop' },
        stop: { kind: 'agent', prompt: 'Done.' },
      },
    },
  });
  const iteration: number[] = [];
  /** Of each iteration, the model call: from the agent step's start to its `step` event. */
  const modelCall: number[] = [];
  let storedBytes = 0;
  let last = 0;
  calls = 0;
  const flowStarted = performance.now();
  const flowResult = await runAgent({
    agent: flow,
    input: 'loop',
    sandbox,
    modelAccess: new ModelAccess({ endpointAllow: loopbackRanges }),
    onCheckpoint: (state) => {
      storedBytes = JSON.stringify(state).length;
    },
    onEvent: (e) => {
      if (e.type === 'workflow_step_started' && e.stepId === 'think') {
        const now = performance.now();
        if (last) iteration.push(now - last);
        last = now;
      }
      if (e.type === 'step' && e.workflowStep === 'think') modelCall.push(performance.now() - last);
    },
  });
  const flowTotal = performance.now() - flowStarted;
  if (flowResult.outcome !== 'completed')
    throw new Error(`the workflow ended ${flowResult.outcome}: ${flowResult.error?.message}`);
  const overhead = iteration.map((t, i) => t - (modelCall[i] as number)).sort((x, y) => x - y);
  iteration.sort((x, y) => x - y);
  modelCall.sort((x, y) => x - y);
  console.log(
    `\nWorkflow: ${iteration.length + 1} iterations of an agent step and a branch (${flowTotal.toFixed(0)} ms in all; ` +
      `the state stored after each step, ${(storedBytes / 1024).toFixed(1)} KiB at the end).`,
  );
  console.log('| per iteration | p50 | p99 |');
  console.log('|---|---|---|');
  console.log(
    `| agent step + branch step | ${q(iteration, 0.5).toFixed(2)} ms | ${q(iteration, 0.99).toFixed(2)} ms |`,
  );
  console.log(
    `| of it, the model call (step start → its \`step\` event) | ${q(modelCall, 0.5).toFixed(2)} ms | ${q(modelCall, 0.99).toFixed(2)} ms |`,
  );
  console.log(
    `| the rest: events, outputs, two stored states, the branch | ${q(overhead, 0.5).toFixed(2)} ms | ${q(overhead, 0.99).toFixed(2)} ms |`,
  );
  console.log(
    `What a workflow step costs beyond its model call: ${(q(overhead, 0.5) / 2).toFixed(2)} ms p50 per step (two steps an iteration; target ≤ 10 ms).`,
  );
  await sandbox.delete();
} finally {
  await server.close();
  await runners.close();
  await engine.close();
  await rm(dataDir, { recursive: true, force: true });
}
