import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Dashboard, startDashboard } from './dashboard-fixture.ts';
import { renderedEvents, text, waitForStatus } from './run-page-helpers.ts';

describe('dashboard: approval of tool calls (Chromium, real server)', () => {
  let d: Dashboard;
  before(async () => {
    d = await startDashboard();
    await d.deployScriptedAgent('careful', { approvals: { bash: 'always' } });
  });
  after(async () => {
    await d?.[Symbol.asyncDispose]();
  });

  it('shows what a waiting run asks, approves one call and denies the next with a reason', async () => {
    d.model.push(
      { toolCalls: [{ name: 'bash', input: { command: 'echo approved-from-the-page' } }] },
      { toolCalls: [{ name: 'bash', input: { command: 'rm -rf /srv/data' } }] },
      { text: 'One ran; the other was **refused**.' },
    );
    const { runId } = await d.rt.run('careful', 'two commands', { wait: false });
    const page = await d.signedIn();
    page.setDefaultTimeout(60_000);
    await page.goto(`/runs/${runId}`);

    const first = page.getByRole('region', { name: 'Approval of bash' }).first();
    await waitForStatus(page, 'waiting');
    assert.match(await text(first), /bash waits for approval/);
    assert.match(await text(first), /echo approved-from-the-page/);
    assert.match(await text(first), /Unanswered, it is denied at/);
    await d.screenshot(page, 'run-approval-light');
    await first.getByRole('button', { name: 'Approve' }).click();
    await first.getByRole('heading', { name: /Approved: bash/ }).waitFor();

    const second = page.getByRole('region', { name: 'Approval of bash' }).nth(1);
    await second.getByRole('button', { name: 'Deny' }).waitFor();
    await waitForStatus(page, 'waiting');
    await second.getByLabel('Reason (optional; the agent reads it)').fill('not the data folder');
    await second.getByRole('button', { name: 'Deny' }).click();
    await second.getByRole('heading', { name: /Denied: bash/ }).waitFor();
    assert.match(await text(second), /Reason: not the data folder/);

    const answer = page.getByRole('region', { name: 'Final answer' });
    await answer.waitFor();
    await waitForStatus(page, 'completed');
    assert.equal(await page.getByRole('button', { name: 'Approve' }).count(), 0);
    const results = (await d.rt.runs.events(runId)).flatMap((e) =>
      e.type === 'tool_result' ? [e] : [],
    );
    assert.match(results[0]?.output ?? '', /approved-from-the-page/);
    assert.equal(results[1]?.isError, true);
    assert.match(results[1]?.output ?? '', /not the data folder/);
    // Every event on the page once.
    const shown = await renderedEvents(page);
    assert.equal(shown.count, (await d.rt.runs.get(runId)).lastSeq);
    assert.equal(shown.blocks, shown.count);
    const dark = await d.signedIn(undefined, { colorScheme: 'dark' });
    await dark.goto(`/runs/${runId}`);
    await dark.getByRole('region', { name: 'Final answer' }).waitFor();
    await d.screenshot(dark, 'run-approval-dark');
  });

  it('a key without the run scope sees the request but no buttons', async () => {
    d.model.push({ toolCalls: [{ name: 'bash', input: { command: 'echo x' } }] });
    const { runId } = await d.rt.run('careful', 'one command', { wait: false });
    const { key } = await d.rt.apiKeys.create({ name: 'viewer', scopes: ['deploy'] });
    const page = await d.signedIn(key);
    await page.goto(`/runs/${runId}`);
    // Reading a run needs the run scope: the page says so rather than offering buttons.
    await page.getByRole('alert').filter({ hasText: 'lacks the run scope' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Approve' }).count(), 0);
    await d.rt.runs.cancel(runId);
  });
});
