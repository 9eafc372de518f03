import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { type Dashboard, startDashboard } from './dashboard-fixture.ts';
import { holdOpen, renderedEvents, text, waitForStatus } from './run-page-helpers.ts';

const workflow = {
  start: 'triage',
  steps: {
    triage: {
      kind: 'agent',
      prompt: 'Classify: {{input}}',
      output: {
        type: 'object',
        properties: { category: { type: 'string', enum: ['bug', 'question'] } },
        required: ['category'],
      },
      next: 'route',
    },
    route: {
      kind: 'branch',
      on: 'steps.triage.output.category',
      cases: { bug: 'fix', question: 'answer' },
      default: 'answer',
    },
    fix: { kind: 'agent', prompt: 'Fix the bug: {{input}}' },
    answer: { kind: 'agent', prompt: 'Answer: {{input}}' },
  },
};

/** The graph's node of step `id` (React Flow's node element, named for screen readers). */
const node = (page: Page, id: string) => page.locator(`.react-flow__node[data-id="${id}"]`);
const state = (page: Page, id: string) =>
  page.locator(`[data-step="${id}"]`).getAttribute('data-state');

describe('dashboard: workflow graphs (Chromium, real server, real sandboxes)', () => {
  let d: Dashboard;
  before(async () => {
    d = await startDashboard();
    await d.deployScriptedAgent('triage', { workflow });
  });
  after(async () => {
    await d?.[Symbol.asyncDispose]();
  });

  it('highlights the running step live, marks completed steps and shows their outputs', async () => {
    const triage = holdOpen();
    const fix = holdOpen();
    d.model.push(
      { hold: triage.hold, text: '{"category":"bug"}' },
      { hold: fix.hold, text: 'Fixed it.' },
    );
    const { runId } = await d.rt.run('triage', 'the build is red', { wait: false });
    const page = await d.signedIn();
    page.setDefaultTimeout(60_000);
    await page.goto(`/runs/${runId}`);
    const graph = page.getByRole('region', { name: 'Workflow graph of this run' });
    await graph.and(page.locator('[data-laid-out="true"]')).waitFor();
    await page.locator('[data-step="triage"][data-state="running"]').waitFor();
    for (const id of ['route', 'fix', 'answer']) assert.equal(await state(page, id), 'idle');
    assert.match(
      (await node(page, 'triage').getAttribute('aria-label')) ?? '',
      /Step triage: agent, the start\. Classify: \{\{input\}\}\. running/,
    );
    assert.match(await text(page.getByRole('heading', { name: /Workflow/ })), /running: triage/);
    await d.screenshot(page, 'workflow-run-light');

    triage.release();
    await page.locator('[data-step="fix"][data-state="running"]').waitFor();
    assert.equal(await state(page, 'triage'), 'completed');
    assert.equal(await state(page, 'route'), 'completed');
    assert.equal(await state(page, 'answer'), 'idle');
    // The triage step's output, from its workflow_step_completed event.
    await page
      .getByRole('list', { name: 'Workflow steps' })
      .getByRole('button', { name: /^triage/ })
      .click();
    const output = page.getByRole('region', { name: 'Step triage output' });
    assert.deepEqual(JSON.parse(await text(output.getByTestId('step-output'))), {
      category: 'bug',
    });
    // The workflow events are quiet lines of the timeline.
    await page.getByText('Workflow step triage completed → route').waitFor();
    await page.getByText('Workflow step fix started (agent)').waitFor();

    fix.release();
    await waitForStatus(page, 'completed');
    await page.locator('[data-step="fix"][data-state="completed"]').waitFor();
    assert.equal(await state(page, 'answer'), 'idle');
    const shown = await renderedEvents(page);
    assert.equal(shown.count, (await d.rt.runs.get(runId)).lastSeq);
    assert.equal(shown.blocks, shown.count);

    const dark = await d.signedIn(undefined, { colorScheme: 'dark' });
    await dark.goto(`/runs/${runId}`);
    await dark.locator('[data-step="fix"][data-state="completed"]').waitFor();
    await d.screenshot(dark, 'workflow-run-dark');
  });

  it('marks a failed step', async () => {
    d.model.push({ text: 'not json at all' }, { text: 'still not json' }, { text: 'nope' });
    const { runId } = await d.rt.run('triage', 'unclear', { wait: false });
    const page = await d.signedIn();
    page.setDefaultTimeout(60_000);
    await page.goto(`/runs/${runId}`);
    await waitForStatus(page, 'failed');
    await page.locator('[data-step="triage"][data-state="failed"]').waitFor();
    assert.equal(await state(page, 'route'), 'idle');
    await page.getByText(/Workflow step triage failed/).waitFor();
  });

  it("shows a deployed agent's workflow read-only, with accessible nodes and a text list", async () => {
    for (const scheme of ['light', 'dark'] as const) {
      const page = await d.signedIn(undefined, { colorScheme: scheme });
      await page.goto('/agents/triage');
      await page.getByRole('tab', { name: 'Workflow' }).click();
      await page.getByText(/read-only: this server has no project folder/).waitFor();
      await node(page, 'answer').waitFor();
      assert.equal(await page.locator('.react-flow__node').count(), 4);
      assert.match(
        (await node(page, 'route').getAttribute('aria-label')) ?? '',
        /Step route: branch\. on steps\.triage\.output\.category/,
      );
      // Nodes take the keyboard's focus.
      assert.equal(await node(page, 'route').getAttribute('tabindex'), '0');
      // Edges: next, each case (labelled with its value) and the default.
      const labels = await page.locator('.react-flow__edge-textwrapper').allTextContents();
      // (question and default lead to the same step: one label for both)
      assert.deepEqual(labels.sort(), ['bug', 'question, default']);
      assert.equal(await page.locator('.react-flow__edge').count(), 4);
      const list = page.getByRole('list', { name: 'Workflow steps' });
      assert.match(
        await text(list),
        /route \(branch\) on steps\.triage\.output\.category bug → fix, question → answer, default → answer/,
      );
      // No editor on a read-only agent.
      assert.equal(await page.getByRole('button', { name: 'Add step' }).count(), 0);
      await d.screenshot(page, `workflow-graph-readonly-${scheme}`);
      await page.context().close();
    }
  });
});
