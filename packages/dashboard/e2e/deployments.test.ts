import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Dashboard, startDashboard } from './dashboard-fixture.ts';
import { renderedEvents, text, waitForStatus } from './run-page-helpers.ts';

describe('dashboard: deployments (Chromium, real server)', () => {
  let d: Dashboard;
  before(async () => {
    d = await startDashboard();
  });
  after(async () => {
    await d?.[Symbol.asyncDispose]();
  });

  it('says what to do when there is no deployment yet', async () => {
    const page = await d.signedIn();
    await page.goto('/deployments');
    const empty = page.getByRole('region', { name: 'No deployments yet' });
    await empty.waitFor();
    assert.match(await text(empty), /runtools deploy/);
    assert.match(await text(empty), /runtools dev/);
  });

  it('shows an agent with its model, tools and endpoints, and runs it from "try it"', async () => {
    await d.deployScriptedAgent('echo-agent');
    d.model.push(
      {
        reasoning: 'The user wants a greeting; I will ask the sandbox.',
        toolCalls: [{ name: 'bash', input: { command: 'echo hello-from-the-sandbox' } }],
      },
      {
        text: 'The sandbox said **hello-from-the-sandbox**.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n<b>raw html</b><img src=x onerror="window.pwned=1">',
      },
    );
    const page = await d.signedIn();
    page.setDefaultTimeout(60_000);
    await page.goto('/deployments');
    const card = page.getByRole('region', { name: 'echo-agent' });
    await card.waitFor();
    const shown = await text(card);
    assert.match(shown, /custom\/scripted/, 'the model');
    assert.match(shown, /bash/, 'the tools');
    assert.match(shown, /debian-13/, 'the template');
    assert.ok(shown.includes(`POST ${d.url}/v1/run/echo-agent`), 'the HTTP endpoint');
    assert.ok(
      shown.includes(`${d.url.replace('http', 'ws')}/v1/run/echo-agent/stream`),
      'the WS URL',
    );
    assert.match(
      shown,
      /curl -X POST .*\/v1\/run\/echo-agent -H "Authorization: Bearer \$RUNTOOLS_API_KEY"/,
    );
    assert.ok(
      await card.getByRole('button', { name: 'Copy the curl line of echo-agent' }).isVisible(),
    );

    await card.getByLabel('Input').fill('Greet me from the sandbox');
    await card.getByRole('button', { name: 'Run' }).click();
    // The tool call streams in with its input and its result, then the answer as Markdown.
    const tool = card.getByRole('region', { name: 'Tool call bash' });
    // bash's result: the command's output and its exit code.
    await tool.locator('pre', { hasText: /^hello-from-the-sandbox\n\[exit code 0\]/ }).waitFor();
    assert.match(await text(tool), /echo hello-from-the-sandbox/);
    const answer = card.getByRole('region', { name: 'Final answer' });
    await answer.waitFor();
    assert.equal(await text(answer.locator('strong')), 'hello-from-the-sandbox');
    assert.equal(await answer.getByRole('table').count(), 1, 'GitHub tables');
    assert.equal(await answer.locator('b, img, script').count(), 0, 'no raw HTML');
    assert.equal(await page.evaluate(() => (window as { pwned?: number }).pwned), undefined);
    const reasoning = card.locator('details', { hasText: 'Reasoning (step 1)' });
    assert.match(await text(reasoning), /ask the sandbox/);
    await waitForStatus(page, 'completed');

    const runLink = card.getByRole('link', { name: /^run_/ });
    const runId = await text(runLink);
    const stored = await d.rt.runs.events(runId);
    const events = await renderedEvents(page);
    assert.deepEqual(events, { count: stored.length, blocks: stored.length });
    await d.screenshot(page, 'deployments-light');

    // Keyboard: collapse the reasoning from its summary.
    await reasoning.locator('summary').focus();
    await page.keyboard.press('Enter');
    assert.equal(await reasoning.getAttribute('open'), null, 'collapsed');

    d.model.push(
      { toolCalls: [{ name: 'bash', input: { command: 'uname -s' } }] },
      { text: 'It runs **Linux**.' },
    );
    const dark = await d.signedIn(undefined, { colorScheme: 'dark' });
    dark.setDefaultTimeout(60_000);
    await dark.goto('/deployments');
    const darkCard = dark.getByRole('region', { name: 'echo-agent' });
    await darkCard.getByLabel('Input').fill('Which kernel?');
    // Ctrl+Enter runs it from the keyboard.
    await darkCard.getByLabel('Input').press('Control+Enter');
    await darkCard.getByRole('region', { name: 'Final answer' }).waitFor();
    await d.screenshot(dark, 'deployments-dark');
  });

  it('lets a key without the run scope see deployments but not run them', async () => {
    const { key } = await d.rt.apiKeys.create({ name: 'deployer', scopes: ['deploy'] });
    const page = await d.signedIn(key);
    await page.goto('/deployments');
    const card = page.getByRole('region', { name: 'echo-agent' });
    await card.waitFor();
    assert.equal(await card.getByLabel('Input').count(), 0);
    assert.match(await text(card), /needs a key with the run scope/);
  });
});
