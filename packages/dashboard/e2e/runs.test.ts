import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RunEvent } from '@runtools/sdk';
import type { Page } from 'playwright-core';
import { type Dashboard, startDashboard } from './dashboard-fixture.ts';
import { holdOpen, renderedEvents, text, waitForStatus } from './run-page-helpers.ts';

/** Polls `check` until it holds (the server side of a run moves on its own). */
async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await check()) return;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The ids in the runs table, top to bottom. */
async function listedRuns(page: Page): Promise<string[]> {
  const table = page.getByRole('table', { name: 'Runs' });
  await table.waitFor();
  await page.waitForFunction(
    () => document.querySelector('table[aria-label="Runs"]')?.getAttribute('aria-busy') === 'false',
  );
  return table.locator('tbody tr td:first-child a').allTextContents();
}

const sse = (event: RunEvent) =>
  `id: ${event.seq}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;

describe('dashboard: runs (Chromium, real server)', () => {
  let d: Dashboard;
  let runnerId: string;
  let otherId: string;
  /** Runs the tests made, by what became of them. */
  const made: Record<'reloaded' | 'resumed' | 'cancelled' | 'failed', string> = {
    reloaded: '',
    resumed: '',
    cancelled: '',
    failed: '',
  };
  before(async () => {
    d = await startDashboard();
    runnerId = await d.deployScriptedAgent('runner');
    otherId = await d.deployScriptedAgent('other');
  });
  after(async () => {
    await d?.[Symbol.asyncDispose]();
  });

  it('shows the curl line of a deployment while there are no runs', async () => {
    const page = await d.signedIn();
    await page.goto('/runs');
    const empty = page.getByRole('region', { name: 'No runs yet' });
    await empty.waitFor();
    assert.match(await text(empty), /curl -X POST http:\/\/.*\/v1\/run\/(runner|other) /);
  });

  it('streams a run live, through a dropped connection and a reload, each event once', async () => {
    const { hold, release } = holdOpen();
    const asked = d.model.requests.length;
    d.model.push(
      {
        reasoning: 'Two steps: a command, then the answer.',
        toolCalls: [{ name: 'bash', input: { command: 'seq 1 40; echo first-step' } }],
      },
      { hold, text: 'All **done** after the reload.' },
    );
    const { runId } = await d.rt.run('runner', 'Do two steps', { wait: false });
    made.reloaded = runId;
    // The tool has run and the model is held in step 2: the run is mid-way.
    await until('the second model call', () => d.model.requests.length >= asked + 2);

    const page = await d.signedIn();
    page.setDefaultTimeout(60_000);
    // The first connection to the event stream ends after half the events so far, as a dropped
    // connection does: the page must pick up from there, missing nothing and repeating nothing.
    let dropped = false;
    await page.route('**/v1/runs/*/events*', async (route) => {
      if (dropped) return route.continue();
      dropped = true;
      const sofar = await d.rt.runs.events(runId);
      await route.fulfill({
        status: 200,
        headers: { 'content-type': 'text/event-stream' },
        body: sofar
          .slice(0, Math.ceil(sofar.length / 2))
          .map(sse)
          .join(''),
      });
    });
    await page.goto(`/runs/${runId}`);
    const tool = page.getByRole('region', { name: 'Tool call bash' });
    // 42 lines of output are folded to the first 12, with a button to show them all.
    const show = tool.getByRole('button', { name: 'Show all 42 lines' });
    await show.waitFor();
    assert.ok(dropped, 'the first stream was cut short');
    const result = tool.locator('pre').nth(1);
    assert.equal(await show.getAttribute('aria-expanded'), 'false');
    assert.doesNotMatch(await text(result), /first-step/);
    await show.click();
    assert.match(await text(result), /40\nfirst-step\n\[exit code 0\]/);
    await waitForStatus(page, 'running');
    const before = await d.rt.runs.events(runId);
    await until('every stored event on the page', async () => {
      const shown = await renderedEvents(page);
      return shown.count === before.length;
    });
    assert.deepEqual(await renderedEvents(page), { count: before.length, blocks: before.length });

    await page.reload();
    await tool.waitFor();
    assert.equal(await tool.count(), 1, 'the tool call once after the reload');
    release();
    const answer = page.getByRole('region', { name: 'Final answer' });
    await answer.waitFor();
    await waitForStatus(page, 'completed');
    await page.getByText(/stream ended/).waitFor();
    const stored = await d.rt.runs.events(runId);
    assert.deepEqual(
      stored.map((e) => e.seq),
      stored.map((_, i) => i + 1),
    );
    assert.deepEqual(await renderedEvents(page), { count: stored.length, blocks: stored.length });
    assert.equal(await text(answer.locator('strong')), 'done');
    assert.equal(await page.getByText('All done after the reload.').count(), 1);
    await d.screenshot(page, 'run-light');

    const dark = await d.signedIn(undefined, { colorScheme: 'dark' });
    await dark.goto(`/runs/${runId}`);
    await dark.getByRole('region', { name: 'Final answer' }).waitFor();
    await d.screenshot(dark, 'run-dark');
  });

  it('pauses and resumes a run from its page', async () => {
    const { hold, release } = holdOpen();
    const asked = d.model.requests.length;
    d.model.push({ hold, text: 'never sent' }, { text: 'Resumed and **finished**.' });
    const { runId } = await d.rt.run('runner', 'Take your time', { wait: false });
    made.resumed = runId;
    const page = await d.signedIn();
    page.setDefaultTimeout(60_000);
    await page.goto(`/runs/${runId}`);
    const pause = page.getByRole('button', { name: 'Pause', exact: true });
    const resume = page.getByRole('button', { name: 'Resume', exact: true });
    await waitForStatus(page, 'running');
    await until('the model call', () => d.model.requests.length > asked);
    assert.ok(await resume.isDisabled(), 'a running run cannot be resumed');
    await pause.click();
    await waitForStatus(page, 'paused');
    assert.equal((await d.rt.runs.get(runId)).status, 'paused');
    await until('Resume enabled', async () => !(await resume.isDisabled()));
    assert.ok(await pause.isDisabled(), 'a paused run cannot be paused');
    await resume.click();
    const answer = page.getByRole('region', { name: 'Final answer' });
    await answer.waitFor();
    assert.equal(await text(answer.locator('strong')), 'finished');
    await waitForStatus(page, 'completed');
    release();
    // The log tells the story: running, paused, queued (resumed), running, completed.
    const statuses = (await d.rt.runs.events(runId)).flatMap((e) =>
      e.type === 'status' ? [e.status] : [],
    );
    assert.deepEqual(statuses, ['running', 'paused', 'queued', 'running', 'completed']);
    for (const name of ['Pause', 'Resume', 'Cancel']) {
      assert.ok(await page.getByRole('button', { name, exact: true }).isDisabled(), name);
    }
  });

  it('cancels a run from its page', async () => {
    const { hold, release } = holdOpen();
    const asked = d.model.requests.length;
    d.model.push({ hold, text: 'never sent' });
    const { runId } = await d.rt.run('runner', 'Wait for me', { wait: false });
    made.cancelled = runId;
    const page = await d.signedIn();
    page.setDefaultTimeout(60_000);
    await page.goto(`/runs/${runId}`);
    await until('the model call', () => d.model.requests.length > asked);
    await page.getByRole('button', { name: 'Cancel', exact: true }).click();
    await waitForStatus(page, 'cancelled');
    release();
    assert.equal((await d.rt.runs.get(runId)).status, 'cancelled');
  });

  it('shows a failed run with its error code', async () => {
    d.model.push({ error: { status: 400, message: 'the scripted model refuses' } });
    const result = await d.rt.run('other', 'Fail, please');
    made.failed = result.runId;
    assert.equal(result.status, 'failed');
    const page = await d.signedIn();
    await page.goto(`/runs/${result.runId}`);
    const alert = page.getByRole('alert').filter({ hasText: 'refuses' });
    await alert.waitFor();
    assert.ok((await text(alert)).includes(result.error?.code ?? '?'), 'the code');
  });

  it('filters the runs list by status, deployment, time and id, in the URL', async () => {
    // One run made three days ago.
    await d.server.database.db
      .updateTable('runs')
      .set({ created_at: new Date(Date.now() - 3 * 86_400_000).toISOString() })
      .where('id', '=', made.cancelled)
      .execute();
    const page = await d.signedIn();
    page.setDefaultTimeout(30_000);
    await page.goto('/runs');
    const all = [made.failed, made.cancelled, made.resumed, made.reloaded];
    assert.deepEqual(await listedRuns(page), all);
    const row = page.getByRole('row').filter({ hasText: made.failed });
    assert.match(await text(row), /failed/, 'the status in words');
    assert.match(await text(row), /other/, 'the deployment by its slug');
    const completed = page.getByRole('row').filter({ hasText: made.reloaded });
    assert.equal(await text(completed.getByRole('cell').nth(5)), '2', 'its steps');
    assert.notEqual(await text(completed.getByRole('cell').nth(6)), '0', 'its tokens');

    await page.getByLabel('Status').selectOption('completed');
    await page.waitForURL(/status=completed/);
    assert.deepEqual(await listedRuns(page), [made.resumed, made.reloaded]);
    // The URL keeps the filter: a reload shows the same list.
    await page.reload();
    assert.deepEqual(await listedRuns(page), [made.resumed, made.reloaded]);
    assert.equal(await page.getByLabel('Status').inputValue(), 'completed');

    await page.getByRole('button', { name: 'Clear filters' }).click();
    await page.getByLabel('Deployment').selectOption({ label: 'other' });
    await page.waitForURL(new RegExp(`deployment=${otherId}`));
    assert.deepEqual(await listedRuns(page), [made.failed]);

    await page.getByLabel('Deployment').selectOption({ label: 'runner' });
    await page.getByLabel('Created').selectOption({ label: 'Last 24 hours' });
    await page.waitForURL(/since=24h/);
    assert.deepEqual(await listedRuns(page), [made.resumed, made.reloaded]);
    assert.ok(page.url().includes(`deployment=${runnerId}`));

    await page.getByRole('button', { name: 'Clear filters' }).click();
    await page.getByRole('searchbox', { name: 'Run id' }).fill(made.resumed.slice(0, -4));
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForURL(/q=run_/);
    assert.deepEqual(await listedRuns(page), [made.resumed]);

    await page.getByRole('searchbox', { name: 'Run id' }).fill('run_nothing');
    await page.keyboard.press('Enter');
    await page.getByRole('region', { name: 'No runs match' }).waitFor();

    await page.getByRole('button', { name: 'Clear filters' }).click();
    assert.deepEqual(await listedRuns(page), all);
    await d.screenshot(page, 'runs-light');
    const dark = await d.signedIn(undefined, { colorScheme: 'dark' });
    await dark.goto('/runs');
    await listedRuns(dark);
    await d.screenshot(dark, 'runs-dark');
  });

  it('pages through runs, newest first', async () => {
    // No worker from here on: runs put in the store stay as they are put.
    await d.server.worker.stop();
    const { runs } = d.server.store;
    for (let i = 0; i < 26; i++) {
      const run = await runs.create({ deploymentId: otherId, input: `run ${i}` });
      await runs.transition(run.id, 'cancelled');
    }
    const page = await d.signedIn();
    await page.goto(`/runs?deployment=${otherId}`);
    const first = await listedRuns(page);
    assert.equal(first.length, 25);
    const newer = page.getByRole('button', { name: 'Newer' });
    const older = page.getByRole('button', { name: 'Older' });
    assert.ok(await newer.isDisabled());
    await older.click();
    await page.waitForURL(/cursor=/);
    // 27 runs of `other`: the failed one is the oldest, last on the second page.
    const second = await listedRuns(page);
    assert.equal(second.length, 2);
    assert.equal(second[1], made.failed);
    assert.ok(await older.isDisabled(), 'the last page');
    await newer.click();
    assert.deepEqual(await listedRuns(page), first);
  });

  it('shows a forbidden page to a key without the run scope', async () => {
    const { key } = await d.rt.apiKeys.create({ name: 'deploy only', scopes: ['deploy'] });
    const page = await d.signedIn(key);
    const nav = page.getByRole('navigation', { name: 'Main' });
    assert.equal(await nav.getByRole('link', { name: 'Runs' }).count(), 0);
    await page.goto('/runs');
    const alert = page.getByRole('alert');
    await alert.waitFor();
    assert.match(await text(alert), /Forbidden: this API key lacks the run scope/);
    await page.goto(`/runs/${made.reloaded}`);
    await page.getByRole('alert').filter({ hasText: 'lacks the run scope' }).waitFor();
  });
});
