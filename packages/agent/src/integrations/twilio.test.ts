import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import TwilioSDK from 'twilio';
import { AddressPolicy } from '../net/address-policy.ts';
import { loopbackRanges } from '../net/forbidden-ranges.ts';
import { createPinnedFetch } from '../net/pinned-fetch.ts';
import { FakeTwilio } from '../testing/fake-twilio.ts';
import type { ToolContext } from '../tools/tool.ts';
import { createIntegrationTools } from './integration-tools.ts';

const accountSid = `AC${'0123456789abcdef'.repeat(2)}`;
const authToken = 'f00dfeedcafe0123456789abcdef4242';
const ours = '+14155550100';
const theirs = '+4915112345678';
const loopbackFetch = createPinnedFetch({ policy: new AddressPolicy({ allow: loopbackRanges }) });
const ctx = (): ToolContext => ({
  sandbox: undefined as never,
  signal: new AbortController().signal,
  state: {},
});

async function call(
  fake: FakeTwilio,
  name: string,
  input: unknown,
  secrets: Record<string, string> = {
    TWILIO_ACCOUNT_SID: accountSid,
    TWILIO_AUTH_TOKEN: authToken,
  },
) {
  const tools = createIntegrationTools([{ name: 'twilio' }], {
    credentials: async (secret) => secrets[secret],
    baseUrls: { twilio: fake.url },
    fetch: loopbackFetch,
  });
  const tool = tools[name];
  assert.ok(tool, `no tool ${name}`);
  const parsed = tool.inputSchema.safeParse(input);
  assert.ok(parsed.success, JSON.stringify(parsed.error?.issues));
  return tool.execute(parsed.data, ctx());
}

describe('the fake Twilio, checked with the twilio SDK', () => {
  it('takes form bodies with HTTP Basic, pages with next_page_uri, and answers errors as Twilio does', async () => {
    await using fake = await FakeTwilio.start(accountSid, authToken);
    // The SDK's own HTTP client (axios), pointed at the fake through the API domain's base URL.
    const client = TwilioSDK(accountSid, authToken, { env: {} });
    client.api.baseUrl = fake.url;
    for (let i = 0; i < 5; i++) fake.addInbound(theirs, ours, `m${i}`);
    const all = await client.messages.list({ to: ours, pageSize: 2 });
    assert.deepEqual(
      all.map((m) => m.body),
      ['m4', 'm3', 'm2', 'm1', 'm0'],
    );
    assert.equal(fake.requests.length, 3);
    assert.equal(
      fake.requests[0]?.headers.authorization,
      `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`,
    );
    const sent = await client.messages.create({ to: theirs, from: ours, body: 'hi' });
    assert.match(sent.sid, /^SM/);
    assert.equal(new URLSearchParams(fake.requests.at(-1)?.body).get('Body'), 'hi');
    await assert.rejects(
      client.messages.create({ to: '12', from: ours, body: 'x' }),
      (e: { status?: number; code?: number }) => e.status === 400 && e.code === 21211,
    );
    const bad = TwilioSDK(accountSid, 'wrong-token-wrong-token', { env: {} });
    bad.api.baseUrl = fake.url;
    await assert.rejects(
      bad.messages.list(),
      (e: { status?: number; code?: number }) => e.status === 401 && e.code === 20003,
    );
    fake.rateLimited(1);
    await assert.rejects(
      client.messages.list(),
      (e: { status?: number; code?: number }) => e.status === 429 && e.code === 20429,
    );
  });
});

describe('twilio integration', () => {
  it('sends an SMS, reads messages page by page, and places a call that says a message', async () => {
    await using fake = await FakeTwilio.start(accountSid, authToken);
    fake.addInbound(theirs, ours, 'Is my order shipped?');
    const sent = await call(fake, 'twilio_send_sms', {
      to: theirs,
      from: ours,
      body: 'Yes, it left today.',
    });
    assert.equal(sent.isError, undefined, sent.output);
    const sms = JSON.parse(sent.output);
    assert.match(sms.sid, /^SM[0-9a-f]{32}$/);
    assert.equal(sms.status, 'queued');
    const post = fake.requests.at(-1);
    assert.equal(post?.path, `/2010-04-01/Accounts/${accountSid}/Messages.json`);
    assert.equal(post?.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.deepEqual(Object.fromEntries(new URLSearchParams(post?.body)), {
      To: theirs,
      From: ours,
      Body: 'Yes, it left today.',
    });

    const first = JSON.parse((await call(fake, 'twilio_list_messages', { limit: 1 })).output);
    assert.equal(first.messages[0].body, 'Yes, it left today.');
    assert.equal(first.messages[0].direction, 'outbound-api');
    assert.match(first.messages[0].date, /^2026-01-05T/);
    assert.ok(first.nextCursor);
    const second = JSON.parse(
      (await call(fake, 'twilio_list_messages', { limit: 1, cursor: first.nextCursor })).output,
    );
    assert.deepEqual(
      second.messages.map((m: { body: string; direction: string }) => [m.body, m.direction]),
      [['Is my order shipped?', 'inbound']],
    );
    assert.equal(second.nextCursor, null);
    const toUs = JSON.parse((await call(fake, 'twilio_list_messages', { to: ours })).output);
    assert.equal(toUs.messages.length, 1);

    const placed = await call(fake, 'twilio_make_call', {
      to: theirs,
      from: ours,
      message: 'Your table is ready <soon> & waiting.',
    });
    assert.equal(placed.isError, undefined, placed.output);
    assert.match(JSON.parse(placed.output).sid, /^CA/);
    assert.equal(
      fake.calls[0]?.twiml,
      '<?xml version="1.0" encoding="UTF-8"?><Response><Say voice="alice" language="en-US">Your table is ready &lt;soon&gt; &amp; waiting.</Say></Response>',
    );
  });

  it('asks for approval before sending an SMS or calling', () => {
    const all = createIntegrationTools([{ name: 'twilio' }], {
      credentials: async () => undefined,
    });
    assert.deepEqual(
      Object.values(all)
        .filter((t) => t.approval === 'always')
        .map((t) => t.name),
      ['twilio_send_sms', 'twilio_make_call'],
    );
  });

  it("gives Twilio's error code and message", async () => {
    await using fake = await FakeTwilio.start(accountSid, authToken);
    fake.optedOut.add(theirs);
    const r = await call(fake, 'twilio_send_sms', { to: theirs, from: ours, body: 'x' });
    assert.equal(r.isError, true);
    assert.match(r.output, /Twilio answered 400 \(error 21610\): Attempt to send to unsubscribed/);
  });

  it('retries a 429 (error 20429) with exponential backoff, then gives up', async () => {
    await using fake = await FakeTwilio.start(accountSid, authToken);
    fake.rateLimited(2);
    const started = Date.now();
    const r = await call(fake, 'twilio_send_sms', { to: theirs, from: ours, body: 'later' });
    assert.equal(r.isError, undefined, r.output);
    assert.ok(Date.now() - started >= 700, 'waited 0.25 s, then 0.5 s');
    assert.equal(fake.requests.length, 3);
    assert.equal(fake.messages.length, 1);
    fake.rateLimited(3);
    const exhausted = await call(fake, 'twilio_list_messages', {});
    assert.equal(exhausted.isError, true);
    assert.match(exhausted.output, /rate limit was still exceeded after retrying \(20429/);
  });

  it('says refused or missing credentials are TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN, never showing them', async () => {
    await using fake = await FakeTwilio.start(accountSid, authToken);
    const wrong = 'ffffffffffffffffffffffffffff0000';
    const bad = await call(
      fake,
      'twilio_list_messages',
      {},
      {
        TWILIO_ACCOUNT_SID: accountSid,
        TWILIO_AUTH_TOKEN: wrong,
      },
    );
    assert.equal(bad.isError, true);
    assert.match(
      bad.output,
      /refused the credentials TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN \(401 20003/,
    );
    assert.ok(!bad.output.includes(wrong));
    const none = await call(fake, 'twilio_list_messages', {}, { TWILIO_ACCOUNT_SID: accountSid });
    assert.match(none.output, /runtools secrets set TWILIO_AUTH_TOKEN/);
  });

  it("reaches the service only through the framework's address-checked fetch", async () => {
    await using fake = await FakeTwilio.start(accountSid, authToken);
    const tools = createIntegrationTools([{ name: 'twilio' }], {
      credentials: async (n) => (n === 'TWILIO_ACCOUNT_SID' ? accountSid : authToken),
      baseUrls: { twilio: fake.url },
    });
    const r = await tools.twilio_list_messages?.execute({ limit: 20 }, ctx());
    assert.equal(r?.isError, true);
    assert.equal(fake.requests.length, 0, 'the default fetch refuses loopback');
  });
});
