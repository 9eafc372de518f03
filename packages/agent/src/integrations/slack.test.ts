import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WebClient } from '@slack/web-api';
import { AddressPolicy } from '../net/address-policy.ts';
import { loopbackRanges } from '../net/forbidden-ranges.ts';
import { createPinnedFetch } from '../net/pinned-fetch.ts';
import { FakeSlack } from '../testing/fake-slack.ts';
import type { ToolContext } from '../tools/tool.ts';
import { createIntegrationTools } from './integration-tools.ts';

const token = 'xoxb-1234-5678-abcdefghijklmnopqrstuvwx';
const loopbackFetch = createPinnedFetch({ policy: new AddressPolicy({ allow: loopbackRanges }) });
const ctx = (): ToolContext => ({
  sandbox: undefined as never,
  signal: new AbortController().signal,
  state: {},
});

async function call(fake: FakeSlack, name: string, input: unknown, value: string | null = token) {
  const tools = createIntegrationTools([{ name: 'slack' }], {
    credentials: async () => value ?? undefined,
    baseUrls: { slack: fake.apiUrl },
    fetch: loopbackFetch,
  });
  const tool = tools[name];
  assert.ok(tool, `no tool ${name}`);
  const parsed = tool.inputSchema.safeParse(input);
  assert.ok(parsed.success, JSON.stringify(parsed.error?.issues));
  return tool.execute(parsed.data, ctx());
}

describe('the fake Slack, checked with @slack/web-api', () => {
  it('pages with cursors, refuses a bad token with invalid_auth, and rate-limits with Retry-After', async () => {
    await using fake = await FakeSlack.start(token);
    for (let i = 0; i < 5; i++) fake.addMessage('C0GENERAL', 'U0ALICE', `m${i}`);
    const client = new WebClient(token, { slackApiUrl: fake.apiUrl });
    const texts: string[] = [];
    for await (const page of client.paginate('conversations.history', {
      channel: 'C0GENERAL',
      limit: 2,
    })) {
      texts.push(
        ...(page as unknown as { messages: Array<{ text: string }> }).messages.map((m) => m.text),
      );
    }
    assert.deepEqual(texts, ['m4', 'm3', 'm2', 'm1', 'm0']);
    assert.equal(fake.requests.at(-1)?.headers.authorization, `Bearer ${token}`);
    const bad = new WebClient('xoxb-wrong', { slackApiUrl: fake.apiUrl });
    await assert.rejects(
      bad.auth.test(),
      (e: { data?: { error?: string } }) => e.data?.error === 'invalid_auth',
    );
    fake.rateLimited(1, 1);
    const limited = new WebClient(token, {
      slackApiUrl: fake.apiUrl,
      rejectRateLimitedCalls: true,
    });
    await assert.rejects(
      limited.auth.test(),
      (e: { code?: string; retryAfter?: number }) =>
        e.code === 'slack_webapi_rate_limited_error' && e.retryAfter === 1,
    );
  });
});

describe('slack integration', () => {
  it('lists channels, posts, replies in the thread, reads the history, looks people up', async () => {
    await using fake = await FakeSlack.start(token);
    const channels = JSON.parse((await call(fake, 'slack_list_channels', {})).output);
    assert.deepEqual(
      channels.channels.map((c: { name: string }) => c.name),
      ['general', 'random'],
    );
    const posted = JSON.parse(
      (await call(fake, 'slack_post_message', { channel: '#general', text: 'Deploy done' })).output,
    );
    assert.equal(posted.channel, 'C0GENERAL');
    const body = new URLSearchParams(fake.requests.at(-1)?.body);
    assert.equal(body.get('text'), 'Deploy done');
    await call(fake, 'slack_reply_in_thread', {
      channel: 'C0GENERAL',
      threadTs: posted.ts,
      text: 'Details inside',
    });
    const history = JSON.parse(
      (await call(fake, 'slack_read_channel_history', { channel: 'C0GENERAL' })).output,
    );
    assert.deepEqual(history.messages[0], {
      ts: posted.ts,
      user: 'U0BOT',
      text: 'Deploy done',
      threadTs: posted.ts,
      replyCount: 1,
    });
    const alice = JSON.parse(
      (await call(fake, 'slack_lookup_user', { email: 'alice@example.com' })).output,
    );
    assert.equal(alice.id, 'U0ALICE');
    assert.equal(alice.timezone, 'Europe/Berlin');
  });

  it('pages history with nextCursor', async () => {
    await using fake = await FakeSlack.start(token);
    for (let i = 0; i < 3; i++) fake.addMessage('C0RANDOM', 'U0BOB', `n${i}`);
    const first = JSON.parse(
      (await call(fake, 'slack_read_channel_history', { channel: 'C0RANDOM', limit: 2 })).output,
    );
    assert.equal(first.messages.length, 2);
    assert.ok(first.nextCursor);
    const second = JSON.parse(
      (
        await call(fake, 'slack_read_channel_history', {
          channel: 'C0RANDOM',
          limit: 2,
          cursor: first.nextCursor,
        })
      ).output,
    );
    assert.deepEqual(
      second.messages.map((m: { text: string }) => m.text),
      ['n0'],
    );
    assert.equal(second.nextCursor, null);
  });

  it("gives Slack's error code, and retries a 429 after its Retry-After", async () => {
    await using fake = await FakeSlack.start(token);
    const missing = await call(fake, 'slack_post_message', { channel: 'C0NOPE', text: 'hi' });
    assert.equal(missing.isError, true);
    assert.match(missing.output, /Slack answered channel_not_found/);
    fake.rateLimited(1, 1);
    const started = Date.now();
    const r = await call(fake, 'slack_post_message', {
      channel: 'C0GENERAL',
      text: 'after the limit',
    });
    assert.equal(r.isError, undefined, r.output);
    assert.ok(Date.now() - started >= 900);
    assert.equal(fake.requests.filter((q) => q.path === '/api/chat.postMessage').length, 3);
  });

  it('says a refused or missing token is SLACK_BOT_TOKEN, never showing it', async () => {
    await using fake = await FakeSlack.start(token);
    const wrong = 'xoxb-wrong-wrong-wrong-wrong';
    const bad = await call(fake, 'slack_list_channels', {}, wrong);
    assert.match(bad.output, /refused the token SLACK_BOT_TOKEN \(invalid_auth\)/);
    assert.ok(!bad.output.includes(wrong));
    const none = await call(fake, 'slack_list_channels', {}, null);
    assert.match(none.output, /runtools secrets set SLACK_BOT_TOKEN/);
  });
});
