import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  StreamableHTTPClientTransport,
  StreamableHTTPError,
} from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError, type Progress } from '@modelcontextprotocol/sdk/types.js';
import { TestModelServer } from '@runtools/agent/testing';
import { waitFor as waitUntil } from '@runtools/sandbox/testing';
import fc from 'fast-check';
import { type Database, openDatabase } from '../../db/database.ts';
import {
  type ControlPlane,
  deployScriptedAgent,
  startControlPlane,
} from '../../testing/control-plane.ts';
import { testBootstrapKey } from '../../testing/test-server.ts';

interface RunJson {
  id: string;
  status: string;
  metadata: Record<string, unknown> | null;
  output: { text: string } | null;
}

interface Structured {
  runId: string;
  status: string;
  output: { text: string } | null;
  error: { code: string; message: string } | null;
}

const waitFor = <T>(fn: () => Promise<T | undefined | false>, ms = 60_000) =>
  waitUntil(fn, { timeoutMs: ms, intervalMs: 25 });

/** A promise the test opens when it is ready: held model answers wait for it. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

/** RunTools' own MCP endpoint, used by the official SDK client (real server, real sandboxes). */
describe('MCP endpoint /v1/mcp', () => {
  const dbDir = mkdtempSync(join(tmpdir(), 'runtools-mcp-'));
  let database: Database;
  let model: TestModelServer;
  let cp: ControlPlane;
  /** While true the server takes no new runs, as when it shuts down. */
  let draining = false;

  /** An SDK client connected with `key`; closed by `await using`. */
  const connect = async (key = testBootstrapKey) => {
    const transport = new StreamableHTTPClientTransport(new URL(`${cp.url}/v1/mcp`), {
      requestInit: { headers: { Authorization: `Bearer ${key}` } },
    });
    const client = new Client({ name: 'runtools-test', version: '1.0.0' });
    await client.connect(transport);
    return { client, transport, [Symbol.asyncDispose]: () => client.close() };
  };

  const keyWith = async (body: Record<string, unknown>) => {
    const response = await cp.request('POST', '/v1/api-keys', { body: { name: 'mcp', ...body } });
    assert.equal(response.status, 201, JSON.stringify(response.body));
    return (response.body as { key: string }).key;
  };

  const getRun = async (id: string) => {
    const response = await cp.request('GET', `/v1/runs/${id}`);
    assert.equal(response.status, 200, JSON.stringify(response.body));
    return response.body as RunJson;
  };

  /** The id of the run whose progress notification arrives first. */
  const runIdFrom = (progress: Progress[]) =>
    waitFor(async () => progress.map((p) => p.message?.match(/run_[0-9a-z]+/)?.[0]).find(Boolean));

  before(async () => {
    database = await openDatabase({ kind: 'sqlite', dataDir: dbDir });
    model = await TestModelServer.start();
    cp = await startControlPlane(database, { app: { acceptingRuns: () => !draining } });
    await deployScriptedAgent(cp, model.url, 'alpha', 'You answer questions about the alpha team.');
    await deployScriptedAgent(cp, model.url, 'beta');
  });
  after(async () => {
    await cp?.close();
    await model?.close();
    await database?.close();
    rmSync(dbDir, { recursive: true, force: true });
  });

  it('lists the deployments as tools and runs one, answering with its output and run id', async () => {
    await using mcp = await connect();
    assert.equal(mcp.client.getServerVersion()?.name, 'runtools');
    const { tools } = await mcp.client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), ['alpha', 'beta']);
    const alpha = tools.find((t) => t.name === 'alpha');
    assert.match(alpha?.description ?? '', /the alpha team/);
    assert.match(alpha?.description ?? '', /model scripted/);
    assert.deepEqual(alpha?.inputSchema.required, ['input']);
    assert.deepEqual(Object.keys(alpha?.inputSchema.properties ?? {}), ['input', 'metadata']);

    model.push(
      { toolCalls: [{ name: 'bash', input: { command: 'echo hello' } }] },
      { text: 'Alpha says hello.' },
    );
    const progress: Progress[] = [];
    const result = await mcp.client.callTool(
      { name: 'alpha', arguments: { input: 'Say hello.', metadata: { ticket: 7 } } },
      undefined,
      { onprogress: (p) => progress.push(p) },
    );
    assert.equal(result.isError, undefined);
    assert.deepEqual(result.content, [{ type: 'text', text: 'Alpha says hello.' }]);
    const structured = result.structuredContent as unknown as Structured;
    assert.equal(structured.status, 'completed');
    assert.equal(structured.output?.text, 'Alpha says hello.');
    assert.equal(structured.error, null);
    const run = await getRun(structured.runId);
    assert.equal(run.status, 'completed');
    assert.equal(run.output?.text, 'Alpha says hello.');
    assert.deepEqual(run.metadata, { ticket: 7 });
    assert.deepEqual(
      progress.map((p) => p.message),
      [
        `Run ${structured.runId} is running.`,
        'Step 1: calling bash.',
        'Step 1 done (tool-calls).',
        'Step 2 done (stop).',
      ],
    );
    assert.deepEqual(
      progress.map((p) => p.progress),
      progress.map((_, i) => i + 1),
    );
    const sent = model.requests.at(-1)?.messages.filter((m) => m.role === 'user');
    assert.equal(sent?.at(-1)?.text, 'Say hello.');
  });

  it('lists the deployments as they are now: created and deleted ones since', async () => {
    await using mcp = await connect();
    const id = await deployScriptedAgent(cp, model.url, 'gamma');
    assert.ok((await mcp.client.listTools()).tools.some((t) => t.name === 'gamma'));
    assert.equal((await cp.request('DELETE', `/v1/deployments/${id}`)).status, 204);
    assert.ok(!(await mcp.client.listTools()).tools.some((t) => t.name === 'gamma'));
    await assert.rejects(
      mcp.client.callTool({ name: 'gamma', arguments: { input: 'x' } }),
      (error: unknown) => error instanceof McpError && error.code === -32602,
    );
  });

  it('refuses a key without the "run" scope (403) and a missing key (401)', async () => {
    const deployer = await keyWith({ scopes: ['deploy'] });
    await assert.rejects(
      connect(deployer),
      (error: unknown) => error instanceof StreamableHTTPError && error.code === 403,
    );
    const raw = await fetch(`${cp.url}/v1/mcp`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${deployer}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    assert.equal(raw.status, 403);
    const body = (await raw.json()) as { error: { code: string; details: unknown } };
    assert.equal(body.error.code, 'insufficient_scope');
    assert.deepEqual(body.error.details, { requiredScopes: ['run'] });
    await assert.rejects(
      connect('rtk_not_a_key'),
      (error: unknown) => error instanceof StreamableHTTPError && error.code === 401,
    );
  });

  it('shows a deployment-restricted key only its deployment, and calls no other', async () => {
    await using mcp = await connect(await keyWith({ deployments: ['alpha'] }));
    assert.deepEqual(
      (await mcp.client.listTools()).tools.map((t) => t.name),
      ['alpha'],
    );
    await assert.rejects(
      mcp.client.callTool({ name: 'beta', arguments: { input: 'x' } }),
      (error: unknown) =>
        error instanceof McpError && error.code === -32602 && /Unknown tool/.test(error.message),
    );
    model.push({ text: 'Alpha, for the app.' });
    const result = await mcp.client.callTool({ name: 'alpha', arguments: { input: 'hi' } });
    assert.deepEqual(result.content, [{ type: 'text', text: 'Alpha, for the app.' }]);
  });

  it('answers a failed run with isError, its code, message and run id', async () => {
    await using mcp = await connect();
    model.push({ error: { status: 400, message: 'The scripted model refuses.' } });
    const result = await mcp.client.callTool({ name: 'beta', arguments: { input: 'fail' } });
    assert.equal(result.isError, true);
    const structured = result.structuredContent as unknown as Structured;
    assert.equal(structured.status, 'failed');
    assert.ok(structured.error?.code, JSON.stringify(structured));
    const text = (result.content as Array<{ text: string }>)[0]?.text ?? '';
    assert.ok(text.includes(structured.runId) && text.includes(structured.error.code), text);
    assert.match(text, /refuses/);
    assert.equal((await getRun(structured.runId)).status, 'failed');
  });

  it('answers bad arguments with an error result the model can read, starting no run', async () => {
    await using mcp = await connect();
    const before = (await cp.store.runs.list({ limit: 100 })).items.length;
    for (const args of [{}, { input: 42 }, { input: 'x', extra: true }, { input: '' }]) {
      const result = await mcp.client.callTool({ name: 'alpha', arguments: args });
      assert.equal(result.isError, true, JSON.stringify(args));
      assert.match((result.content as Array<{ text: string }>)[0]?.text ?? '', /^invalid_input: /);
    }
    assert.equal((await cp.store.runs.list({ limit: 100 })).items.length, before);
  });

  let heldCalls = 0;
  /** Starts a call whose model turn is held; returns its run id once the model call is made. */
  const heldCall = async (mcp: Awaited<ReturnType<typeof connect>>, signal?: AbortSignal) => {
    const held = gate();
    const input = `wait ${++heldCalls}`;
    model.push({ text: 'Never seen.', hold: held.opened });
    const progress: Progress[] = [];
    const call = mcp.client.callTool({ name: 'beta', arguments: { input } }, undefined, {
      onprogress: (p) => progress.push(p),
      ...(signal ? { signal } : {}),
    });
    call.catch(() => {});
    const runId = await runIdFrom(progress);
    // The held turn is taken: the run is in its first model call, and no later run gets it.
    await waitFor(async () => model.requests.some((r) => r.messages.some((m) => m.text === input)));
    return { call, runId, release: held.open };
  };

  const waitForCancelled = (runId: string) =>
    waitFor(async () => (await getRun(runId)).status === 'cancelled');

  it('cancels the run when the client cancels the call', async () => {
    await using mcp = await connect();
    const abort = new AbortController();
    const { call, runId, release } = await heldCall(mcp, abort.signal);
    try {
      abort.abort('the user changed their mind');
      await assert.rejects(call);
      await waitForCancelled(runId);
    } finally {
      release();
    }
    // The session goes on: the next call is answered.
    model.push({ text: 'Still here.' });
    const next = await mcp.client.callTool({ name: 'beta', arguments: { input: 'again' } });
    assert.deepEqual(next.content, [{ type: 'text', text: 'Still here.' }]);
  });

  it('cancels the run when the client hangs up, and when it ends its session', async () => {
    {
      const mcp = await connect();
      const { runId, release } = await heldCall(mcp);
      try {
        await mcp.client.close();
        await waitForCancelled(runId);
      } finally {
        release();
      }
    }
    {
      await using mcp = await connect();
      assert.ok(mcp.transport.sessionId, 'the endpoint names the session');
      const { runId, release } = await heldCall(mcp);
      try {
        await mcp.transport.terminateSession();
        await waitForCancelled(runId);
      } finally {
        release();
      }
    }
  });

  it('hands its run back to the queue, not cancelled, when the server shuts down', async () => {
    await using mcp = await connect();
    const { call, runId, release } = await heldCall(mcp);
    draining = true;
    try {
      await cp.worker.stop({ drain: true, graceMs: 0 });
      const result = await call;
      assert.equal(result.isError, true);
      const structured = result.structuredContent as unknown as Structured;
      assert.equal(structured.runId, runId);
      assert.equal(structured.status, 'queued');
      assert.match(
        (result.content as Array<{ text: string }>)[0]?.text ?? '',
        /^server_shutting_down: .*GET \/v1\/runs\/run_/,
      );
      assert.equal((await getRun(runId)).status, 'queued');
      const refused = await mcp.client.callTool({ name: 'beta', arguments: { input: 'new' } });
      assert.equal(refused.isError, true);
      assert.equal(refused.structuredContent, undefined);
      assert.match(
        (refused.content as Array<{ text: string }>)[0]?.text ?? '',
        /^server_shutting_down: /,
      );
    } finally {
      draining = false;
      release();
      model.push({ text: 'Resumed elsewhere.' });
      cp.worker.start();
    }
    await waitFor(async () => (await getRun(runId)).output?.text === 'Resumed elsewhere.');
  });

  it('answers hostile requests with 4xx, never a 500', async () => {
    const post = (
      body: string | ReadableStream<Uint8Array>,
      headers: Record<string, string> = {},
    ) =>
      fetch(`${cp.url}/v1/mcp`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${testBootstrapKey}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          ...headers,
        },
        body,
        ...(body instanceof ReadableStream ? { duplex: 'half' } : {}),
      });
    const jsonRpcError = async (response: Response) => {
      const body = (await response.json()) as { jsonrpc: string; error: { code: number } };
      assert.equal(body.jsonrpc, '2.0');
      return body.error.code;
    };

    const malformed = await post('{"jsonrpc":"2.0","id":1,');
    assert.equal(malformed.status, 400);
    assert.equal(await jsonRpcError(malformed), -32700);
    const notRpc = await post(JSON.stringify({ hello: 'world' }));
    assert.equal(notRpc.status, 400);
    await jsonRpcError(notRpc);
    const hugeBatch = await post(
      JSON.stringify(
        Array.from({ length: 101 }, (_, id) => ({ jsonrpc: '2.0', id, method: 'ping' })),
      ),
    );
    assert.equal(hugeBatch.status, 400);
    const wrongAccept = await post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }), {
      accept: 'text/html',
    });
    assert.equal(wrongAccept.status, 406);
    const wrongType = await post('ping', { 'content-type': 'text/plain' });
    assert.equal(wrongType.status, 415);

    // Larger than the API's JSON body limit (1 MiB), declared and chunked.
    const oversize = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'alpha', arguments: { input: 'x'.repeat(2 * 1024 * 1024) } },
    });
    const declared = await post(oversize);
    assert.equal(declared.status, 413);
    assert.equal(
      ((await declared.json()) as { error: { code: string } }).error.code,
      'payload_too_large',
    );
    const bytes = new TextEncoder().encode(oversize);
    const chunked = await post(
      new ReadableStream({
        start(controller) {
          for (let i = 0; i < bytes.length; i += 64 * 1024) {
            controller.enqueue(bytes.subarray(i, i + 64 * 1024));
          }
          controller.close();
        },
      }),
    );
    assert.equal(chunked.status, 413);

    for (const method of ['GET', 'PUT', 'PATCH']) {
      const response = await fetch(`${cp.url}/v1/mcp`, {
        method,
        headers: { authorization: `Bearer ${testBootstrapKey}`, accept: 'text/event-stream' },
      });
      assert.equal(response.status, 405, method);
      assert.equal(
        ((await response.json()) as { error: { code: string } }).error.code,
        'method_not_allowed',
      );
    }

    // Protocol errors in a well-formed exchange are JSON-RPC errors, not HTTP ones.
    await using mcp = await connect();
    await assert.rejects(
      mcp.client.callTool({ name: '../../etc/passwd', arguments: { input: 'x' } }),
      (error: unknown) => error instanceof McpError && error.code === -32602,
    );
    await assert.rejects(
      mcp.client.listTools({ cursor: 'x'.repeat(500) }),
      (error: unknown) => error instanceof McpError && error.code === -32602,
    );
    await assert.rejects(
      mcp.client.listResources(),
      (error: unknown) => error instanceof McpError && error.code === -32601,
    );
  });

  it('answers random JSON-RPC, batches and bytes with 2xx or 4xx, never a 500', async () => {
    const anything = fc.oneof(
      fc.jsonValue(),
      fc.string({ unit: 'binary' }),
      fc.constantFrom(null, -1, 1e308, '\u0000', 'x'.repeat(5000), {}, []),
    );
    // Never a served deployment's name: a call would start a run.
    const params = fc.oneof(
      anything,
      fc.record(
        {
          name: fc.oneof(fc.string(), fc.constantFrom('nope', '', '../x', 'A B')),
          arguments: anything,
          cursor: anything,
          _meta: fc.record({ progressToken: anything }, { requiredKeys: [] }),
          requestId: anything,
        },
        { requiredKeys: [] },
      ),
    );
    const message = fc.record(
      {
        jsonrpc: fc.oneof(fc.constant('2.0'), anything),
        id: fc.oneof(fc.integer(), fc.string(), anything),
        method: fc.oneof(
          fc.constantFrom(
            'initialize',
            'tools/list',
            'tools/call',
            'ping',
            'notifications/cancelled',
            'notifications/initialized',
            'resources/read',
          ),
          fc.string(),
        ),
        params,
        result: anything,
        error: anything,
      },
      { requiredKeys: [] },
    );
    const body = fc.oneof(
      message.map((m) => JSON.stringify(m)),
      fc.array(message, { maxLength: 5 }).map((m) => JSON.stringify(m)),
      fc.string(),
      fc.uint8Array({ maxLength: 2048 }),
      fc.constantFrom('', '{', 'null', '[]', '1e999999', '{"__proto__":{"x":1}}'),
    );
    const headers = fc.record(
      {
        accept: fc.constantFrom('application/json, text/event-stream', 'text/event-stream', '*/*'),
        'mcp-protocol-version': fc.constantFrom('2025-06-18', '2025-03-26', 'x', '1'.repeat(300)),
        'mcp-session-id': fc.oneof(fc.string(), fc.constantFrom('s', 'x'.repeat(200))),
      },
      { requiredKeys: ['accept'] },
    );
    await fc.assert(
      fc.asyncProperty(body, headers, async (payload, extra) => {
        const response = await fetch(`${cp.url}/v1/mcp`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${testBootstrapKey}`,
            'content-type': 'application/json',
            ...Object.fromEntries(
              Object.entries(extra).map(([k, v]) => [k, v.replace(/[^\x20-\x7e]/g, '')]),
            ),
          },
          body: payload,
        });
        const text = await response.text();
        assert.ok(response.status < 500, `${response.status} ${text}`);
        assert.doesNotMatch(text, /"code":-32603/, 'no internal error');
      }),
      { numRuns: 300 },
    );
  });

  it('is documented in the OpenAPI document with the "run" scope', async () => {
    const doc = (await cp.request('GET', '/v1/openapi.json')).body as {
      paths: Record<string, Record<string, { security?: unknown }>>;
    };
    assert.deepEqual(doc.paths['/v1/mcp']?.post?.security, [{ Bearer: ['run'] }]);
    assert.deepEqual(doc.paths['/v1/mcp']?.delete?.security, [{ Bearer: ['run'] }]);
  });
});
