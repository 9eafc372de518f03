import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TestModelServer } from '@runtools/agent/testing';
import { type Database, openDatabase } from '../db/database.ts';
import { type ControlPlane, startControlPlane } from '../testing/control-plane.ts';

const SERVER_KEY = 'sk-server-held-openai-key-0123456789';
const SECRET = 'secret-thing-value-0123456789';

interface RunBody {
  status: string;
  error: { code: string; message: string } | null;
  output: { text: string } | null;
}

describe("the server's model keys never reach a runtime's own endpoint (sqlite, real sandboxes)", () => {
  const dir = mkdtempSync(join(tmpdir(), 'runtools-model-keys-'));
  let database: Database;
  let model: TestModelServer;
  let cp: ControlPlane;

  before(async () => {
    database = await openDatabase({ kind: 'sqlite', dataDir: dir });
    model = await TestModelServer.start();
    // The control plane lets model endpoints be on loopback (as `runtools dev` does), but lists
    // no base URL for the server's keys: the listener is an endpoint, not a place for OPENAI_API_KEY.
    cp = await startControlPlane(database, {
      worker: { env: { OPENAI_API_KEY: SERVER_KEY, SECRET_THING: SECRET } },
    });
  });
  after(async () => {
    await cp?.close();
    await model?.close();
    await database?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Deploys a runtime with `spec` as its model under `slug`, runs it once, returns the result. */
  async function runWith(slug: string, spec: unknown): Promise<RunBody> {
    const runtime = await cp.request('POST', '/v1/runtimes', {
      body: { slug, model: spec, systemPrompt: 'You answer.', tools: ['bash'] },
    });
    assert.equal(runtime.status, 201, JSON.stringify(runtime.body));
    const deployment = await cp.request('POST', '/v1/deployments', {
      body: {
        apiSlug: slug,
        runtimeId: (runtime.body as { id: string }).id,
        template: 'debian-13',
      },
    });
    assert.equal(deployment.status, 201, JSON.stringify(deployment.body));
    const run = await cp.request('POST', `/v1/run/${slug}`, { body: { input: 'hello' } });
    assert.equal(run.status, 200, JSON.stringify(run.body));
    return run.body as RunBody;
  }

  const leaked = () =>
    model.credentials.filter((c) => c.includes(SERVER_KEY) || c.includes(SECRET));

  it("a runtime with provider: 'openai', baseURL at a listener fails; the listener never sees OPENAI_API_KEY", async () => {
    for (const [slug, spec] of [
      ['leak-base-url', { provider: 'openai', model: 'gpt-5.4', baseURL: model.baseURL }],
      [
        'leak-env-key',
        { provider: 'custom', endpoint: model.baseURL, apiKey: 'env:OPENAI_API_KEY' },
      ],
      ['leak-secret', { provider: 'custom', endpoint: model.baseURL, apiKey: 'env:SECRET_THING' }],
    ] as const) {
      model.push({ text: 'this answer must not be asked for' });
      const result = await runWith(slug, spec);
      assert.equal(result.status, 'failed', slug);
      assert.equal(result.error?.code, 'model_key_not_allowed', slug);
      assert.match(result.error?.message ?? '', /own apiKey/, slug);
      assert.ok(!result.error?.message.includes(SERVER_KEY));
      assert.ok(!result.error?.message.includes(SECRET));
      model.clearScript();
    }
    assert.deepEqual(leaked(), []);
    assert.equal(model.credentials.length, 0, 'no request reached the listener');
  });

  it('a runtime that brings its own key runs against the same listener, with its key only', async () => {
    model.push({ text: 'Answered with my own key.' });
    const result = await runWith('own-key', {
      provider: 'openai',
      model: 'gpt-5.4',
      baseURL: model.baseURL,
      apiKey: 'runtime-own-key',
    });
    assert.equal(result.status, 'completed', JSON.stringify(result.error));
    assert.equal(result.output?.text, 'Answered with my own key.');
    assert.ok(model.credentials.length > 0);
    assert.ok(model.credentials.every((c) => c === 'Bearer runtime-own-key'));
    assert.deepEqual(leaked(), []);
  });
});
