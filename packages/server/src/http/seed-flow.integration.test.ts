import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TestModelServer } from '@runtools/agent/testing';
import { type RunEvent, RunTools } from '@runtools/sdk';
import WebSocket from 'ws';
import { type Database, openDatabase } from '../db/database.ts';
import { type ControlPlane, startControlPlane } from '../testing/control-plane.ts';
import { testBootstrapKey } from '../testing/test-server.ts';

/**
 * The product's first flow, end to end against the real server on loopback: a template from a
 * Dockerfile, a runtime, a deployment of both, then the deployment as an API through the SDK,
 * raw HTTP and a raw WebSocket, with the scripted model reading what the template put there.
 */
describe('seed flow: template → runtime → deployment → POST /v1/run and WS (sqlite, real sandboxes)', () => {
  const dbDir = mkdtempSync(join(tmpdir(), 'runtools-seed-flow-'));
  const slug = `rt-test-seed-${process.pid}`;
  let database: Database;
  let model: TestModelServer;
  let cp: ControlPlane;
  let rt: RunTools;

  before(async () => {
    database = await openDatabase({ kind: 'sqlite', dataDir: dbDir });
    model = await TestModelServer.start({
      respond: (request) => {
        const result = request.messages.findLast((m) => m.role === 'tool')?.toolResult?.content;
        return result === undefined
          ? { toolCalls: [{ name: 'bash', input: { command: 'cat /opt/seed/greeting.txt' } }] }
          : {
              reasoning: 'The file answered.',
              text: `The template says: ${result.split('\n')[0]}`,
            };
      },
    });
    cp = await startControlPlane(database);
    rt = new RunTools({ apiKey: testBootstrapKey, baseUrl: cp.url });
  });
  after(async () => {
    await cp?.close();
    await cp?.engine.templates.delete(slug, new Set()).catch(() => {});
    await model?.close();
    await database?.close();
    rmSync(dbDir, { recursive: true, force: true });
  });

  it('serves an agent in a custom template as an API', async () => {
    await rt.templates.create({
      slug,
      dockerfile: 'FROM debian-13\nCOPY greeting.txt /opt/seed/greeting.txt\n',
      files: { 'greeting.txt': 'hello from the seed template\n' },
    });
    const template = await rt.templates.waitForBuild(slug);
    assert.equal(template.status, 'ready');

    const runtime = await rt.runtimes.create({
      slug: 'greeter',
      model: { provider: 'custom', endpoint: `${model.url}/v1`, model: 'scripted' },
      systemPrompt: 'You read files.',
      tools: ['bash'],
    });
    await rt.deployments.create({ apiSlug: 'greeter', runtimeId: runtime.id, template: slug });

    // Raw HTTP, as a curl user would.
    const response = await fetch(`${cp.url}/v1/run/greeter`, {
      method: 'POST',
      headers: { authorization: `Bearer ${testBootstrapKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ input: 'What does the template say?' }),
    });
    assert.equal(response.status, 200);
    const body = (await response.json()) as {
      runId: string;
      status: string;
      output: { text: string };
    };
    assert.equal(body.status, 'completed');
    assert.equal(body.output.text, 'The template says: hello from the seed template');

    // The WebSocket stream: every event, in order, ending with the final status.
    const messages = await new Promise<Array<RunEvent | { type: 'run'; runId: string }>>(
      (resolve, reject) => {
        const ws = new WebSocket(`${cp.url.replace(/^http/, 'ws')}/v1/run/greeter/stream`, {
          headers: { authorization: `Bearer ${testBootstrapKey}` },
        });
        const got: Array<RunEvent | { type: 'run'; runId: string }> = [];
        ws.on('open', () => ws.send(JSON.stringify({ input: 'Again, please.' })));
        ws.on('message', (data) => got.push(JSON.parse(String(data))));
        ws.on('close', () => resolve(got));
        ws.on('error', reject);
      },
    );
    assert.equal(messages[0]?.type, 'run');
    const events = messages.slice(1) as RunEvent[];
    assert.deepEqual(
      events.map((e) => e.seq),
      events.map((_, i) => i + 1),
    );
    const types = new Set(events.map((e) => e.type));
    for (const type of ['status', 'tool_call', 'tool_result', 'thinking', 'text', 'complete'])
      assert.ok(types.has(type as RunEvent['type']), `${type} streamed`);
    const last = events.at(-1);
    assert.ok(last?.type === 'status' && last.status === 'completed');

    // The SDK's stream of a third run: the same events, typed.
    const streamed: RunEvent[] = [];
    for await (const event of rt.stream('greeter', 'Once more.')) streamed.push(event);
    const complete = streamed.find((e) => e.type === 'complete');
    assert.match(complete?.type === 'complete' ? complete.text : '', /hello from the seed/);

    // The template cannot go while a deployment serves it.
    await assert.rejects(rt.templates.delete(slug), { code: 'template_in_use' });
  });
});
