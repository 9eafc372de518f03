import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  AddressPolicy,
  createPinnedFetch,
  loopbackRanges,
  type PinnedFetch,
} from '@runtools/agent';
import { FakeGmail, FakeStripe, FakeTwilio, TestModelServer } from '@runtools/agent/testing';
import { waitFor } from '@runtools/sandbox/testing';
import type { Run, RunEvent } from '@runtools/sdk';
import { RunTools } from '@runtools/sdk/client';
import { type Database, openDatabase } from '../db/database.ts';
import { type ControlPlane, startControlPlane } from '../testing/control-plane.ts';
import { testBootstrapKey } from '../testing/test-server.ts';

const stripeKey = 'sk_test_e2eSTRIPEkey0123456789abcdefghij';
const twilioSid = `AC${'e2e0'.repeat(8)}`;
const twilioToken = 'e2eTwilioAuthToken0123456789abcd';
const gmailRefresh = '1//0gE2E-refresh-token-0123456789abcdef';
const gmailClientId = '42-e2e.apps.googleusercontent.com';
const gmailClientSecret = 'GOCSPX-e2e-client-secret-abcdef';
const ours = '+14155550100';
const customerPhone = '+4915112345678';

describe('Stripe, Twilio and Gmail in runs (sqlite, real sandboxes, the scripted model, loopback fakes)', () => {
  const dbDir = mkdtempSync(join(tmpdir(), 'runtools-integrations-more-'));
  let database: Database;
  let model: TestModelServer;
  let stripe: FakeStripe;
  let twilio: FakeTwilio;
  let gmail: FakeGmail;
  let fetch: PinnedFetch;
  let cp: ControlPlane;
  let rt: RunTools;

  async function deploy(slug: string, tools: unknown[], extra: Record<string, unknown> = {}) {
    const runtime = await cp.request('POST', '/v1/runtimes', {
      body: {
        slug,
        model: { provider: 'custom', endpoint: `${model.url}/v1`, model: 'scripted' },
        systemPrompt: 'You help customers.',
        tools,
        ...extra,
      },
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
  }

  async function start(slug: string, input: string): Promise<string> {
    const started = await cp.request('POST', `/v1/run/${slug}`, { body: { input, async: true } });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    return (started.body as { runId: string }).runId;
  }

  async function until(runId: string, statuses: string[]): Promise<Run> {
    return waitFor(
      async () => {
        const r = await rt.runs.get(runId);
        return statuses.includes(r.status) ? r : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 50 },
    );
  }

  const results = (events: RunEvent[]) =>
    events.flatMap((e) =>
      e.type === 'tool_result' ? [{ name: e.name, output: e.output, isError: e.isError }] : [],
    );

  /** Everything a run produced: its events, the run as the API shows it, what the model was sent. */
  async function everything(run: Run): Promise<string> {
    const events = await cp.store.events.listSince(run.id);
    return JSON.stringify([events, run, await rt.runs.get(run.id), model.requests]);
  }

  before(async () => {
    database = await openDatabase({ kind: 'sqlite', dataDir: dbDir });
    model = await TestModelServer.start();
    stripe = await FakeStripe.start(stripeKey);
    twilio = await FakeTwilio.start(twilioSid, twilioToken);
    gmail = await FakeGmail.start({
      accessToken: 'ya29.never-given-to-runtools',
      refreshToken: gmailRefresh,
      clientId: gmailClientId,
      clientSecret: gmailClientSecret,
    });
    fetch = createPinnedFetch({ policy: new AddressPolicy({ allow: loopbackRanges }) });
    cp = await startControlPlane(database, {
      worker: {
        integrations: {
          baseUrls: { stripe: stripe.url, twilio: twilio.url, gmail: gmail.url },
          fetch,
        },
      },
    });
    rt = new RunTools({ baseUrl: cp.url, apiKey: testBootstrapKey });
    for (const [name, value] of Object.entries({
      STRIPE_API_KEY: stripeKey,
      TWILIO_ACCOUNT_SID: twilioSid,
      TWILIO_AUTH_TOKEN: twilioToken,
      GMAIL_REFRESH_TOKEN: gmailRefresh,
      GMAIL_CLIENT_ID: gmailClientId,
      GMAIL_CLIENT_SECRET: gmailClientSecret,
    })) {
      await rt.secrets.set({ name, value });
    }
  });

  after(async () => {
    await cp?.close();
    await fetch?.close();
    await stripe?.close();
    await twilio?.close();
    await gmail?.close();
    await model?.close();
    await database?.close();
    rmSync(dbDir, { recursive: true, force: true });
  });

  it('Stripe: finds the customer and payments (through a rate limit); the refund waits for approval, then is made; no key anywhere', async () => {
    await deploy('billing', ['bash', 'stripe']);
    const cus = stripe.addCustomer('ada@example.com', 'Ada');
    const paid = stripe.addPayment(4200, cus);
    stripe.rateLimited(1);
    model.push(
      { toolCalls: [{ name: 'stripe_list_customers', input: { email: 'ada@example.com' } }] },
      { toolCalls: [{ name: 'stripe_list_payments', input: { customer: cus } }] },
      {
        toolCalls: [
          { name: 'stripe_create_refund', input: { paymentIntent: paid, reason: 'duplicate' } },
        ],
      },
      // What the workspace sandbox holds: the model looks for the credentials everywhere it can.
      {
        toolCalls: [
          {
            name: 'bash',
            input: {
              command:
                'env; cat /proc/*/environ 2>/dev/null | tr "\\0" "\\n"; grep -rs "sk_test_\\|e2eTwilio\\|1//0gE2E" / --exclude-dir=proc --exclude-dir=sys -l | head',
            },
          },
        ],
      },
      { text: 'Refunded $42.00.' },
    );
    const runId = await start('billing', 'Ada was charged twice; refund the duplicate.');
    const waiting = await until(runId, ['waiting', 'failed', 'completed']);
    assert.equal(waiting.status, 'waiting', JSON.stringify(waiting.error));
    assert.equal(waiting.approval?.tool, 'stripe_create_refund');
    assert.equal(stripe.refunds.length, 0, 'nothing refunded before the approval');
    await rt.runs.approve(runId, waiting.approval?.callId ?? '');
    const done = await until(runId, ['completed', 'failed', 'cancelled']);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    const r = results(await cp.store.events.listSince(runId));
    assert.deepEqual(
      r.map((x) => [x.name, x.isError]),
      [
        ['stripe_list_customers', false],
        ['stripe_list_payments', false],
        ['stripe_create_refund', false],
        ['bash', false],
      ],
    );
    assert.equal(JSON.parse(r[0]?.output ?? '{}').customers[0].id, cus);
    assert.equal(stripe.refunds[0]?.amount, 4200);
    assert.equal(
      stripe.requests.filter((q) => q.path === '/v1/customers' && q.method === 'GET').length,
      2,
      'the rate-limited call was retried',
    );
    assert.ok(!(await everything(done)).includes(stripeKey), 'the Stripe key leaked');
  });

  it('Twilio: reads the customer SMS, answers it and calls; a refused token names the secrets; no credential anywhere', async () => {
    await deploy('support', [{ twilio: ['list_messages', 'send_sms', 'make_call'] }], {
      approvals: { twilio_send_sms: 'never', twilio_make_call: 'never' },
    });
    twilio.addInbound(customerPhone, ours, 'Where is my order?');
    twilio.rateLimited(1);
    model.push(
      { toolCalls: [{ name: 'twilio_list_messages', input: { to: ours } }] },
      {
        toolCalls: [
          {
            name: 'twilio_send_sms',
            input: { to: customerPhone, from: ours, body: 'It ships today.' },
          },
          {
            name: 'twilio_make_call',
            input: { to: customerPhone, from: ours, message: 'Your order ships today.' },
          },
        ],
      },
      { text: 'Answered by SMS and phone.' },
    );
    const done = await until(await start('support', 'Answer new texts.'), [
      'completed',
      'failed',
      'cancelled',
    ]);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    const r = results(await cp.store.events.listSince(done.id));
    assert.deepEqual(
      r.map((x) => [x.name, x.isError]),
      [
        ['twilio_list_messages', false],
        ['twilio_send_sms', false],
        ['twilio_make_call', false],
      ],
    );
    assert.equal(JSON.parse(r[0]?.output ?? '{}').messages[0].body, 'Where is my order?');
    assert.equal(twilio.messages[0]?.body, 'It ships today.');
    assert.match(twilio.calls[0]?.twiml ?? '', /<Say[^>]*>Your order ships today\.<\/Say>/);
    assert.equal(
      twilio.requests.at(-1)?.headers.authorization,
      `Basic ${Buffer.from(`${twilioSid}:${twilioToken}`).toString('base64')}`,
    );

    await rt.secrets.set({ name: 'TWILIO_AUTH_TOKEN', value: 'wrongwrongwrongwrongwrong00000000' });
    model.push(
      { toolCalls: [{ name: 'twilio_list_messages', input: {} }] },
      { text: 'I could not.' },
    );
    const refused = await until(await start('support', 'Again.'), [
      'completed',
      'failed',
      'cancelled',
    ]);
    await rt.secrets.set({ name: 'TWILIO_AUTH_TOKEN', value: twilioToken });
    const bad = results(await cp.store.events.listSince(refused.id))[0];
    assert.equal(bad?.isError, true);
    assert.match(
      bad?.output ?? '',
      /refused the credentials TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN/,
    );
    const all = (await everything(done)) + (await everything(refused));
    for (const secret of [twilioToken, 'wrongwrongwrongwrongwrong00000000'])
      assert.ok(!all.includes(secret), 'a Twilio credential leaked');
  });

  it('Gmail: searches and reads with a refreshed token, then sends a reply after approval; no token anywhere', async () => {
    await deploy('inbox', ['gmail']);
    const question = gmail.addMessage({
      from: 'Ada <ada@example.com>',
      subject: 'Refund?',
      text: 'Was I refunded?',
    });
    gmail.rateLimited(1, 403);
    model.push(
      { toolCalls: [{ name: 'gmail_search_emails', input: { query: 'from:ada is:unread' } }] },
      { toolCalls: [{ name: 'gmail_read_message', input: { id: question.id } }] },
      {
        toolCalls: [
          {
            name: 'gmail_send_email',
            input: { to: ['ada@example.com'], body: 'Yes, $42.00 today.', replyTo: question.id },
          },
        ],
      },
      { text: 'Replied to Ada.' },
    );
    const runId = await start('inbox', 'Answer unread mail.');
    const waiting = await until(runId, ['waiting', 'failed', 'completed']);
    assert.equal(waiting.status, 'waiting', JSON.stringify(waiting.error));
    assert.equal(waiting.approval?.tool, 'gmail_send_email');
    await rt.runs.approve(runId, waiting.approval?.callId ?? '');
    const done = await until(runId, ['completed', 'failed', 'cancelled']);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    const r = results(await cp.store.events.listSince(runId));
    assert.deepEqual(
      r.map((x) => [x.name, x.isError]),
      [
        ['gmail_search_emails', false],
        ['gmail_read_message', false],
        ['gmail_send_email', false],
      ],
    );
    assert.equal(JSON.parse(r[1]?.output ?? '{}').text, 'Was I refunded?');
    assert.equal(gmail.messages[0]?.threadId, question.threadId);
    assert.equal(gmail.messages[0]?.text, 'Yes, $42.00 today.');
    assert.ok(
      gmail.requests.some((q) => q.path === '/token'),
      'a token was refreshed',
    );
    // The stored secrets, and the access tokens Google's fake issued from them.
    const all = await everything(done);
    for (const secret of [gmailRefresh, gmailClientSecret, ...gmail.accessTokens])
      assert.ok(!all.includes(secret), 'a Gmail credential leaked');
  });
});
