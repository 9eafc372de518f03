import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AddressPolicy, type HostLookup } from '@runtools/agent';
import { type Database, openDatabase } from '../db/database.ts';
import { startTestServer, type TestServer } from '../testing/test-server.ts';
import { closedPort, startWebhookReceiver } from '../testing/webhook-receiver.ts';
import type { WebhookAddresses } from './webhook-addresses.ts';
import { WebhookDispatcher } from './webhook-dispatcher.ts';

/** A resolver that answers what the test says, as a hostile or changing DNS server could. */
function fakeDns(answers: Record<string, string>): HostLookup {
  return async (hostname) => {
    const address = answers[hostname];
    if (address === undefined) {
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    }
    return [{ address, family: address.includes(':') ? 6 : 4 }];
  };
}

const strict = (): WebhookAddresses => ({ policy: new AddressPolicy() });
const loopbackAllowed = (lookup?: HostLookup): WebhookAddresses => ({
  policy: new AddressPolicy({ allow: ['127.0.0.1/32'] }),
  ...(lookup ? { lookup } : {}),
});

interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

describe('webhooks never reach loopback, private or metadata addresses unless allowed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'runtools-webhook-ssrf-'));
  let database: Database;
  let deploymentId: string;

  before(async () => {
    database = await openDatabase({ kind: 'sqlite', dataDir: dir });
    await using server = await startTestServer(database);
    const runtime = await server.request('POST', '/v1/runtimes', {
      body: { slug: 'hooked', model: 'scripted', systemPrompt: 'Hi.' },
    });
    const deployment = await server.request('POST', '/v1/deployments', {
      body: { apiSlug: 'hooked', runtimeId: (runtime.body as { id: string }).id, template: 't' },
    });
    assert.equal(deployment.status, 201, JSON.stringify(deployment.body));
    deploymentId = (deployment.body as { id: string }).id;
  });
  after(async () => {
    await database?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Sends one run event through a dispatcher and returns the attempt it recorded. */
  async function deliverOnce(server: TestServer, addresses: WebhookAddresses, timeoutMs = 10_000) {
    await using dispatcher = new WebhookDispatcher({
      store: server.store,
      addresses,
      requestTimeoutMs: timeoutMs,
    });
    const [delivery] = await dispatcher.enqueue({
      type: 'run.completed',
      runId: `run_${Math.random().toString(36).slice(2)}`,
      deploymentId,
      data: {},
    });
    assert.ok(delivery);
    assert.equal(await dispatcher.deliverDue(), 1);
    const attempts = await server.store.webhookDeliveries.attempts(delivery.id);
    assert.equal(attempts.length, 1);
    return attempts[0] as NonNullable<(typeof attempts)[0]>;
  }

  it('refuses a webhook to a listener on 127.0.0.1, which sees nothing; allows it when the operator says so', async () => {
    await using receiver = await startWebhookReceiver();
    {
      await using server = await startTestServer(database);
      const refused = await server.request('POST', '/v1/webhooks', {
        body: { url: receiver.url('/hook'), events: ['run.completed'] },
      });
      assert.equal(refused.status, 400);
      const { error } = refused.body as ErrorBody;
      assert.equal(error.code, 'webhook_url_forbidden');
      assert.match(error.message, /RUNTOOLS_WEBHOOK_ALLOW/);
      assert.equal(error.details?.setting, 'RUNTOOLS_WEBHOOK_ALLOW');
      assert.equal((await server.store.webhooks.list()).items.length, 0);
    }
    assert.equal(receiver.received.length, 0);

    await using allowing = await startTestServer(database, { webhookAddresses: loopbackAllowed() });
    const created = await allowing.request('POST', '/v1/webhooks', {
      body: { url: receiver.url('/hook'), events: ['run.completed'] },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const attempt = await deliverOnce(allowing, loopbackAllowed());
    assert.deepEqual([attempt.statusCode, attempt.error], [204, null]);
    assert.equal(receiver.received.length, 1);
    assert.equal(receiver.received[0]?.path, '/hook');
    await allowing.store.webhooks.delete((created.body as { id: string }).id);
  });

  it('refuses localhost, [::1], [::ffff:127.0.0.1], metadata and a name that resolves to loopback', async () => {
    await using receiver = await startWebhookReceiver();
    await using server = await startTestServer(database, {
      webhookAddresses: {
        policy: new AddressPolicy(),
        lookup: fakeDns({ 'hooks.example.test': '127.0.0.1', localhost: '127.0.0.1' }),
      },
    });
    for (const url of [
      `http://localhost:${receiver.port}/`,
      `http://[::1]:${receiver.port}/`,
      `http://[::ffff:127.0.0.1]:${receiver.port}/`,
      `http://2130706433:${receiver.port}/`,
      'http://169.254.169.254/latest/meta-data/',
      'http://[fd00:ec2::254]/',
      'http://10.0.0.1/',
      `http://hooks.example.test:${receiver.port}/`,
    ]) {
      const response = await server.request('POST', '/v1/webhooks', {
        body: { url, events: ['run.completed'] },
      });
      assert.equal(response.status, 400, url);
      assert.equal((response.body as ErrorBody).error.code, 'webhook_url_forbidden', url);
    }
    assert.equal(receiver.received.length, 0);
  });

  it("refuses a run's own webhook at a forbidden address before the run is stored", async () => {
    await using receiver = await startWebhookReceiver();
    await using server = await startTestServer(database);
    for (const webhook of [receiver.url('/run'), { url: receiver.url('/run') }]) {
      const response = await server.request('POST', '/v1/run/hooked', {
        body: { input: 'hi', async: true, webhook },
      });
      assert.equal(response.status, 400, JSON.stringify(response.body));
      assert.equal((response.body as ErrorBody).error.code, 'webhook_url_forbidden');
    }
    assert.equal((await server.store.runs.list({ limit: 10 })).items.length, 0);
    assert.equal(receiver.received.length, 0);
  });

  it('checks again at delivery: a name that now resolves to loopback (DNS rebinding) is refused', async () => {
    await using receiver = await startWebhookReceiver();
    const dns: Record<string, string> = { 'rebind.example.test': '93.184.216.34' };
    const addresses = { policy: new AddressPolicy(), lookup: fakeDns(dns) };
    await using server = await startTestServer(database, { webhookAddresses: addresses });
    const created = await server.request('POST', '/v1/webhooks', {
      body: { url: `http://rebind.example.test:${receiver.port}/`, events: ['run.completed'] },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    dns['rebind.example.test'] = '127.0.0.1';
    const attempt = await deliverOnce(server, addresses);
    assert.deepEqual([attempt.statusCode, attempt.error], [null, 'refused']);
    assert.equal(receiver.received.length, 0);
    await server.store.webhooks.delete((created.body as { id: string }).id);
  });

  it('refuses at delivery a stored webhook whose URL is a forbidden address', async () => {
    await using receiver = await startWebhookReceiver();
    await using server = await startTestServer(database);
    const hook = await server.store.webhooks.create({
      url: receiver.url('/stored'),
      events: ['run.completed'],
    });
    const attempt = await deliverOnce(server, strict());
    assert.deepEqual([attempt.statusCode, attempt.error], [null, 'refused']);
    assert.equal(receiver.received.length, 0);
    await server.store.webhooks.delete(hook.id);
  });

  it('does not follow a redirect: the 3xx is the attempt’s status', async () => {
    await using inside = await startWebhookReceiver();
    await using receiver = await startWebhookReceiver();
    receiver.status = 307;
    receiver.headers = { location: inside.url('/internal') };
    await using server = await startTestServer(database);
    const hook = await server.store.webhooks.create({
      url: receiver.url('/hook'),
      events: ['run.completed'],
    });
    const attempt = await deliverOnce(server, loopbackAllowed());
    assert.deepEqual([attempt.statusCode, attempt.error], [307, 'HTTP 307']);
    assert.equal(receiver.received.length, 1);
    assert.equal(inside.received.length, 0);
    await server.store.webhooks.delete(hook.id);
  });

  it('records only "refused", "timeout", "connection failed" or the status: nothing that maps a network', async () => {
    const port = await closedPort();
    await using slow = await startWebhookReceiver();
    slow.delayMs = 10_000;
    await using failing = await startWebhookReceiver();
    failing.status = 503;
    const lookup = fakeDns({ 'down.example.test': '127.0.0.1' });
    await using server = await startTestServer(database);
    const cases = [
      [`http://127.0.0.1:${port}/`, 'connection failed'],
      [`http://down.example.test:${port}/`, 'connection failed'],
      [`http://nowhere.example.test:${port}/`, 'connection failed'],
      [`http://10.11.12.13:${port}/`, 'refused'],
      [slow.url('/slow'), 'timeout'],
      [failing.url('/failing'), 'HTTP 503'],
    ] as const;
    for (const [url, expected] of cases) {
      const hook = await server.store.webhooks.create({ url, events: ['run.completed'] });
      const attempt = await deliverOnce(server, loopbackAllowed(lookup), 300);
      assert.equal(attempt.error, expected, url);
      for (const detail of ['127.0.0.1', '10.11.12', String(port), 'ECONNREFUSED', 'ENOTFOUND']) {
        assert.ok(!attempt.error?.includes(detail), `${url}: ${attempt.error}`);
      }
      // The API shows what was recorded, and no more.
      const page = await server.request('GET', `/v1/webhooks/${hook.id}/deliveries`);
      const [delivery] = (page.body as { data: Array<{ id: string }> }).data;
      const detail = await server.request(
        'GET',
        `/v1/webhooks/${hook.id}/deliveries/${delivery?.id}`,
      );
      const log = (detail.body as { attemptLog: Array<{ error: string | null }> }).attemptLog;
      assert.deepEqual(
        log.map((a) => a.error),
        [expected],
      );
      await server.store.webhooks.delete(hook.id);
    }
  });
});
