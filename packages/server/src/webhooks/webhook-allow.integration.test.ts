import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { waitFor } from '@runtools/sandbox/testing';
import { silentLogger } from '../http/logger.ts';
import { type RunningServer, type StartServerOptions, startServer } from '../server.ts';
import { defaultTemplatesDir } from '../testing/control-plane.ts';
import { requestJson } from '../testing/test-server.ts';
import { startWebhookReceiver } from '../testing/webhook-receiver.ts';

const apiKey = 'webhook-allow-test-key-0123456789';

/** The whole server (`startServer`, as main.ts and `runtools dev` start it), on loopback. */
async function withServer(
  options: Partial<StartServerOptions>,
  test: (server: RunningServer) => Promise<void>,
): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'runtools-webhook-allow-'));
  const engineDataDir = mkdtempSync('/var/tmp/rt-webhook-allow-');
  const server = await startServer({
    dataDir,
    engineDataDir,
    templatesDir: defaultTemplatesDir,
    port: 0,
    apiKey,
    rateLimit: false,
    logger: silentLogger,
    ...options,
  });
  try {
    await test(server);
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(engineDataDir, { recursive: true, force: true });
  }
}

/** Queues one delivery of `webhookId` for the server's own dispatcher; resolves once it was tried. */
async function deliveredOnce(server: RunningServer, webhookId: string) {
  const delivery = await server.store.webhookDeliveries.create(
    { webhookId, runId: 'run_test', eventType: 'run.completed', payload: '{}' },
    new Date().toISOString(),
  );
  return waitFor(
    async () => {
      const [attempt] = await server.store.webhookDeliveries.attempts(delivery.id);
      return attempt;
    },
    { timeoutMs: 30_000, intervalMs: 50 },
  );
}

describe('startServer: webhooks to loopback (real server, its own dispatcher)', () => {
  it('refuses them by default, at creation and at delivery; the listener sees nothing', async () => {
    await using receiver = await startWebhookReceiver();
    await withServer({}, async (server) => {
      const created = await requestJson(server.url, 'POST', '/v1/webhooks', {
        key: apiKey,
        body: { url: receiver.url('/hook'), events: ['run.completed'] },
      });
      assert.equal(created.status, 400);
      assert.equal(
        (created.body as { error: { code: string } }).error.code,
        'webhook_url_forbidden',
      );
      // One stored before (or by another way) is refused when it is sent.
      const stored = await server.store.webhooks.create({
        url: receiver.url('/stored'),
        events: ['run.completed'],
      });
      const attempt = await deliveredOnce(server, stored.id);
      assert.deepEqual([attempt.statusCode, attempt.error], [null, 'refused']);
    });
    assert.equal(receiver.received.length, 0);
  });

  it('delivers them when the operator allows the range (webhookAllow)', async () => {
    await using receiver = await startWebhookReceiver();
    await withServer({ webhookAllow: ['127.0.0.1/32'] }, async (server) => {
      const created = await requestJson(server.url, 'POST', '/v1/webhooks', {
        key: apiKey,
        body: { url: receiver.url('/hook'), events: ['run.completed'] },
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const attempt = await deliveredOnce(server, (created.body as { id: string }).id);
      assert.deepEqual([attempt.statusCode, attempt.error], [204, null]);
    });
    assert.deepEqual(
      receiver.received.map((r) => r.path),
      ['/hook'],
    );
  });
});
