import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { artifactsDir, type DevBrowser, startDevBrowser } from '../testing/dev-browser-fixture.ts';

const agentFile = (endpoint: string) => `import { defineAgent } from '@runtools/sdk';

export default defineAgent({
  slug: 'flow',
  model: { provider: 'custom', endpoint: '${endpoint}', model: 'scripted' },
  systemPrompt: 'You triage issues.',
  tools: ['bash'],
  template: 'debian-13',
  workflow: {
    start: 'triage',
    steps: {
      // The model's answer picks the path.
      triage: {
        kind: 'agent',
        prompt: 'Classify: {{input}}',
        output: { type: 'object', properties: { category: { type: 'string' } } },
        next: 'route',
      },
      route: {
        kind: 'branch',
        on: 'steps.triage.output.category',
        cases: { bug: 'review', question: 'answer' },
        default: 'answer',
      },
      review: { kind: 'approval', message: 'Ship it?', next: 'notes', denied: 'answer' },
      notes: { kind: 'agent', prompt: 'Release notes.' },
      answer: { kind: 'agent', prompt: 'Answer: {{input}}' },
    },
  },
});
`;

/** The lines a change removed and added, in file order. */
function changedLines(before: string, after: string): { removed: string[]; added: string[] } {
  const a = before.split('\n');
  const b = after.split('\n');
  return {
    removed: a.filter((l) => !b.includes(l)),
    added: b.filter((l) => !a.includes(l)),
  };
}

/** Editing a workflow in the graph, in a real browser against `runtools dev` (dashboard built). */
describe('the workflow graph in the agent builder, under runtools dev', () => {
  let d: DevBrowser;
  let root: string;
  const file = () => join(root, 'agents/flow.ts');
  before(async () => {
    d = await startDevBrowser({ 'agents/flow.ts': agentFile });
    ({ root } = d);
  });
  after(async () => {
    await d?.[Symbol.asyncDispose]();
  });

  const open = async (colorScheme: 'light' | 'dark' = 'light'): Promise<Page> => {
    const page = await d.signedIn({ colorScheme, height: 1000 });
    await page.goto('/agents/flow');
    await page.getByRole('tab', { name: 'Workflow' }).click();
    await page.locator('[data-testid="workflow-graph"][data-laid-out="true"]').waitFor();
    return page;
  };

  const pick = (page: Page, id: string) =>
    page
      .getByRole('list', { name: 'Workflow steps' })
      .getByRole('button', { name: new RegExp(`^${id} `) })
      .click();
  const save = async (page: Page) => {
    await page.getByRole('button', { name: 'Review changes' }).click();
    await page.getByTestId('diff').waitFor();
    await page.getByRole('button', { name: 'Save to file' }).click();
    await page.getByText('Saved to agents/flow.ts').waitFor();
  };

  it('draws the agent file’s workflow, editable', async () => {
    const page = await open();
    assert.equal(await page.locator('.react-flow__node').count(), 5);
    assert.equal(await page.locator('.react-flow__edge').count(), 6);
    assert.match(
      (await page.locator('.react-flow__node[data-id="review"]').getAttribute('aria-label')) ?? '',
      /Step review: approval\. Ship it\?/,
    );
    await page.getByRole('button', { name: 'Add step' }).waitFor();
    await page.screenshot({
      path: join(artifactsDir, 'workflow-builder-light.png'),
      fullPage: true,
    });
    await page.context().close();
  });

  it("editing a step's prompt changes only that string in the file", async () => {
    const before = readFileSync(file(), 'utf8');
    const page = await open();
    await pick(page, 'notes');
    await page.getByLabel('Prompt').fill('Write the release notes.');
    await save(page);
    assert.equal(
      readFileSync(file(), 'utf8'),
      before.replace("prompt: 'Release notes.'", "prompt: 'Write the release notes.'"),
    );
    await page.context().close();
  });

  it('adding a step writes one new entry and the edge to it', async () => {
    const before = readFileSync(file(), 'utf8');
    const page = await open();
    await page.getByLabel('Step id').fill('followup');
    await page.getByRole('combobox', { name: /^Kind/ }).selectOption('agent');
    await page.getByRole('combobox', { name: /^After/ }).selectOption('answer');
    await page.getByRole('button', { name: 'Add step' }).click();
    await page.locator('.react-flow__node[data-id="followup"]').waitFor();
    await page.getByLabel('Prompt').fill('Follow up on {{input}}.');
    await save(page);
    const after = readFileSync(file(), 'utf8');
    assert.deepEqual(changedLines(before, after), {
      removed: ["      answer: { kind: 'agent', prompt: 'Answer: {{input}}' },"],
      added: [
        "      answer: { kind: 'agent', prompt: 'Answer: {{input}}', next: 'followup' },",
        "      followup: { kind: 'agent', prompt: 'Follow up on {{input}}.' },",
      ],
    });
    await page.context().close();
  });

  it('reconnecting an edge changes only that value; a case value and the message too', async () => {
    const before = readFileSync(file(), 'utf8');
    const page = await open();
    await pick(page, 'review');
    await page.getByRole('combobox', { name: /^Denied/ }).selectOption('followup');
    await page.getByLabel('Message').fill('Ship it now?');
    await save(page);
    const after = readFileSync(file(), 'utf8');
    assert.equal(
      after,
      before.replace(
        "review: { kind: 'approval', message: 'Ship it?', next: 'notes', denied: 'answer' },",
        "review: { kind: 'approval', message: 'Ship it now?', next: 'notes', denied: 'followup' },",
      ),
    );
    await pick(page, 'route');
    await page.getByRole('combobox', { name: /^Case question goes to/ }).selectOption('followup');
    await page.getByLabel('Case value').first().fill('defect');
    await save(page);
    assert.equal(
      readFileSync(file(), 'utf8'),
      after.replace(
        "cases: { bug: 'review', question: 'answer' },",
        // A renamed case is a removed key and an added one: it moves to the end.
        "cases: { question: 'followup', defect: 'review' },",
      ),
    );
    await page.context().close();
  });

  it('removing a step removes its entry and the edges to it', async () => {
    const before = readFileSync(file(), 'utf8');
    const page = await open();
    await pick(page, 'followup');
    await page.getByRole('button', { name: 'Remove step followup' }).click();
    await page.locator('.react-flow__node[data-id="followup"]').waitFor({ state: 'detached' });
    await save(page);
    const after = readFileSync(file(), 'utf8');
    assert.deepEqual(changedLines(before, after), {
      removed: [
        "        cases: { question: 'followup', defect: 'review' },",
        "      review: { kind: 'approval', message: 'Ship it now?', next: 'notes', denied: 'followup' },",
        "      answer: { kind: 'agent', prompt: 'Answer: {{input}}', next: 'followup' },",
        "      followup: { kind: 'agent', prompt: 'Follow up on {{input}}.' },",
      ],
      added: [
        "        cases: { defect: 'review' },",
        "      review: { kind: 'approval', message: 'Ship it now?', next: 'notes' },",
        "      answer: { kind: 'agent', prompt: 'Answer: {{input}}' },",
      ],
    });
    await page.context().close();
  });

  it('redraws the graph when the file changes on disk', async () => {
    for (const scheme of ['light', 'dark'] as const) {
      const page = await open(scheme);
      const text = readFileSync(file(), 'utf8');
      const step = `disk${scheme}`;
      const edited = text.replace(
        /( {6}notes: \{ kind: 'agent', prompt: '[^']*')(?:, next: '[a-z]+')?( \},\n)/,
        `$1, next: '${step}'$2      ${step}: { kind: 'agent', prompt: 'Added on disk.' },\n`,
      );
      assert.notEqual(edited, text);
      // The watch of agents/ may be starting again (the previous page's stream just closed).
      await new Promise((r) => setTimeout(r, 500));
      writeFileSync(file(), edited);
      await page.locator(`.react-flow__node[data-id="${step}"]`).waitFor({ timeout: 5000 });
      await page.screenshot({
        path: join(artifactsDir, `workflow-builder-disk-${scheme}.png`),
        fullPage: true,
      });
      await page.context().close();
    }
  });
});
