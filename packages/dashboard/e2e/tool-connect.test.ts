import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loopbackRanges } from '@runtools/agent';
import { FakeSlack } from '@runtools/agent/testing';
import { type Dashboard, startDashboard } from './dashboard-fixture.ts';

const botToken = 'xoxb-dashboard-connect-0123456789abcdef';

describe('dashboard: connecting an integration by OAuth (Chromium, real server, a fake Slack)', () => {
  let d: Dashboard;
  let slack: FakeSlack;
  before(async () => {
    slack = await FakeSlack.start(botToken);
    d = await startDashboard({
      integrationBaseUrls: { slack: slack.apiUrl },
      integrationAllow: loopbackRanges,
    });
    await d.rt.secrets.set({ name: 'SLACK_CLIENT_ID', value: slack.oauthClient.id });
    await d.rt.secrets.set({ name: 'SLACK_CLIENT_SECRET', value: slack.oauthClient.secret });
  });
  after(async () => {
    await d?.[Symbol.asyncDispose]();
    await slack?.close();
  });

  it('opens the consent in a new window and shows the connected workspace when it comes back', async () => {
    const page = await d.signedIn();
    await page.goto('/tools');
    const card = page.getByRole('region', { name: 'Integration Slack' });
    await card.waitFor();
    const popup = page.waitForEvent('popup');
    await card.getByRole('button', { name: 'Connect Slack' }).click();
    const consent = await popup;
    // The fake approves at once and sends the window back to the server's callback.
    await consent.getByRole('heading', { name: 'Connected Slack' }).waitFor();
    assert.match(
      (await consent.textContent('main')) ?? '',
      /workspace Fake Workspace is connected/,
    );
    await card
      .getByRole('status')
      .filter({ hasText: 'Connected: workspace Fake Workspace' })
      .waitFor({ timeout: 10_000 });
    assert.ok(!(await page.content()).includes(botToken));
    assert.ok(!(await consent.content()).includes(botToken));
    await d.screenshot(page, 'tools-connected-light');
  });
});
