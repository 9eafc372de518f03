import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '@runtools/sandbox/testing';
import { verifyWebhook } from '@runtools/sdk';
import { maskSecret } from '@runtools/sdk/api';
import type { Logger } from '../http/logger.ts';
import { type RunningServer, type StartServerOptions, startServer } from '../server.ts';
import { defaultTemplatesDir } from '../testing/control-plane.ts';
import { requestJson, testBootstrapKey } from '../testing/test-server.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../testing/webhook-receiver.ts';

/** Every byte SQLite keeps for the database: the file, its WAL and its shared-memory index. */
function databaseBytes(dataDir: string): Buffer {
  const file = join(dataDir, 'runtools.db');
  return Buffer.concat(
    [file, `${file}-wal`, `${file}-shm`].filter(existsSync).map((f) => readFileSync(f)),
  );
}

function assertNowhere(haystack: string | Buffer, secrets: Record<string, string>, where: string) {
  for (const [name, secret] of Object.entries(secrets)) {
    assert.equal(haystack.includes(secret), false, `${name} is in ${where}`);
  }
}

/** A model endpoint that refuses every call, quoting the key it was sent (as some servers do). */
async function startKeyEchoingModel(): Promise<{ url: string; seen: string[]; server: Server }> {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    const auth = req.headers.authorization ?? '';
    seen.push(auth);
    req.resume();
    res.writeHead(401, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        error: { message: `Incorrect API key provided: ${auth.replace(/^Bearer /, '')}` },
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, seen, server };
}

describe('secrets at rest and in transit (startServer, a real SQLite file, real sandboxes)', () => {
  const dataDir = mkdtempSync('/var/tmp/rt-test-secrets-');
  const logs: string[] = [];
  const logger: Logger = {
    info: (fields, message) => logs.push(JSON.stringify({ message, ...fields })),
    error: (fields, message) => logs.push(JSON.stringify({ message, ...fields })),
  };
  const modelKey = `sk-test-${randomBytes(18).toString('hex')}`;
  const headerKey = `hdr-${randomBytes(18).toString('hex')}`;
  let receiver: WebhookReceiver;
  let echo: Awaited<ReturnType<typeof startKeyEchoingModel>>;
  let server: RunningServer | undefined;
  let webhookSecret = '';

  const start = async (options: Partial<StartServerOptions> = {}) => {
    server = await startServer({
      dataDir,
      port: 0,
      apiKey: testBootstrapKey,
      templatesDir: defaultTemplatesDir,
      rateLimit: false,
      // The receiver and the model endpoint of this test listen on loopback.
      webhookAllow: ['127.0.0.1/32'],
      modelEndpointAllow: ['127.0.0.1/32'],
      logger,
      ...options,
    });
    return server;
  };
  const api = (method: string, path: string, body?: unknown, key?: string | null) =>
    requestJson((server as RunningServer).url, method, path, {
      ...(body === undefined ? {} : { body }),
      ...(key === undefined ? {} : { key }),
    });
  const deploy = async (slug: string, model: unknown) => {
    const runtime = await api('POST', '/v1/runtimes', { slug, model, tools: ['bash'] });
    assert.equal(runtime.status, 201, JSON.stringify(runtime.body));
    const id = (runtime.body as { id: string }).id;
    const deployment = await api('POST', '/v1/deployments', {
      apiSlug: slug,
      runtimeId: id,
      template: 'debian-13',
    });
    assert.equal(deployment.status, 201, JSON.stringify(deployment.body));
    return { id, definition: (runtime.body as { definition: Record<string, unknown> }).definition };
  };
  const run = async (slug: string) => {
    const response = await api('POST', `/v1/run/${slug}?include=events`, { input: 'hello' });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    return response.body as {
      runId: string;
      status: string;
      output: { text: string } | null;
      error: { code: string; message: string } | null;
      events: Array<{ type: string; message?: string }>;
    };
  };
  /** The run's `run.completed` delivery, once it arrived, verified with `secret`. */
  const deliveryOf = async (runId: string, secret: string) =>
    waitFor(
      async () =>
        receiver.received
          .map((r) => verifyWebhook({ payload: r.body, headers: r.headers, secret }))
          .find((b) => (b as { data: { runId: string } }).data.runId === runId),
      { timeoutMs: 30_000, intervalMs: 50 },
    );

  before(async () => {
    receiver = await startWebhookReceiver();
    echo = await startKeyEchoingModel();
  });
  after(async () => {
    await server?.stop();
    await receiver?.close();
    echo?.server.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('stores a webhook secret and model keys encrypted, and never returns them after creation', async () => {
    await start();
    const created = await api('POST', '/v1/webhooks', {
      url: receiver.url('/hook'),
      events: ['run.completed', 'run.failed'],
    });
    assert.equal(created.status, 201);
    const webhook = created.body as { id: string; secret: string };
    webhookSecret = webhook.secret;
    assert.match(webhookSecret, /^whsec_/);

    const keyed = await deploy('keyed', {
      provider: 'openai',
      model: 'gpt-test',
      baseURL: echo.url,
      apiKey: modelKey,
    });
    assert.equal((keyed.definition.model as { apiKey: string }).apiKey, maskSecret(modelKey));
    const headed = await api('POST', '/v1/runtimes', {
      slug: 'headed',
      model: {
        provider: 'custom',
        endpoint: echo.url,
        apiKey: 'env:SOME_KEY',
        headers: { 'x-api-key': headerKey },
      },
    });
    assert.equal(headed.status, 201);
    const model = (headed.body as { definition: { model: Record<string, unknown> } }).definition
      .model;
    // `env:NAME` names a variable, it is no secret; header values are.
    assert.equal(model.apiKey, 'env:SOME_KEY');
    assert.deepEqual(model.headers, { 'x-api-key': maskSecret(headerKey) });

    const secrets = { webhookSecret, modelKey, headerKey };
    for (const path of [
      `/v1/webhooks/${webhook.id}`,
      '/v1/webhooks',
      `/v1/runtimes/${keyed.id}`,
      '/v1/runtimes',
      '/v1/runtimes?slug=headed',
    ]) {
      const response = await api('GET', path);
      assert.equal(response.status, 200, path);
      assertNowhere(JSON.stringify(response.body), secrets, `GET ${path}`);
    }
    assertNowhere(databaseBytes(dataDir), secrets, 'runtools.db, -wal or -shm');
  });

  it('keeps the data directory, the database files and the key file from other users', () => {
    assert.equal(statSync(dataDir).mode & 0o777, 0o711);
    const file = join(dataDir, 'runtools.db');
    for (const f of [file, `${file}-wal`, `${file}-shm`, join(dataDir, 'secret.key')]) {
      assert.ok(existsSync(f), f);
      assert.equal(statSync(f).mode & 0o777, 0o600, f);
    }
  });

  it("fails a run of model 'auto' with no_model_configured on a server with no provider key", async () => {
    await deploy('auto-agent', 'auto');
    const result = await run('auto-agent');
    assert.equal(result.status, 'failed');
    assert.equal(result.error?.code, 'no_model_configured');
    for (const variable of [
      'ANTHROPIC_API_KEY',
      'OPENAI_API_KEY',
      'GOOGLE_GENERATIVE_AI_API_KEY',
    ]) {
      assert.match(result.error?.message ?? '', new RegExp(variable));
    }
    assert.ok(
      result.events.some(
        (e) => e.type === 'error' && /no_model_configured/.test(JSON.stringify(e)),
      ),
    );
  });

  it("answers model: 'scripted' with the demo model, which says what it is, and signs the delivery", async () => {
    await deploy('demo', 'scripted');
    const result = await run('demo');
    assert.equal(result.status, 'completed', JSON.stringify(result.error));
    assert.match(result.output?.text ?? '', /scripted demo model/);
    await deliveryOf(result.runId, webhookSecret);
  });

  it('masks a model key a provider quotes back, in the run error, its events and the webhook', async () => {
    const result = await run('keyed');
    assert.equal(result.status, 'failed');
    // The key did reach its own endpoint: it is the runtime's key, sent where the runtime says.
    assert.ok(echo.seen.includes(`Bearer ${modelKey}`));
    assert.match(result.error?.message ?? '', new RegExp(maskSecret(modelKey)));
    assertNowhere(JSON.stringify(result), { modelKey }, 'the run result');
    const events = await api('GET', `/v1/runs/${result.runId}`);
    assertNowhere(JSON.stringify(events.body), { modelKey }, 'the run');
    const failed = await waitFor(
      async () =>
        receiver.received.find((r) => r.body.includes(result.runId) && r.body.includes('failed')),
      { timeoutMs: 30_000, intervalMs: 50 },
    );
    assertNowhere(failed.body, { modelKey }, 'the run.failed webhook');
    assertNowhere(logs.join('\n'), { webhookSecret, modelKey, headerKey }, 'the logs');
  });

  it('refuses an address that keeps presenting bad keys, even with the right key, with a 429', async () => {
    for (let i = 0; i < 10; i++) {
      const guess = await api('GET', '/v1/runtimes', undefined, `rtk_guess_${i}`);
      assert.equal(guess.status, 401);
    }
    const refused = await api('GET', '/v1/runtimes', undefined, 'rtk_guess_10');
    assert.equal(refused.status, 429);
    assert.equal((refused.body as { error: { code: string } }).error.code, 'rate_limited');
    assert.ok(Number(refused.headers.get('retry-after')) > 0);
    assert.equal((await api('GET', '/v1/runtimes')).status, 429);
    assert.equal((await api('GET', '/health', undefined, null)).status, 200);
    await server?.stop();
    server = undefined;
    // Closed: whatever SQLite had in its WAL is now in the file.
    assertNowhere(databaseBytes(dataDir), { webhookSecret, modelKey, headerKey }, 'runtools.db');
  });

  it('refuses a wrong or malformed RUNTOOLS_SECRET_KEY at start with a clear error', async () => {
    const other = randomBytes(32).toString('base64');
    await assert.rejects(start({ secretKey: other }), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'secret_key_mismatch');
      assert.match(error.message, /RUNTOOLS_SECRET_KEY/);
      assert.equal(error.message.includes(other), false);
      return true;
    });
    await assert.rejects(start({ secretKey: 'hunter2' }), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'secret_key_invalid');
      assert.match(error.message, /openssl rand -base64 32/);
      assert.equal(error.message.includes('hunter2'), false);
      return true;
    });
  });

  it('decrypts after a restart, with the key file or the same key given as RUNTOOLS_SECRET_KEY', async () => {
    const fileKey = readFileSync(join(dataDir, 'secret.key'), 'utf8').trim();
    for (const options of [{}, { secretKey: fileKey }]) {
      await start(options);
      const result = await run('demo');
      assert.equal(result.status, 'completed');
      await deliveryOf(result.runId, webhookSecret);
      const runtime = await api('GET', '/v1/runtimes?slug=keyed');
      const [keyed] = (
        runtime.body as { data: Array<{ definition: { model: { apiKey: string } } }> }
      ).data;
      assert.equal(keyed?.definition.model.apiKey, maskSecret(modelKey));
      const stored = await server?.store.runtimes.getLatest('keyed');
      const definition = stored?.definition as { model: { apiKey: string } } | undefined;
      assert.equal(definition?.model.apiKey, modelKey);
      await server?.stop();
      server = undefined;
    }
  });
});
