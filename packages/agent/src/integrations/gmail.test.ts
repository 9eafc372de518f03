import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { auth, gmail as gmailClient } from '@googleapis/gmail';
import { AddressPolicy } from '../net/address-policy.ts';
import { loopbackRanges } from '../net/forbidden-ranges.ts';
import { createPinnedFetch } from '../net/pinned-fetch.ts';
import { FakeGmail } from '../testing/fake-gmail.ts';
import type { ToolContext } from '../tools/tool.ts';
import { createIntegrationTools } from './integration-tools.ts';

const accessToken = 'ya29.a0AfB_byC-test-access-token-0123456789';
const refreshToken = '1//0gTEST-refresh-token-abcdefghijklmnop';
const clientId = '1234567890-abc.apps.googleusercontent.com';
const clientSecret = 'GOCSPX-test-client-secret-0123';
const oauth = {
  GMAIL_REFRESH_TOKEN: refreshToken,
  GMAIL_CLIENT_ID: clientId,
  GMAIL_CLIENT_SECRET: clientSecret,
};
const loopbackFetch = createPinnedFetch({ policy: new AddressPolicy({ allow: loopbackRanges }) });
const ctx = (): ToolContext => ({
  sandbox: undefined as never,
  signal: new AbortController().signal,
  state: {},
});

const start = () => FakeGmail.start({ accessToken, refreshToken, clientId, clientSecret });

async function call(
  fake: FakeGmail,
  name: string,
  input: unknown,
  secrets: Record<string, string> = { GMAIL_ACCESS_TOKEN: accessToken },
) {
  const tools = createIntegrationTools([{ name: 'gmail' }], {
    credentials: async (secret) => secrets[secret],
    baseUrls: { gmail: fake.url },
    fetch: loopbackFetch,
  });
  const tool = tools[name];
  assert.ok(tool, `no tool ${name}`);
  const parsed = tool.inputSchema.safeParse(input);
  assert.ok(parsed.success, JSON.stringify(parsed.error?.issues));
  return tool.execute(parsed.data, ctx());
}

/** A sent message's RFC 2822 text, as the fake received it. */
function sentRaw(fake: FakeGmail): string {
  const body = JSON.parse(fake.requests.at(-1)?.body ?? '{}');
  return Buffer.from(body.raw ?? body.message.raw, 'base64url').toString('utf8');
}

describe('the fake Gmail, checked with @googleapis/gmail', () => {
  it('pages with nextPageToken, takes JSON with Bearer, trades a refresh token, and answers errors as Google does', async () => {
    await using fake = await start();
    for (let i = 0; i < 5; i++)
      fake.addMessage({ from: 'a@example.com', subject: `s${i}`, text: `t${i}` });
    const withToken = gmailClient({
      version: 'v1',
      rootUrl: `${fake.url}/`,
      headers: { authorization: `Bearer ${accessToken}` },
    });
    const ids: string[] = [];
    let pageToken: string | undefined;
    do {
      const r = await withToken.users.messages.list({
        userId: 'me',
        maxResults: 2,
        ...(pageToken ? { pageToken } : {}),
      });
      ids.push(...(r.data.messages ?? []).map((m) => m.id as string));
      pageToken = r.data.nextPageToken ?? undefined;
    } while (pageToken);
    assert.equal(ids.length, 5);
    assert.equal(fake.requests.length, 3);
    const m = await withToken.users.messages.get({ userId: 'me', id: ids[0] as string });
    assert.equal(Buffer.from(m.data.payload?.body?.data ?? '', 'base64url').toString(), 't4');
    // A refresh token for an access token, at the fake's /token, as google-auth-library asks.
    const o = new auth.OAuth2({
      clientId,
      clientSecret,
      endpoints: { oauth2TokenUrl: `${fake.url}/token` },
    });
    o.setCredentials({ refresh_token: refreshToken });
    const viaRefresh = gmailClient({ version: 'v1', auth: o, rootUrl: `${fake.url}/` });
    const listed = await viaRefresh.users.messages.list({ userId: 'me' });
    assert.equal(listed.data.resultSizeEstimate, 5);
    assert.match(String(fake.requests.at(-1)?.headers.authorization), /^Bearer ya29\.fresh-/);
    const bad = gmailClient({
      version: 'v1',
      rootUrl: `${fake.url}/`,
      headers: { authorization: 'Bearer nope' },
    });
    await assert.rejects(
      bad.users.messages.list({ userId: 'me' }),
      (e: { status?: number }) => e.status === 401,
    );
    await assert.rejects(
      withToken.users.messages.get({ userId: 'me', id: 'ffffffff' }),
      (e: { status?: number; response?: { data?: { error?: { status?: string } } } }) =>
        e.status === 404 && e.response?.data?.error?.status === 'NOT_FOUND',
    );
  });
});

describe('gmail integration', () => {
  it('searches, reads a message and a thread, sends, replies in the thread and drafts', async () => {
    await using fake = await start();
    const first = fake.addMessage({
      from: 'Alice <alice@example.com>',
      subject: 'Invoice 42',
      text: 'Please find the invoice.',
    });
    fake.addMessage({ from: 'bob@example.com', subject: 'Lunch?', text: 'Noon?', unread: false });
    fake.addMessage({
      from: 'Alice <alice@example.com>',
      subject: 'Re: Invoice 42',
      text: 'Plain version',
      html: '<p>HTML <b>version</b></p>',
      threadId: first.threadId,
    });

    const found = await call(fake, 'gmail_search_emails', { query: 'from:alice is:unread' });
    assert.equal(found.isError, undefined, found.output);
    const search = JSON.parse(found.output);
    assert.deepEqual(
      search.messages.map((m: { subject: string; unread: boolean }) => [m.subject, m.unread]),
      [
        ['Re: Invoice 42', true],
        ['Invoice 42', true],
      ],
    );
    assert.equal(
      fake.requests.find((r) => r.path.endsWith('/messages'))?.query.get('q'),
      'from:alice is:unread',
    );
    assert.equal(fake.requests.at(-1)?.headers.authorization, `Bearer ${accessToken}`);
    const paged = JSON.parse(
      (await call(fake, 'gmail_search_emails', { query: 'in:inbox', maxResults: 2 })).output,
    );
    assert.equal(paged.messages.length, 2);
    const rest = JSON.parse(
      (
        await call(fake, 'gmail_search_emails', {
          query: 'in:inbox',
          maxResults: 2,
          pageToken: paged.nextPageToken,
        })
      ).output,
    );
    assert.deepEqual(
      rest.messages.map((m: { id: string }) => m.id),
      [first.id],
    );
    assert.equal(rest.nextPageToken, null);

    const read = JSON.parse((await call(fake, 'gmail_read_message', { id: first.id })).output);
    assert.equal(read.text, 'Please find the invoice.');
    assert.equal(read.from, 'Alice <alice@example.com>');
    const thread = JSON.parse(
      (await call(fake, 'gmail_read_thread', { id: first.threadId })).output,
    );
    assert.deepEqual(
      thread.messages.map((m: { text: string }) => m.text),
      ['Please find the invoice.', 'Plain version'],
    );

    const sent = await call(fake, 'gmail_send_email', {
      to: ['carol@example.com'],
      subject: 'Grüße',
      body: 'Hallo Carol',
    });
    assert.equal(sent.isError, undefined, sent.output);
    assert.equal(fake.requests.at(-1)?.path, '/gmail/v1/users/me/messages/send');
    assert.match(String(fake.requests.at(-1)?.headers['content-type']), /application\/json/);
    const raw = sentRaw(fake);
    assert.match(raw, /^To: carol@example\.com\r\n/);
    assert.match(raw, /Subject: =\?UTF-8\?B\?R3LDvMOfZQ==\?=/);
    assert.equal(fake.messages[0]?.text, 'Hallo Carol');

    const reply = JSON.parse(
      (
        await call(fake, 'gmail_send_email', {
          to: ['alice@example.com'],
          body: 'Paid, thanks.',
          replyTo: first.id,
        })
      ).output,
    );
    assert.equal(reply.threadId, first.threadId);
    assert.match(
      sentRaw(fake),
      new RegExp(`Subject: Re: Invoice 42\\r\\nIn-Reply-To: <${first.id}@mail\\.example\\.com>`),
    );

    const draft = JSON.parse(
      (
        await call(fake, 'gmail_create_draft', {
          to: ['dave@example.com'],
          subject: 'Draft',
          body: 'Later',
        })
      ).output,
    );
    assert.match(draft.draftId, /^r-/);
    assert.equal(fake.drafts[0]?.message.labelIds[0], 'DRAFT');
    assert.match(sentRaw(fake), /Subject: Draft/);
  });

  it('asks for approval before sending', () => {
    const all = createIntegrationTools([{ name: 'gmail' }], { credentials: async () => undefined });
    assert.deepEqual(
      Object.values(all)
        .filter((t) => t.approval === 'always')
        .map((t) => t.name),
      ['gmail_send_email'],
    );
  });

  it('refuses a header injection in the subject', () => {
    const all = createIntegrationTools([{ name: 'gmail' }], { credentials: async () => undefined });
    const parsed = all.gmail_send_email?.inputSchema.safeParse({
      to: ['a@example.com'],
      subject: 'Hi\r\nBcc: evil@example.com',
      body: 'x',
    });
    assert.equal(parsed?.success, false);
  });

  it("gives Gmail's error reason and message", async () => {
    await using fake = await start();
    const r = await call(fake, 'gmail_read_message', { id: 'ffffffff' });
    assert.equal(r.isError, true);
    assert.match(r.output, /Gmail answered 404 notFound: Requested entity was not found/);
  });

  it('retries 429 and 403 userRateLimitExceeded with exponential backoff, then gives up', async () => {
    await using fake = await start();
    fake.rateLimited(1, 429);
    fake.rateLimited(1, 403);
    const started = Date.now();
    const r = await call(fake, 'gmail_send_email', {
      to: ['x@example.com'],
      subject: 's',
      body: 'b',
    });
    assert.equal(r.isError, undefined, r.output);
    assert.ok(Date.now() - started >= 1400, 'waited 0.5 s, then 1 s');
    assert.equal(fake.requests.filter((q) => q.path.endsWith('/send')).length, 3);
    assert.equal(fake.messages.length, 1);
    fake.rateLimited(3, 403);
    const exhausted = await call(fake, 'gmail_search_emails', {});
    assert.equal(exhausted.isError, true);
    assert.match(
      exhausted.output,
      /rate limit was still exceeded after retrying \(403 userRateLimitExceeded/,
    );
  });

  it('refreshes an expired access token with the refresh token, and says which credential is refused', async () => {
    await using fake = await start();
    fake.addMessage({ from: 'a@example.com', subject: 'Hi', text: 'x' });
    // Only a refresh token: the call gets an access token first.
    const viaRefresh = await call(fake, 'gmail_search_emails', {}, oauth);
    assert.equal(viaRefresh.isError, undefined, viaRefresh.output);
    const token = fake.requests.find((q) => q.path === '/token');
    assert.equal(new URLSearchParams(token?.body).get('grant_type'), 'refresh_token');
    // An expired access token with a refresh token: 401, refresh, the same request again.
    const expired = 'ya29.expired-expired-expired-0000';
    const before = fake.requests.length;
    const renewed = await call(
      fake,
      'gmail_search_emails',
      {},
      { ...oauth, GMAIL_ACCESS_TOKEN: expired },
    );
    assert.equal(renewed.isError, undefined, renewed.output);
    assert.deepEqual(
      fake.requests.slice(before, before + 3).map((q) => [q.path, q.method]),
      [
        ['/gmail/v1/users/me/messages', 'GET'],
        ['/token', 'POST'],
        ['/gmail/v1/users/me/messages', 'GET'],
      ],
    );
    // A proxy that echoes the refreshed token in its error page: it is masked too.
    fake.answerApiNext((request) => ({
      status: 502,
      text: `upstream failed for ${request.headers.authorization}`,
    }));
    const echoed = await call(fake, 'gmail_read_message', { id: 'ffffffff' }, oauth);
    assert.match(
      echoed.output,
      /Gmail answered 502: upstream failed for Bearer \[GMAIL_REFRESHED_ACCESS_TOKEN\]/,
    );
    for (const issued of fake.accessTokens) assert.ok(!echoed.output.includes(issued));
    // An expired access token alone, a revoked refresh token, nothing at all.
    const alone = await call(fake, 'gmail_search_emails', {}, { GMAIL_ACCESS_TOKEN: expired });
    assert.match(alone.output, /Gmail refused the access token \(401 UNAUTHENTICATED\)/);
    assert.ok(!alone.output.includes(expired));
    const revoked = '1//0gREVOKED-revoked-revoked-revoked';
    const refused = await call(
      fake,
      'gmail_search_emails',
      {},
      { ...oauth, GMAIL_REFRESH_TOKEN: revoked },
    );
    assert.match(refused.output, /refused the refresh token GMAIL_REFRESH_TOKEN .*invalid_grant/);
    assert.ok(!refused.output.includes(revoked) && !refused.output.includes(clientSecret));
    const none = await call(fake, 'gmail_search_emails', {}, {});
    assert.equal(none.isError, true);
    assert.match(none.output, /runtools secrets set GMAIL_REFRESH_TOKEN/);
  });

  it("reaches the service only through the framework's address-checked fetch", async () => {
    await using fake = await start();
    const tools = createIntegrationTools([{ name: 'gmail' }], {
      credentials: async () => accessToken,
      baseUrls: { gmail: fake.url },
    });
    const r = await tools.gmail_search_emails?.execute(
      { query: 'in:inbox', maxResults: 10 },
      ctx(),
    );
    assert.equal(r?.isError, true);
    assert.equal(fake.requests.length, 0, 'the default fetch refuses loopback');
    // The token refresh too.
    const refreshing = createIntegrationTools([{ name: 'gmail' }], {
      credentials: async (name) => (oauth as Record<string, string>)[name],
      baseUrls: { gmail: fake.url },
    });
    const r2 = await refreshing.gmail_search_emails?.execute(
      { query: 'in:inbox', maxResults: 10 },
      ctx(),
    );
    assert.equal(r2?.isError, true);
    assert.equal(fake.requests.length, 0, 'not even /token');
  });
});
