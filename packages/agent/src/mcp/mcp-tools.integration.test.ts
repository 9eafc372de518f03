import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { type Sandbox, SandboxEngine } from '@runtools/sandbox';
import { type AgentDefinition, defineAgent, type RunEventInput } from '@runtools/sdk';
import { z } from 'zod';
import { runAgent } from '../loop/run-agent.ts';
import { ModelAccess } from '../models/model-access.ts';
import { loopbackRanges } from '../net/forbidden-ranges.ts';
import { TestModelServer } from '../testing/test-model-server.ts';

const TEMPLATES_DIR = process.env.RUNTOOLS_TEMPLATES_DIR ?? '/var/lib/runtools/templates';
const modelAccess = new ModelAccess({ endpointAllow: loopbackRanges });

/**
 * A remote MCP server made with the official SDK, on loopback (stateless Streamable HTTP): `add`
 * answers, `slow` never does, `boom` throws; `hidden` is there to be filtered out. It records the
 * Authorization header each request brought.
 */
async function startRemoteMcp(): Promise<{ url: string; auth: string[]; close(): Promise<void> }> {
  const auth: string[] = [];
  const server: Server = createServer(async (req, res) => {
    auth.push(String(req.headers.authorization));
    const mcp = new McpServer({ name: 'test-remote', version: '1.0.0' });
    mcp.registerTool(
      'add',
      { description: 'Adds two numbers', inputSchema: { a: z.number(), b: z.number() } },
      async ({ a, b }) => ({ content: [{ type: 'text', text: String(a + b) }] }),
    );
    mcp.registerTool('slow', { description: 'Never answers' }, () => new Promise(() => {}));
    mcp.registerTool('boom', { description: 'Fails' }, async () => {
      throw new Error('the boom tool broke');
    });
    mcp.registerTool('hidden', { description: 'Filtered out' }, async () => ({
      content: [{ type: 'text', text: 'should not be reachable' }],
    }));
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => {
      void transport.close();
      void mcp.close();
    });
    await mcp.connect(transport);
    await transport.handleRequest(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    auth,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * A stdio MCP server written by hand (python3, no SDK) for the sandbox: `hello` answers after a
 * line of garbage on stdout, `crash` kills the server.
 */
const handMadeServer = String.raw`
import json, sys
def send(msg):
    sys.stdout.write(json.dumps(msg) + "\n"); sys.stdout.flush()
for line in sys.stdin:
    req = json.loads(line)
    if "id" not in req:
        continue
    method = req["method"]
    if method == "initialize":
        send({"jsonrpc": "2.0", "id": req["id"], "result": {"protocolVersion": req["params"]["protocolVersion"],
              "capabilities": {"tools": {}}, "serverInfo": {"name": "hand", "version": "1"}}})
    elif method == "tools/list":
        tools = [{"name": n, "description": n, "inputSchema": {"type": "object", "properties": {}}} for n in ("hello", "crash")]
        send({"jsonrpc": "2.0", "id": req["id"], "result": {"tools": tools}})
    elif method == "tools/call":
        if req["params"]["name"] == "crash":
            sys.exit(3)
        sys.stdout.write("this line is not JSON-RPC\n"); sys.stdout.flush()
        with open("/root/workspace-file.txt") as f:
            text = f.read().strip()
        send({"jsonrpc": "2.0", "id": req["id"], "result": {"content": [{"type": "text", "text": "hello from the sandbox: " + text}]}})
    else:
        send({"jsonrpc": "2.0", "id": req["id"], "error": {"code": -32601, "message": "no " + method}})
`;

describe('MCP servers as tools (real sandboxes, the official SDK)', () => {
  const dataDir = mkdtempSync('/var/tmp/rt-test-mcp-');
  let engine: SandboxEngine;
  let sandbox: Sandbox;
  let model: TestModelServer;
  let remote: Awaited<ReturnType<typeof startRemoteMcp>>;

  const agentWith = (mcpServers: Record<string, unknown>): AgentDefinition =>
    defineAgent({
      slug: 'mcp-user',
      model: { provider: 'custom', endpoint: `${model.url}/v1`, model: 'scripted' },
      systemPrompt: 'Use your tools.',
      tools: ['bash'],
      mcpServers: mcpServers as never,
    });

  before(async () => {
    engine = await SandboxEngine.open({ dataDir, templatesDir: TEMPLATES_DIR });
    sandbox = await engine.create({ template: 'debian-13' });
    model = await TestModelServer.start();
    remote = await startRemoteMcp();
  });
  after(async () => {
    await remote?.close();
    await model?.close();
    await sandbox?.delete().catch(() => {});
    await engine?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('a remote server: its allowed tools join the agent, a hang or a throw is an error result, the run goes on', async () => {
    model.clearScript();
    model.push(
      { toolCalls: [{ name: 'remote_add', input: { a: 2, b: 40 } }] },
      { toolCalls: [{ name: 'remote_slow', input: {} }] },
      { toolCalls: [{ name: 'remote_boom', input: {} }] },
      { text: 'Done with the remote tools.' },
    );
    const events: RunEventInput[] = [];
    const result = await runAgent({
      agent: agentWith({
        remote: {
          url: remote.url,
          headers: { Authorization: 'Bearer remote-token' },
          deny: ['hidden'],
          timeoutMs: 1000,
        },
      }),
      input: 'add things',
      sandbox,
      modelAccess,
      onEvent: (e) => {
        events.push(e);
      },
    });
    assert.equal(result.outcome, 'completed', JSON.stringify(result.error));
    const results = events.filter((e) => e.type === 'tool_result');
    assert.deepEqual(
      results.map((r) => [r.name, r.isError, r.output.slice(0, 40)]),
      [
        ['remote_add', false, '42'],
        ['remote_slow', true, results[1]?.output.slice(0, 40)],
        ['remote_boom', true, results[2]?.output.slice(0, 40)],
      ],
    );
    assert.match(results[1]?.output ?? '', /timed out/i);
    assert.match(results[2]?.output ?? '', /the boom tool broke/);
    // The model saw the tools with the server's own JSON schema, and not the filtered one.
    const offered = model.requests[0]?.tools?.map((t) => t.name) ?? [];
    assert.deepEqual(offered.sort(), ['bash', 'remote_add', 'remote_boom', 'remote_slow']);
    assert.ok(
      remote.auth.every((a) => a === 'Bearer remote-token'),
      'its headers were sent',
    );
  });

  it("an MCP server's tool can wait for approval: the loop stops at the call and goes on with the answer", async () => {
    model.clearScript();
    model.push(
      { toolCalls: [{ name: 'remote_add', input: { a: 1, b: 2 } }] },
      { text: 'Added after approval.' },
    );
    const agent = defineAgent({
      ...agentWith({ remote: { url: remote.url } }),
      approvals: { remote_add: 'always' },
    });
    const events: RunEventInput[] = [];
    const onEvent = (e: RunEventInput) => {
      events.push(e);
    };
    const asked = remote.auth.length;
    const first = await runAgent({ agent, input: 'add', sandbox, modelAccess, onEvent });
    assert.equal(first.outcome, 'waiting');
    assert.equal(first.approval?.tool, 'remote_add');
    assert.deepEqual(first.approval?.input, { a: 1, b: 2 });
    assert.ok(first.state.pending, 'the state holds the step up to the call');
    const callsBefore = remote.auth.length - asked;
    // Continued from the state with the answer: the call runs now, once.
    const second = await runAgent({
      agent,
      sandbox,
      modelAccess,
      onEvent,
      resume: first.state,
      answer: { callId: first.approval?.callId ?? '', decision: 'approved' },
    });
    assert.equal(second.outcome, 'completed', JSON.stringify(second.error));
    assert.equal(second.text, 'Added after approval.');
    const results = events.filter((e) => e.type === 'tool_result');
    assert.deepEqual(
      results.map((r) => [r.name, r.output]),
      [['remote_add', '3']],
    );
    assert.equal(events.filter((e) => e.type === 'tool_call').length, 1, 'the call once');
    assert.ok(remote.auth.length - asked > callsBefore, 'the server was called after the answer');
  });

  it('a stdio server runs inside the sandbox: it sees the workspace; garbage is skipped, a crash is an error result', async () => {
    await sandbox.files.write('/root/workspace-file.txt', 'the workspace\n');
    await sandbox.files.write('/root/hand-mcp.py', handMadeServer);
    model.clearScript();
    model.push(
      { toolCalls: [{ name: 'hand_hello', input: {} }] },
      { toolCalls: [{ name: 'hand_crash', input: {} }] },
      { text: 'The server crashed, and I carried on.' },
    );
    const events: RunEventInput[] = [];
    const result = await runAgent({
      agent: agentWith({ hand: { command: 'python3', args: ['/root/hand-mcp.py'] } }),
      input: 'say hello',
      sandbox,
      modelAccess,
      onEvent: (e) => {
        events.push(e);
      },
    });
    assert.equal(result.outcome, 'completed', JSON.stringify(result.error));
    assert.equal(result.text, 'The server crashed, and I carried on.');
    const results = events.filter((e) => e.type === 'tool_result');
    assert.equal(results[0]?.output, 'hello from the sandbox: the workspace');
    assert.equal(results[0]?.isError, false);
    assert.equal(results[1]?.isError, true);
    // The server process is gone with the run: nothing is left running in the sandbox.
    const left = (await sandbox.processes.list()).filter(
      (p) => p.running && p.command.includes('/root/hand-mcp.py'),
    );
    assert.deepEqual(left, []);
  });

  it('a server that cannot start fails the run with mcp_server_failed naming it', async () => {
    model.clearScript();
    const result = await runAgent({
      agent: agentWith({
        broken: {
          command: 'python3',
          args: ['-c', 'import sys; print("no", file=sys.stderr); sys.exit(1)'],
        },
      }),
      input: 'x',
      sandbox,
      modelAccess,
    });
    assert.equal(result.outcome, 'failed');
    assert.equal(result.error?.code, 'mcp_server_failed');
    assert.match(result.error?.message ?? '', /MCP server "broken"/);
  });

  it('a remote server at a loopback address is refused unless the operator allows it', async () => {
    model.clearScript();
    const before = remote.auth.length;
    const result = await runAgent({
      agent: agentWith({ remote: { url: remote.url } }),
      input: 'x',
      sandbox,
      modelAccess: new ModelAccess(), // no operator allowances
    });
    assert.equal(result.outcome, 'failed');
    assert.equal(result.error?.code, 'mcp_server_failed', JSON.stringify(result.error));
    assert.match(result.error?.message ?? '', /refuse/i);
    assert.equal(remote.auth.length, before, 'the server on loopback received nothing');
  });

  it('a real published server from the npm registry, started in a nodejs-20 sandbox', async () => {
    const node = await engine.create({ template: 'nodejs-20', network: { mode: 'egress' } });
    try {
      await node.exec('mkdir -p /srv/data && echo "notes in the sandbox" > /srv/data/notes.txt');
      model.clearScript();
      model.push(
        { toolCalls: [{ name: 'files_read_text_file', input: { path: '/srv/data/notes.txt' } }] },
        { text: 'Read it.' },
      );
      const events: RunEventInput[] = [];
      const result = await runAgent({
        agent: agentWith({
          files: {
            command: 'npx',
            args: ['-y', '@modelcontextprotocol/server-filesystem@2026.8.31', '/srv/data'],
            env: { npm_config_cache: '/tmp/npm-cache' },
            allow: ['read_text_file', 'list_directory'],
          },
        }),
        input: 'read the notes',
        sandbox: node,
        modelAccess,
        onEvent: (e) => {
          events.push(e);
        },
      });
      assert.equal(result.outcome, 'completed', JSON.stringify(result.error));
      const read = events.find((e) => e.type === 'tool_result');
      assert.equal(read?.type === 'tool_result' && read.output.trim(), 'notes in the sandbox');
    } finally {
      await node.delete();
    }
  });

  it('names tools SERVER_TOOL and shows the model the server’s own schema', async () => {
    const { tools } = await import('./mcp-tools.ts').then(async (m) => {
      const c = await m.connectMcpServers(
        { remote: { url: remote.url, headers: {}, allow: ['add'] } },
        {
          sandbox,
          signal: new AbortController().signal,
          endpointPolicy: modelAccess.endpointPolicy,
        },
      );
      await c.close();
      return c;
    });
    assert.deepEqual(Object.keys(tools), ['remote_add']);
    assert.deepEqual(tools.remote_add?.modelSchema?.required, ['a', 'b']);
  });
});
