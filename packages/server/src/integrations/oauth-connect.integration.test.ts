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
import { FakeGmail, FakeSlack, TestModelServer } from '@runtools/agent/testing';
import { RunTools } from '@runtools/sdk/client';
import { type Database, openDatabase } from '../db/database.ts';
import { type ControlPlane, startControlPlane } from '../testing/control-plane.ts';
import { testBootstrapKey } from '../testing/test-server.ts';

const botToken = 'xoxb-oauth-connected-0123456789abcdef';
const gmailRefresh = '1//gmail-refresh-token-0123456789abcdef';

describe("connecting Slack by its OAuth consent (the service's SDK against a loopback fake)", () => {
  const dbDir = mkdtempSync(join(tmpdir(), 'runtools-oauth-'));
  let database: Database;
  let slack: FakeSlack;
  let gmail: FakeGmail;
  let model: TestModelServer;
  let fetch: PinnedFetch;
  let cp: ControlPlane;
  let rt: RunTools;

  before(async () => {
    database = await openDatabase({ kind: 'sqlite', dataDir: dbDir });
    slack = await FakeSlack.start(botToken);
    gmail = await FakeGmail.start({
      accessToken: 'ya29.unused-0123456789',
      refreshToken: gmailRefresh,
      clientId: 'gmail-client.apps.googleusercontent.com',
      clientSecret: 'gmail-client-secret-0123',
    });
    model = await TestModelServer.start();
    fetch = createPinnedFetch({ policy: new AddressPolicy({ allow: loopbackRanges }) });
    const integrations = { baseUrls: { slack: slack.apiUrl, gmail: gmail.url }, fetch };
    cp = await startControlPlane(database, { worker: { integrations }, app: { integrations } });
    rt = new RunTools({ baseUrl: cp.url, apiKey: testBootstrapKey });
  });
  after(async () => {
    await cp?.close();
    await fetch?.close();
    await slack?.close();
    await gmail?.close();
    await model?.close();
    await database?.close();
    rmSync(dbDir, { recursive: true, force: true });
  });

  /** What a browser does: the consent page (which the fake approves at once), then our callback. */
  async function consent(authorizeUrl: string, tamper?: (url: URL) => void) {
    const approved = await globalThis.fetch(authorizeUrl, { redirect: 'manual' });
    assert.equal(approved.status, 302);
    const back = new URL(approved.headers.get('location') ?? '');
    tamper?.(back);
    const page = await globalThis.fetch(back);
    return { status: page.status, text: await page.text() };
  }

  it('needs the operator’s OAuth app first, and only an admin may start it', async () => {
    const before = await cp.request('POST', '/v1/tools/slack/connect', { body: {} });
    assert.equal(before.status, 400);
    assert.match(JSON.stringify(before.body), /SLACK_CLIENT_ID/);
    const { key } = await rt.apiKeys.create({ name: 'deployer', scopes: ['deploy'] });
    const refused = await cp.request('POST', '/v1/tools/slack/connect', {
      body: {},
      headers: { authorization: `Bearer ${key}` },
    });
    assert.equal(refused.status, 403);
    const none = await cp.request('POST', '/v1/tools/github/connect', { body: {} });
    assert.equal(none.status, 404);
  });

  it('connects the workspace: the bot token goes to the secret store, the catalog shows the account', async () => {
    await rt.secrets.set({ name: 'SLACK_CLIENT_ID', value: slack.oauthClient.id });
    await rt.secrets.set({ name: 'SLACK_CLIENT_SECRET', value: slack.oauthClient.secret });
    const started = await cp.request('POST', '/v1/tools/slack/connect', { body: {} });
    assert.equal(started.status, 200, JSON.stringify(started.body));
    const { authorizeUrl, redirectUri } = started.body as {
      authorizeUrl: string;
      redirectUri: string;
    };
    assert.equal(redirectUri, `${cp.url}/oauth/callback`);
    const url = new URL(authorizeUrl);
    assert.equal(url.searchParams.get('client_id'), slack.oauthClient.id);
    assert.match(url.searchParams.get('scope') ?? '', /chat:write/);
    assert.ok(!authorizeUrl.includes(slack.oauthClient.secret), 'the client secret never leaves');

    const page = await consent(authorizeUrl);
    assert.equal(page.status, 200, page.text);
    assert.match(page.text, /workspace Fake Workspace is connected/);
    assert.ok(!page.text.includes(botToken));
    const catalog = await rt.tools.catalog();
    const entry = catalog.integrations.find((i) => i.name === 'slack');
    assert.equal(entry?.connection?.account, 'workspace Fake Workspace');
    assert.equal(entry?.configured, true);
    assert.ok(!JSON.stringify(catalog).includes(botToken));
    // The stored token is the one the exchange gave: the SDK's own call succeeds with it.
    const stored = await cp.store.secrets.resolve('SLACK_BOT_TOKEN', null);
    assert.equal(stored, botToken);
  });

  it('connects a mailbox: offline consent, the refresh token stored, the address shown', async () => {
    await rt.secrets.set({ name: 'GMAIL_CLIENT_ID', value: gmail.clientId });
    await rt.secrets.set({ name: 'GMAIL_CLIENT_SECRET', value: gmail.clientSecret });
    const started = await rt.tools.connect('gmail');
    const url = new URL(started.authorizeUrl);
    assert.equal(url.pathname, '/o/oauth2/v2/auth');
    assert.equal(url.searchParams.get('access_type'), 'offline');
    assert.equal(url.searchParams.get('scope'), 'https://www.googleapis.com/auth/gmail.modify');
    const page = await consent(started.authorizeUrl);
    assert.equal(page.status, 200, page.text);
    assert.match(page.text, /me@example.com is connected/);
    assert.equal(await cp.store.secrets.resolve('GMAIL_REFRESH_TOKEN', null), gmailRefresh);
    const entry = (await rt.tools.catalog()).integrations.find((i) => i.name === 'gmail');
    assert.equal(entry?.connection?.account, 'me@example.com');
    assert.equal(entry?.configured, true);
    assert.ok(!page.text.includes(gmailRefresh));
  });

  it('renews a rotating bot token when it expires: the run posts with the new one, which replaces the old in the store', async () => {
    slack.rotate(1);
    const started = await rt.tools.connect('slack');
    assert.equal((await consent(started.authorizeUrl)).status, 200);
    const first = await cp.store.secrets.resolve('SLACK_BOT_TOKEN', null);
    const firstRefresh = await cp.store.secrets.resolve('SLACK_REFRESH_TOKEN', null);
    assert.match(first ?? '', /^xoxe\.xoxb-1-rotated-/);
    assert.ok(firstRefresh);
    const runtime = await rt.runtimes.create({
      slug: 'poster',
      model: { provider: 'custom', endpoint: `${model.url}/v1`, model: 'scripted' },
      systemPrompt: 'You post.',
      tools: ['slack'],
    });
    await rt.deployments.create({
      apiSlug: 'poster',
      runtimeId: runtime.id,
      template: 'debian-13',
    });
    await new Promise((resolve) => setTimeout(resolve, 1100));
    model.push(
      {
        toolCalls: [
          {
            name: 'slack_post_message',
            input: { channel: '#general', text: 'after the rotation' },
          },
        ],
      },
      { text: 'Posted.' },
    );
    const result = await rt.run('poster', 'post it');
    assert.equal(result.status, 'completed', JSON.stringify(result.error));
    const events = await rt.runs.events(result.runId);
    const posted = events.find((e) => e.type === 'tool_result');
    assert.equal(posted?.type === 'tool_result' && posted.isError, false, JSON.stringify(posted));
    assert.equal(slack.channels.get('C0GENERAL')?.messages[0]?.text, 'after the rotation');
    const renewed = await cp.store.secrets.resolve('SLACK_BOT_TOKEN', null);
    assert.notEqual(renewed, first, 'the renewed token replaced the expired one');
    assert.notEqual(await cp.store.secrets.resolve('SLACK_REFRESH_TOKEN', null), firstRefresh);
    const all = JSON.stringify(events);
    for (const secret of [first, renewed, firstRefresh]) assert.ok(!all.includes(secret ?? '~'));
  });

  it('refuses a forged or altered state, a consent the person declined, and a code the service refuses', async () => {
    const started = await cp.request('POST', '/v1/tools/slack/connect', { body: {} });
    const { authorizeUrl } = started.body as { authorizeUrl: string };
    const forged = await consent(authorizeUrl, (back) =>
      back.searchParams.set('state', 'eyJ4Ijox'),
    );
    assert.equal(forged.status, 400);
    assert.match(forged.text, /not one this server started/);
    const declined = await globalThis.fetch(
      `${cp.url}/oauth/callback?error=access_denied&state=${encodeURIComponent(new URL(authorizeUrl).searchParams.get('state') ?? '')}`,
    );
    assert.equal(declined.status, 400);
    assert.match(await declined.text(), /access_denied/);
    const badCode = await consent(authorizeUrl, (back) => back.searchParams.set('code', 'made-up'));
    assert.equal(badCode.status, 502);
    const text = badCode.text;
    assert.match(text, /refused the code/);
    assert.ok(!text.includes(slack.oauthClient.secret));
  });
});
