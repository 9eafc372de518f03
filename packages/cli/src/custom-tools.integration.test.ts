import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type RecordedRequest, TestModelServer } from '@runtools/agent/testing';
import { SandboxEngine } from '@runtools/sandbox';
import { type RunEvent, RunTools } from '@runtools/sdk';
import { type DevServer, devEngineDataDir, startDevServer } from './dev/dev-server.ts';
import { runCli } from './testing/remote-cli-fixture.ts';

const API_KEY = 'custom-tools-test-key-0123456789';
/** Written in two halves where a command names it: the command itself must not hold it. */
const SECRET_HEAD = 'sk-orders-';
const SECRET_TAIL = 'c0ffee0123456789abcdef';
const SECRET = SECRET_HEAD + SECRET_TAIL;

/** The team's orders service, on loopback: what the custom tool calls with its secret. */
interface OrdersService {
  url: string;
  requests: Array<{ path: string; authorization: string | undefined }>;
  close(): Promise<void>;
}

async function startOrdersService(): Promise<OrdersService> {
  const requests: OrdersService['requests'] = [];
  const server: Server = createServer((req, res) => {
    requests.push({ path: req.url ?? '', authorization: req.headers.authorization });
    if (req.headers.authorization !== `Bearer ${SECRET}`) {
      res.writeHead(401).end();
      return;
    }
    const order = /^\/orders\/([\w-]+)$/.exec(req.url ?? '')?.[1];
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(order ? { orderId: order, status: 'shipped', items: 2 } : {}));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * The scripted model: the run's input is a JSON list of tool calls, made one per step; after the
 * last it answers with the last tool result.
 */
function plannedTurn(request: RecordedRequest) {
  const input = request.messages.find((m) => m.role === 'user')?.text ?? '[]';
  const plan = JSON.parse(input) as Array<{ tool: string; input: unknown }>;
  const results = request.messages.filter((m) => m.role === 'tool');
  const next = plan[results.length];
  if (next) return { toolCalls: [{ name: next.tool, input: next.input }] };
  return { text: `done: ${results.at(-1)?.toolResult?.content ?? ''}` };
}

const toolsSource = (
  ordersUrl: string,
  lookupDescription: string,
) => `import { defineTool } from '@runtools/sdk';
import { z } from 'zod';
import { orderPath } from '../../lib/orders.ts';

const ORDERS = '${ordersUrl}';

export const lookupOrder = defineTool({
  name: 'lookup_order',
  description: '${lookupDescription}',
  input: z.object({ orderId: z.string().regex(/^A-\\d+$/).describe('e.g. A-1042') }),
  secrets: ['ORDERS_API_KEY'],
  async execute({ orderId }, ctx) {
    ctx.log('looking up ' + orderId);
    const r = await fetch(ORDERS + orderPath(orderId), {
      headers: { authorization: 'Bearer ' + ctx.secrets.ORDERS_API_KEY },
      signal: ctx.signal,
    });
    if (!r.ok) throw new Error('the orders API answered ' + r.status);
    return r.json();
  },
});

export const checkInventory = defineTool({
  name: 'check_inventory',
  description: 'Checks the stock of a product.',
  input: z.object({ sku: z.string() }),
  execute() {
    throw new Error('the inventory service is down');
  },
});

export const slowReport = defineTool({
  name: 'slow_report',
  description: 'Builds a report, slowly.',
  input: z.object({}),
  timeoutMs: 500,
  execute: (_input, ctx) =>
    new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve('stopped'))),
});

export const waitForApproval = defineTool({
  name: 'wait_for_approval',
  description: 'Waits for a person to approve a refund.',
  input: z.object({}),
  timeoutMs: 120_000,
  async execute(_input, ctx) {
    ctx.log('waiting for a person');
    await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
    await fetch(ORDERS + '/aborted?reason=' + encodeURIComponent(ctx.signal.reason.message));
    return 'saw the abort';
  },
});

export const writeNote = defineTool({
  name: 'write_note',
  description: 'Leaves a note in the workspace.',
  input: z.object({ path: z.string(), text: z.string() }),
  async execute({ path, text }, ctx) {
    await ctx.sandbox.files.write(path, text);
    const r = await ctx.sandbox.exec(['sh', '-c', 'wc -c < "$1"; id -u', 'sh', path]);
    const listed = (await ctx.sandbox.files.list('/tmp')).map((e) => e.path);
    return { wc: r.stdout, exitCode: r.exitCode, listed: listed.includes(path), read: await ctx.sandbox.files.read(path) };
  },
});

export const issueRefund = defineTool({
  name: 'issue_refund',
  description: 'Refunds an amount to the customer.',
  input: z.object({ amount: z.number() }),
  // Small refunds go through; a person approves the large ones.
  approval: ({ amount }) => amount > 100,
  execute: ({ amount }) => 'refunded ' + amount,
});

export const runnerInfo = defineTool({
  name: 'runner_info',
  description: 'Says which process runs the tools.',
  input: z.object({}),
  execute: () => ({ pid: process.pid, uid: process.getuid(), env: Object.keys(process.env) }),
});
`;

/** A file outside agents/ that the tools import. */
const ordersLib = (prefix: string) =>
  `export const orderPath = (id: string): string => '${prefix}' + id;\n`;

const agentSource = (modelUrl: string) => `import { defineAgent } from '@runtools/sdk';
import { checkInventory, issueRefund, lookupOrder, runnerInfo, slowReport, waitForApproval, writeNote } from './tools.ts';

export default defineAgent({
  slug: 'support-bot',
  model: { provider: 'custom', endpoint: '${modelUrl}/v1', model: 'scripted' },
  systemPrompt: 'You help customers with their orders.',
  tools: ['bash', lookupOrder, checkInventory, slowReport, waitForApproval, writeNote, runnerInfo, issueRefund],
  approvals: { bash: (input) => /\\brm\\b/.test(input.command) },
  template: 'debian-13',
  maxSteps: 10,
});
`;

describe('custom tools of an agent folder, synced by runtools dev to a real server (real sandboxes, tool runners)', () => {
  const work = mkdtempSync('/var/tmp/rt-cli-custom-tools-');
  const project = join(work, 'shop');
  let orders: OrdersService;
  let model: TestModelServer;
  let dev: DevServer;
  let rt: RunTools;
  /** Every event of every run of the suite: none may hold the secret. */
  const allEvents: RunEvent[] = [];

  const plan = (...calls: Array<[string, unknown]>) =>
    JSON.stringify(calls.map(([tool, input]) => ({ tool, input })));
  const runPlan = async (...calls: Array<[string, unknown]>) => {
    const result = await rt.run('support-bot', plan(...calls));
    const events = await rt.runs.events(result.runId);
    allEvents.push(...events);
    return { result, events };
  };
  const results = (events: RunEvent[]) =>
    events.filter((e): e is Extract<RunEvent, { type: 'tool_result' }> => e.type === 'tool_result');

  before(async () => {
    orders = await startOrdersService();
    model = await TestModelServer.start({ respond: plannedTurn });
    mkdirSync(join(project, 'agents', 'support-bot'), { recursive: true });
    writeFileSync(
      join(project, 'runtools.config.ts'),
      "import { defineConfig } from '@runtools/sdk';\nexport default defineConfig({});\n",
    );
    writeFileSync(
      join(project, 'agents', 'support-bot', 'tools.ts'),
      toolsSource(orders.url, 'Looks up an order by its id.'),
    );
    writeFileSync(join(project, 'agents', 'support-bot', 'index.ts'), agentSource(model.url));
    mkdirSync(join(project, 'lib'));
    writeFileSync(join(project, 'lib', 'orders.ts'), ordersLib('/orders/'));
    dev = await startDevServer({
      root: project,
      port: 0,
      host: '127.0.0.1',
      apiKey: API_KEY,
      modelEnv: {},
      // As `runtools dev` passes its environment: the tool may read only what it declares.
      toolSecrets: { ORDERS_API_KEY: SECRET, OTHER_SERVICE_KEY: 'sk-other-not-declared' },
      debounceMs: 50,
    });
    rt = new RunTools({ apiKey: API_KEY, baseUrl: dev.url });
  });
  after(async () => {
    await dev?.stop();
    await model?.close();
    await orders?.close();
    const engineDir = devEngineDataDir(project);
    if (existsSync(engineDir)) {
      const engine = await SandboxEngine.open({ dataDir: engineDir });
      for (const s of engine.list()) await engine.delete(s.id).catch(() => {});
      await engine.close();
    }
    rmSync(engineDir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  it('deploys the tools as descriptors and the agent folder as one bundle the server keeps', async () => {
    const [endpoint] = dev.last.endpoints;
    assert.ok(endpoint?.bundle);
    assert.deepEqual(endpoint.customTools, [
      'lookup_order',
      'check_inventory',
      'slow_report',
      'wait_for_approval',
      'write_note',
      'runner_info',
      'issue_refund',
    ]);
    assert.deepEqual(endpoint.bundleFiles, [
      'agents/support-bot/index.ts',
      'agents/support-bot/tools.ts',
      'lib/orders.ts',
    ]);
    const runtime = await rt.runtimes.get(endpoint.runtimeId);
    assert.equal(runtime.definition.bundle, endpoint.bundle);
    const tools = runtime.definition.tools as Array<string | Record<string, unknown>>;
    assert.equal(tools[0], 'bash');
    assert.deepEqual(tools[1], {
      custom: 'lookup_order',
      description: 'Looks up an order by its id.',
      inputSchema: {
        type: 'object',
        properties: {
          orderId: { type: 'string', pattern: '^A-\\d+$', description: 'e.g. A-1042' },
        },
        required: ['orderId'],
      },
      secrets: ['ORDERS_API_KEY'],
    });
    const code = await rt.bundles.get(endpoint.bundle);
    assert.equal(createHash('sha256').update(code).digest('hex'), endpoint.bundle);
    // Everything the agent needs is in it (zod, the SDK): a runner resolves no packages.
    assert.doesNotMatch(new TextDecoder().decode(code), /from ["'](zod|@runtools\/sdk)["']/);
  });

  it('runs a tool that reads its secret and calls a loopback service; the sandbox never holds the secret', async () => {
    const { result, events } = await runPlan(
      ['lookup_order', { orderId: 'A-1042' }],
      [
        'bash',
        {
          command:
            'env; cat /proc/[0-9]*/environ 2>/dev/null | tr "\\0" "\\n"; ' +
            `grep -rIl --exclude-dir=proc --exclude-dir=sys --exclude-dir=dev -e "${SECRET_HEAD}""${SECRET_TAIL}" / 2>/dev/null; ` +
            'echo "grep exit $?"',
        },
      ],
    );
    assert.equal(result.status, 'completed', JSON.stringify(result.error));
    // The service got the key from the tool.
    assert.deepEqual(orders.requests.at(-1), {
      path: '/orders/A-1042',
      authorization: `Bearer ${SECRET}`,
    });
    const [lookup, check] = results(events);
    assert.equal(lookup?.isError, false);
    assert.deepEqual(JSON.parse(lookup?.output ?? ''), {
      orderId: 'A-1042',
      status: 'shipped',
      items: 2,
    });
    assert.equal(lookup?.metadata?.customTool, true);
    assert.ok((lookup?.durationMs ?? -1) >= 0);
    const log = events.find((e) => e.type === 'tool_log');
    assert.deepEqual(log && { ...log, seq: 0, ts: '' }, {
      type: 'tool_log',
      step: 1,
      id: lookup?.id,
      name: 'lookup_order',
      message: 'looking up A-1042',
      seq: 0,
      ts: '',
    });
    // The tool_log comes between the call and its result.
    const order = events.map((e) => e.type).filter((t) => t.startsWith('tool_'));
    assert.deepEqual(order.slice(0, 3), ['tool_call', 'tool_log', 'tool_result']);
    // The model's shell saw its environment (PATH, …) and the processes' ones: no secret.
    assert.match(check?.output ?? '', /PATH=/);
    assert.match(check?.output ?? '', /grep exit 1/);
    assert.ok(!check?.output.includes(SECRET));
  });

  it('makes a tool that throws an error result the model sees, and the run goes on', async () => {
    const { result, events } = await runPlan(['check_inventory', { sku: 'X' }]);
    assert.equal(result.status, 'completed');
    const [r] = results(events);
    assert.deepEqual(
      [r?.isError, r?.output],
      [true, 'check_inventory failed: the inventory service is down'],
    );
    assert.match(JSON.stringify(result.output), /the inventory service is down/);
  });

  it('makes a tool that outlives its timeoutMs an error result at the deadline', async () => {
    const { result, events } = await runPlan(['slow_report', {}]);
    assert.equal(result.status, 'completed');
    const [r] = results(events);
    assert.deepEqual(
      [r?.isError, r?.output],
      [true, 'slow_report timed out after 500 ms (its timeoutMs) and was told to stop.'],
    );
    assert.ok((r?.durationMs ?? 0) >= 500 && (r?.durationMs ?? 0) < 3000, String(r?.durationMs));
  });

  it('cancels a run while its tool waits on ctx.signal: the tool sees the abort', async () => {
    const started = await rt.run('support-bot', plan(['wait_for_approval', {}]), { wait: false });
    const deadline = Date.now() + 60_000;
    while (!(await rt.runs.events(started.runId)).some((e) => e.type === 'tool_log')) {
      assert.ok(Date.now() < deadline, 'the tool never started');
      await sleep(50);
    }
    await rt.runs.cancel(started.runId);
    let run = await rt.runs.get(started.runId);
    while (run.status === 'running' && Date.now() < deadline) {
      await sleep(50);
      run = await rt.runs.get(started.runId);
    }
    assert.equal(run.status, 'cancelled');
    const events = await rt.runs.events(started.runId);
    allEvents.push(...events);
    assert.deepEqual(
      orders.requests.filter((r) => r.path.startsWith('/aborted')).map((r) => r.path),
      [`/aborted?reason=${encodeURIComponent('The run was cancelled.')}`],
    );
    const [r] = results(events);
    assert.equal(r?.output, 'saw the abort');
  });

  it("acts in the run's workspace sandbox through ctx.sandbox (exec, files)", async () => {
    const { result, events } = await runPlan(
      ['write_note', { path: '/tmp/note.txt', text: 'refund approved' }],
      ['bash', { command: 'cat /tmp/note.txt' }],
    );
    assert.equal(result.status, 'completed');
    const [note, cat] = results(events);
    assert.deepEqual(JSON.parse(note?.output ?? ''), {
      wc: '15\n0\n',
      exitCode: 0,
      listed: true,
      read: 'refund approved',
    });
    // The model's bash sees what the tool wrote: one sandbox.
    assert.match(cat?.output ?? '', /^refund approved/);
  });

  it('runs the tools in a process of uid 65534 with an empty environment', async () => {
    const { events } = await runPlan(['runner_info', {}]);
    const info = JSON.parse(results(events)[0]?.output ?? '') as {
      pid: number;
      uid: number;
      env: string[];
    };
    assert.equal(info.uid, 65534);
    assert.deepEqual(info.env, []);
    const status = readFileSync(`/proc/${info.pid}/status`, 'utf8');
    assert.match(status, /^Uid:\s+65534\s+65534\s+65534\s+65534$/m);
    assert.match(status, /^Gid:\s+65534\s+65534\s+65534\s+65534$/m);
    assert.doesNotMatch(readFileSync(`/proc/${info.pid}/environ`, 'utf8'), /ORDERS|SECRET/);
  });

  it('puts the secret in no run event', () => {
    assert.ok(allEvents.length > 20);
    assert.ok(!JSON.stringify(allEvents).includes(SECRET));
  });

  it('runtools deploy --server makes the same bundle in its own process: nothing to change', async () => {
    const result = await runCli([
      'deploy',
      '--dir',
      project,
      '--server',
      dev.url,
      '--api-key',
      API_KEY,
      '--json',
    ]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const deployed = JSON.parse(result.stdout) as { changed: boolean; changes: unknown[] };
    assert.deepEqual([deployed.changed, deployed.changes], [false, []]);
  });

  it("asks a person only when an approval function says so: the agent's for bash, the tool's own for issue_refund", async () => {
    const runtime = await rt.runtimes.get(dev.last.endpoints[0]?.runtimeId ?? '');
    assert.deepEqual(runtime.definition.approvals, { bash: 'input' });
    const refund = (runtime.definition.tools as Array<Record<string, unknown>>).find(
      (t) => t.custom === 'issue_refund',
    );
    assert.equal(refund?.approval, 'input');

    const quiet = await runPlan(
      ['bash', { command: 'echo fine' }],
      ['issue_refund', { amount: 20 }],
    );
    assert.equal(quiet.result.status, 'completed');
    assert.ok(!quiet.events.some((e) => e.type === 'approval_requested'));
    assert.deepEqual(
      results(quiet.events).map((r) => r.output.split('\n')[0]),
      ['fine', 'refunded 20'],
    );

    const started = await rt.run(
      'support-bot',
      plan(
        ['bash', { command: 'rm -f /tmp/nothing; echo removed' }],
        ['issue_refund', { amount: 500 }],
      ),
      { wait: false },
    );
    const waiting = async () => {
      for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(50)) {
        const run = await rt.runs.get(started.runId);
        if (run.status === 'waiting' && run.approval) return run.approval;
        assert.ok(!['completed', 'failed', 'cancelled'].includes(run.status), run.status);
      }
      throw new Error('the run did not wait');
    };
    const first = await waiting();
    assert.deepEqual(
      [first.tool, first.input],
      ['bash', { command: 'rm -f /tmp/nothing; echo removed' }],
    );
    await rt.runs.approve(started.runId, first.callId);
    const second = await waiting();
    assert.deepEqual([second.tool, second.input], ['issue_refund', { amount: 500 }]);
    await rt.runs.deny(started.runId, second.callId, { reason: 'over the limit' });
    for (let run = await rt.runs.get(started.runId); run.status !== 'completed'; await sleep(50)) {
      assert.ok(!['failed', 'cancelled'].includes(run.status), run.status);
      run = await rt.runs.get(started.runId);
    }
    const events = await rt.runs.events(started.runId);
    allEvents.push(...events);
    const [removed, refused] = results(events);
    assert.equal(removed?.output.split('\n')[0], 'removed');
    assert.equal(refused?.isError, true);
    assert.match(refused?.output ?? '', /denied.*over the limit/);
  });

  it('deploys a new runtime version with a new bundle when tools.ts, or a file it imports, changes', async () => {
    const before = dev.last.endpoints[0];
    writeFileSync(
      join(project, 'agents', 'support-bot', 'tools.ts'),
      toolsSource(orders.url, 'Finds an order by its id.'),
    );
    const deadline = Date.now() + 60_000;
    while (dev.last.endpoints[0]?.runtimeVersion === before?.runtimeVersion) {
      assert.ok(Date.now() < deadline, 'no new version');
      await sleep(50);
    }
    const now = dev.last.endpoints[0];
    assert.equal(now?.runtimeVersion, (before?.runtimeVersion ?? 0) + 1);
    assert.notEqual(now?.bundle, before?.bundle);
    const runtime = await rt.runtimes.get(now?.runtimeId ?? '');
    const lookup = (runtime.definition.tools as Array<Record<string, unknown>>)[1];
    assert.equal(lookup?.description, 'Finds an order by its id.');
    // A file outside agents/ that the tools import is watched too, and its code shipped.
    writeFileSync(join(project, 'lib', 'orders.ts'), ordersLib('/v2/orders/'));
    while (dev.last.endpoints[0]?.runtimeVersion === now?.runtimeVersion) {
      assert.ok(Date.now() < deadline, 'no new version after lib/orders.ts changed');
      await sleep(50);
    }
    assert.notEqual(dev.last.endpoints[0]?.bundle, now?.bundle);
    const { result } = await runPlan(['lookup_order', { orderId: 'A-7' }]);
    assert.equal(result.status, 'completed');
    assert.equal(orders.requests.at(-1)?.path, '/v2/orders/A-7');
  });
});
